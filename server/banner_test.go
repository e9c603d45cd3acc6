package server

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// startBanner runs a server on listen with the container markers under
// root and returns it with its banner.
func startBanner(t *testing.T, listen, data, root string) (*Main, string) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Listen, cfg.Data = listen, data
	var out bytes.Buffer
	m := &Main{Config: cfg, Stdout: &out, root: root}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m, out.String()
}

// TestBannerUnspecifiedAddress checks that a server on every interface
// prints a loopback URL that answers, never http://[::]:PORT, and inside a
// container says to use the published port.
func TestBannerUnspecifiedAddress(t *testing.T) {
	container := t.TempDir()
	os.MkdirAll(filepath.Join(container, "run"), 0o700)
	os.WriteFile(filepath.Join(container, "run", ".containerenv"), nil, 0o600)
	docker := t.TempDir()
	os.WriteFile(filepath.Join(docker, ".dockerenv"), nil, 0o600)
	tests := []struct {
		name, listen, root string
		container          bool
	}{
		{"IPv4", "0.0.0.0:0", t.TempDir(), false},
		{"Any", ":0", t.TempDir(), false},
		{"IPv6", "[::]:0", t.TempDir(), false},
		{"Podman", "0.0.0.0:0", container, true},
		{"Docker", ":0", docker, true},
	}
	first := regexp.MustCompile(`^meterd is listening on (http://127\.0\.0\.1:\d+) `)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, banner := startBanner(t, tc.listen, t.TempDir(), tc.root)
			u := first.FindStringSubmatch(banner)
			if u == nil || u[1] != m.URL() || strings.Contains(banner, "[::]:") && !strings.Contains(banner, "on every interface, [::]:") {
				t.Fatalf("banner = %q, want it to start with the loopback URL %s", banner, m.URL())
			}
			if !strings.Contains(banner, "export AWS_ENDPOINT_URL_MARKETPLACE_METERING="+u[1]+"\n") || !strings.Contains(banner, "export METERD_SERVER="+u[1]) {
				t.Errorf("banner = %q, want the exports of %s, METERD_SERVER too (not the default port)", banner, u[1])
			}
			if got := strings.Contains(banner, "published"); got != tc.container {
				t.Errorf("banner mentions the published port: %v, want %v:\n%s", got, tc.container, banner)
			}
			resp, err := http.Get(u[1] + "/healthz")
			if err != nil {
				t.Fatalf("GET the banner's URL: %v", err)
			}
			resp.Body.Close()
		})
	}
}

// TestBannerLoopback checks that a loopback --listen prints no
// every-interface note, and that the admin token file is named by absolute
// path when --data is relative.
func TestBannerLoopback(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	_, banner := startBanner(t, "127.0.0.1:0", "./relative-data", t.TempDir())
	if strings.Contains(banner, "every interface") {
		t.Errorf("banner of a loopback listener = %q, want no every-interface note", banner)
	}
	want := "admin token: " + filepath.Join(dir, "relative-data", "admin-token") + "\n"
	if !strings.Contains(banner, want) {
		t.Errorf("banner = %q, want %q", banner, want)
	}
}
