package meterdtest

import (
	"net/http"
	"testing"
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
