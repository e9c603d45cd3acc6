package meterdtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// RelayProcess is a `meterd relay serve` process. It keeps its data
// directory and port across Kill and Restart, so a test can crash it and
// start it again on the same outbox.
//
// Typical use, against a meterd upstream started with Serve:
//
//	up := meterdtest.Serve(t, bin)
//	r := meterdtest.Relay(t, bin, "--upstream-endpoint", up.URL)
//	rc := relay.NewClient(r.URL, r.Token)
//	... rc.Send(ctx, events) ...
//	r.Kill()              // SIGKILL, as a crash would
//	r.Clock = now         // the relay clock is not kept across restarts
//	r.Restart()           // same port, same --data
//
// Two relays sharing one PostgreSQL store are two Relay calls with the
// same "--store", "postgres://..." flags; each has its own Data (token)
// and port. For other environments (other credentials) or a frozen clock
// from the first start, use NewRelay, set Env or Clock, then call Start.
type RelayProcess struct {
	Bin  string
	Data string   // its --data directory (a new temporary one)
	Args []string // the extra flags it is started with
	// Env is the AWS part of its environment, added after the defaults.
	// The defaults strip every AWS_* variable of the test's environment,
	// turn away the shared config files and the instance metadata service,
	// and give the demo seller's key test/test in AWS_ACCESS_KEY_ID and
	// AWS_SECRET_ACCESS_KEY. A test of another credential source sets, for
	// example, AWS_ACCESS_KEY_ID= (empty, which the SDK ignores) plus its
	// own variables.
	Env []string
	// Clock, when not zero, is passed as --clock at every start: the relay
	// clock lives in memory, so a test that moved it sets it again here
	// before Restart.
	Clock time.Time
	URL   string // http://127.0.0.1:PORT
	Addr  string // 127.0.0.1:PORT
	// Token is the relay's bearer token: the one given with --token, else
	// the one the relay generated in Data.
	Token string

	tb     testing.TB
	cmd    *exec.Cmd
	exited chan struct{}
	stderr *lockedBuffer
}

// Relay starts `meterd relay serve` on a free loopback port with a new
// data directory and the given extra flags (typically --upstream-endpoint),
// and waits until it listens. The process is killed when the test ends.
func Relay(tb testing.TB, bin string, args ...string) *RelayProcess {
	tb.Helper()
	r := NewRelay(tb, bin, args...)
	r.Start()
	return r
}

// NewRelay returns a relay process that is not started yet, so that the
// test can set Env, Clock or Data first; Start runs it.
func NewRelay(tb testing.TB, bin string, args ...string) *RelayProcess {
	tb.Helper()
	r := &RelayProcess{Bin: bin, Data: tb.TempDir(), Args: args, Addr: "127.0.0.1:0", tb: tb}
	tb.Cleanup(r.Kill)
	return r
}

// Start runs the process and waits for its banner.
func (r *RelayProcess) Start() {
	r.tb.Helper()
	args := []string{"relay", "serve", "--listen", r.Addr, "--data", r.Data}
	if !r.Clock.IsZero() {
		args = append(args, "--clock", r.Clock.UTC().Format(time.RFC3339))
	}
	r.cmd = exec.Command(r.Bin, append(args, r.Args...)...)
	r.cmd.Env = relayEnv(r.Env)
	r.stderr = &lockedBuffer{}
	r.cmd.Stderr = r.stderr
	stdout, err := r.cmd.StdoutPipe()
	if err != nil {
		r.tb.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		r.tb.Fatalf("start meterd relay: %v", err)
	}
	exited := make(chan struct{})
	r.exited = exited
	cmd := r.cmd
	go func() { cmd.Wait(); close(exited) }()
	urls := make(chan string, 1)
	go scanBanner(stdout, "meterd relay is listening on ", urls)
	select {
	case u := <-urls:
		r.URL = u
		r.Addr = strings.TrimPrefix(u, "http://")
	case <-exited:
		r.tb.Fatalf("meterd relay exited before listening: %s", r.stderr.String())
	case <-time.After(60 * time.Second):
		r.cmd.Process.Kill()
		r.tb.Fatalf("meterd relay did not print its banner within 60s: %s", r.stderr.String())
	}
	r.Token = flagValue(r.Args, "--token")
	if r.Token == "" {
		if b, err := os.ReadFile(filepath.Join(r.Data, "relay-token")); err == nil {
			r.Token = strings.TrimSpace(string(b))
		}
	}
}

// relayEnv is the process environment: the test's own without AWS_*
// variables, the isolation defaults, the demo key unless env is given,
// then env (later entries win in os/exec).
func relayEnv(env []string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			out = append(out, kv)
		}
	}
	out = append(out,
		"AWS_CONFIG_FILE="+os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE="+os.DevNull,
		"AWS_EC2_METADATA_DISABLED=true",
	)
	if env == nil {
		out = append(out, "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test")
	}
	return append(out, env...)
}

// Kill stops the process with SIGKILL, as a crash would, and waits for it.
func (r *RelayProcess) Kill() {
	if r.cmd != nil && r.cmd.Process != nil {
		r.cmd.Process.Kill()
		<-r.exited
	}
}

// Stop sends SIGTERM and waits for a clean exit, failing the test otherwise.
func (r *RelayProcess) Stop() {
	r.tb.Helper()
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(30 * time.Second):
		r.Kill()
		r.tb.Fatalf("meterd relay did not stop within 30s of SIGTERM")
	}
	if code := r.cmd.ProcessState.ExitCode(); code != 0 {
		r.tb.Fatalf("meterd relay exited with %d after SIGTERM: %s", code, r.stderr.String())
	}
}

// Restart starts the process again on the same port and data directory
// (after Kill or Stop), with --clock Clock when Clock is set.
func (r *RelayProcess) Restart() {
	r.tb.Helper()
	r.Start()
}

// Stderr returns what the process has written to stderr (its JSON logs) since
// it was last started.
func (r *RelayProcess) Stderr() string { return r.stderr.String() }
