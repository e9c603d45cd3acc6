package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/internal/meterdtest"
	"github.com/meterd/meterd/relay"
)

// TestRelayChaos runs a relay process against a meterd that loses 30 % of
// the records to UnprocessedRecords and answers some requests with
// throttling, 500s or no answer at all (after committing), while events
// are sent hour after hour. The relay is killed with SIGKILL at random
// moments, during intake and during submission, and started again each
// time; a POST cut by a kill is sent again with the same ids, as a client
// would. In the end every event is counted exactly once in meterd.
//
// The moments, the events and meterd's fault draws come from one seed,
// printed at the start; METERD_CHAOS_SEED=N replays a run (the kill
// moments race with the processes, so a replay is close, not identical).
func TestRelayChaos(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("METERD_CHAOS_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("METERD_CHAOS_SEED=%q: %v", v, err)
		}
		seed = n
	}
	t.Logf("seed %d (METERD_CHAOS_SEED=%d replays it)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	// The whole test is bounded: the budget stops sending more hours.
	budget := time.Now().Add(45 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	h0 := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	now := h0.Add(50 * time.Minute)
	bin := meterdtest.Build(t)
	up, adm := serveUpstream(t, bin, now, "--fault-seed", strconv.FormatUint(seed, 10))
	// Sixty customers: sixty records an hour, three requests and their
	// retries, so that the faults have requests to hit.
	var customers []string
	for i := range 60 {
		id := fmt.Sprintf("chaos-%02d", i)
		if _, err := adm.Subscribe(ctx, "demo-product", admin.SubscribeInput{CustomerIdentifier: id}); err != nil {
			t.Fatal(err)
		}
		customers = append(customers, id)
	}
	for _, spec := range []admin.FaultSpec{
		// Errors first: an error ends meterd's walk of the rules. The
		// counted rules make sure that each fault happens at least twice,
		// early; the others keep happening at random.
		{Operation: "BatchMeterUsage", Error: "ThrottlingException", Count: 2},
		{Operation: "BatchMeterUsage", Error: "InternalServiceErrorException", Count: 2},
		{Operation: "BatchMeterUsage", DropResponse: true, Count: 2},
		{Operation: "BatchMeterUsage", Error: "ThrottlingException", Probability: 0.1},
		{Operation: "BatchMeterUsage", Error: "InternalServiceErrorException", Probability: 0.1},
		{Operation: "BatchMeterUsage", DropResponse: true, Probability: 0.1},
		{Operation: "BatchMeterUsage", Unprocessed: 0.3},
	} {
		if _, err := adm.AddFault(ctx, spec); err != nil {
			t.Fatal(err)
		}
	}
	// Short backoff and lease: a record leased by a killed relay waits the
	// lease out after the restart.
	p := meterdtest.NewRelay(t, bin, "--token", "tok", "--upstream-endpoint", up.URL, "--products", "demo-product",
		"--rate", "50", "--retry-base", "5ms", "--retry-max", "50ms", "--lease", "1s")
	p.Clock = now
	p.Start()
	rc := relay.NewClient(p.URL, p.Token)
	kills := map[string]int{}
	restart := func(during string) {
		t.Helper()
		p.Kill()
		kills[during]++
		p.Clock = now // the relay clock is not kept across restarts
		p.Restart()
	}
	// killSoon kills the relay after a random moment of up to max, chosen
	// to land inside the work in flight, and starts it again.
	killSoon := func(during string, max time.Duration) {
		t.Helper()
		time.Sleep(time.Duration(rng.Int64N(int64(max)))) // picks the moment of the crash; waits for nothing
		restart(during)
	}

	tagSets := []map[string]string{nil, {"team": "a"}, {"team": "b"}}
	want := map[time.Time]map[string]int64{} // hour -> customer -> quantity
	sent := 0
	var hours []time.Time
	for s := 0; s < 4 && time.Now().Before(budget); s++ {
		hour := h0.Add(time.Duration(s) * time.Hour)
		hours = append(hours, hour)
		want[hour] = map[string]int64{}
		for b := range 4 {
			var events []relay.Event
			for i := range 400 {
				q := rng.Int64N(10)
				e := relay.Event{ID: fmt.Sprintf("h%d-b%d-%d", s, b, i), ProductCode: "demo-product",
					CustomerIdentifier: customers[rng.IntN(len(customers))], Dimension: "requests", Quantity: &q,
					Timestamp: hour.Add(time.Duration(rng.IntN(50*60)) * time.Second), Tags: tagSets[rng.IntN(3)]}
				events = append(events, e)
				want[hour][e.CustomerIdentifier] += q
			}
			sent += len(events)
			if rng.Float64() < 0.5 {
				// Kill during intake: whatever the relay stored before the
				// kill is a duplicate when the batch comes again.
				done := make(chan error, 1)
				go func() { _, err := rc.Send(ctx, events); done <- err }()
				killSoon("intake", 30*time.Millisecond)
				<-done
			}
			sendAcked(t, ctx, rc, events)
		}
		// Close the hour on both clocks: the relay submits it while the
		// next hour's events arrive; sometimes it is killed meanwhile.
		now = hour.Add(time.Hour + 50*time.Minute)
		if _, err := adm.SetClock(ctx, now); err != nil {
			t.Fatal(err)
		}
		if _, err := rc.SetClock(ctx, now); err != nil {
			t.Fatal(err)
		}
		if rng.Float64() < 0.7 {
			killSoon("submission", 200*time.Millisecond)
		}
	}
	// Close the last hour; one more kill while it is submitted.
	now = now.Add(20 * time.Minute)
	if _, err := adm.SetClock(ctx, now); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.SetClock(ctx, now); err != nil {
		t.Fatal(err)
	}
	killSoon("submission", 100*time.Millisecond)
	t.Logf("%d events in %d hours; kills: %v", sent, len(hours), kills)

	st := waitRelayDrained(t, ctx, rc)
	wantRecords := 0
	for _, h := range hours {
		wantRecords += len(want[h])
	}
	if st.Events != int64(sent) || st.Outcomes[relay.OutcomeSuccess] != int64(wantRecords) || st.Outcomes[relay.OutcomeFailed] != 0 || st.Outcomes[relay.OutcomeExpired] != 0 {
		t.Errorf("relay status = %+v, want %d events and %d Success, none failed or expired", st, sent, wantRecords)
	}
	for _, h := range hours {
		checkMeterdQuantities(t, ctx, adm, h, h.Add(time.Hour), want[h])
	}
	faults, err := adm.Faults(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The counted rules are deleted once spent; the random ones stay.
	hits := map[string]int64{}
	for _, f := range faults {
		if f.Count != 0 {
			t.Errorf("fault rule %+v has %d hits of %d, want it spent", f.Spec, f.Hits, f.Count)
		}
		name := f.Error
		if f.DropResponse {
			name = "DropResponse"
		} else if f.Unprocessed > 0 {
			name = "Unprocessed"
		}
		hits[name] = f.Hits
	}
	t.Logf("random fault hits: %v", hits)
}

// sendAcked sends events until the relay acknowledges every one (accepted
// or duplicate), resending a POST that failed, with the same ids, as a
// client would after a relay crash.
func sendAcked(t *testing.T, ctx context.Context, rc *relay.Client, events []relay.Event) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		rs, err := rc.Send(ctx, events)
		if err != nil {
			if attempt == 50 || ctx.Err() != nil {
				t.Fatalf("sending %d events: %v", len(events), err)
			}
			time.Sleep(20 * time.Millisecond) // the relay is starting again
			continue
		}
		for _, r := range rs {
			if r.Status != relay.StatusAccepted && r.Status != relay.StatusDuplicate {
				t.Fatalf("event %s = %+v, want accepted or duplicate", r.ID, r)
			}
		}
		return
	}
}
