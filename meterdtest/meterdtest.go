// Package meterdtest runs a whole meterd server inside a Go test, as
// net/http/httptest does for an HTTP handler: the AWS APIs, the admin API
// and the health checks on a free loopback port, with a SQLite store in a
// temporary directory. A seller's test needs no meterd binary, no port to
// pick and no cleanup:
//
//	srv := meterdtest.NewServer(t)
//	client := marketplacemetering.New(marketplacemetering.Options{
//		Region:       srv.Region,
//		BaseEndpoint: aws.String(srv.URL),
//		Credentials:  srv.Credentials(),
//	})
//	... meter with client ...
//	srv.Clock.Advance(time.Hour)                   // the server's clock
//	page, _ := srv.Admin.Usage(ctx, admin.UsageQuery{}) // what was recorded
//
// Without options the server holds the demo catalog (seller key test/test,
// product demo-product, customers demo-customer-1 and demo-customer-2).
package meterdtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/catalog"
	"github.com/meterd/meterd/server"
)

// Server is a meterd server running in this process.
type Server struct {
	// URL is the base URL of every API, such as http://127.0.0.1:34567:
	// the endpoint to give an AWS SDK client.
	URL string
	// Region is the region to give an AWS SDK client (us-east-1).
	Region string
	// AccessKeyID and SecretAccessKey are the seller's credentials: the
	// first access key of the first product's seller (test/test for the
	// demo catalog).
	AccessKeyID, SecretAccessKey string
	// AdminToken is the admin API's token, which Admin uses.
	AdminToken string
	// Admin is a client of the admin API: products, customers, usage,
	// faults, the clock.
	Admin *admin.Client
	// Clock is the server's clock, which every metering rule reads (usage
	// windows, hours, token expiry). It follows real time until set.
	Clock *meterd.ServerClock
	// Ledger is the server's store, for what the admin API does not show.
	Ledger meterd.Ledger

	main   *server.Main
	tmpDir string // removed by Close when Start made it
}

// Option configures a Server.
type Option func(*options)

type options struct {
	catalog     *catalog.File
	catalogPath string
	clock       time.Time
	logger      *slog.Logger
	config      func(*server.Config)
}

// WithCatalog serves the given catalog (accounts, keys, products,
// customers, fault rules) instead of the demo one.
func WithCatalog(f *catalog.File) Option {
	return func(o *options) { o.catalog, o.catalogPath = f, "" }
}

// WithCatalogFile serves the catalog of a YAML or JSON file, as meterd
// serve --catalog does.
func WithCatalogFile(path string) Option {
	return func(o *options) { o.catalogPath, o.catalog = path, nil }
}

// WithClock starts the server's clock frozen at t, so that a test names
// its hours; Clock.Advance and Clock.Set move it on.
func WithClock(t time.Time) Option {
	return func(o *options) { o.clock = t }
}

// WithLogger sends the server's JSON request and error log to l
// (default: discarded).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

// WithConfig edits the server's configuration (the flags of meterd serve)
// before it starts: c.PastWindow, c.Quotas, c.Auth and so on. The listen
// address and data directory are the test server's own.
func WithConfig(edit func(c *server.Config)) Option {
	return func(o *options) { o.config = edit }
}

// NewServer starts a server for the test and closes it, with its temporary
// store, when the test ends. It fails the test if the server cannot start.
func NewServer(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s, err := start(tb.TempDir(), opts)
	if err != nil {
		tb.Fatalf("meterdtest: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("meterdtest: close: %v", err)
		}
	})
	return s
}

// Start starts a server outside a test (in an Example or TestMain, say),
// with its store in a new temporary directory. The caller calls Close,
// which also removes that directory.
func Start(opts ...Option) (*Server, error) {
	dir, err := os.MkdirTemp("", "meterdtest-")
	if err != nil {
		return nil, err
	}
	s, err := start(dir, opts)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s.tmpDir = dir
	return s, nil
}

// start runs a server with its data in dir.
func start(dir string, opts []Option) (*Server, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	cfg := server.DefaultConfig()
	if o.config != nil {
		o.config(&cfg)
	}
	cfg.Listen, cfg.Data, cfg.Store = "127.0.0.1:0", dir, "sqlite"
	cfg.Catalog = "" // the file is read here once, and applied as Main.Catalog
	cfg.AdminToken = newToken()
	file := o.catalog
	if file == nil && o.catalogPath != "" {
		var err error
		if file, err = catalog.Load(o.catalogPath); err != nil {
			return nil, err
		}
	}
	key, err := sellerKey(file)
	if err != nil {
		return nil, err
	}
	m := &server.Main{Config: cfg, Catalog: file, Logger: o.logger, Clock: &meterd.ServerClock{}, Stdout: io.Discard}
	if !o.clock.IsZero() {
		m.Clock.Set(o.clock)
	}
	if err := m.Run(context.Background()); err != nil {
		return nil, err
	}
	return &Server{
		URL:             m.URL(),
		Region:          "us-east-1",
		AccessKeyID:     key.ID,
		SecretAccessKey: key.Secret,
		AdminToken:      cfg.AdminToken,
		Admin:           admin.NewClient(m.URL(), cfg.AdminToken),
		Clock:           m.Clock,
		Ledger:          m.Ledger,
		main:            m,
	}, nil
}

// sellerKey is the first access key of the first product's seller, or of
// the first account with a key when no product has one; the demo's when
// the catalog is nil.
func sellerKey(f *catalog.File) (catalog.AccessKey, error) {
	if f == nil {
		f = catalog.Demo()
	}
	keys := map[string][]catalog.AccessKey{}
	var first []catalog.AccessKey
	for _, a := range f.Accounts {
		keys[a.ID] = a.AccessKeys
		if first == nil && len(a.AccessKeys) > 0 {
			first = a.AccessKeys
		}
	}
	for _, p := range f.Products {
		if k := keys[p.Seller]; len(k) > 0 {
			return k[0], nil
		}
	}
	if first == nil {
		return catalog.AccessKey{}, errors.New("the catalog has no access key: give its seller account access_keys")
	}
	return first[0], nil
}

// newToken is a random admin token.
func newToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Credentials returns the seller's credentials for an AWS SDK for Go v2
// client (aws.Config.Credentials or a service's Options.Credentials).
func (s *Server) Credentials() aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(s.AccessKeyID, s.SecretAccessKey, "")
}

// Env returns the environment variables that point an AWS SDK or the AWS
// CLI (in a child process) at the server with the seller's credentials,
// as NAME=value pairs to append to os.Environ(): what meterd env prints.
func (s *Server) Env() []string {
	var env []string
	for _, v := range server.ClientEnv(s.URL, s.AccessKeyID, s.SecretAccessKey, s.Region) {
		env = append(env, v.Name+"="+v.Value)
	}
	return env
}

// Close stops the server, waiting for requests in flight, and closes its
// store (and, after Start, removes its temporary directory).
func (s *Server) Close() error {
	err := s.main.Close()
	if s.tmpDir != "" {
		if rmErr := os.RemoveAll(s.tmpDir); rmErr != nil {
			err = errors.Join(err, fmt.Errorf("remove %s: %w", s.tmpDir, rmErr))
		}
	}
	return err
}
