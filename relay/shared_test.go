package relay

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/meterd/meterd"
)

// TestStoreShared runs two relays' stores on one database at once: both
// take the same events (every id is sent to each) while one of them
// freezes the hour halfway. Every id is accepted exactly once, and every
// event counts in exactly one aggregate: the frozen hour if it joined
// before the freeze, the current hour (late) otherwise.
func TestStoreShared(t *testing.T) { eachStore(t, testStoreShared) }

func testStoreShared(t *testing.T, dsn string) {
	ctx := context.Background()
	stores := []*Store{openDSN(t, dsn), openDSN(t, dsn)}
	now := t0.Add(70 * time.Minute) // hour t0 has closed; t0+1h is current
	const batches, perBatch = 40, 50
	quantity := func(n int) int64 { return int64(n%5 + 1) }
	batch := func(relay, b int) []Event {
		var events []Event
		for i := range perBatch {
			n := b*perBatch + i + relay*perBatch/2 // half of each batch goes to the other relay too
			var tags map[string]string
			if n%3 == 0 {
				tags = map[string]string{"team": fmt.Sprint(n % 2)}
			}
			events = append(events, ev(fmt.Sprintf("e%d", n), fmt.Sprintf("c%d", n%3), "requests", quantity(n),
				t0.Add(time.Duration(n%60)*time.Minute), tags))
		}
		return events
	}
	var wantTotal int64
	for n := range batches * perBatch {
		wantTotal += quantity(n)
	}

	accepted := make([]map[string]int, 2)
	var wg sync.WaitGroup
	halfway, freezeDone := make(chan struct{}), make(chan struct{})
	var halfwayOnce sync.Once // also on an early error: the freezer must not wait forever
	errs := make(chan error, 3)
	for r := range stores {
		accepted[r] = map[string]int{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r == 0 {
				defer halfwayOnce.Do(func() { close(halfway) })
			}
			// The other relay stops short of this one's last batches, so
			// that some events surely come after the freeze.
			for b := range batches - 5*r {
				if b == batches/2 && r == 0 {
					// The other relay goes on while this one waits for the
					// freeze.
					halfwayOnce.Do(func() { close(halfway) })
					<-freezeDone
				}
				rs, err := stores[r].Ingest(ctx, batch(r, b), now, LateCurrentHour)
				if err != nil {
					errs <- err
					return
				}
				for _, res := range rs {
					switch res.Status {
					case StatusAccepted:
						accepted[r][res.ID]++
					case StatusRejected:
						errs <- fmt.Errorf("event %s rejected: %s", res.ID, res.Error)
						return
					}
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(freezeDone)
		<-halfway
		if _, err := stores[1].Freeze(ctx, t0); err != nil {
			errs <- err
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	ids := 0
	for n := range batches * perBatch {
		id := fmt.Sprintf("e%d", n)
		if got := accepted[0][id] + accepted[1][id]; got != 1 {
			t.Errorf("%s accepted %d times (%d, %d), want once", id, got, accepted[0][id], accepted[1][id])
		}
		ids++
	}
	// Each aggregate holds exactly the events stored for its key-hour, and
	// together they hold every event once.
	recs, err := stores[0].Records(ctx, t0, t0.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var total, events, frozen, late int64
	for _, rec := range recs {
		var q, n int64
		err := stores[0].db.QueryRowContext(ctx, stores[0].q(`SELECT CAST(coalesce(sum(quantity), 0) AS BIGINT), count(*) FROM events
			WHERE product = ? AND customer = ? AND dimension = ? AND hour = ?`), keyArgs(rec.Key)...).Scan(&q, &n)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Quantity != q || rec.Events != n {
			t.Errorf("aggregate %s %s = %d (%d events), want the sum of its stored events %d (%d)", rec.Customer, rec.Hour, rec.Quantity, rec.Events, q, n)
		}
		switch {
		case rec.Hour.Equal(t0) && rec.State == StateFrozen:
			frozen += rec.Quantity
			if rec.Allocations != nil && allocated(rec.Allocations) != rec.Quantity {
				t.Errorf("frozen aggregate %s: allocations %s sum to %d, want %d", rec.Customer,
					meterd.CanonicalAllocations(rec.Allocations), allocated(rec.Allocations), rec.Quantity)
			}
		case rec.Hour.Equal(t0.Add(time.Hour)) && rec.State == StateOpen:
			late += rec.Quantity
		default:
			t.Errorf("aggregate %s %s is %s", rec.Customer, rec.Hour, rec.State)
		}
		total += rec.Quantity
		events += rec.Events
	}
	if total != wantTotal || events != int64(ids) {
		t.Errorf("aggregates hold %d in %d events, want %d in %d", total, events, wantTotal, ids)
	}
	if frozen == 0 || late == 0 {
		t.Errorf("frozen hour %d, late %d: want both, the freeze came halfway", frozen, late)
	}
	t.Logf("%d events: %d in the frozen hour, %d late", ids, frozen, late)
}

func allocated(allocs []meterd.UsageAllocation) int64 {
	var n int64
	for _, a := range allocs {
		n += *a.AllocatedUsageQuantity
	}
	return n
}
