package meterd_test

import (
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"6h", 6 * time.Hour, ""},
		{"90s", 90 * time.Second, ""},
		{"35d", 35 * meterd.Day, ""},
		{"400d", 400 * meterd.Day, ""},
		{"1d12h", 36 * time.Hour, ""},
		{"0d", 0, ""},
		{"-1h", -time.Hour, ""},
		{"-2d", -2 * meterd.Day, ""},
		{"0", 0, ""},
		{"6", 0, `"6": missing unit, e.g. 6h`},
		{"1.5", 0, "missing unit"},
		{"", 0, "not a duration"},
		{"d", 0, "whole number"},
		{"1.5d", 0, "whole number"},
		{"xd", 0, "whole number"},
		{"1d-1h", 0, "one sign"},
		{"1d+1h", 0, "one sign"},
		{"--1h", 0, "not a duration"},
		{"6 hours", 0, "not a duration"},
		{"9999999999999d", 0, "too long"},
		{"106751d23h", 106751*meterd.Day + 23*time.Hour, ""},
		{"106751d24h", 0, "too long"},
		{"106752d", 0, "too long"},
	}
	for _, tt := range tests {
		got, err := meterd.ParseDuration(tt.in)
		if tt.err == "" {
			if err != nil || got != tt.want {
				t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("ParseDuration(%q) = %v, %v; want an error with %q", tt.in, got, err, tt.err)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{35 * meterd.Day: "35d", 6 * time.Hour: "6h0m0s", 0: "0s", 36 * time.Hour: "36h0m0s"} {
		if got := meterd.FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
		if back, err := meterd.ParseDuration(meterd.FormatDuration(d)); err != nil || back != d {
			t.Errorf("ParseDuration(FormatDuration(%v)) = %v, %v", d, back, err)
		}
	}
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"6h", "35d", "1d12h", "6", "-1h", "9999999999999d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := meterd.ParseDuration(s)
		if err != nil {
			return
		}
		if d < 0 != strings.HasPrefix(s, "-") && d != 0 {
			t.Errorf("ParseDuration(%q) = %v: sign differs from the text", s, d)
		}
	})
}
