// Package meterdtest (internal) runs the real meterd binary for tests that need a
// separate process: CLI tests, crash tests, several servers on one store,
// and the conformance suite with non-Go clients.
package meterdtest

import (
	"bufio"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Build compiles ./cmd/meterd into a temporary directory and returns the
// binary's path. The Go build cache makes repeated builds cheap.
func Build(tb testing.TB) string {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), "meterd")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/meterd")
	cmd.Dir = moduleRoot(tb)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build ./cmd/meterd: %v\n%s", err, out)
	}
	return bin
}

// moduleRoot is the directory of go.mod, found from this source file.
func moduleRoot(tb testing.TB) string {
	tb.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		tb.Fatal("meterdtest: cannot find the module root")
	}
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}

// Server is a meterd serve process.
type Server struct {
	Bin  string
	Data string   // its --data directory
	Args []string // the extra flags it was started with
	URL  string   // http://127.0.0.1:PORT
	Addr string   // 127.0.0.1:PORT
	// AdminToken is the generated admin token read from Data, or the one
	// passed with --admin-token.
	AdminToken string

	tb     testing.TB
	cmd    *exec.Cmd
	exited chan struct{}
	stderr *lockedBuffer
}

// Serve starts `meterd serve` on a free loopback port with a new data
// directory and the given extra flags, and waits until it answers. The
// process is killed when the test ends.
func Serve(tb testing.TB, bin string, args ...string) *Server {
	tb.Helper()
	s := &Server{Bin: bin, Data: tb.TempDir(), Args: args, tb: tb}
	s.start("127.0.0.1:0")
	tb.Cleanup(s.Kill)
	return s
}

// start runs the process on addr and waits for its banner.
func (s *Server) start(addr string) {
	s.tb.Helper()
	args := append([]string{"serve", "--listen", addr, "--data", s.Data}, s.Args...)
	s.cmd = exec.Command(s.Bin, args...)
	s.stderr = &lockedBuffer{}
	s.cmd.Stderr = s.stderr
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		s.tb.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		s.tb.Fatalf("start meterd: %v", err)
	}
	s.exited = make(chan struct{})
	go func() { s.cmd.Wait(); close(s.exited) }()
	urls := make(chan string, 1)
	go scanBanner(stdout, "meterd is listening on ", urls)
	select {
	case u := <-urls:
		s.URL = u
		s.Addr = strings.TrimPrefix(strings.TrimPrefix(u, "http://"), "https://")
	case <-s.exited:
		s.tb.Fatalf("meterd exited before listening: %s", s.stderr.String())
	case <-time.After(60 * time.Second):
		s.cmd.Process.Kill()
		s.tb.Fatalf("meterd did not print its banner within 60s: %s", s.stderr.String())
	}
	s.AdminToken = s.flag("--admin-token")
	if s.AdminToken == "" {
		if b, err := os.ReadFile(filepath.Join(s.Data, "admin-token")); err == nil {
			s.AdminToken = strings.TrimSpace(string(b))
		}
	}
}

// scanBanner sends the URL of the "<prefix>URL" line, and keeps draining
// stdout so the process never blocks on it.
func scanBanner(r io.Reader, prefix string, urls chan<- string) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), prefix); ok {
			urls <- strings.Fields(rest)[0]
		}
	}
}

func (s *Server) flag(name string) string { return flagValue(s.Args, name) }

// flagValue returns the value of flag name in args ("--name v" or
// "--name=v"), or "".
func flagValue(args []string, name string) string {
	for i, a := range args {
		if a == name && i+1 < len(args) {
			return args[i+1]
		} else if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}

// Kill stops the process with SIGKILL, as a crash would.
func (s *Server) Kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		<-s.exited
	}
}

// Stop sends SIGTERM and waits for a clean exit, failing the test otherwise.
func (s *Server) Stop() {
	s.tb.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		s.Kill()
		s.tb.Fatalf("meterd did not stop within 30s of SIGTERM")
	}
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		s.tb.Fatalf("meterd exited with %d after SIGTERM: %s", code, s.stderr.String())
	}
}

// Restart starts the process again on the same port and data directory
// (after Kill or Stop).
func (s *Server) Restart() {
	s.tb.Helper()
	// The old port may linger briefly in TIME_WAIT for connect, not for
	// listen, so it is free to listen on again.
	s.start(s.Addr)
}

// Stderr returns what the process has written to stderr (its JSON logs).
func (s *Server) Stderr() string { return s.stderr.String() }

// PID is the running server's process id, 0 when it is not running.
func (s *Server) PID() int {
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Env returns the environment for an AWS client pointed at the server with
// the given key pair and region us-east-1, with every shared config file
// and the instance metadata service turned away.
func (s *Server) Env(key, secret string) []string {
	return append(os.Environ(),
		"AWS_ENDPOINT_URL_MARKETPLACE_METERING="+s.URL,
		"AWS_ENDPOINT_URL_MARKETPLACE_ENTITLEMENT_SERVICE="+s.URL,
		"AWS_ENDPOINT_URL_MARKETPLACE_AGREEMENT="+s.URL,
		"AWS_ENDPOINT_URL_MARKETPLACE_CATALOG="+s.URL,
		"AWS_ACCESS_KEY_ID="+key,
		"AWS_SECRET_ACCESS_KEY="+secret,
		"AWS_REGION=us-east-1",
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_EC2_METADATA_DISABLED=true",
	)
}

// FreeAddr returns a loopback address with a port that was free a moment ago.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
