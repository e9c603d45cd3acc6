package server

import (
	"strings"
	"testing"
	"time"
)

func TestConfigEnvironmentAndFlags(t *testing.T) {
	env := map[string]string{"METERD_LISTEN": "127.0.0.1:9999", "METERD_PAST_WINDOW": "1h", "METERD_AUTH": "none"}
	c := DefaultConfig()
	if err := c.ParseFlags([]string{"--auth", "sigv4", "--body-timeout", "3s"}, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9999" || c.PastWindow != time.Hour || c.Auth != "sigv4" || c.BodyTimeout != 3*time.Second {
		t.Errorf("config = %+v, want listen and past-window from the environment, auth from the flag", c)
	}
	bad := DefaultConfig()
	if err := bad.ParseFlags(nil, func(k string) string { return map[string]string{"METERD_FUTURE_SKEW": "soon"}[k] }); err == nil || !strings.Contains(err.Error(), "METERD_FUTURE_SKEW") {
		t.Errorf("ParseFlags(bad env) = %v, want an error naming METERD_FUTURE_SKEW", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"ErrAuth", func(c *Config) { c.Auth = "basic" }, "--auth"},
		{"ErrStore", func(c *Config) { c.Store = "mysql://x" }, "--store"},
		{"ErrPastWindow", func(c *Config) { c.PastWindow = 0 }, "--past-window"},
		{"ErrTLS", func(c *Config) { c.TLSCert = "cert.pem" }, "--tls-key"},
		{"ErrBodyTimeout", func(c *Config) { c.BodyTimeout = 0 }, "--body-timeout"},
		{"ErrAdminTokenTwice", func(c *Config) { c.AdminToken, c.AdminTokenFile = "t", "f" }, "--admin-token-file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.edit(&c)
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v, want an error naming %s", err, tc.want)
			}
		})
	}
}
