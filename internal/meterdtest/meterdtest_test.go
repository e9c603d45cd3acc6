package meterdtest

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestServeKillRestart(t *testing.T) {
	s := Serve(t, Build(t))
	get := func() int {
		resp, err := http.Get(s.URL + "/healthz")
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := get(); got != http.StatusOK || len(s.AdminToken) < 64 {
		t.Fatalf("healthz = %d, admin token %d chars; want 200 and a 64-char token", got, len(s.AdminToken))
	}
	s.Kill()
	if got := get(); got != 0 {
		t.Fatalf("healthz after Kill = %d, want no answer", got)
	}
	url := s.URL
	s.Restart()
	if got := get(); got != http.StatusOK || s.URL != url {
		t.Errorf("after Restart healthz = %d at %s, want 200 at %s", got, s.URL, url)
	}
	s.Stop()
}

func TestRelayKillRestart(t *testing.T) {
	bin := Build(t)
	up := Serve(t, bin)
	r := NewRelay(t, bin, "--upstream-endpoint", up.URL)
	r.Clock = time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	r.Start()
	// status answers only with the token; the clock shows --clock.
	clock := func() string {
		req, _ := http.NewRequest("GET", r.URL+"/admin/v1/clock", nil)
		req.Header.Set("Authorization", "Bearer "+r.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return fmt.Sprintf("%d %s", resp.StatusCode, b)
	}
	if got := clock(); !strings.HasPrefix(got, "200 ") || !strings.Contains(got, "2026-11-23T07:00:00Z") || len(r.Token) < 32 {
		t.Fatalf("clock = %q with a %d-char token, want 200 at 2026-11-23T07:00:00Z and a generated token", got, len(r.Token))
	}
	r.Kill()
	if got := clock(); got != "" {
		t.Fatalf("clock after Kill = %q, want no answer", got)
	}
	url, tok := r.URL, r.Token
	r.Clock = r.Clock.Add(time.Hour)
	r.Restart()
	if got := clock(); r.URL != url || r.Token != tok || !strings.Contains(got, "2026-11-23T08:00:00Z") {
		t.Errorf("after Restart clock = %q at %s with token %q, want 08:00 at %s with the same token", got, r.URL, r.Token, url)
	}
	r.Stop()
}
