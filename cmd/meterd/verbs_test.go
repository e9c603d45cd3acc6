package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/meterd/meterd/internal/meterdtest"
	"github.com/meterd/meterd/server"
)

// runHere runs one meterd command in this process.
func runHere(args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), code
}

func TestVersion(t *testing.T) {
	out, stderr, code := runHere("version", "--output", "json")
	var b buildInfo
	if code != 0 || json.Unmarshal([]byte(out), &b) != nil {
		t.Fatalf("version --output json = exit %d, %q %q", code, out, stderr)
	}
	if b.Version == "" || b.Commit == "" || b.Go != runtime.Version() || b.OS != runtime.GOOS || b.Arch != runtime.GOARCH {
		t.Errorf("version = %+v, want a version, a commit, %s and %s/%s", b, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	}
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, _, code := runHere(args...)
		if code != 0 || !strings.HasPrefix(out, "meterd "+b.Version+"\n") || !strings.Contains(out, runtime.GOOS+"/"+runtime.GOARCH) {
			t.Errorf("%v = exit %d, %q; want the version and the platform", args, code, out)
		}
	}
	if _, _, code := runHere("version", "--output", "csv"); code != exitUsage {
		t.Errorf("version --output csv = exit %d, want %d", code, exitUsage)
	}
}

func TestHealthcheck(t *testing.T) {
	srv := meterdtest.Serve(t, meterdtest.Build(t))
	if out, stderr, code := runHere("healthcheck", "--server", srv.URL); code != 0 || !strings.Contains(out, "ready") {
		t.Errorf("healthcheck of a running server = exit %d, %q %q; want 0", code, out, stderr)
	}
	t.Setenv("METERD_SERVER", srv.URL)
	if _, stderr, code := runHere("healthcheck"); code != 0 {
		t.Errorf("healthcheck with METERD_SERVER = exit %d, %q; want 0", code, stderr)
	}
	srv.Kill()
	if _, stderr, code := runHere("healthcheck", "--server", srv.URL); code != exitError || !strings.Contains(stderr, "no server answers at "+srv.URL) {
		t.Errorf("healthcheck of a stopped server = exit %d, %q; want 1 naming %s", code, stderr, srv.URL)
	}
	// A server whose store is unreachable answers /readyz with 503.
	unready := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "store unreachable", http.StatusServiceUnavailable)
	}))
	defer unready.Close()
	if _, stderr, code := runHere("healthcheck", "--server", unready.URL); code != exitError || !strings.Contains(stderr, "503") {
		t.Errorf("healthcheck of a 503 = exit %d, %q; want 1 naming the status", code, stderr)
	}
}

// TestEnv evaluates meterd env's lines in sh and in fish and meters with
// boto3 (which reads AWS_ENDPOINT_URL_MARKETPLACE_METERING) in that
// environment, against a server that meterd env never contacted.
func TestEnv(t *testing.T) {
	bin := meterdtest.Build(t)
	srv := meterdtest.Serve(t, bin)
	script := filepath.Join(t.TempDir(), "meter.py")
	os.WriteFile(script, []byte(`import boto3, datetime, os
c = boto3.client("meteringmarketplace")
r = c.batch_meter_usage(ProductCode="demo-product", UsageRecords=[{"CustomerIdentifier": "demo-customer-1",
    "Dimension": "requests", "Quantity": 1, "Timestamp": datetime.datetime.now(datetime.timezone.utc)}])
print(r["Results"][0]["Status"], os.environ["METERD_SERVER"])
`), 0o600)
	for _, tc := range []struct{ name, shell, line string }{
		{"sh", "sh", `eval "$(` + bin + ` env --server ` + srv.URL + `)" && exec python3 ` + script},
		{"fish", "fish", bin + ` env --shell fish --server ` + srv.URL + ` | source; and exec python3 ` + script},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(tc.shell, "-c", tc.line)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true"}
			out, err := cmd.CombinedOutput()
			if err != nil || string(out) != "Success "+srv.URL+"\n" {
				t.Errorf("%s: %v: %s; want Success and METERD_SERVER", tc.line, err, out)
			}
		})
	}
	out, _, code := runHere("env", "--server", "http://meterd:4579/", "--access-key-id", "k", "--secret-access-key", "it's secret", "--output", "json")
	var env map[string]string
	if code != 0 || json.Unmarshal([]byte(out), &env) != nil {
		t.Fatalf("env --output json = exit %d, %q", code, out)
	}
	for _, name := range server.EndpointVariables() {
		if env[name] != "http://meterd:4579" {
			t.Errorf("env[%s] = %q, want the server without its trailing slash", name, env[name])
		}
	}
	if env["AWS_ACCESS_KEY_ID"] != "k" || env["AWS_SECRET_ACCESS_KEY"] != "it's secret" || env["AWS_REGION"] != "us-east-1" || env["AWS_DEFAULT_REGION"] != "us-east-1" {
		t.Errorf("env = %v, want the given key pair and region us-east-1", env)
	}
	if out, _, _ := runHere("env", "--secret-access-key", "it's secret"); !strings.Contains(out, `export AWS_SECRET_ACCESS_KEY='it'\''s secret'`) {
		t.Errorf("env quotes a secret with a quote as %q", out)
	}
	for _, args := range [][]string{{"env", "--shell", "csh"}, {"env", "--server", "127.0.0.1:4579"}, {"env", "--output", "csv"}} {
		if _, _, code := runHere(args...); code != exitUsage {
			t.Errorf("%v = exit %d, want %d", args, code, exitUsage)
		}
	}
}

// TestCompletion loads each shell's script into that shell and asks it to
// complete a command, a verb and a flag.
func TestCompletion(t *testing.T) {
	dir := t.TempDir()
	for _, sh := range []string{"bash", "zsh", "fish"} {
		out, stderr, code := runHere("completion", sh)
		if code != 0 {
			t.Fatalf("completion %s = exit %d, %s", sh, code, stderr)
		}
		os.WriteFile(filepath.Join(dir, "meterd."+sh), []byte(out), 0o600)
	}
	// bash and zsh: the words the function offers for COMP_WORDS.
	complete := func(shell string, words ...string) string {
		t.Helper()
		script := `source ` + filepath.Join(dir, "meterd."+shell) + `
COMP_WORDS=(` + strings.Join(words, " ") + `); COMP_CWORD=` + strconv.Itoa(len(words)-1) + `
_meterd; echo "${COMPREPLY[@]}"`
		args := []string{"-c", script}
		if shell == "zsh" {
			// zsh's bash layer calls the function with sh emulation (arrays
			// from 0, as in bash).
			args = []string{"-f", "-c", "autoload -U compinit && compinit -u; emulate sh -c '" + strings.ReplaceAll(script, "'", `'\''`) + "'"}
		}
		out, err := exec.Command(shell, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s completion of %v: %v: %s", shell, words, err, out)
		}
		// zsh's compgen offers every word; zsh then keeps those that
		// start with the word being completed, as done here.
		var kept []string
		for _, w := range strings.Fields(string(out)) {
			if strings.HasPrefix(w, words[len(words)-1]) {
				kept = append(kept, w)
			}
		}
		return strings.Join(kept, " ")
	}
	fish := func(line string) string {
		t.Helper()
		out, err := exec.Command("fish", "--no-config", "-c", "source "+filepath.Join(dir, "meterd.fish")+"; complete -C '"+line+"'").CombinedOutput()
		if err != nil {
			t.Fatalf("fish completion of %q: %v: %s", line, err, out)
		}
		var first []string
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			first = append(first, strings.Fields(l + " ")[0])
		}
		return strings.Join(first, " ")
	}
	for _, shell := range []string{"bash", "zsh"} {
		t.Run(shell, func(t *testing.T) {
			if got := complete(shell, "meterd", "cus"); got != "customers" {
				t.Errorf("meterd cus<TAB> = %q, want customers", got)
			}
			if got := complete(shell, "meterd", "customers", "sub"); got != "subscribe" {
				t.Errorf("meterd customers sub<TAB> = %q, want subscribe", got)
			}
			if got := complete(shell, "meterd", "customers", "subscribe", "--prod"); got != "--product" {
				t.Errorf("meterd customers subscribe --prod<TAB> = %q, want --product", got)
			}
			if got := complete(shell, "meterd", "serve", "--lis"); got != "--listen" {
				t.Errorf("meterd serve --lis<TAB> = %q, want --listen", got)
			}
			if got := complete(shell, "meterd", "completion", "f"); got != "fish" {
				t.Errorf("meterd completion f<TAB> = %q, want fish", got)
			}
		})
	}
	t.Run("fish", func(t *testing.T) {
		if got := fish("meterd cus"); got != "customers" {
			t.Errorf("meterd cus<TAB> = %q, want customers", got)
		}
		if got := fish("meterd customers sub"); got != "subscribe" {
			t.Errorf("meterd customers sub<TAB> = %q, want subscribe", got)
		}
		if got := fish("meterd customers subscribe --prod"); got != "--product" {
			t.Errorf("meterd customers subscribe --prod<TAB> = %q, want --product", got)
		}
		if got := fish("meterd reset --y"); got != "--yes" {
			t.Errorf("meterd reset --y<TAB> = %q, want --yes", got)
		}
	})
	if _, _, code := runHere("completion", "powershell"); code != exitUsage {
		t.Errorf("completion powershell = exit %d, want %d", code, exitUsage)
	}
}
