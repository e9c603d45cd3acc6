package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/server"
	"github.com/meterd/meterd/sqlite"
)

// startRealTimeServer runs Main on the wall clock (the load generator sends
// timestamps of now) with a known admin token, logging JSON into log.
func startRealTimeServer(t *testing.T, edit func(*server.Config)) (m *server.Main, token string, log *syncBuffer) {
	t.Helper()
	cfg := server.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.Data = t.TempDir()
	cfg.AdminToken = "bench-test-token"
	if edit != nil {
		edit(&cfg)
	}
	log = &syncBuffer{}
	m = &server.Main{Config: cfg, Logger: slog.New(slog.NewJSONHandler(log, nil))}
	if err := m.Run(context.Background()); err != nil {
		t.Fatalf("Run() = %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m, cfg.AdminToken, log
}

func TestParseBench(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // "" for no error
	}{
		{"defaults", nil, ""},
		{"ErrMode", []string{"--mode", "burst"}, "--mode"},
		{"ErrConcurrency", []string{"-c", "0"}, "-c"},
		{"ErrSetupWithoutToken", []string{"--setup", "10"}, "--admin-token"},
		{"ErrNoDimension", []string{"--dimension", ""}, "--dimension"},
		{"ErrHours", []string{"--hours", "0"}, "--hours"},
		{"ErrBuyerSecrets", []string{"--buyer-key", "a,b", "--buyer-secret", "x"}, "--buyer-secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseBench(tt.args, io.Discard)
			if tt.want == "" && err != nil {
				t.Fatalf("parseBench(%q) = %v, want no error", tt.args, err)
			}
			if tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("parseBench(%q) = %v, want an error naming %s", tt.args, err, tt.want)
			}
		})
	}
}

func TestBenchBatchInputDistinct(t *testing.T) {
	cfg, err := parseBench([]string{"--customers", "a,b,c,d,e", "--hours", "6"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	b := newBench(cfg)
	now := time.Date(2026, 11, 23, 7, 30, 0, 0, time.UTC)
	seen := map[string]bool{}
	for range 2 {
		in := b.batchInput(now)
		if len(in.UsageRecords) != 25 {
			t.Fatalf("batchInput has %d records, want 25", len(in.UsageRecords))
		}
		for _, r := range in.UsageRecords {
			k := fmt.Sprint(*r.CustomerIdentifier, *r.Dimension, r.Timestamp.Truncate(time.Hour))
			if seen[k] {
				t.Fatalf("key %s sent twice within the first 50 records of a 60-key space", k)
			}
			seen[k] = true
		}
	}
}

// benchLine finds `name   N` in the output of meterd bench.
func benchLine(t *testing.T, out, name string) int64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `\s+(\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("output lacks %q:\n%s", name, out)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
}

func TestBenchAgainstServer(t *testing.T) {
	m, token, _ := startRealTimeServer(t, nil)
	tests := []struct {
		name    string
		args    []string
		records int64
		want    []string // statuses with a count > 0
	}{
		{"batch with setup", []string{"--setup", "4", "-n", "12"}, 300, []string{"Success"}},
		{"meter with setup", []string{"--mode", "meter", "--setup", "3", "-n", "20"}, 20, []string{"Success"}},
		// 20 requests of 23 fresh keys, then a retry and a conflict of a
		// key from 25*2*4 keys back: DuplicateRecord must show.
		{"mixed", []string{"--mode", "mixed", "--setup", "40", "-c", "2", "-n", "30"}, 750, []string{"Success", "DuplicateRecord"}},
		{"rate", []string{"--mode", "meter", "--rate", "200", "-n", "10", "-c", "2"}, 10, []string{"Success"}},
		{"buyer key list", []string{"--mode", "meter", "--buyer-key", "buyer,buyer", "--buyer-secret", "buyer,buyer", "-n", "4"}, 4, []string{"Success"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := append([]string{"bench", "--endpoint", m.URL(), "--admin-token", token}, tt.args...)
			if code := run(context.Background(), args, &out, &errOut); code != exitOK {
				t.Fatalf("meterd bench = exit %d: %s%s", code, out.String(), errOut.String())
			}
			if got := benchLine(t, out.String(), "records"); got != tt.records {
				t.Errorf("records = %d, want %d\n%s", got, tt.records, out.String())
			}
			if strings.Contains(out.String(), "error ") {
				t.Errorf("bench reported errors:\n%s", out.String())
			}
			for _, st := range tt.want {
				if benchLine(t, out.String(), "status     "+st) == 0 {
					t.Errorf("status %s count is 0", st)
				}
			}
			if !strings.Contains(out.String(), "p99 ") {
				t.Errorf("output lacks latency percentiles:\n%s", out.String())
			}
			// Only the open loop has a schedule to be late for.
			open := slices.Contains(tt.args, "--rate")
			if got := strings.Contains(out.String(), "start lag  p50 "); got != open {
				t.Errorf("start lag line printed = %v, want %v (open loop)\n%s", got, open, out.String())
			}
		})
	}
}

func TestBenchCountsErrors(t *testing.T) {
	m, _, _ := startRealTimeServer(t, nil)
	var out bytes.Buffer
	args := []string{"bench", "--endpoint", m.URL(), "--secret-key", "wrong", "-n", "3", "-c", "1"}
	run(context.Background(), args, &out, io.Discard)
	if got := benchLine(t, out.String(), "error      "+meterd.EInvalidSignature); got != 3 {
		t.Errorf("InvalidSignatureException count = %d, want 3\n%s", got, out.String())
	}
}

func TestBenchLoad(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	const rows = 12_345
	if code := run(context.Background(), []string{"bench", "--load", strconv.Itoa(rows), "--data", dir}, &out, io.Discard); code != exitOK {
		t.Fatalf("bench --load = exit %d: %s", code, out.String())
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "meterd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sum, err := st.SummarizeUsage(context.Background(), meterd.UsageFilter{ProductCode: "demo-product"}, "dimension")
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, r := range sum {
		n += r.Records
	}
	if n != rows {
		t.Errorf("ledger holds %d records after --load %d, want %d (%s)", n, rows, rows, out.String())
	}
}

// TestBenchRateIsOpenLoop answers no request until all of them have
// arrived: only a load generator that sends on its schedule, without
// waiting for answers, gets through, and the first request's latency,
// counted from its scheduled start, spans the whole schedule.
func TestBenchRateIsOpenLoop(t *testing.T) {
	const n, rate = 8, 100 // one request every 10 ms
	var mu sync.Mutex
	arrived := 0
	all := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		if arrived++; arrived == n {
			close(all)
		}
		mu.Unlock()
		select {
		case <-all:
		case <-time.After(10 * time.Second):
			http.Error(w, "not every request arrived", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		io.WriteString(w, `{"MeteringRecordId":"00000000-0000-0000-0000-000000000000"}`)
	}))
	defer srv.Close()
	var out bytes.Buffer
	args := []string{"bench", "--endpoint", srv.URL, "--mode", "meter", "--rate", strconv.Itoa(rate), "-n", strconv.Itoa(n), "-c", "1"}
	if code := run(context.Background(), args, &out, io.Discard); code != exitOK {
		t.Fatalf("meterd bench = exit %d: %s", code, out.String())
	}
	if got := benchLine(t, out.String(), "records"); got != n {
		t.Fatalf("records = %d, want %d (a closed loop would wait for the first answer)\n%s", got, n, out.String())
	}
	m := regexp.MustCompile(`max ([0-9.]+)ms`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("output lacks the max latency:\n%s", out.String())
	}
	if max, _ := strconv.ParseFloat(m[1], 64); max < float64((n-1)*1000/rate) {
		t.Errorf("max latency = %sms, want at least %dms (the first request waited for the last one's schedule)", m[1], (n-1)*1000/rate)
	}
}
