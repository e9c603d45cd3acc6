package server

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestServeProfile checks that /debug/pprof/ is served only when asked for.
func TestServeProfile(t *testing.T) {
	for _, profile := range []bool{false, true} {
		cfg := DefaultConfig()
		cfg.Listen, cfg.Data = "127.0.0.1:0", t.TempDir()
		m := &Main{Config: cfg, Profile: profile}
		if err := m.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(m.URL() + "/debug/pprof/")
		if err != nil {
			m.Close()
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m.Close()
		served := resp.StatusCode == http.StatusOK && strings.Contains(string(body), "goroutine")
		if served != profile {
			t.Errorf("with Profile %v: GET /debug/pprof/ = %d %.80q; want the profile index %v", profile, resp.StatusCode, body, profile)
		}
	}
}
