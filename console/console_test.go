package console_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	mm "github.com/aws/aws-sdk-go-v2/service/marketplacemetering"
	"github.com/aws/aws-sdk-go-v2/service/marketplacemetering/types"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/console"
	"github.com/meterd/meterd/server"
)

const adminToken = "console-test-admin-token"

// fakeTime is the console's session clock, moved by the tests.
type fakeTime struct {
	mu  sync.Mutex
	now time.Time
}

func (f *fakeTime) Now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }
func (f *fakeTime) Add(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

// testServer is a real meterd server (SQLite, demo catalog) whose
// console's session clock the test moves.
type testServer struct {
	URL     string
	Admin   *admin.Client
	Session *fakeTime
	Clock   *meterd.ServerClock
	Ledger  meterd.Ledger
}

func startServer(t testing.TB) *testServer {
	t.Helper()
	return startServerIn(t, t.TempDir())
}

// startServerIn is startServer with its data directory (the SQLite ledger)
// in dir, which may hold a ledger of an earlier run.
func startServerIn(t testing.TB, dir string) *testServer {
	t.Helper()
	return startServerOn(t, "sqlite", dir)
}

// startServerOn is startServerIn on store: "sqlite" or a PostgreSQL URL.
// startServerOn starts a server on store (as server.Config.Store) in dir,
// its console set up by configure, if given, before it serves.
func startServerOn(t testing.TB, store, dir string, configure ...func(*console.Console)) *testServer {
	t.Helper()
	cfg := server.DefaultConfig()
	cfg.Listen, cfg.Data, cfg.Store, cfg.AdminToken = "127.0.0.1:0", dir, store, adminToken
	ft := &fakeTime{now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	m := &server.Main{Config: cfg, Clock: &meterd.ServerClock{}, Console: &console.Console{Now: ft.Now, SessionTTL: time.Hour}}
	for _, f := range configure {
		f(m.Console)
	}
	m.Clock.Set(time.Date(2026, 12, 1, 10, 30, 0, 0, time.UTC))
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return &testServer{URL: m.URL(), Admin: admin.NewClient(m.URL(), adminToken), Session: ft, Clock: m.Clock, Ledger: m.Ledger}
}

// meter sends n BatchMeterUsage records of the demo product for
// customer, one an hour back from ts, with the demo seller's key.
func (s *testServer) meter(t testing.TB, customer string, n int, ts time.Time) {
	t.Helper()
	client := s.meteringClient()
	var recs []types.UsageRecord
	for i := range n {
		recs = append(recs, types.UsageRecord{CustomerIdentifier: aws.String(customer), Dimension: aws.String("requests"), Quantity: aws.Int32(int32(i + 1)), Timestamp: aws.Time(ts.Add(-time.Duration(i) * time.Hour))})
	}
	out, err := client.BatchMeterUsage(context.Background(), &mm.BatchMeterUsageInput{ProductCode: aws.String("demo-product"), UsageRecords: recs})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range out.Results {
		if r.Status != types.UsageRecordResultStatusSuccess {
			t.Fatalf("record %v: %s", r.UsageRecord, r.Status)
		}
	}
}

// meteringClient is a Go SDK Metering client with the demo seller's key.
func (s *testServer) meteringClient() *mm.Client {
	return mm.New(mm.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.URL), Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), RetryMaxAttempts: 1})
}

// browser is an HTTP client with cookies that does not follow redirects.
func browser(t testing.TB) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// get fetches a page and returns its status, body and CSRF token.
func get(t testing.TB, c *http.Client, u string) (int, string, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var csrf string
	if m := csrfField.FindStringSubmatch(string(b)); m != nil {
		csrf = m[1]
	}
	return resp.StatusCode, string(b), csrf
}

func post(t testing.TB, c *http.Client, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// login logs c in with token and returns the session's CSRF token.
func login(t *testing.T, s *testServer, c *http.Client, token string) (*http.Response, string) {
	t.Helper()
	_, _, csrf := get(t, c, s.URL+"/console/login")
	resp, _ := post(t, c, s.URL+"/console/login", url.Values{"csrf": {csrf}, "token": {token}})
	_, _, sessionCSRF := get(t, c, s.URL+"/console/")
	return resp, sessionCSRF
}

func TestLogin(t *testing.T) {
	s := startServer(t)
	c := browser(t)

	// Without a session every page sends to the login page, leaking nothing.
	for _, p := range []string{"/console/", "/console/usage", "/console/usage.csv", "/console/faults", "/console/clock"} {
		resp, err := c.Get(s.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/console/login") {
			t.Errorf("GET %s without a session = %d %s, want 303 to the login page", p, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if resp, _ := post(t, c, s.URL+"/console/clock", url.Values{"advance": {"1h"}}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST clock without a session = %d, want 401", resp.StatusCode)
	}

	// A wrong token is refused.
	if resp, _ := login(t, s, c, "not-the-token"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("login with a wrong token = %d, want 401", resp.StatusCode)
	}
	// A login form without its CSRF token is refused.
	if resp, _ := post(t, c, s.URL+"/console/login", url.Values{"token": {adminToken}, "csrf": {"forged"}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("login with a forged CSRF token = %d, want 403", resp.StatusCode)
	}

	resp, csrf := login(t, s, c, adminToken)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/" {
		t.Fatalf("login = %d to %q, want 303 to /console/", resp.StatusCode, resp.Header.Get("Location"))
	}
	var ck *http.Cookie
	for _, x := range resp.Cookies() {
		if x.Name == "meterd_session" {
			ck = x
		}
	}
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" || strings.Contains(ck.Value, adminToken) {
		t.Fatalf("session cookie = %+v, want HttpOnly, SameSite=Strict, Path=/, without the token", ck)
	}
	if csrf == "" {
		t.Fatal("the dashboard has no CSRF token in its forms")
	}

	// A forged CSRF token is refused and moves nothing.
	before, _ := s.Admin.Clock(context.Background())
	if resp, _ := post(t, c, s.URL+"/console/clock", url.Values{"csrf": {strings.Repeat("0", 64)}, "advance": {"1h"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST clock with a forged CSRF token = %d, want 403", resp.StatusCode)
	}
	if after, _ := s.Admin.Clock(context.Background()); !after.Now.Equal(before.Now) {
		t.Errorf("the clock moved from %s to %s on a forged form", before.Now, after.Now)
	}
	// The right one advances the clock.
	if resp, _ := post(t, c, s.URL+"/console/clock", url.Values{"csrf": {csrf}, "advance": {"1h"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("POST clock = %d, want 303", resp.StatusCode)
	}
	if after, _ := s.Admin.Clock(context.Background()); !after.Now.Equal(before.Now.Add(time.Hour)) {
		t.Errorf("clock = %s, want %s", after.Now, before.Now.Add(time.Hour))
	}

	// An expired session is refused.
	s.Session.Add(time.Hour)
	if code, _, _ := get(t, c, s.URL+"/console/"); code != http.StatusSeeOther {
		t.Errorf("dashboard after the session expired = %d, want 303 to login", code)
	}

	// Logout ends the session.
	_, csrf = login(t, s, c, adminToken)
	if resp, _ := post(t, c, s.URL+"/console/logout", url.Values{"csrf": {csrf}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout = %d", resp.StatusCode)
	}
	if code, _, _ := get(t, c, s.URL+"/console/"); code != http.StatusSeeOther {
		t.Errorf("dashboard after logout = %d, want 303 to login", code)
	}
}

func TestReadOnlyToken(t *testing.T) {
	s := startServer(t)
	ro, err := s.Admin.CreateAdminToken(context.Background(), admin.AdminTokenInput{Name: "viewer", Role: meterd.RoleReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	c := browser(t)
	_, csrf := login(t, s, c, ro.Token)
	code, body, _ := get(t, c, s.URL+"/console/faults")
	if code != http.StatusOK || !strings.Contains(body, "read-only") || strings.Contains(body, "Add rule") {
		t.Errorf("faults page of a read-only token = %d, want it marked read-only without the add form", code)
	}
	if code, body, _ := get(t, c, s.URL+"/console/products"); code != http.StatusOK || strings.Contains(body, "Accept the offer") || strings.Contains(body, "Registration token") || strings.Contains(body, ">Cancel<") {
		t.Errorf("products page of a read-only token = %d, want it without the accept, token and cancel forms", code)
	}
	resp, body := post(t, c, s.URL+"/console/faults", url.Values{"csrf": {csrf}, "operation": {"BatchMeterUsage"}, "error": {"ThrottlingException"}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "read-only") {
		t.Errorf("adding a fault with a read-only token = %d, want 403 saying read-only", resp.StatusCode)
	}
	if rules, _ := s.Admin.Faults(context.Background()); len(rules) != 0 {
		t.Errorf("rules = %v, want none added", rules)
	}

	// Revoking the token ends its session at the next page.
	if err := s.Admin.RevokeAdminToken(context.Background(), "viewer"); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := get(t, c, s.URL+"/console/"); code != http.StatusSeeOther {
		t.Errorf("dashboard after the token was revoked = %d, want 303 to login", code)
	}
}

func TestPages(t *testing.T) {
	s := startServer(t)
	now := s.Clock.Now()
	s.meter(t, "demo-customer-1", 3, now.Add(-2*time.Hour))
	s.meter(t, "demo-customer-2", 1, now)
	c := browser(t)
	_, csrf := login(t, s, c, adminToken)

	code, body, _ := get(t, c, s.URL+"/console/")
	if code != http.StatusOK {
		t.Fatalf("dashboard = %d: %s", code, body)
	}
	for _, want := range []string{"demo-product: records per hour, last 24 h (4 in all)", "demo-product: records per hour, last 7 d (4 in all)", "demo-customer-1</a></td><td class=\"num\">3</td><td class=\"num\">6</td>"} {
		if !strings.Contains(body, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}

	code, body, _ = get(t, c, s.URL+"/console/products")
	agreements, err := s.Admin.Agreements(context.Background(), admin.AgreementQuery{Product: "demo-product"})
	if err != nil {
		t.Fatal(err)
	}
	if code != http.StatusOK || !strings.Contains(body, `<h2 id="p-demo-product">demo-product</h2>`) || !strings.Contains(body, ">demo-customer-1</a>") {
		t.Errorf("products page = %d, want demo-product with its customers: %s", code, body)
	}
	for _, a := range agreements {
		if !strings.Contains(body, "<td>"+a.ID+"</td>") {
			t.Errorf("products page lacks agreement %s", a.ID)
		}
	}

	code, body, _ = get(t, c, s.URL+"/console/usage?customer=demo-customer-1")
	if code != http.StatusOK || strings.Count(body, "<td>demo-customer-1</td>") != 3 || strings.Contains(body, "<td>demo-customer-2</td>") {
		t.Errorf("usage of demo-customer-1 = %d, want its 3 records alone", code)
	}
	resp, err := c.Get(s.URL + "/console/usage.csv?customer=demo-customer-2")
	if err != nil {
		t.Fatal(err)
	}
	csv, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if lines := strings.Split(strings.TrimSpace(string(csv)), "\n"); resp.StatusCode != http.StatusOK || len(lines) != 2 || !strings.Contains(lines[1], "demo-customer-2") {
		t.Errorf("CSV export = %d %q, want a header and demo-customer-2's record", resp.StatusCode, csv)
	}
	if code, body, _ := get(t, c, s.URL+"/console/usage?from=yesterday"); code != http.StatusBadRequest || !strings.Contains(body, "is not of the form") {
		t.Errorf("usage from=yesterday = %d, want 400 saying why", code)
	}

	// Faults: add, then clear.
	if resp, body := post(t, c, s.URL+"/console/faults", url.Values{"csrf": {csrf}, "operation": {"BatchMeterUsage"}, "error": {"ThrottlingException"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add fault = %d: %s", resp.StatusCode, body)
	}
	if code, body, _ := get(t, c, s.URL+"/console/faults"); code != http.StatusOK || !strings.Contains(body, "<td>ThrottlingException</td>") {
		t.Errorf("faults page = %d, want the new rule listed", code)
	}
	if resp, body := post(t, c, s.URL+"/console/faults", url.Values{"csrf": {csrf}, "operation": {"NoSuchOperation"}}); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "must be one of") {
		t.Errorf("add a fault of an unknown operation = %d, want the admin API's 422 saying why: %s", resp.StatusCode, body)
	}
	if resp, body := post(t, c, s.URL+"/console/faults", url.Values{"csrf": {csrf}, "operation": {"SendMessage"}, "latency": {"5ms"}, "count": {"2"}, "probability": {"0.5"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add an SQS latency fault = %d: %s", resp.StatusCode, body)
	}
	if rules, _ := s.Admin.Faults(context.Background()); len(rules) != 2 || rules[1].Latency != "5ms" || rules[1].Count != 2 || rules[1].Probability != 0.5 {
		t.Errorf("rules = %+v, want the latency rule with its count and probability", rules)
	}
	// Notify's duplicate effect, as meterd faults add --operation Notify --duplicate.
	if resp, body := post(t, c, s.URL+"/console/faults", url.Values{"csrf": {csrf}, "operation": {"Notify"}, "duplicate": {"on"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add a Notify duplicate fault = %d: %s", resp.StatusCode, body)
	}
	if rules, _ := s.Admin.Faults(context.Background()); len(rules) != 3 || rules[2].Operation != "Notify" || !rules[2].Duplicate {
		t.Errorf("rules = %+v, want the Notify rule duplicating", rules)
	}
	if code, body, _ := get(t, c, s.URL+"/console/faults"); code != http.StatusOK || !strings.Contains(body, `name="duplicate"`) ||
		!strings.Contains(body, "<td>Notify</td>") {
		t.Errorf("faults page = %d, want the duplicate option and the Notify rule", code)
	}
	if resp, body := post(t, c, s.URL+"/console/faults", url.Values{"csrf": {csrf}, "operation": {"SendMessage"}, "duplicate": {"on"}}); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "only for operation Notify") {
		t.Errorf("add a duplicate fault of SendMessage = %d, want the admin API's 422 saying only Notify: %s", resp.StatusCode, body)
	}
	if resp, body := post(t, c, s.URL+"/console/faults", url.Values{"csrf": {csrf}, "operation": {"MeterUsage"}, "count": {"twice"}}); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "count") {
		t.Errorf("add a fault with count=twice = %d, want 400 naming count", resp.StatusCode)
	}
	post(t, c, s.URL+"/console/faults/clear", url.Values{"csrf": {csrf}})
	if rules, _ := s.Admin.Faults(context.Background()); len(rules) != 0 {
		t.Errorf("rules after clear = %v", rules)
	}

	// Clock: set to a time, then reset.
	if resp, body := post(t, c, s.URL+"/console/clock", url.Values{"csrf": {csrf}, "action": {"set"}, "at": {"2027-01-15T08:00"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("set the clock = %d: %s", resp.StatusCode, body)
	}
	if got := s.Clock.Now(); !got.Equal(time.Date(2027, 1, 15, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("clock after set = %s, want 2027-01-15T08:00:00Z", got)
	}
	if resp, _ := post(t, c, s.URL+"/console/clock", url.Values{"csrf": {csrf}, "action": {"set"}, "at": {"soon"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("set the clock to soon = %d, want 400", resp.StatusCode)
	}
	// Clock: reset follows real time again.
	post(t, c, s.URL+"/console/clock", url.Values{"csrf": {csrf}, "action": {"reset"}})
	if st, _ := s.Admin.Clock(context.Background()); st.Frozen {
		t.Errorf("clock after reset = %+v, want following real time", st)
	}
}
