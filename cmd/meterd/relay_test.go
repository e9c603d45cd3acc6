package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/internal/meterdtest"
	"github.com/meterd/meterd/relay"
)

// serveUpstream runs `meterd serve` (bin, with flags) as a relay's upstream,
// its clock set to now, and returns it with an admin client.
func serveUpstream(t *testing.T, bin string, now time.Time, flags ...string) (*meterdtest.Server, *admin.Client) {
	t.Helper()
	up := meterdtest.Serve(t, bin, flags...)
	adm := admin.NewClient(up.URL, up.AdminToken)
	if _, err := adm.SetClock(context.Background(), now); err != nil {
		t.Fatal(err)
	}
	return up, adm
}

// TestRelayCommand runs `meterd relay serve` in-process against a meterd
// binary: events sent to it end up as hourly records in meterd's ledger
// once both clocks have moved past the hour, and `relay status` and
// `relay report` show what happened.
func TestRelayCommand(t *testing.T) {
	ctx := context.Background()
	h0 := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	now := h0.Add(50 * time.Minute)
	up, adm := serveUpstream(t, meterdtest.Build(t), now)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	data := t.TempDir()
	url := startRelay(t, "--listen", "127.0.0.1:0", "--data", data, "--upstream-endpoint", up.URL, "--products", "demo-product")
	// The generated token is in the data directory.
	tok, err := relayToken("", data)
	if err != nil {
		t.Fatal(err)
	}
	rc := relay.NewClient(url, tok)
	if _, err := rc.SetClock(ctx, now); err != nil {
		t.Fatal(err)
	}

	want := map[string]int64{}
	var events []relay.Event
	for i := range 1500 {
		q := int64(i%4 + 1)
		customer := []string{"demo-customer-1", "demo-customer-2"}[i%2]
		e := relay.Event{ID: fmt.Sprintf("evt-%d", i%1000), ProductCode: "demo-product", CustomerIdentifier: customer,
			Dimension: "requests", Quantity: &q, Timestamp: h0.Add(time.Duration(i%50) * time.Minute),
			Tags: map[string]string{"team": []string{"a", "b"}[i%3%2]}}
		if i < 1000 { // the others repeat ids, and are counted once
			want[customer] += q
		}
		events = append(events, e)
	}
	rs, err := rc.Send(ctx, events)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rs {
		if want := map[bool]string{true: relay.StatusAccepted, false: relay.StatusDuplicate}[i < 1000]; r.Status != want {
			t.Fatalf("event %d = %+v, want %s", i, r, want)
		}
	}

	// Close the hour on both clocks; moving the relay clock wakes its
	// submitter.
	now = h0.Add(time.Hour + 10*time.Minute)
	if _, err := adm.SetClock(ctx, now); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.SetClock(ctx, now); err != nil {
		t.Fatal(err)
	}
	waitRelayDrained(t, ctx, rc)
	checkMeterdQuantities(t, ctx, adm, h0, now, want)

	out := runRelayCLI(t, "relay", "status", "--server", url, "--data", data, "--output", "json")
	var st relay.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("relay status output %q: %v", out, err)
	}
	if st.Events != 1000 || st.Outcomes[relay.OutcomeSuccess] != 2 {
		t.Errorf("relay status = %+v, want 1000 events and 2 Success", st)
	}
	out = runRelayCLI(t, "relay", "report", "--server", url, "--token", tok, "--from", h0.Format(time.RFC3339), "--to", now.Format(time.RFC3339), "--output", "csv")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "hour,product_code,customer") || !strings.Contains(lines[1], ",Success,") {
		t.Errorf("relay report = %q, want a header and 2 Success rows", out)
	}
	if code := run(ctx, []string{"relay", "status", "--server", url, "--token", "wrong"}, io.Discard, io.Discard); code != exitError {
		t.Errorf("relay status with a wrong token exits %d, want %d", code, exitError)
	}
}

// startRelay runs `meterd relay serve` with args until the test ends and
// returns its URL, read from its banner.
func startRelay(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"relay", "serve"}, args...), pw, &stderr)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != exitOK {
			t.Errorf("meterd relay serve exited %d", code)
		}
	})
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "meterd relay is listening on "); ok {
			go io.Copy(io.Discard, pr)
			return strings.Fields(rest)[0]
		}
	}
	t.Fatalf("meterd relay serve printed no banner")
	return ""
}

// runRelayCLI runs a meterd command and returns its stdout, failing unless it
// exits 0.
func runRelayCLI(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), args, &stdout, &stderr); code != exitOK {
		t.Fatalf("meterd %s exited %d: %s", strings.Join(args, " "), code, stderr.String())
	}
	return stdout.String()
}

// waitRelayDrained waits until the relay has no backlog left (the submitter
// runs on its own; this waits for it, not for time) and returns its status.
func waitRelayDrained(t *testing.T, ctx context.Context, rc *relay.Client) *relay.Status {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := rc.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Backlog == 0 {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("relay status = %+v, want no backlog within 20s", st)
		}
		time.Sleep(20 * time.Millisecond) // waits for the submitter, not for time
	}
}

// checkMeterdQuantities checks that meterd's ledger holds one record per
// customer of demo-product between from and to, with the wanted quantities.
func checkMeterdQuantities(t *testing.T, ctx context.Context, adm *admin.Client, from, to time.Time, want map[string]int64) {
	t.Helper()
	rows, err := adm.UsageSummary(ctx, admin.UsageQuery{Product: "demo-product", From: from, To: to}, "customer")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, r := range rows {
		got[r.Group] = r.Quantity
		if r.Records != 1 {
			t.Errorf("meterd has %d records for %s, want 1", r.Records, r.Group)
		}
	}
	for c, q := range want {
		if got[c] != q {
			t.Errorf("meterd quantity of %s = %d, want %d", c, got[c], q)
		}
	}
}
