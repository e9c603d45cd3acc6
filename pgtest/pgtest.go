// Package pgtest gives tests a real PostgreSQL server: a throwaway
// PostgreSQL 15 cluster in a temporary directory, or the server named by
// METERD_TEST_POSTGRES. Tests never skip for want of a server: when neither is
// possible they fail and say how to provide one.
//
// Starting a cluster costs about a second, so a test binary shares one
// cluster across its tests through TestMain, and each test takes a fresh
// database of its own with NewDatabase:
//
//	var cluster *pgtest.Cluster
//
//	func TestMain(m *testing.M) {
//		os.Exit(pgtest.Main(m, &cluster))
//	}
//
//	func TestSomething(t *testing.T) {
//		url := cluster.NewDatabase(t) // dropped when t ends
//		...
//	}
//
// A test that stops and restarts the server takes a cluster of its own with
// Start(t), so it does not disturb the tests sharing the common one.
//
// initdb and postgres refuse to run as root. When the tests run as root, the
// server runs as the system user "pgtest", created with useradd when missing.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the environment variable that points the tests at an existing
// server instead of a throwaway cluster, e.g.
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable. The role must
// be allowed to create databases.
const EnvURL = "METERD_TEST_POSTGRES"

// ServerUser is the system user the server runs as when the tests run as root.
const ServerUser = "pgtest"

// howTo is appended to every "no server" failure.
const howTo = "install PostgreSQL 15 (apt-get install postgresql-15; its server binaries are found with pg_config --bindir) " +
	"or set " + EnvURL + "=postgres://USER@HOST:PORT/DB?sslmode=disable to use an existing server"

// Cluster is a PostgreSQL server for tests: a throwaway cluster it started
// itself, or an external one from METERD_TEST_POSTGRES.
type Cluster struct {
	url      string // the maintenance database's URL
	external bool

	// For a throwaway cluster only.
	bindir   string
	dir      string // temporary directory: data/, sock/, server.log
	port     int
	cred     *syscall.Credential // nil unless running as root
	dbSerial atomic.Int64

	mu   sync.Mutex
	cmd  *exec.Cmd     // the running postmaster; nil when stopped
	done chan struct{} // closed when cmd has exited
}

// Start returns a new cluster for tb and closes it when tb ends. Use it for
// a test that needs a server of its own (one it stops and restarts); share
// one cluster otherwise (see Main).
func Start(tb testing.TB) *Cluster {
	tb.Helper()
	c, err := New()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	return c
}

// Main starts a cluster, stores it in *c, runs the tests and closes the
// cluster; it returns m.Run's exit code for os.Exit. When no server can be
// had it prints why and returns 1, so the tests fail rather than skip.
func Main(m *testing.M, c **Cluster) int {
	cl, err := New()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	*c = cl
	defer cl.Close()
	return m.Run()
}

// New starts a throwaway cluster, or connects to the server named by
// METERD_TEST_POSTGRES. The caller must Close it.
func New() (*Cluster, error) {
	if u := os.Getenv(EnvURL); u != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := ping(ctx, u); err != nil {
			return nil, fmt.Errorf("pgtest: %s=%s: %w", EnvURL, u, err)
		}
		return &Cluster{url: u, external: true}, nil
	}
	bindir, err := findBindir()
	if err != nil {
		return nil, fmt.Errorf("pgtest: no PostgreSQL server binaries (%v): %s", err, howTo)
	}
	c := &Cluster{bindir: bindir}
	if err := c.init(); err != nil {
		c.Close()
		return nil, fmt.Errorf("pgtest: %w; to use another server, %s", err, howTo)
	}
	if err := c.start(); err != nil {
		c.Close()
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	return c, nil
}

// findBindir returns the directory holding initdb and postgres.
func findBindir() (string, error) {
	var candidates []string
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(out)))
	}
	candidates = append(candidates, "/usr/lib/postgresql/15/bin")
	for _, dir := range candidates {
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir, nil
		}
	}
	return "", fmt.Errorf("initdb not found in %v", candidates)
}

// URL returns the URL of the server's maintenance database "postgres".
func (c *Cluster) URL() string { return c.url }

// PID is the running server's process id, the postmaster's, whose
// children are the backends (benchmarks sum their CPU time). 0 when
// stopped.
func (c *Cluster) PID() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd == nil || c.cmd.Process == nil {
		return 0
	}
	return c.cmd.Process.Pid
}

// NewDatabase creates an empty database with a unique name and returns its
// URL. The database is dropped when tb ends, after tb's later cleanups (such
// as closing a store opened on it) have run.
func (c *Cluster) NewDatabase(tb testing.TB) string {
	tb.Helper()
	name := fmt.Sprintf("pgtest_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9, c.dbSerial.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("pgtest: create database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// A test may leave the server stopped; its database goes with it.
		if err := c.exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil && c.running() {
			tb.Logf("pgtest: drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(c.url)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// exec runs one statement on the maintenance database.
func (c *Cluster) exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, c.url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

func ping(ctx context.Context, u string) error {
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.Ping(ctx)
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// errExternal explains why an external server cannot be stopped.
var errExternal = errors.New("pgtest: the server comes from " + EnvURL + " and cannot be stopped or started by the tests; " +
	"unset " + EnvURL + " to run this test on a throwaway cluster")

// portString formats the port for command lines and URLs.
func (c *Cluster) portString() string { return strconv.Itoa(c.port) }
