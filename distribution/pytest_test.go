//go:build distribution

package distribution

import (
	"archive/zip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/meterd/meterd/internal/meterdtest"
)

// TestPytestPlugin installs clients/python (pytest-meterd) into a virtual
// environment with pip install -e, builds its wheel, and runs its own
// tests (pytest clients/python) against the built meterd binary. Every
// test function of clients/python/tests must have passed: a run that
// collected none (pytest's exit 5) or fewer fails here.
func TestPytestPlugin(t *testing.T) {
	bin := meterdtest.Build(t)
	venv := filepath.Join(t.TempDir(), "venv")
	runOK(t, "..", nil, "python3", "-m", "venv", "--system-site-packages", venv)
	python := filepath.Join(venv, "bin", "python")
	runOK(t, "..", nil, python, "-m", "pip", "install", "-q", "-e", "clients/python")

	wheels := t.TempDir()
	runOK(t, "..", nil, python, "-m", "pip", "wheel", "-q", "--no-deps", "-w", wheels, "clients/python")
	found, _ := filepath.Glob(filepath.Join(wheels, "pytest_meterd-*.whl"))
	if len(found) != 1 {
		t.Fatalf("pip wheel made %v, want one pytest_meterd wheel", found)
	}
	checkWheel(t, found[0])

	want := 0
	tests, _ := filepath.Glob("../clients/python/tests/test_*.py")
	for _, f := range tests {
		b, _ := os.ReadFile(f)
		want += len(regexp.MustCompile(`(?m)^def test_`).FindAll(b, -1))
	}
	env := []string{"METERD_BIN=" + bin, "PYTHONDONTWRITEBYTECODE=1"}
	out := runOK(t, "..", env, python, "-m", "pytest", "-p", "no:cacheprovider", "clients/python")
	m := regexp.MustCompile(`(?m)^=+ (\d+) passed in `).FindStringSubmatch(out)
	if m == nil || m[1] != strconv.Itoa(want) || want < 9 {
		t.Errorf("pytest clients/python ran %v of the %d test functions, want every one passed:\n%s", m, want, out)
	}
}

// checkWheel checks that the wheel holds the plugin and registers it with
// pytest (the pytest11 entry point).
func checkWheel(t *testing.T, path string) {
	t.Helper()
	z, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	var plugin, entry bool
	for _, f := range z.File {
		switch {
		case f.Name == "pytest_meterd/plugin.py":
			plugin = true
		case strings.HasSuffix(f.Name, ".dist-info/entry_points.txt"):
			r, _ := f.Open()
			b := make([]byte, 4096)
			n, _ := r.Read(b)
			r.Close()
			entry = strings.Contains(string(b[:n]), "[pytest11]") && strings.Contains(string(b[:n]), "meterd = pytest_meterd.plugin")
		}
	}
	if !plugin || !entry {
		t.Errorf("wheel %s: plugin.py %v, pytest11 entry point %v; want both", filepath.Base(path), plugin, entry)
	}
}

// runOK runs a command in dir with env added, fails the test unless it
// exits 0, and returns its output.
func runOK(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}
