package conformance

import (
	"cmp"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/meterd/meterd/internal/meterdtest"
)

// snippet is a README snippet: a file the suite runs and the README quotes.
type snippet struct {
	File string // under snippets/
	Lang string // the README code block's language
	// run returns the command that runs the file, from this directory;
	// nil for an SDK that cannot run here, whose wire habits
	// TestWireFixtures checks instead.
	run func(path string) *exec.Cmd
}

// snippetOutput is the pattern of what a snippet prints, for those that
// print other than the metering snippets' Success and MeteringRecordId.
var snippetOutput = map[string]string{
	"python/agreement.py": `^\{'selectorValue': 'P12M', 'dimensions': \[\{'dimensionKey': 'seats', 'dimensionValue': 3\}\]\}\nagmt-\S+ Success CANCELLED\n$`,
}

var snippets = []snippet{
	{"python/meter.py", "python", func(p string) *exec.Cmd { return exec.Command("python3", p) }},
	{"sh/meter.sh", "sh", func(p string) *exec.Cmd { return exec.Command("sh", p) }},
	{"js/meter.mjs", "js", func(p string) *exec.Cmd { return exec.Command("node", p) }},
	{"go/main.go", "go", func(p string) *exec.Cmd { return exec.Command("go", "run", "./"+filepath.Dir(p)) }},
	{"java/Meter.java", "java", func(p string) *exec.Cmd {
		cp, _ := javaBuild() // the SDK v1 jars; java runs a single source file as it is
		return exec.Command("java", "-cp", cp, p)
	}},
	{"dotnet/Program.cs", "csharp", nil},
	{"r/meter.R", "r", nil},
	{"julia/meter.jl", "julia", nil},
	{"python/agreement.py", "python", func(p string) *exec.Cmd { return exec.Command("python3", p) }},
}

// clockSnippets are README snippets that move the server clock: each runs
// on a server of its own, with the output pattern given.
var clockSnippets = []struct {
	snippet
	output string
}{
	{snippet{"sh/contract.sh", "sh", func(p string) *exec.Cmd { return exec.Command("sh", p) }},
		`^seats\s+5\nSuccess\nEXPIRED\n0\nunsubscribed\n$`},
}

// TestClockSnippets runs each of clockSnippets against a server of its
// own with the demo catalog, the meterd CLI on PATH.
func TestClockSnippets(t *testing.T) {
	t.Parallel()
	bin := meterdtest.Build(t)
	for _, sn := range clockSnippets {
		t.Run(sn.File, func(t *testing.T) {
			t.Parallel()
			srv := meterdtest.Serve(t, bin)
			cmd := sn.run(filepath.Join("snippets", sn.File))
			cmd.Env = append(srv.Env("test", "test"), "PATH="+filepath.Dir(bin)+":"+os.Getenv("PATH"),
				"METERD_SERVER="+srv.URL, "METERD_DATA="+srv.Data)
			out, err := cmd.Output()
			if err != nil || !regexp.MustCompile(sn.output).Match(out) {
				t.Errorf("%s = %v, printed %q (stderr %q); want %s", sn.File, err, out, exitStderr(err), sn.output)
			}
		})
	}
}

// TestSnippets runs every README snippet against a server with the demo
// catalog, the one `meterd serve` creates on first start.
func TestSnippets(t *testing.T) {
	t.Parallel()
	srv := meterdtest.Serve(t, meterdtest.Build(t))
	for _, sn := range snippets {
		if sn.run == nil {
			continue
		}
		t.Run(sn.File, func(t *testing.T) {
			t.Parallel()
			if sn.Lang == "java" {
				if _, err := javaBuild(); err != nil {
					t.Fatal(err)
				}
			}
			path := filepath.Join("snippets", sn.File)
			if sn.Lang == "js" {
				// Node resolves the SDK from the script's directory: run a
				// copy beside conformance/js/node_modules.
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				path = filepath.Join("js", ".snippet-"+filepath.Base(sn.File))
				if err := os.WriteFile(path, b, 0o644); err != nil {
					t.Fatal(err)
				}
				defer os.Remove(path)
			}
			cmd := sn.run(path)
			cmd.Env = append(srv.Env("test", "test"), "PYTHONDONTWRITEBYTECODE=1")
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s: %v\n%s%s", sn.File, err, out, exitStderr(err))
			}
			if want := cmp.Or(snippetOutput[sn.File], `^Success\s+\S+\n$`); !regexp.MustCompile(want).Match(out) {
				t.Errorf("%s printed %q, want %s", sn.File, out, want)
			}
		})
	}
}

// exitStderr is what a command run by Output wrote to stderr before it
// failed with err; nil for other errors.
func exitStderr(err error) []byte {
	if e, ok := err.(*exec.ExitError); ok {
		return e.Stderr
	}
	return nil
}

// TestReadmeSnippets checks that the README quotes every snippet file
// exactly, after a `<!-- snippet: conformance/snippets/FILE -->` line.
func TestReadmeSnippets(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	quoted := map[string]bool{}
	marker := regexp.MustCompile("(?m)^<!-- snippet: conformance/snippets/(\\S+) -->\n```(\\w+)\n")
	for _, m := range marker.FindAllSubmatchIndex(readme, -1) {
		file, lang := string(readme[m[2]:m[3]]), string(readme[m[4]:m[5]])
		body, _, ok := strings.Cut(string(readme[m[1]:]), "```\n")
		want, err := os.ReadFile(filepath.Join("snippets", file))
		switch {
		case err != nil:
			t.Errorf("README quotes %s: %v", file, err)
		case !ok || body != string(want):
			t.Errorf("README's %s block differs from snippets/%s:\n%s\nwant:\n%s", lang, file, body, want)
		}
		quoted[file] = true
	}
	for _, sn := range snippets {
		if !quoted[sn.File] {
			t.Errorf("README does not quote snippets/%s", sn.File)
		}
	}
	for _, sn := range clockSnippets {
		if !quoted[sn.File] {
			t.Errorf("README does not quote snippets/%s", sn.File)
		}
	}
}

// TestReadmeExcerpts checks that every README code block after an
// `<!-- excerpt: PATH -->` line is a run of whole lines of that file of the
// repository, character for character.
func TestReadmeExcerpts(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	marker := regexp.MustCompile("(?m)^<!-- excerpt: (\\S+) -->\n```\\w*\n")
	found := marker.FindAllSubmatchIndex(readme, -1)
	if len(found) == 0 {
		t.Fatal("README has no excerpt markers: the pattern is out of date")
	}
	for _, m := range found {
		file := string(readme[m[2]:m[3]])
		body, _, ok := strings.Cut(string(readme[m[1]:]), "```\n")
		want, err := os.ReadFile(filepath.Join("..", file))
		switch {
		case err != nil:
			t.Errorf("README quotes %s: %v", file, err)
		case !ok || body == "" || !strings.Contains("\n"+string(want), "\n"+body):
			t.Errorf("README's excerpt of %s is not a run of whole lines of it:\n%s", file, body)
		}
	}
}
