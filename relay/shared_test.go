package relay

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/marketplacemetering"
	"github.com/aws/aws-sdk-go-v2/service/marketplacemetering/types"

	"github.com/meterd/meterd"
)

// TestStoreShared runs two relays' stores on one database at once: both
// take the same events (every id is sent to each) while one of them
// freezes the hour halfway. Every id is accepted exactly once, and every
// event counts in exactly one aggregate: the frozen hour if it joined
// before the freeze, the current hour (late) otherwise. Only PostgreSQL
// stores are shared: a SQLite store refuses a second relay
// (TestStoreSQLiteOneRelay).
func TestStoreShared(t *testing.T) { testStoreShared(t, cluster.NewDatabase(t)) }

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

// countingUpstream answers Success to every record and counts how often
// each key-hour was sent. Its first request waits for a second one (at most
// 10 s), so that two relays surely send at the same time.
type countingUpstream struct {
	mu       sync.Mutex
	sent     map[string]int
	requests int
	second   chan struct{} // closed by the second request
}

func (u *countingUpstream) BatchMeterUsage(ctx context.Context, in *marketplacemetering.BatchMeterUsageInput, _ ...func(*marketplacemetering.Options)) (*marketplacemetering.BatchMeterUsageOutput, error) {
	u.mu.Lock()
	u.requests++
	n := u.requests
	if n == 2 {
		close(u.second)
	}
	u.mu.Unlock()
	if n == 1 {
		select {
		case <-u.second:
		case <-time.After(10 * time.Second): // a timeout, not a wait for time: the test fails below
		}
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	out := &marketplacemetering.BatchMeterUsageOutput{}
	for _, rec := range in.UsageRecords {
		k := keyOfUsage(&rec)
		u.sent[fmt.Sprint(k)]++
		out.Results = append(out.Results, types.UsageRecordResult{UsageRecord: &rec, Status: types.UsageRecordResultStatusSuccess,
			MeteringRecordId: aws.String(fmt.Sprint("id-", k))})
	}
	return out, nil
}

// TestRelaysSharedSubmit runs the submission passes of two relays on one
// store at once, while the first relay's first request is held up: the
// other relay sends the records the first has not claimed, and each record
// is sent once.
func TestRelaysSharedSubmit(t *testing.T) { testRelaysSharedSubmit(t, cluster.NewDatabase(t)) }

func testRelaysSharedSubmit(t *testing.T, dsn string) {
	ctx := context.Background()
	up := &countingUpstream{sent: map[string]int{}, second: make(chan struct{})}
	now := t0.Add(10 * time.Minute)
	var relays []*Relay
	for range 2 {
		clock := &meterd.ServerClock{}
		clock.Set(now)
		relays = append(relays, New(Config{Store: openDSN(t, dsn), Upstream: up, Clock: clock, Token: "secret", Rate: 1000}))
	}
	const records = 300
	var events []Event
	for i := range records {
		events = append(events, ev(fmt.Sprintf("e%d", i), fmt.Sprintf("c%d", i), "requests", 1, now, nil))
	}
	if _, err := relays[0].store.Ingest(ctx, events, now, LateCurrentHour); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	settled := make([]int, 2)
	errs := make([]error, 2)
	for i, r := range relays {
		r.Clock().Set(t0.Add(time.Hour + 10*time.Minute))
		wg.Add(1)
		go func() {
			defer wg.Done()
			settled[i], errs[i] = r.Submit(ctx)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("relay %d: Submit = %v", i, err)
		}
	}
	if settled[0]+settled[1] != records {
		t.Errorf("Submit settled %d + %d records, want %d in all", settled[0], settled[1], records)
	}
	if len(up.sent) != records {
		t.Errorf("upstream got %d distinct records, want %d", len(up.sent), records)
	}
	for k, n := range up.sent {
		if n != 1 {
			t.Errorf("record %s sent %d times, want once", k, n)
		}
	}
	if settled[0] == 0 || settled[1] == 0 {
		t.Errorf("relays settled %d and %d records, want both to send some", settled[0], settled[1])
	}
}
