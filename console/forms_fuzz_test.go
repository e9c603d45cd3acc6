package console_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	pathpkg "path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/catalog"
)

// consoleForms are the console's forms FuzzConsoleForms posts to; ID in
// a path stands for the fuzzed path segment.
var consoleForms = []string{
	"/console/faults",
	"/console/faults/delete",
	"/console/faults/clear",
	"/console/clock",
	"/console/products/ID/tokens",
	"/console/products/accept",
	"/console/agreements/ID/cancel",
	"/console/login",
	"/console/logout",
}

// FuzzConsoleForms posts any body to each of the console's forms (faults,
// clock, registration tokens, accept, cancel, login, logout) on a real
// server, logged in and with the session's CSRF token appended: no body
// makes the server panic or answer 500, a refusal is a 4xx page, and a form
// that succeeds did what it asked: the clock moved by the duration sent,
// the fault rule added is of the operation named, the token minted is of
// the product in the path.
func FuzzConsoleForms(f *testing.F) {
	s := startServer(f)
	ctx := context.Background()
	start := s.Clock.Now()
	c := browser(f)
	_, _, loginCSRF := get(f, c, s.URL+"/console/login")
	post(f, c, s.URL+"/console/login", url.Values{"csrf": {loginCSRF}, "token": {adminToken}})
	_, _, csrf := get(f, c, s.URL+"/console/")
	if csrf == "" {
		f.Fatal("no session")
	}
	for i, body := range []string{
		"operation=BatchMeterUsage&product=demo-product&error=ThrottlingException&probability=0.5&count=3&latency=10ms",
		"id=rule-1",
		"",
		"action=advance&advance=1h30m",
		"customer=demo-customer-1",
		"offer=" + catalog.DemoContractOffer + "&buyer=444455556666&client_token=0123456789abcdef0123456789abcdef&duration=P12M&q_seats=3&accept_pricing=on",
		"",
		"token=" + adminToken + "&next=/console/usage",
		"",
	} {
		f.Add(uint8(i), "demo-product", body)
	}
	f.Add(uint8(3), "", "action=set&at=2026-13-40T99:00")
	f.Add(uint8(3), "", "advance=-9223372036854775807ns")
	f.Add(uint8(0), "", "operation=Notify&probability=NaN&count=-1&latency=-5s&unprocessed=2")
	f.Add(uint8(6), "agmt-%2F..%2F", "")
	f.Fuzz(func(t *testing.T, form uint8, segment, body string) {
		path := strings.Replace(consoleForms[int(form)%len(consoleForms)], "ID", url.PathEscape(segment), 1)
		client, token := c, csrf
		if path == "/console/login" || path == "/console/logout" {
			// Another browser, not logged in: the fuzzed session is not
			// the one the other forms use.
			client = browser(t)
			_, _, token = get(t, client, s.URL+"/console/login")
		}
		s.Clock.Set(start)
		defer s.Clock.Set(start)
		before, err := s.Admin.Faults(ctx)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Post(s.URL+path, "application/x-www-form-urlencoded", strings.NewReader(body+"&csrf="+token))
		if err != nil {
			t.Fatalf("POST %s %q: %v (did the handler panic?)", path, body, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		page := string(b)
		switch {
		case resp.StatusCode >= 500:
			t.Fatalf("POST %s %q = %d: %s", path, body, resp.StatusCode, page)
		case resp.StatusCode == http.StatusTemporaryRedirect && pathpkg.Clean(path) != path:
			// An empty segment makes a path like /console/products//tokens,
			// which net/http's ServeMux redirects (307, the method kept)
			// to its cleaned form; no console page links to one.
			return
		case resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusSeeOther && resp.StatusCode/100 != 4:
			t.Fatalf("POST %s %q = %d, want 200, 303 or a 4xx", path, body, resp.StatusCode)
		}
		form1, _ := url.ParseQuery(body)
		op := strings.TrimSpace(form1.Get("operation"))
		done := resp.StatusCode == http.StatusSeeOther
		switch {
		case path == "/console/clock" && done && form1.Get("action") != "reset" && form1.Get("action") != "set":
			d, err := time.ParseDuration(form1.Get("advance"))
			if err != nil {
				t.Fatalf("the clock moved on advance %q, no duration", form1.Get("advance"))
			}
			if got := s.Clock.Now(); !got.Equal(start.Add(d)) {
				t.Fatalf("advance %q moved the clock to %s, want %s", form1.Get("advance"), got, start.Add(d))
			}
		case path == "/console/faults" && done:
			after, err := s.Admin.Faults(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(after) != len(before)+1 {
				t.Fatalf("adding rule %q: rules %+v, then %+v", body, before, after)
			}
			for _, r := range after {
				if !slices.ContainsFunc(before, func(b admin.FaultRule) bool { return b.ID == r.ID }) && op != "" && r.Operation != op {
					t.Fatalf("the form of operation %q added rule %+v", op, r)
				}
			}
		case strings.HasSuffix(path, "/tokens") && resp.StatusCode == http.StatusOK:
			if segment != "demo-product" || !strings.Contains(page, "demo-product") {
				t.Fatalf("minted a token of product %q: %s", segment, page)
			}
		}
		if len(before) > 20 {
			if err := s.Admin.ClearFaults(ctx); err != nil {
				t.Fatal(err)
			}
		}
	})
}
