package relay

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"
)

// TestStoreGroupSameAsOneByOne: a group whose calls repeat ids (within a
// call, across calls, and ids stored before), repeat aggregate keys and
// tag sets (stored ones and ones new in the group), make events late
// (moved to the current hour, or refused) and reach the tag key and
// license limits across calls, stored in one transaction, gives the
// results and records that the same events give stored one event per
// transaction, in order; and the results are the ones expected.
func TestStoreGroupSameAsOneByOne(t *testing.T) { eachStore(t, testStoreGroupSameAsOneByOne) }

func testStoreGroupSameAsOneByOne(t *testing.T, dsn string) {
	ctx := context.Background()
	other := filepath.Join(t.TempDir(), "one-by-one.db")
	if IsPostgresURL(dsn) {
		other = cluster.NewDatabase(t)
	}
	grouped, oneByOne := openDSN(t, dsn), openDSN(t, other)
	now := t0.Add(70 * time.Minute) // hour t0 has closed; t0+1h is current
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	team := func(v string) map[string]string { return map[string]string{"team": v} }
	for _, s := range []*Store{grouped, oneByOne} {
		before := []Event{
			ev("p1", "c1", "requests", 1, at(1), team("a")),  // hour t0, frozen below
			ev("p2", "c2", "requests", 2, at(2), nil),        // hour t0, frozen below
			ev("p3", "c3", "requests", 3, at(65), team("a")), // the current hour, open
		}
		if _, err := s.Ingest(ctx, before, now, LateCurrentHour); err != nil {
			t.Fatal(err)
		}
		if n, err := s.Freeze(ctx, t0); err != nil || n != 2 {
			t.Fatalf("Freeze = %d, %v, want 2", n, err)
		}
	}
	sixKeys := map[string]string{"k1": "1", "k2": "2", "k3": "3", "k4": "4", "k5": "5"}
	licensed := ev("g11", "c3", "requests", 11, at(64), nil)
	licensed.LicenseArn = "arn:aws:license-manager::123456789012:license:l-1"
	type call struct {
		late   string
		events []Event
		want   []string
	}
	calls := []call{
		{LateCurrentHour, []Event{
			ev("g1", "c3", "requests", 1, at(61), team("a")), // a stored aggregate and tag set
			ev("g2", "c3", "requests", 2, at(62), team("b")), // a stored aggregate, a new tag set
			ev("g1", "c3", "requests", 1, at(61), team("a")), // repeated in the call
			ev("g3", "c1", "requests", 3, at(10), nil),       // frozen: late, a new current-hour aggregate
			ev("g4", "c4", "requests", 4, at(20), nil),       // a new aggregate of the closed hour
			ev("g5", "c4", "requests", 5, at(30), sixKeys),   // five tag keys on it
		}, []string{"accepted", "accepted", "duplicate", "accepted+late", "accepted", "accepted"}},
		{LateRefuse, []Event{
			ev("g2", "c3", "requests", 2, at(62), team("b")),                    // repeated from the first call
			ev("p1", "c1", "requests", 1, at(1), team("a")),                     // stored before
			ev("g6", "c2", "requests", 6, at(5), nil),                           // frozen: refused
			ev("g7", "c4", "requests", 7, at(40), map[string]string{"k6": "6"}), // a sixth tag key
			ev("g8", "c3", "requests", 8, at(63), team("b")),                    // the first call's new tag set
			ev("g9", "c1", "requests", 9, at(70), nil),                          // the first call's late aggregate
		}, []string{"duplicate", "duplicate", "rejected", "rejected", "accepted", "accepted"}},
		{LateCurrentHour, []Event{
			ev("g10", "c1", "requests", 10, at(15), nil), // late again
			licensed, // a second license in a key-hour
			ev("g6", "c2", "requests", 6, at(5), nil), // refused before: late now
		}, []string{"accepted+late", "rejected", "accepted+late"}},
	}
	var group []*ingestCall
	for _, c := range calls {
		group = append(group, &ingestCall{ctx: ctx, events: c.events, now: now, late: c.late, done: make(chan struct{})})
	}
	if err := grouped.ingestCalls(ctx, group); err != nil {
		t.Fatal(err)
	}
	for i, c := range calls {
		var alone []Result
		for _, e := range c.events {
			rs, err := oneByOne.Ingest(ctx, []Event{e}, now, c.late)
			if err != nil {
				t.Fatal(err)
			}
			alone = append(alone, rs...)
		}
		if got := statuses(group[i].results); !slices.Equal(got, c.want) {
			t.Errorf("call %d: grouped %v, want %v", i, got, c.want)
		}
		if !reflect.DeepEqual(group[i].results, alone) {
			t.Errorf("call %d: grouped %+v, one by one %+v", i, group[i].results, alone)
		}
	}
	// Freezing fixes each record's allocations from the stored ones.
	records := func(s *Store) []Record {
		if _, err := s.Freeze(ctx, now); err != nil {
			t.Fatal(err)
		}
		recs, err := s.Records(ctx, t0, t0.Add(2*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		var out []Record
		for _, r := range recs {
			out = append(out, *r)
		}
		return out
	}
	got, want := records(grouped), records(oneByOne)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("grouped records:\n%+v\none by one:\n%+v", got, want)
	}
	if len(got) != 6 {
		t.Errorf("%d records, want 6: c1, c2 and c4 at t0, c1, c2 and c3 at t0+1h", len(got))
	}
	for _, r := range got {
		if r.Customer == "c3" && (r.Quantity != 3+1+2+8 || r.Events != 4 || len(r.Allocations) != 2) {
			t.Errorf("c3's record: %d events, quantity %d, %d allocations, want 4, 14, 2", r.Events, r.Quantity, len(r.Allocations))
		}
	}
}

// TestStorePostgresPlanner: on PostgreSQL every connection of the store
// plans prepared statements with their values (a generic plan kept from a
// small events table scanned it for each id), and intake transactions
// plan without sequential scans.
func TestStorePostgresPlanner(t *testing.T) {
	s := openDSN(t, cluster.NewDatabase(t))
	var mode string
	if err := s.db.QueryRowContext(context.Background(), `SHOW plan_cache_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "force_custom_plan" || !s.planHints.Load() {
		t.Errorf("plan_cache_mode = %q, planHints %v, want force_custom_plan and true", mode, s.planHints.Load())
	}
}

// TestStoreIngestManyKeys: calls of more events, aggregates and tag sets
// than one multi-row statement holds (so every chunk size is used), the
// second repeating ids of the first and adding to its stored aggregates
// and tag sets, store the sums a count in memory gives.
func TestStoreIngestManyKeys(t *testing.T) { eachStore(t, testStoreIngestManyKeys) }

func testStoreIngestManyKeys(t *testing.T, dsn string) {
	ctx := context.Background()
	s := openDSN(t, dsn)
	now := t0.Add(30 * time.Minute)
	const customers = 343 // 256 + 64 + 16 + 4 + 3, not a multiple of 3: tag sets vary by round
	type sums struct{ events, quantity int64 }
	want := map[string]sums{}
	wantSets := map[string]map[string]int64{} // customer: tags: quantity
	accepted := map[string]bool{}
	call := func(first, n int) {
		t.Helper()
		var events []Event
		for i := first; i < first+n; i++ {
			c := fmt.Sprintf("c%d", i%customers)
			var tags map[string]string
			if i%3 != 0 {
				tags = map[string]string{"team": fmt.Sprint(i % 3)}
			}
			events = append(events, ev(fmt.Sprintf("e%d", i), c, "requests", int64(i%7+1), t0.Add(time.Duration(i%50)*time.Minute), tags))
		}
		rs, err := s.Ingest(ctx, events, now, LateCurrentHour)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range rs {
			e := events[i]
			switch {
			case accepted[e.ID] && r.Status != StatusDuplicate, !accepted[e.ID] && r.Status != StatusAccepted:
				t.Fatalf("%s: %s %s, accepted before: %v", e.ID, r.Status, r.Error, accepted[e.ID])
			case r.Status == StatusAccepted:
				accepted[e.ID] = true
				sum := want[e.CustomerIdentifier]
				want[e.CustomerIdentifier] = sums{sum.events + 1, sum.quantity + *e.Quantity}
				if wantSets[e.CustomerIdentifier] == nil {
					wantSets[e.CustomerIdentifier] = map[string]int64{}
				}
				wantSets[e.CustomerIdentifier][canonicalTags(e.Tags)] += *e.Quantity
			}
		}
	}
	call(0, 2*customers)         // two events per aggregate, up to three tag sets
	call(customers, 3*customers) // a customers' worth of ids again, then new ones
	if _, err := s.Freeze(ctx, t0); err != nil {
		t.Fatal(err)
	}
	recs, err := s.Records(ctx, t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != customers {
		t.Fatalf("%d records, want %d", len(recs), customers)
	}
	for _, r := range recs {
		if got := (sums{r.Events, r.Quantity}); got != want[r.Customer] {
			t.Errorf("%s: %+v, want %+v", r.Customer, got, want[r.Customer])
		}
		got := map[string]int64{}
		for _, a := range r.Allocations {
			tags := map[string]string{}
			for _, tag := range a.Tags {
				tags[tag.Key] = tag.Value
			}
			got[canonicalTags(tags)] = *a.AllocatedUsageQuantity
		}
		if len(wantSets[r.Customer]) == 1 && wantSets[r.Customer][""] != 0 {
			delete(wantSets[r.Customer], "") // no tags at all: no allocations
		}
		if !reflect.DeepEqual(got, wantSets[r.Customer]) {
			t.Errorf("%s: allocations %v, want %v", r.Customer, got, wantSets[r.Customer])
		}
	}
}
