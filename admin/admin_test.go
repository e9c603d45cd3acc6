package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/catalog"
	"github.com/meterd/meterd/faults"
	"github.com/meterd/meterd/metering"
	"github.com/meterd/meterd/sqlite"
)

const testToken = "test-admin-token-0123456789abcdef0123456789abcdef"

// t0 is the frozen server time every test starts at.
var t0 = time.Date(2026, 11, 23, 7, 30, 0, 0, time.UTC)

// fixture is an admin API server on a real SQLite store, seeded with the
// demo catalog, and a client holding the admin token.
type fixture struct {
	ctx    context.Context
	ledger *sqlite.Store
	clock  *meterd.ServerClock
	server *Server
	url    string
	c      *Client
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := t.Context()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "meterd.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	clock := &meterd.ServerClock{}
	clock.Set(t0)
	reseed := func(ctx context.Context) error { return catalog.Apply(ctx, store, catalog.Demo(), clock.Now()) }
	must(t, "seed", reseed(ctx))
	must(t, "put token", store.PutAdminToken(ctx, &meterd.AdminToken{Name: meterd.DefaultAdminToken, Role: meterd.RoleAdmin, Hash: meterd.HashAdminToken(testToken), CreatedAt: t0}))
	s := &Server{Ledger: store, Clock: clock, Reseed: reseed, Faults: faults.NewRules(1)}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &fixture{ctx: ctx, ledger: store, clock: clock, server: s, url: srv.URL, c: NewClient(srv.URL, testToken)}
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// wantError checks that err is an *Error with the given status and code.
func wantError(t *testing.T, what string, err error, status int, code string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: error = %v, want *Error %d %s", what, err, status, code)
	}
	if e.Status != status || e.Code != code {
		t.Errorf("%s: error = %d %s (%s), want %d %s", what, e.Status, e.Code, e.Message, status, code)
	}
}

// raw sends a request with the given Authorization header ("" for none)
// and returns the status and body.
func (f *fixture) raw(t *testing.T, method, path, auth, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(f.ctx, method, f.url+path, strings.NewReader(body))
	must(t, "request", err)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	must(t, method+" "+path, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must(t, "read body", err)
	return resp.StatusCode, string(b)
}

// examplePath fills a route pattern's wildcards.
func examplePath(pattern string) string {
	r := strings.NewReplacer("{id}", "x", "{code}", catalog.DemoProduct)
	return r.Replace(pattern)
}

func TestUnauthorized(t *testing.T) {
	f := newFixture(t)
	// The demo's AWS key pair test/test and buyer/buyer must not open the
	// admin API, as bearer token or as Basic credentials.
	auths := map[string]string{
		"none":          "",
		"wrong token":   "Bearer wrong",
		"empty bearer":  "Bearer ",
		"AWS secret":    "Bearer test",
		"AWS key":       "Bearer buyer",
		"basic":         "Basic " + testToken,
		"token as text": testToken,
	}
	routes := f.server.routes()
	// Unknown paths, too, must not reveal anything without the token.
	routes = append(routes, route{method: "GET", path: "/admin/v1/nope"}, route{method: "PUT", path: "/admin/v1/accounts"})
	for _, rt := range routes {
		for name, auth := range auths {
			t.Run(rt.method+" "+rt.path+"/"+name, func(t *testing.T) {
				status, body := f.raw(t, rt.method, examplePath(rt.path), auth, "{}")
				if status != http.StatusUnauthorized {
					t.Fatalf("status = %d, want 401 (body %s)", status, body)
				}
				var e errorBody
				if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Code != CodeUnauthorized {
					t.Errorf("body = %s, want error code Unauthorized", body)
				}
			})
		}
	}
	_, err := NewClient(f.url, "wrong").Accounts(f.ctx)
	wantError(t, "client with a wrong token", err, 401, CodeUnauthorized)
}

func TestUnknownRoute(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name, method, path string
		status             int
		code               string
	}{
		{"NotFound", "GET", "/admin/v1/nope", 404, meterd.ENotFound},
		{"MethodNotAllowed", "PUT", "/admin/v1/accounts", 405, CodeMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := f.raw(t, tt.method, tt.path, "Bearer "+testToken, "")
			var e errorBody
			json.Unmarshal([]byte(body), &e)
			if status != tt.status || e.Error.Code != tt.code {
				t.Errorf("%s %s = %d %s, want %d %s", tt.method, tt.path, status, body, tt.status, tt.code)
			}
		})
	}
}

func TestBadJSON(t *testing.T) {
	f := newFixture(t)
	for _, rt := range f.server.routes() {
		if rt.method == "GET" || rt.method == "DELETE" || strings.HasSuffix(rt.path, "/publickeys") || strings.HasSuffix(rt.path, "/reset") || strings.HasSuffix(rt.path, "/backup") {
			continue // no body to read
		}
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			status, body := f.raw(t, rt.method, examplePath(rt.path), "Bearer "+testToken, "{not json")
			if status != http.StatusBadRequest || !strings.Contains(body, CodeBadRequest) {
				t.Errorf("status = %d %s, want 400 BadRequest", status, body)
			}
		})
	}
}

func TestOpenAPI(t *testing.T) {
	f := newFixture(t)
	b, err := f.c.OpenAPI(f.ctx)
	must(t, "OpenAPI", err)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	must(t, "parse document", json.Unmarshal(b, &doc))
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
	var documented, served []string
	for path, methods := range doc.Paths {
		for m := range methods {
			documented = append(documented, strings.ToUpper(m)+" "+path)
		}
	}
	for _, rt := range f.server.routes() {
		served = append(served, rt.method+" "+rt.path)
	}
	slices.Sort(documented)
	slices.Sort(served)
	for _, r := range served {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is not in openapi.json", r)
		}
	}
	for _, r := range documented {
		if !slices.Contains(served, r) {
			t.Errorf("openapi.json documents %s, which the server does not serve", r)
		}
	}
}

func TestInternalError(t *testing.T) {
	f := newFixture(t)
	f.server.Reseed = func(context.Context) error { return fmt.Errorf("secret detail") }
	err := f.c.Reset(f.ctx)
	wantError(t, "Reset with a failing reseed", err, 500, CodeInternal)
	if strings.Contains(err.Error(), "secret detail") {
		t.Errorf("Reset error = %v, want no internal detail", err)
	}
}

// commit stores records through the ledger, failing the test on error.
func (f *fixture) commit(t *testing.T, records ...*meterd.MeteringRecord) {
	t.Helper()
	results, err := f.ledger.Commit(f.ctx, records)
	must(t, "Commit", err)
	for i, r := range results {
		if r.Status != meterd.Committed {
			t.Fatalf("Commit record %d: status %d, want Committed", i, r.Status)
		}
	}
}

// record returns a BatchMeterUsage record of the demo product.
func record(customer, dimension string, hour time.Time, quantity int64, tags ...meterd.Tag) *meterd.MeteringRecord {
	r := &meterd.MeteringRecord{
		ID: metering.NewRecordID(), Operation: meterd.OpBatchMeterUsage, ProductCode: catalog.DemoProduct,
		CustomerIdentifier: customer, CustomerAWSAccountID: catalog.DemoBuyerAccount1, Resource: customer,
		Dimension: dimension, Hour: hour, Timestamp: hour.Add(time.Minute), Quantity: quantity,
		CallerAccountID: catalog.DemoSellerAccount, CallerAccessKeyID: "test", ReceivedAt: t0,
	}
	if len(tags) > 0 {
		r.Allocations = []meterd.UsageAllocation{{AllocatedUsageQuantity: &quantity, Tags: tags}}
	}
	return r
}
