package server

import (
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd"
)

func TestRetentionFlags(t *testing.T) {
	c := DefaultConfig()
	if c.ClientTokenRetention != 35*meterd.Day || c.Retain != 0 {
		t.Errorf("defaults = %v, %v; want 35d and 0 (keep records)", c.ClientTokenRetention, c.Retain)
	}
	if err := c.ParseFlags([]string{"--retain", "400d", "--client-token-retention", "2d12h"}, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	if c.Retain != 400*meterd.Day || c.ClientTokenRetention != 60*time.Hour || c.Validate() != nil {
		t.Errorf("--retain 400d --client-token-retention 2d12h = %v, %v (%v)", c.Retain, c.ClientTokenRetention, c.Validate())
	}
	short := DefaultConfig()
	short.ParseFlags([]string{"--client-token-retention", "12h"}, func(string) string { return "" })
	if err := short.Validate(); err == nil || !strings.Contains(err.Error(), "at least 24h") {
		t.Errorf("Validate(--client-token-retention 12h) = %v, want at least 24h", err)
	}
	bad := DefaultConfig()
	if err := bad.ParseFlags([]string{"--retain", "400"}, func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "missing unit, e.g. 400h") {
		t.Errorf("--retain 400 = %v, want missing unit", err)
	}
}

// TestDurationFlags: every duration flag of meterd serve takes days, and a
// number without a unit is refused saying so, in the flag and in the
// environment.
func TestDurationFlags(t *testing.T) {
	for _, name := range []string{"past-window", "future-skew", "body-timeout", "client-token-retention", "retain"} {
		c := DefaultConfig()
		err := c.ParseFlags([]string{"--" + name, "6"}, func(string) string { return "" })
		if err == nil || !strings.Contains(err.Error(), `"6": missing unit, e.g. 6h`) {
			t.Errorf("--%s 6 = %v, want missing unit, e.g. 6h", name, err)
		}
	}
	c := DefaultConfig()
	if err := c.ParseFlags([]string{"--past-window", "2d"}, func(string) string { return "" }); err != nil || c.PastWindow != 48*time.Hour {
		t.Errorf("--past-window 2d = %v, %v; want 48h", c.PastWindow, err)
	}
	env := map[string]string{"METERD_PAST_WINDOW": "6"}
	e := DefaultConfig()
	if err := e.ParseFlags(nil, func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "METERD_PAST_WINDOW") || !strings.Contains(err.Error(), "missing unit") {
		t.Errorf("METERD_PAST_WINDOW=6 = %v, want missing unit naming the variable", err)
	}
}
