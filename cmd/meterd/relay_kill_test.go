package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/meterd/meterd/internal/meterdtest"
	"github.com/meterd/meterd/relay"
)

// TestRelayKilled kills the relay process with SIGKILL during intake and
// during submission, and starts it again each time: every event is still
// counted exactly once in meterd's ledger.
func TestRelayKilled(t *testing.T) {
	ctx := context.Background()
	h0 := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	now := h0.Add(50 * time.Minute)
	bin := meterdtest.Build(t)
	up, adm := serveUpstream(t, bin, now)
	p := meterdtest.NewRelay(t, bin, "--token", "tok", "--upstream-endpoint", up.URL)
	p.Clock = now
	p.Start()
	rc := relay.NewClient(p.URL, p.Token)
	// The relay clock lives in memory: --clock sets it at every start,
	// before the submitter's first pass.
	restart := func() {
		t.Helper()
		p.Clock = now
		p.Restart()
	}

	want := map[string]int64{}
	const batches, perBatch = 8, 1000
	batch := func(b int) []relay.Event {
		var events []relay.Event
		for i := range perBatch {
			n := b*perBatch + i
			q := int64(n%3 + 1)
			events = append(events, relay.Event{ID: fmt.Sprintf("k-%d", n), ProductCode: "demo-product",
				CustomerIdentifier: []string{"demo-customer-1", "demo-customer-2"}[n%2], Dimension: "requests",
				Quantity: &q, Timestamp: h0.Add(time.Duration(n%50) * time.Minute)})
		}
		return events
	}
	for b := range batches {
		for _, e := range batch(b) {
			want[e.CustomerIdentifier] += *e.Quantity
		}
	}
	for b := range batches {
		events := batch(b)
		if b%3 == 1 {
			// Kill the relay while this batch is in flight, then send it
			// again: whatever was stored before the kill is a duplicate.
			done := make(chan error, 1)
			go func() { _, err := rc.Send(ctx, events); done <- err }()
			p.Kill()
			<-done
			restart()
		}
		rs, err := rc.Send(ctx, events)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if r.Status != relay.StatusAccepted && r.Status != relay.StatusDuplicate {
				t.Fatalf("batch %d: %+v, want accepted or duplicate", b, r)
			}
		}
	}

	// Close the hour, and kill the relay while it submits.
	now = h0.Add(time.Hour + 10*time.Minute)
	if _, err := adm.SetClock(ctx, now); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.SetClock(ctx, now); err != nil {
		t.Fatal(err)
	}
	p.Kill()
	restart()
	st := waitRelayDrained(t, ctx, rc)
	if st.Events != batches*perBatch || st.Outcomes[relay.OutcomeSuccess] != 2 {
		t.Errorf("relay status = %+v, want %d events, 2 Success", st, batches*perBatch)
	}
	checkMeterdQuantities(t, ctx, adm, h0, now, want)
}
