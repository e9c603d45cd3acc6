package relay

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd/admin"
)

// TestRelayToMeterdAtScale sends 100,000 events with repeated ids and tags
// through the relay to meterd, once with a clean upstream and once with a
// meterd that loses 30 % of the records to UnprocessedRecords, throttles,
// fails with 500s and drops responses after committing: every hour still
// ends up as exactly one record with the expected sums, and a record the
// upstream refuses for good fails alone.
func TestRelayToMeterdAtScale(t *testing.T) {
	t.Run("clean", func(t *testing.T) { relayToMeterdAtScale(t, false) })
	t.Run("faults", func(t *testing.T) { relayToMeterdAtScale(t, true) })
}

func relayToMeterdAtScale(t *testing.T, faults bool) {
	ctx := context.Background()
	h0 := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	now := h0.Add(3*time.Hour + 50*time.Minute)
	u := startUpstream(t, now)
	var customers []string
	for i := range 10 {
		id := fmt.Sprintf("cust-%02d", i)
		if _, err := u.admin.Subscribe(ctx, "demo-product", admin.SubscribeInput{CustomerIdentifier: id}); err != nil {
			t.Fatal(err)
		}
		customers = append(customers, id)
	}
	r, c := relayTo(t, u, Config{}, now)
	// Retries are due at once: the test needs no waiting.
	r.cfg.RetryBase, r.cfg.RetryMax = time.Nanosecond, time.Nanosecond

	// METERD_RELAY_EVENTS sets another size, for example a smaller one
	// while working on the relay.
	n := 100000
	if v, err := strconv.Atoi(os.Getenv("METERD_RELAY_EVENTS")); err == nil && v > 0 {
		n = v
	}
	unique := n * 3 / 4 // the last quarter repeats earlier ids
	want := expected{}
	var events []Event
	for i := range n {
		h := h0.Add(time.Duration((i/3)%4) * time.Hour)
		e := ev(fmt.Sprintf("e-%d", i%unique), customers[i%10], []string{"requests", "storage_gb"}[(i/7)%2], int64(i%5),
			h.Add(time.Duration(i%50)*time.Minute), []map[string]string{nil, {"team": "x"}}[(i/20)%2])
		if i < unique {
			want.add(e.CustomerIdentifier, e.Dimension, h, e.Tags, *e.Quantity)
		}
		events = append(events, e)
	}
	// One record whose dimension the product does not have: refused for good.
	events = append(events, ev("bad-dim", customers[0], "bogus", 1, h0.Add(time.Minute), nil))
	for start := 0; start < len(events); start += 1000 {
		rs, err := c.Send(ctx, events[start:min(start+1000, len(events))])
		if err != nil {
			t.Fatal(err)
		}
		for _, res := range rs {
			if res.Status == StatusRejected {
				t.Fatalf("event %s rejected: %s", res.ID, res.Error)
			}
		}
	}
	var rules []admin.FaultSpec
	if faults {
		rules = []admin.FaultSpec{
			{Operation: "BatchMeterUsage", Unprocessed: 0.3},
			{Operation: "BatchMeterUsage", Error: "ThrottlingException", Count: 2},
			{Operation: "BatchMeterUsage", Error: "InternalServiceErrorException", Count: 2},
			{Operation: "BatchMeterUsage", DropResponse: true, Count: 2},
		}
	}
	for _, spec := range rules {
		if _, err := u.admin.AddFault(ctx, spec); err != nil {
			t.Fatal(err)
		}
	}
	now = h0.Add(4*time.Hour + 10*time.Minute)
	u.setClock(t, now)
	r.Clock().Set(now)
	passes := 0
	for ; passes < 200; passes++ {
		if _, err := r.Submit(ctx); err != nil {
			t.Fatal(err)
		}
		st, err := r.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Backlog == 0 {
			break
		}
	}
	st, err := r.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Backlog != 0 || st.Outcomes[OutcomeSuccess] != int64(len(want)) || st.Outcomes[OutcomeFailed] != 1 {
		t.Fatalf("after %d passes: Status = %+v, want no backlog, %d Success and 1 Failed", passes, st, len(want))
	}
	if st.LastError == "" || st.LastErrorFor == "" {
		t.Errorf("Status last error = %q for %q, want the last failure", st.LastError, st.LastErrorFor)
	}
	report, err := c.Report(ctx, h0, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range report {
		if row.Dimension == "bogus" && (row.Outcome != OutcomeFailed || !strings.Contains(row.LastError, "InvalidUsageDimension")) {
			t.Errorf("report of the bogus record = %+v, want Failed with InvalidUsageDimension", row)
		}
	}
	got, _ := ledgerOf(t, u, h0, now)
	compareSums(t, got, want)

	// The retries were counted per error code; a clean upstream needs none.
	var retries int
	for _, code := range []string{"Unprocessed", "ThrottlingException", "InternalServiceErrorException", "NetworkError"} {
		n := int(testCounter(t, r.metrics.retries.WithLabelValues(code)))
		if faults && n == 0 {
			t.Errorf("retries{code=%q} = 0, want some", code)
		}
		if !faults && n != 0 {
			t.Errorf("retries{code=%q} = %d against a clean upstream, want 0", code, n)
		}
		retries += n
	}
	t.Logf("%d records in %d passes, %d retries", len(want), passes+1, retries)
}
