package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	mm "github.com/aws/aws-sdk-go-v2/service/marketplacemetering"

	"github.com/meterd/meterd/internal/meterdtest"
)

// TestCLI runs every CLI verb as the built binary against one server. The
// subtests share the server and run in order: later ones use the product
// and customers earlier ones created, and the clock tests leave the clock
// frozen at cliNow for the usage tests.
func TestCLI(t *testing.T) {
	bin := meterdtest.Build(t)
	h := &cliHarness{bin: bin, srv: meterdtest.Serve(t, bin)}
	t.Run("Help", h.testHelp)
	t.Run("UsageErrors", h.testUsageErrors)
	t.Run("Errors", h.testErrors)
	t.Run("AdminToken", h.testAdminToken)
	t.Run("Accounts", h.testAccounts)
	t.Run("Keys", h.testKeys)
	t.Run("Products", h.testProducts)
	t.Run("Customers", h.testCustomers)
	t.Run("Tokens", h.testTokens)
	t.Run("PublicKeys", h.testPublicKeys)
	t.Run("Clock", h.testClock)
	t.Run("Usage", h.testUsage)
	t.Run("Export", h.testExport)
	t.Run("UnsubscribeLifecycle", h.testUnsubscribeLifecycle)
	t.Run("Resubscribe", h.testResubscribe)
	t.Run("Reset", h.testReset)
}

// cliNow is where the clock tests leave the server clock.
var cliNow = time.Date(2026, 11, 23, 7, 30, 0, 0, time.UTC)

// cliHarness runs the meterd binary as a CLI against a server.
type cliHarness struct {
	bin string
	srv *meterdtest.Server
}

// result is what one CLI run produced.
type result struct {
	stdout, stderr string
	code           int
}

// run runs meterd with args against the server, with the admin token found
// through METERD_DATA.
func (h *cliHarness) run(t *testing.T, args ...string) result {
	t.Helper()
	return h.runEnv(t, []string{"METERD_SERVER=" + h.srv.URL, "METERD_DATA=" + h.srv.Data}, args...)
}

// runEnv runs meterd with args and only env among the METERD_ variables.
func (h *cliHarness) runEnv(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.bin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "METERD_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("meterd %s: %v", strings.Join(args, " "), err)
	}
	return result{stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()}
}

// ok runs meterd, fails the test unless it exits 0, and returns stdout.
func (h *cliHarness) ok(t *testing.T, args ...string) string {
	t.Helper()
	r := h.run(t, args...)
	if r.code != 0 {
		t.Fatalf("meterd %s: exit %d, want 0; stderr: %s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// json runs meterd with --output json and decodes stdout into v.
func (h *cliHarness) json(t *testing.T, v any, args ...string) {
	t.Helper()
	out := h.ok(t, append(args, "--output", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("meterd %s --output json: %v in %q", strings.Join(args, " "), err, out)
	}
}

// csv runs meterd with --output csv and returns the rows, header first.
func (h *cliHarness) csv(t *testing.T, args ...string) [][]string {
	t.Helper()
	out := h.ok(t, append(args, "--output", "csv")...)
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("meterd %s --output csv: %v in %q", strings.Join(args, " "), err, out)
	}
	return rows
}

// wantExit runs meterd and checks its exit code and that stderr has want.
func (h *cliHarness) wantExit(t *testing.T, code int, want string, args ...string) result {
	t.Helper()
	r := h.run(t, args...)
	if r.code != code || !strings.Contains(r.stderr, want) {
		t.Errorf("meterd %s = exit %d, stderr %q; want exit %d, stderr with %q", strings.Join(args, " "), r.code, r.stderr, code, want)
	}
	return r
}

// metering returns the Go SDK's Metering client signing with key.
func (h *cliHarness) metering(key, secret string) *mm.Client {
	return mm.New(mm.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(h.srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider(key, secret, ""),
		RetryMaxAttempts: 1,
	})
}

func (h *cliHarness) testHelp(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"Top", []string{"--help"}, []string{"meterd <noun> <verb>", "customers", "publickeys", "clock", "Exit codes"}},
		{"TopWord", []string{"help"}, []string{"meterd <noun> <verb>"}},
		{"Noun", []string{"customers", "--help"}, []string{"meterd customers subscribe --product C", "set-status"}},
		{"Verb", []string{"customers", "subscribe", "--help"}, []string{"Usage: meterd customers subscribe", "-aws-account-id", "-server", "-output"}},
		{"TokensCreate", []string{"tokens", "create", "-h"}, []string{"-ttl", "the token alone"}},
		{"UsageExport", []string{"usage", "export", "--help"}, []string{"-format", "-tag", "-from"}},
		{"Reset", []string{"reset", "--help"}, []string{"-yes"}},
		{"Backup", []string{"backup", "--help"}, []string{"Usage: meterd backup --to FILE", "-to", "VACUUM INTO", "pg_dump"}},
		{"Restore", []string{"restore", "--help"}, []string{"Usage: meterd restore --from FILE", "-from", "-data", "pre-restore", "pg_restore"}},
		{"AdminTokens", []string{"admin-tokens", "--help"}, []string{"create --name N --role admin|read-only", "revoke NAME"}},
		{"AdminTokensCreate", []string{"admin-tokens", "create", "--help"}, []string{"-role", "read-only", "the token alone"}},
		{"ClockAdvance", []string{"clock", "advance", "--help"}, []string{"DURATION", "-1h"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.run(t, tt.args...)
			if r.code != 0 {
				t.Fatalf("meterd %s: exit %d, want 0; stderr %s", strings.Join(tt.args, " "), r.code, r.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("meterd %s: stdout lacks %q:\n%s", strings.Join(tt.args, " "), w, r.stdout)
				}
			}
		})
	}
}

func (h *cliHarness) testUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"UnknownNoun", []string{"frobnicate"}, "unknown command"},
		{"MissingVerb", []string{"customers"}, "missing verb"},
		{"UnknownVerb", []string{"customers", "frob"}, `unknown verb "frob"`},
		{"BadFlag", []string{"customers", "list", "--bogus"}, "flag provided but not defined: -bogus"},
		{"MissingRequired", []string{"customers", "list"}, "--product is required"},
		{"MissingFormat", []string{"usage", "export"}, "--format is required"},
		{"BadFormat", []string{"usage", "export", "--format", "xml"}, "--format"},
		{"BadOutput", []string{"accounts", "list", "--output", "xml"}, "--output"},
		{"BadTime", []string{"clock", "set", "yesterday"}, "RFC 3339"},
		{"BadDuration", []string{"clock", "advance", "soon"}, "Go duration"},
		{"ExtraArgument", []string{"accounts", "list", "extra"}, "want 0 argument"},
		{"MissingArgument", []string{"products", "show"}, "want 1 argument"},
		{"BadTag", []string{"usage", "list", "--tag", "team"}, "K=V"},
		{"BadBy", []string{"usage", "summary", "--by", "month"}, "--by"},
		{"BadDimension", []string{"products", "create", "--code", "x", "--seller", "111122223333", "--type", "saas", "--dimension", ":Unit"}, "--dimension"},
		{"ResetWithoutYes", []string{"reset"}, "without --yes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.wantExit(t, 2, tt.want, tt.args...)
		})
	}
}

func (h *cliHarness) testErrors(t *testing.T) {
	t.Run("NotFound", func(t *testing.T) {
		h.wantExit(t, 1, "not found", "products", "show", "no-such-product")
		h.wantExit(t, 1, "server "+h.srv.URL, "products", "show", "no-such-product")
	})
	t.Run("ServerDown", func(t *testing.T) {
		down := "http://" + meterdtest.FreeAddr(t)
		r := h.run(t, "accounts", "list", "--server", down)
		if r.code != 1 || !strings.Contains(r.stderr, "no server answers at "+down+" (connection refused)") || !strings.Contains(r.stderr, "--server URL or METERD_SERVER=URL") {
			t.Errorf("accounts list against a closed port = exit %d, stderr %q; want 1 naming the server and how to point elsewhere", r.code, r.stderr)
		}
	})
	t.Run("NotMeterd", func(t *testing.T) {
		other := httptest.NewServer(http.NotFoundHandler())
		defer other.Close()
		r := h.run(t, "accounts", "list", "--server", other.URL)
		if r.code != 1 || !strings.Contains(r.stderr, other.URL+" answered 404 Not Found for admin API: is it a meterd server?") || !strings.Contains(r.stderr, "--server URL or METERD_SERVER=URL") {
			t.Errorf("accounts list against a server that is not meterd = exit %d, stderr %q; want 1 naming it and how to point elsewhere", r.code, r.stderr)
		}
	})
	t.Run("WrongToken", func(t *testing.T) {
		h.wantExit(t, 1, "401", "accounts", "list", "--admin-token", "wrong")
	})
}

func (h *cliHarness) testAdminToken(t *testing.T) {
	empty := t.TempDir()
	server := "METERD_SERVER=" + h.srv.URL
	t.Run("NoToken", func(t *testing.T) {
		r := h.runEnv(t, []string{server}, "accounts", "list", "--data", empty)
		if r.code != 1 || !strings.Contains(r.stderr, "no admin token") {
			t.Errorf("accounts list without a token = exit %d, stderr %q; want 1, no admin token", r.code, r.stderr)
		}
	})
	t.Run("Env", func(t *testing.T) {
		r := h.runEnv(t, []string{server, "METERD_ADMIN_TOKEN=" + h.srv.AdminToken}, "accounts", "list", "--data", empty)
		if r.code != 0 || !strings.Contains(r.stdout, "111122223333") {
			t.Errorf("accounts list with METERD_ADMIN_TOKEN = exit %d, stdout %q, stderr %q; want 0 and the demo seller", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("Flag", func(t *testing.T) {
		r := h.runEnv(t, nil, "accounts", "list", "--server", h.srv.URL, "--admin-token", h.srv.AdminToken, "--data", empty)
		if r.code != 0 || !strings.Contains(r.stdout, "111122223333") {
			t.Errorf("accounts list --server --admin-token = exit %d, stderr %q; want 0", r.code, r.stderr)
		}
	})
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(h.srv.AdminToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("FileFlag", func(t *testing.T) {
		r := h.runEnv(t, []string{server}, "accounts", "list", "--admin-token-file", file, "--data", empty)
		if r.code != 0 || !strings.Contains(r.stdout, "111122223333") {
			t.Errorf("accounts list --admin-token-file = exit %d, stderr %q; want 0", r.code, r.stderr)
		}
	})
	t.Run("FileEnv", func(t *testing.T) {
		r := h.runEnv(t, []string{server, "METERD_ADMIN_TOKEN_FILE=" + file}, "accounts", "list", "--data", empty)
		if r.code != 0 || !strings.Contains(r.stdout, "111122223333") {
			t.Errorf("accounts list with METERD_ADMIN_TOKEN_FILE = exit %d, stderr %q; want 0", r.code, r.stderr)
		}
	})
	t.Run("FileMissing", func(t *testing.T) {
		r := h.runEnv(t, []string{server}, "accounts", "list", "--admin-token-file", filepath.Join(empty, "nope"), "--data", h.srv.Data)
		if r.code != 1 || !strings.Contains(r.stderr, "admin token file") {
			t.Errorf("accounts list --admin-token-file missing = exit %d, stderr %q; want 1 naming the token file", r.code, r.stderr)
		}
	})
	t.Run("DataDirectory", func(t *testing.T) {
		r := h.runEnv(t, nil, "accounts", "list", "--server", h.srv.URL, "--data", h.srv.Data)
		if r.code != 0 {
			t.Errorf("accounts list --data = exit %d, stderr %q; want 0", r.code, r.stderr)
		}
	})
	t.Run("AdminTokens", func(t *testing.T) {
		tok := h.ok(t, "admin-tokens", "create", "--name", "dashboard", "--role", "read-only")
		if len(tok) != 65 || strings.TrimSpace(tok) != tok[:64] {
			t.Fatalf("admin-tokens create = %q, want the 64-character token alone on a line", tok)
		}
		tok = tok[:64]
		list := h.ok(t, "admin-tokens", "list")
		if !strings.Contains(list, "dashboard") || !strings.Contains(list, "read-only") || !strings.Contains(list, "default") || strings.Contains(list, tok) {
			t.Errorf("admin-tokens list = %q, want default and dashboard (read-only), never the token", list)
		}
		h.wantExit(t, 1, "already exists", "admin-tokens", "create", "--name", "dashboard", "--role", "admin")
		h.wantExit(t, 2, "--role is required", "admin-tokens", "create", "--name", "x")

		ro := []string{server, "METERD_ADMIN_TOKEN=" + tok}
		if r := h.runEnv(t, ro, "accounts", "list", "--data", empty); r.code != 0 || !strings.Contains(r.stdout, "111122223333") {
			t.Errorf("accounts list with the read-only token = exit %d, stderr %q; want 0", r.code, r.stderr)
		}
		if r := h.runEnv(t, ro, "accounts", "create", "--id", "210987654321", "--data", empty); r.code != 1 || !strings.Contains(r.stderr, "read-only") || !strings.Contains(r.stderr, "403 Forbidden") {
			t.Errorf("accounts create with the read-only token = exit %d, stderr %q; want 1, 403 Forbidden, read-only", r.code, r.stderr)
		}
		if r := h.runEnv(t, ro, "clock", "advance", "1h", "--data", empty); r.code != 1 || !strings.Contains(r.stderr, "403 Forbidden") {
			t.Errorf("clock advance with the read-only token = exit %d, stderr %q; want 1, 403 Forbidden", r.code, r.stderr)
		}
		if out := h.ok(t, "admin-tokens", "revoke", "dashboard"); !strings.Contains(out, "dashboard") {
			t.Errorf("admin-tokens revoke = %q, want the revoked name", out)
		}
		if r := h.runEnv(t, ro, "accounts", "list", "--data", empty); r.code != 1 || !strings.Contains(r.stderr, "401 Unauthorized") {
			t.Errorf("accounts list with the revoked token = exit %d, stderr %q; want 1, 401 Unauthorized", r.code, r.stderr)
		}
		h.wantExit(t, 1, "not found", "admin-tokens", "revoke", "dashboard")
	})
}

func (h *cliHarness) testAccounts(t *testing.T) {
	out := h.ok(t, "accounts", "create", "--id", "123456789012", "--name", "Acme Corp")
	if !strings.Contains(out, "123456789012") || !strings.Contains(out, "Acme Corp") {
		t.Errorf("accounts create = %q, want the new account", out)
	}
	h.wantExit(t, 1, "123456789012", "accounts", "create", "--id", "123456789012")

	var accounts []struct{ ID, Name string }
	h.json(t, &accounts, "accounts", "list")
	found := false
	for _, a := range accounts {
		found = found || a.ID == "123456789012" && a.Name == "Acme Corp"
	}
	if !found {
		t.Errorf("accounts list --output json = %+v, want 123456789012 Acme Corp", accounts)
	}
	rows := h.csv(t, "accounts", "list")
	if got := strings.Join(rows[0], ","); got != "id,name,created_at" {
		t.Errorf("accounts list --output csv header = %q, want id,name,created_at", got)
	}
	if len(rows) != 5 { // header, 3 demo accounts, Acme
		t.Errorf("accounts list --output csv = %d rows, want 5: %q", len(rows), rows)
	}
	table := h.ok(t, "accounts", "list")
	if !strings.HasPrefix(table, "ID ") || !strings.Contains(table, "Acme Corp") {
		t.Errorf("accounts list = %q, want a table with a header and Acme Corp", table)
	}
}

func (h *cliHarness) testKeys(t *testing.T) {
	var k struct{ ID, Secret, AccountID string }
	h.json(t, &k, "keys", "create", "--account", "123456789012", "--id", "acme-key", "--secret", "acme-secret")
	if k.ID != "acme-key" || k.Secret != "acme-secret" {
		t.Errorf("keys create --output json = %+v, want acme-key with its secret", k)
	}
	gen := h.ok(t, "keys", "create", "--account", "123456789012")
	if lines := strings.Split(strings.TrimSpace(gen), "\n"); len(lines) != 2 || len(strings.Fields(lines[1])) < 3 {
		t.Errorf("keys create = %q, want a header and a row with a generated id and secret", gen)
	}
	rows := h.csv(t, "keys", "list", "--account", "123456789012")
	if got := strings.Join(rows[0], ","); got != "id,account_id,has_session_token,created_at" {
		t.Errorf("keys list --output csv header = %q", got)
	}
	if len(rows) != 3 {
		t.Errorf("keys list --account = %q, want 2 keys", rows)
	}
	all := h.ok(t, "keys", "list")
	if !strings.Contains(all, "acme-key") || !strings.Contains(all, "test") || strings.Contains(all, "acme-secret") {
		t.Errorf("keys list = %q, want acme-key and test, and no secret", all)
	}
	h.ok(t, "keys", "delete", "acme-key")
	if out := h.ok(t, "keys", "list"); strings.Contains(out, "acme-key") {
		t.Errorf("keys list after delete = %q, still has acme-key", out)
	}
	h.wantExit(t, 1, "acme-key", "keys", "delete", "acme-key")
}

func (h *cliHarness) testProducts(t *testing.T) {
	out := h.ok(t, "products", "create", "--code", "cli-product", "--seller", "111122223333", "--type", "saas",
		"--dimension", "requests:Requests:0.01", "--dimension", "storage_gb:GB-Hours", "--fulfillment-url", "http://127.0.0.1:3000/register")
	if !strings.Contains(out, "cli-product") || !strings.Contains(out, "0.01") {
		t.Errorf("products create = %q, want the product and its price", out)
	}
	var p struct {
		Code           string
		Seller         string
		FulfillmentURL string `json:"fulfillment_url"`
		Dimensions     []struct{ Name, Unit, Price string }
	}
	h.json(t, &p, "products", "show", "cli-product")
	if p.Code != "cli-product" || p.FulfillmentURL != "http://127.0.0.1:3000/register" || len(p.Dimensions) != 2 ||
		p.Dimensions[0] != (struct{ Name, Unit, Price string }{"requests", "Requests", "0.01"}) {
		t.Errorf("products show --output json = %+v", p)
	}
	rows := h.csv(t, "products", "show", "cli-product")
	want := [][]string{
		{"code", "seller", "type", "regions", "fulfillment_url", "dimension", "unit", "price"},
		{"cli-product", "111122223333", "saas", "*", "http://127.0.0.1:3000/register", "requests", "Requests", "0.01"},
		{"cli-product", "111122223333", "saas", "*", "http://127.0.0.1:3000/register", "storage_gb", "GB-Hours", ""},
	}
	if !equalRows(rows, want) {
		t.Errorf("products show --output csv = %q, want %q", rows, want)
	}
	list := h.ok(t, "products", "list")
	if !strings.Contains(list, "requests:Requests:0.01 storage_gb:GB-Hours") || !strings.Contains(list, "demo-product") {
		t.Errorf("products list = %q, want both products with dimensions", list)
	}
	h.wantExit(t, 1, "cli-product", "products", "create", "--code", "cli-product", "--seller", "111122223333", "--type", "saas", "--dimension", "x")
	h.wantExit(t, 1, "type", "products", "create", "--code", "other", "--seller", "111122223333", "--type", "desktop", "--dimension", "x")
}

func equalRows(a, b [][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if strings.Join(a[i], "\x00") != strings.Join(b[i], "\x00") {
			return false
		}
	}
	return true
}

// customerJSON is a customer as the CLI prints it with --output json.
type customerJSON struct {
	CustomerIdentifier string `json:"customer_identifier"`
	AWSAccountID       string `json:"aws_account_id"`
	Status             string
	Platform           string
}

func (h *cliHarness) testCustomers(t *testing.T) {
	var c customerJSON
	h.json(t, &c, "customers", "subscribe", "--product", "cli-product", "--aws-account-id", "123456789012",
		"--customer-identifier", "cust-a", "--platform", "ecs")
	if c != (customerJSON{"cust-a", "123456789012", "subscribed", "ecs"}) {
		t.Errorf("customers subscribe --output json = %+v", c)
	}
	h.json(t, &c, "customers", "subscribe", "--product", "cli-product")
	if c.CustomerIdentifier == "" || len(c.AWSAccountID) != 12 || c.Status != "subscribed" {
		t.Errorf("customers subscribe with generated values = %+v", c)
	}
	h.json(t, &c, "customers", "set-status", "--product", "cli-product", "--customer", "cust-a", "--status", "suspended")
	if c.Status != "suspended" {
		t.Errorf("customers set-status suspended = %+v", c)
	}
	h.wantExit(t, 1, "", "customers", "set-status", "--product", "cli-product", "--customer", "cust-a", "--status", "happy")
	h.json(t, &c, "customers", "set-status", "--product", "cli-product", "--customer", "cust-a", "--status", "subscribed")
	rows := h.csv(t, "customers", "list", "--product", "cli-product")
	if got := strings.Join(rows[0], ","); got != "customer_identifier,aws_account_id,status,platform,status_changed_at,license_arn" {
		t.Errorf("customers list --output csv header = %q", got)
	}
	if len(rows) != 3 || rows[1][0] != "cust-a" && rows[2][0] != "cust-a" {
		t.Errorf("customers list --output csv = %q, want 2 customers with cust-a", rows)
	}
	table := h.ok(t, "customers", "list", "--product", "cli-product")
	if !strings.Contains(table, "cust-a") || !strings.Contains(table, "subscribed") {
		t.Errorf("customers list = %q", table)
	}
	h.wantExit(t, 1, "no-such-product", "customers", "list", "--product", "no-such-product")
}
