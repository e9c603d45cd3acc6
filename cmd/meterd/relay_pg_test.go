package main

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/meterd/meterd/internal/meterdtest"
	"github.com/meterd/meterd/pgtest"
	"github.com/meterd/meterd/relay"
)

// TestRelayPostgresShared runs two `meterd relay serve` processes on one
// PostgreSQL store against one meterd. Events go to both at once, and every
// repeated idempotency key is sent to the other relay than the first time:
// each event is counted once, and each key-hour reaches meterd's ledger as
// one record with the expected sum, sent by one relay.
func TestRelayPostgresShared(t *testing.T) {
	ctx := context.Background()
	h0 := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	// Both hours stay open while the events go in (h0 closes at h0+1h05m,
	// with the relay's 5m grace): a submission pass during the intake must
	// not freeze h0 and turn its remaining events late.
	now := h0.Add(time.Hour + 4*time.Minute)
	bin := meterdtest.Build(t)
	up, adm := serveUpstream(t, bin, now)
	store := pgtest.Start(t).NewDatabase(t)
	var relays []*meterdtest.RelayProcess
	var clients []*relay.Client
	for i := range 2 {
		p := meterdtest.NewRelay(t, bin, "--token", "tok", "--upstream-endpoint", up.URL, "--products", "demo-product")
		if i == 0 {
			p.Args = append(p.Args, "--store", store)
		} else { // the same store, named by the environment
			p.Env = []string{"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "METERD_RELAY_STORE=" + store}
		}
		p.Clock = now
		p.Start()
		relays = append(relays, p)
		clients = append(clients, relay.NewClient(p.URL, p.Token))
	}

	// 3000 events with 2000 ids over two hours and two customers; the last
	// 1000 repeat ids, each through the other relay than its first send.
	const events, ids = 3000, 2000
	want := map[time.Time]map[string]int64{h0: {}, h0.Add(time.Hour): {}}
	perRelay := make([][]relay.Event, 2)
	for n := range events {
		k := n % ids
		q := int64(k%4 + 1)
		ts := h0.Add(time.Duration(k%69) * time.Minute) // up to now + the 5m future skew
		customer := []string{"demo-customer-1", "demo-customer-2"}[k%2]
		e := relay.Event{ID: fmt.Sprintf("evt-%d", k), ProductCode: "demo-product", CustomerIdentifier: customer,
			Dimension: "requests", Quantity: &q, Timestamp: ts, Tags: map[string]string{"team": []string{"a", "b", "c"}[k%3]}}
		r := n % 2
		if n >= ids {
			r = 1 - r
		} else {
			want[ts.Truncate(time.Hour)][customer] += q
		}
		perRelay[r] = append(perRelay[r], e)
	}
	accepted := make([]map[string]int, 2)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for r := range 2 {
		accepted[r] = map[string]int{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for evs := perRelay[r]; len(evs) > 0; evs = evs[min(250, len(evs)):] {
				rs, err := clients[r].Send(ctx, evs[:min(250, len(evs))])
				if err != nil {
					errs <- err
					return
				}
				for _, res := range rs {
					if res.Status == relay.StatusAccepted {
						accepted[r][res.ID]++
					} else if res.Status != relay.StatusDuplicate {
						errs <- fmt.Errorf("relay %d: event %+v, want accepted or duplicate", r, res)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for k := range ids {
		id := fmt.Sprintf("evt-%d", k)
		if n := accepted[0][id] + accepted[1][id]; n != 1 {
			t.Errorf("%s accepted %d times by the relays, want once", id, n)
		}
	}

	// Close both hours on meterd's clock and on both relays' clocks; the
	// relays race to freeze and submit them.
	now = h0.Add(2*time.Hour + 10*time.Minute)
	if _, err := adm.SetClock(ctx, now); err != nil {
		t.Fatal(err)
	}
	for _, c := range clients {
		if _, err := c.SetClock(ctx, now); err != nil {
			t.Fatal(err)
		}
	}
	st := waitRelayDrained(t, ctx, clients[0])
	for h, w := range want {
		checkMeterdQuantities(t, ctx, adm, h, h.Add(time.Hour), w)
	}
	// The store is shared: either relay reports every record, each sent once.
	if st.Events != ids || st.Outcomes[relay.OutcomeSuccess] != 4 || len(st.Outcomes) != 1 {
		t.Errorf("relay status = %+v, want %d events and 4 records, all Success", st, ids)
	}
	if st2 := waitRelayDrained(t, ctx, clients[1]); st2.Events != st.Events || st2.Outcomes[relay.OutcomeSuccess] != 4 {
		t.Errorf("other relay's status = %+v, want the same store as %+v", st2, st)
	}
}
