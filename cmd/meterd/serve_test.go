package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/server"
)

func TestServeBadCatalog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.yaml")
	os.WriteFile(path, []byte("accounts:\n  - id: \"123\"\n"), 0o600)
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"serve", "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--catalog", path}, &bytes.Buffer{}, &stderr)
	if code != exitError || !strings.Contains(stderr.String(), "catalog.yaml:2: accounts[0].id") {
		t.Errorf("serve with a bad catalog = exit %d, stderr %q; want exit 1 naming line 2 and accounts[0].id", code, stderr.String())
	}
}

// TestServeBadFaultRules: fault rules of the catalog that the catalog
// accepts but the fault rules refuse stop the start too, each named with
// the file and its line.
func TestServeBadFaultRules(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.yaml")
	os.WriteFile(path, []byte(`accounts: [{id: "111122223333"}]
products:
  - {code: p, seller: "111122223333", type: saas, dimensions: [{name: d}]}
faults:
  - {operation: BatchMeterUsage, unprocessed: 0.3}
  - {operation: Frobnicate, error: ThrottlingException}
  - {operation: MeterUsage, latency: soon}
`), 0o600)
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"serve", "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--catalog", path}, &bytes.Buffer{}, &stderr)
	if code != exitError || !strings.Contains(stderr.String(), path+":6: faults[1]: operation") || !strings.Contains(stderr.String(), path+":7: faults[2]: latency") {
		t.Errorf("serve with bad fault rules = exit %d, stderr %q; want exit 1 naming lines 6 and 7", code, stderr.String())
	}
}

func TestServeUnknownCommand(t *testing.T) {
	if code := run(context.Background(), []string{"frobnicate"}, &bytes.Buffer{}, &bytes.Buffer{}); code != exitUsage {
		t.Errorf("run(frobnicate) = %d, want %d", code, exitUsage)
	}
}

// TestCatalogIdempotent starts twice on one data directory with the same
// catalog and finds the same catalog, signing keys and admin token.
func TestCatalogIdempotent(t *testing.T) {
	data := t.TempDir()
	snapshot := func() (customers []*meterd.Customer, keys []*meterd.PublicKey, token string) {
		cfg := server.DefaultConfig()
		cfg.Listen, cfg.Data, cfg.Catalog = "127.0.0.1:0", data, "testdata/e2e-catalog.yaml"
		m := &server.Main{Config: cfg}
		if err := m.Run(context.Background()); err != nil {
			t.Fatalf("Run() = %v", err)
		}
		defer m.Close()
		ctx := context.Background()
		customers, _ = m.Ledger.Customers(ctx, "container-product")
		keys, _ = m.Ledger.PublicKeys(ctx, "container-product")
		tokens, _ := m.Ledger.AdminTokens(ctx)
		if len(tokens) != 1 || tokens[0].Name != meterd.DefaultAdminToken || tokens[0].Role != meterd.RoleAdmin {
			t.Fatalf("admin tokens = %v, want the one named default, role admin", tokens)
		}
		return customers, keys, tokens[0].Hash
	}
	c1, k1, t1 := snapshot()
	c2, k2, t2 := snapshot()
	if len(c1) != 2 || !reflect.DeepEqual(c1, c2) {
		t.Errorf("customers after the second start = %+v, want %+v", c2, c1)
	}
	if len(k1) != 2 || !reflect.DeepEqual(k1, k2) {
		t.Errorf("public keys changed on the second start")
	}
	if t1 == "" || t1 != t2 {
		t.Errorf("admin token hash = %q then %q, want one stable hash", t1, t2)
	}
	info, err := os.Stat(filepath.Join(data, "admin-token"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("admin-token file = %v, %v; want mode 0600", info, err)
	}
	tok, _ := os.ReadFile(filepath.Join(data, "admin-token"))
	if meterd.HashAdminToken(strings.TrimSpace(string(tok))) != t1 || len(strings.TrimSpace(string(tok))) < 64 {
		t.Errorf("admin-token file does not match the stored hash, or is shorter than 32 bytes")
	}
}

func TestBanner(t *testing.T) {
	cfg := server.DefaultConfig()
	cfg.Listen, cfg.Data = "127.0.0.1:0", t.TempDir()
	var out bytes.Buffer
	m := &server.Main{Config: cfg, Stdout: &out}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, want := range []string{"AWS_ENDPOINT_URL_MARKETPLACE_METERING=" + m.URL(), "demo-product", "demo-customer-1", "demo-customer-2", filepath.Join(cfg.Data, "admin-token")} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("banner = %q, want it to contain %q", out.String(), want)
		}
	}
}

// TestServeAdminTokenFile starts meterd with --admin-token-file (through
// METERD_ADMIN_TOKEN_FILE, as a unit file would): the file's first line is
// the admin token, and an empty file is refused at start.
func TestServeAdminTokenFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	os.WriteFile(file, []byte("file-token-0123456789\n# a comment line is not read\n"), 0o600)
	cfg := server.DefaultConfig()
	if err := cfg.ParseFlags([]string{"--listen", "127.0.0.1:0", "--data", t.TempDir()},
		func(k string) string { return map[string]string{"METERD_ADMIN_TOKEN_FILE": file}[k] }); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	m := &server.Main{Config: cfg, Stdout: &out}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := admin.NewClient(m.URL(), "file-token-0123456789").Clock(context.Background()); err != nil {
		t.Errorf("admin API with the file's token = %v, want it accepted", err)
	}
	if !strings.Contains(out.String(), "--admin-token-file "+file) {
		t.Errorf("banner = %q, want it to say where the admin token came from", out.String())
	}

	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"serve", "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--admin-token-file", empty}, &bytes.Buffer{}, &stderr)
	if code != exitError || !strings.Contains(stderr.String(), "--admin-token-file") {
		t.Errorf("serve --admin-token-file (empty file) = exit %d, stderr %q; want %d naming the flag", code, stderr.String(), exitError)
	}
}

// TestServeRefusesDamagedStore starts meterd on a data directory whose
// ledger was damaged while it was stopped: it must exit non-zero, saying
// what is wrong with which file, before it listens.
func TestServeRefusesDamagedStore(t *testing.T) {
	data := t.TempDir()
	cfg := server.DefaultConfig()
	cfg.Listen, cfg.Data = "127.0.0.1:0", data
	m := &server.Main{Config: cfg}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(data, "meterd.db"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("garbage, garbage"), 0)
	f.Close()
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"serve", "--listen", "127.0.0.1:0", "--data", data}, &bytes.Buffer{}, &stderr)
	if code != exitError || !strings.Contains(stderr.String(), "meterd.db is not a SQLite database") || !strings.Contains(stderr.String(), "restore") {
		t.Errorf("serve on a damaged ledger = exit %d, stderr %q; want %d, naming the file and the way out", code, stderr.String(), exitError)
	}
}
