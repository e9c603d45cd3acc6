package pgtest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Server timeouts: initdb takes about a second, start a fraction of one.
const (
	startTimeout = 30 * time.Second
	stopTimeout  = 30 * time.Second
)

// init creates the temporary directory and the cluster in it.
func (c *Cluster) init() error {
	if os.Geteuid() == 0 {
		cred, err := serverCredential()
		if err != nil {
			return err
		}
		c.cred = cred
	}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return err
	}
	c.dir = dir
	for _, d := range []string{dir, c.sockDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
		if c.cred != nil {
			if err := os.Chown(d, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
				return err
			}
		}
	}
	if c.port, err = freePort(); err != nil {
		return err
	}
	c.url = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)

	cmd := exec.Command(filepath.Join(c.bindir, "initdb"), "-D", c.dataDir(),
		"-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = c.sysProcAttr()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("initdb: %v\n%s", err, out.Bytes())
	}
	return nil
}

func (c *Cluster) dataDir() string { return filepath.Join(c.dir, "data") }
func (c *Cluster) sockDir() string { return filepath.Join(c.dir, "sock") }
func (c *Cluster) logFile() string { return filepath.Join(c.dir, "server.log") }

// sysProcAttr runs the server in its own process group (so that stopping
// it reaches every backend), as ServerUser when we are root, and has the
// kernel kill it if the test binary dies first.
func (c *Cluster) sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Credential: c.cred, Pdeathsig: syscall.SIGKILL}
}

// serverCredential returns the uid and gid of ServerUser, creating the
// system user when it does not exist.
func serverCredential() (*syscall.Credential, error) {
	u, err := user.Lookup(ServerUser)
	if err != nil {
		out, uerr := exec.Command("useradd", "--system", "--no-create-home", ServerUser).CombinedOutput()
		if uerr != nil {
			return nil, fmt.Errorf("running as root and user %q is missing; useradd: %v: %s", ServerUser, uerr, out)
		}
		if u, err = user.Lookup(ServerUser); err != nil {
			return nil, err
		}
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, err
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}

// start runs postgres on the data directory and waits until it accepts
// connections.
func (c *Cluster) start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd != nil {
		return nil
	}
	log, err := os.OpenFile(c.logFile(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	// fsync stays on: the stores' durability is what the tests exercise.
	cmd := exec.Command(filepath.Join(c.bindir, "postgres"), "-D", c.dataDir(), "-p", c.portString(),
		"-k", c.sockDir(), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=on", "-c", "synchronous_commit=on",
		"-c", "max_connections=200")
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = c.sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	c.cmd, c.done = cmd, done

	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := ping(ctx, c.url)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-done:
			c.cmd = nil
			return fmt.Errorf("postgres exited while starting: %v\n%s", cmd.ProcessState, c.tailLog())
		default:
		}
		if time.Now().After(deadline) {
			c.kill()
			return fmt.Errorf("postgres not accepting connections after %v: %v\n%s", startTimeout, err, c.tailLog())
		}
		time.Sleep(20 * time.Millisecond) // polling the server, not waiting for time
	}
}

// tailLog returns the end of the server log, for failure messages.
func (c *Cluster) tailLog() string {
	b, _ := os.ReadFile(c.logFile())
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// stop asks the server for a fast shutdown and kills its process group if
// it does not go in time. c.mu must be held.
func (c *Cluster) stop() error {
	if c.cmd == nil {
		return nil
	}
	// SIGINT is PostgreSQL's fast shutdown: clients are disconnected, and
	// every committed transaction is already durable.
	c.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-c.done:
	case <-time.After(stopTimeout):
		c.kill()
		return fmt.Errorf("postgres did not stop within %v; killed", stopTimeout)
	}
	c.cmd = nil
	return nil
}

// kill kills the server's whole process group and waits for it.
func (c *Cluster) kill() {
	if c.cmd == nil {
		return
	}
	syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
	<-c.done
	c.cmd = nil
}

// running reports whether this cluster's server is up (always true for an
// external server).
func (c *Cluster) running() bool {
	if c.external {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cmd != nil
}

// Stop shuts the server down, keeping its data directory and port for
// Start. It fails tb for an external server.
func (c *Cluster) Stop(tb testing.TB) {
	tb.Helper()
	if c.external {
		tb.Fatal(errExternal)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.stop(); err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
}

// Start starts a stopped server again, on the same data directory and
// port, and waits until it accepts connections. It fails tb for an external
// server.
func (c *Cluster) Start(tb testing.TB) {
	tb.Helper()
	if c.external {
		tb.Fatal(errExternal)
	}
	if err := c.start(); err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
}

// Close stops a throwaway cluster and removes its directory. It leaves an
// external server alone.
func (c *Cluster) Close() {
	if c.external {
		return
	}
	c.mu.Lock()
	if err := c.stop(); err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
	}
	c.mu.Unlock()
	if c.dir != "" {
		os.RemoveAll(c.dir)
	}
}
