//go:build distribution

package distribution

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestDist runs make dist and checks every archive: the binary for its
// platform (by its executable header) beside README.md and LICENSE, the
// SHA256SUMS, and the linux/amd64 binary's version.
func TestDist(t *testing.T) {
	dir, version := t.TempDir(), "v0.0.0-test"
	out, err := exec.Command("make", "-C", "..", "dist", "VERSION="+version, "DIST="+dir).CombinedOutput()
	if err != nil {
		t.Fatalf("make dist: %v\n%s", err, out)
	}
	check := exec.Command("sha256sum", "-c", "SHA256SUMS")
	check.Dir = dir
	if out, err := check.CombinedOutput(); err != nil || strings.Count(string(out), ": OK\n") != 6 {
		t.Errorf("sha256sum -c SHA256SUMS: %v\n%s; want 6 archives OK", err, out)
	}
	platforms := []struct {
		os, arch, archive string
		isArch            func(f *os.File) bool
	}{
		{"linux", "amd64", "tar.gz", elfMachine(elf.EM_X86_64)},
		{"linux", "arm64", "tar.gz", elfMachine(elf.EM_AARCH64)},
		{"darwin", "amd64", "tar.gz", machoCPU(macho.CpuAmd64)},
		{"darwin", "arm64", "tar.gz", machoCPU(macho.CpuArm64)},
		{"windows", "amd64", "zip", peMachine(pe.IMAGE_FILE_MACHINE_AMD64)},
		{"windows", "arm64", "zip", peMachine(pe.IMAGE_FILE_MACHINE_ARM64)},
	}
	for _, p := range platforms {
		t.Run(p.os+"_"+p.arch, func(t *testing.T) {
			name := "meterd_" + version + "_" + p.os + "_" + p.arch
			files := unpack(t, filepath.Join(dir, name+"."+p.archive), t.TempDir())
			exe := "meterd"
			if p.os == "windows" {
				exe = "meterd.exe"
			}
			for _, want := range []string{exe, "README.md", "LICENSE"} {
				if _, ok := files[name+"/"+want]; !ok {
					t.Errorf("%s.%s holds %v, want %s/%s", name, p.archive, keys(files), name, want)
				}
			}
			bin, ok := files[name+"/"+exe]
			if !ok {
				return
			}
			f, err := os.Open(bin)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if !p.isArch(f) {
				t.Errorf("%s is not a %s/%s executable", exe, p.os, p.arch)
			}
			if p.os != runtime.GOOS || p.arch != runtime.GOARCH {
				return
			}
			out, err := exec.Command(bin, "version", "--output", "json").Output()
			var v buildInfo
			if err != nil || json.Unmarshal(out, &v) != nil {
				t.Fatalf("meterd version --output json: %v: %s", err, out)
			}
			head, _ := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
			if v.Version != version || v.Commit != strings.TrimSpace(string(head)) || v.OS != p.os || v.Arch != p.arch {
				t.Errorf("version = %+v, want %s, commit %s, %s/%s", v, version, head, p.os, p.arch)
			}
		})
	}
}

// buildInfo is meterd version --output json.
type buildInfo struct {
	Version, Commit, Go, OS, Arch string
}

// TestGoInstall installs meterd from this clone as README says (go
// install ./cmd/meterd, and make build), and runs it.
func TestGoInstall(t *testing.T) {
	gobin := t.TempDir()
	install := exec.Command("go", "install", "./cmd/meterd")
	install.Dir = ".."
	install.Env = append(os.Environ(), "GOBIN="+gobin)
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("go install ./cmd/meterd: %v\n%s", err, out)
	}
	out, err := exec.Command(filepath.Join(gobin, "meterd"), "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "meterd ") {
		t.Errorf("the installed meterd version: %v: %q", err, out)
	}
	// make build, the other way README gives: bin/meterd with the commit.
	if out, err := exec.Command("make", "-C", "..", "build").CombinedOutput(); err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	out, err = exec.Command("../bin/meterd", "version", "--output", "json").Output()
	var v buildInfo
	head, _ := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil || json.Unmarshal(out, &v) != nil || v.Commit != strings.TrimSpace(string(head)) {
		t.Errorf("bin/meterd version --output json = %v, %s; want the commit %s", err, out, head)
	}
}

// unpack extracts a .tar.gz or .zip into dir and returns its files by
// their name in the archive.
func unpack(t *testing.T, archive, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	write := func(name string, r io.Reader) {
		path := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(path), 0o700)
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o700)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(f, r); err != nil {
			t.Fatal(err)
		}
		f.Close()
		files[name] = path
	}
	if strings.HasSuffix(archive, ".zip") {
		z, err := zip.OpenReader(archive)
		if err != nil {
			t.Fatal(err)
		}
		defer z.Close()
		for _, f := range z.File {
			if f.FileInfo().IsDir() {
				continue
			}
			r, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			write(f.Name, r)
			r.Close()
		}
		return files
	}
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			write(h.Name, tr)
		}
	}
}

func keys(m map[string]string) []string {
	var k []string
	for name := range m {
		k = append(k, name)
	}
	return k
}

func elfMachine(m elf.Machine) func(*os.File) bool {
	return func(f *os.File) bool {
		e, err := elf.NewFile(f)
		return err == nil && e.Machine == m
	}
}

func machoCPU(c macho.Cpu) func(*os.File) bool {
	return func(f *os.File) bool {
		m, err := macho.NewFile(f)
		return err == nil && m.Cpu == c
	}
}

func peMachine(m uint16) func(*os.File) bool {
	return func(f *os.File) bool {
		p, err := pe.NewFile(f)
		return err == nil && p.Machine == m
	}
}
