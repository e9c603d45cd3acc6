package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/meterd/meterd/admin"
)

func TestParseInterleaved(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantPos []string
		wantN   int
		wantB   bool
	}{
		{"FlagsFirst", []string{"--n", "3", "a", "b"}, []string{"a", "b"}, 3, false},
		{"FlagsAfter", []string{"a", "--n", "3", "b", "--b"}, []string{"a", "b"}, 3, true},
		{"NegativeDuration", []string{"-1h", "--b"}, []string{"-1h"}, 0, true},
		{"NegativeAfterBool", []string{"--b", "-30m"}, []string{"-30m"}, 0, true},
		{"NegativeFlagValue", []string{"--n", "-2", "x"}, []string{"x"}, -2, false},
		{"DoubleDash", []string{"--n", "1", "--", "--b", "-x"}, []string{"--b", "-x"}, 1, false},
		{"None", nil, nil, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			n := fs.Int("n", 0, "")
			b := fs.Bool("b", false, "")
			pos, err := parseInterleaved(fs, tt.args)
			if err != nil {
				t.Fatalf("parseInterleaved(%q) = %v", tt.args, err)
			}
			if fmt.Sprint(pos) != fmt.Sprint(tt.wantPos) || *n != tt.wantN || *b != tt.wantB {
				t.Errorf("parseInterleaved(%q) = %q n=%d b=%v, want %q n=%d b=%v", tt.args, pos, *n, *b, tt.wantPos, tt.wantN, tt.wantB)
			}
		})
	}
	t.Run("UnknownFlag", func(t *testing.T) {
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		if _, err := parseInterleaved(fs, []string{"a", "--nope"}); err == nil {
			t.Error("parseInterleaved(a --nope) = nil, want an error")
		}
	})
}

func TestJSONArray(t *testing.T) {
	tests := []struct {
		name, in string
		want     int
	}{
		{"Empty", "", 0},
		{"One", "{\"id\":\"a\"}\n", 1},
		{"Three", "{\"id\":\"a\"}\n{\"id\":\"b\"}\n{\"id\":\"c\"}", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := jsonArray(&out, strings.NewReader(tt.in)); err != nil {
				t.Fatalf("jsonArray(%q) = %v", tt.in, err)
			}
			var got []map[string]string
			if err := json.Unmarshal(out.Bytes(), &got); err != nil || len(got) != tt.want {
				t.Errorf("jsonArray(%q) = %q (%v), want an array of %d", tt.in, out.String(), err, tt.want)
			}
		})
	}
}

// lines is a reader of n JSON lines, made as they are read.
type lines struct {
	n   int
	buf []byte
}

func (l *lines) Read(p []byte) (int, error) {
	for len(l.buf) < len(p) && l.n > 0 {
		l.buf = fmt.Appendf(l.buf, "{\"id\":\"%08d\",\"product_code\":\"demo-product\",\"quantity\":1}\n", l.n)
		l.n--
	}
	if len(l.buf) == 0 {
		return 0, io.EOF
	}
	k := copy(p, l.buf)
	l.buf = l.buf[:copy(l.buf, l.buf[k:])]
	return k, nil
}

// TestJSONArrayStreams checks that a JSON export's memory does not grow
// with the number of records: 200,000 records (14 MB) pass through with
// far less allocated.
func TestJSONArrayStreams(t *testing.T) {
	var count countWriter
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if err := jsonArray(&count, &lines{n: 200000}); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if count < 10<<20 {
		t.Fatalf("jsonArray wrote %d bytes, want more than 10 MiB", count)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 2<<20 {
		t.Errorf("jsonArray of %d bytes allocated %d bytes, want under 2 MiB", count, alloc)
	}
}

// countWriter counts the bytes written to it.
type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

func TestParseDimension(t *testing.T) {
	tests := []struct {
		in   string
		want admin.Dimension
	}{
		{"requests", admin.Dimension{Name: "requests"}},
		{"storage_gb:GB-Hours", admin.Dimension{Name: "storage_gb", Unit: "GB-Hours"}},
		{"requests:Requests:0.0001", admin.Dimension{Name: "requests", Unit: "Requests", Price: "0.0001"}},
		{"hosts::2", admin.Dimension{Name: "hosts", Price: "2"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseDimension(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("parseDimension(%q) = %+v, %v, want %+v", tt.in, got, err, tt.want)
			}
			if s := dimensionText(got); s != tt.in {
				t.Errorf("dimensionText(%+v) = %q, want %q", got, s, tt.in)
			}
		})
	}
	if _, err := parseDimension(":Unit"); err == nil {
		t.Error(`parseDimension(":Unit") = nil error, want one`)
	}
}
