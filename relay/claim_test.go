package relay

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// frozenRecords stores one event for each of customers c0..c(n-1) in hour
// t0 and freezes them.
func frozenRecords(t *testing.T, s *Store, n int) {
	t.Helper()
	ctx := context.Background()
	var events []Event
	for i := range n {
		events = append(events, ev(fmt.Sprintf("e%d", i), fmt.Sprintf("c%d", i), "requests", 1, t0.Add(time.Minute), nil))
	}
	if _, err := s.Ingest(ctx, events, t0.Add(10*time.Minute), LateCurrentHour); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Freeze(ctx, t0); err != nil || got != n {
		t.Fatalf("Freeze = %d, %v, want %d, nil", got, err, n)
	}
}

func customers(recs []*Record) string {
	var out string
	for _, r := range recs {
		out += r.Customer + " "
	}
	return out
}

// TestStoreClaim: two relays on one store (PostgreSQL: a SQLite store has
// one relay).
func TestStoreClaim(t *testing.T) { testStoreClaim(t, cluster.NewDatabase(t)) }

func testStoreClaim(t *testing.T, dsn string) {
	ctx := context.Background()
	a := openDSN(t, dsn)
	b := openDSN(t, dsn) // a second relay on the same store
	frozenRecords(t, a, 4)
	wall := time.Now()
	lease := time.Minute
	claim := func(s *Store, now time.Time, limit int, want string) []*Record {
		t.Helper()
		recs, err := s.Claim(ctx, now, limit, lease)
		if err != nil {
			t.Fatal(err)
		}
		if got := customers(recs); got != want {
			t.Fatalf("Claim(%s, %d) = %q, want %q", now.Sub(wall), limit, got, want)
		}
		return recs
	}
	first := claim(a, wall, 3, "c0 c1 c2 ")
	claim(b, wall, 3, "c3 ") // the other relay gets only what a does not hold
	claim(b, wall.Add(time.Second), 3, "")

	// Settled, retried and released records end their hold.
	if err := a.Settle(ctx, first[0].Key, OutcomeSuccess, "id-0", "", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := a.Retry(ctx, first[1].Key, "Unprocessed", wall.Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := a.Release(ctx, []Key{first[2].Key}); err != nil {
		t.Fatal(err)
	}
	claim(b, wall.Add(time.Second), 3, "c2 ")
	claim(b, wall.Add(10*time.Second), 3, "c1 ") // its retry is due
	// A holder that died: its records are free once the lease ends.
	claim(a, wall.Add(lease), 3, "c3 ")
}

func TestStoreClaimReleasedOnOpen(t *testing.T) {
	ctx := context.Background()
	s, path := openStore(t)
	frozenRecords(t, s, 2)
	if recs, err := s.Claim(ctx, time.Now(), 10, time.Hour); err != nil || len(recs) != 2 {
		t.Fatalf("Claim = %d records, %v, want 2, nil", len(recs), err)
	}
	s.Close()
	// A SQLite store has one relay: when it starts again (after a crash),
	// what it held is due at once.
	s = openDSN(t, path)
	if recs, err := s.Claim(ctx, time.Now(), 10, time.Hour); err != nil || len(recs) != 2 {
		t.Fatalf("Claim after reopening = %d records, %v, want 2, nil", len(recs), err)
	}
}

// TestStoreReserve: two relays on one store share the rate (PostgreSQL:
// a SQLite store has one relay).
func TestStoreReserve(t *testing.T) { testStoreReserve(t, cluster.NewDatabase(t)) }

// TestStoreReserveSQLite: one relay's reservations on a SQLite store,
// kept in memory: the same slots as on PostgreSQL, none written to the
// file, and Reset forgets them.
func TestStoreReserveSQLite(t *testing.T) {
	ctx := context.Background()
	s := openDSN(t, filepath.Join(t.TempDir(), "relay.db"))
	now := time.UnixMicro(time.Now().UnixMicro())
	const interval = 100 * time.Millisecond
	for i, tt := range []struct {
		upstream string
		now      time.Time
		want     time.Time
	}{
		{"up", now, now}, {"up", now, now.Add(interval)}, {"up", now, now.Add(2 * interval)},
		{"other", now, now}, {"up", now.Add(time.Second), now.Add(time.Second)}, {"up", now.Add(time.Second), now.Add(time.Second + interval)},
	} {
		got, err := s.Reserve(ctx, tt.upstream, tt.now, interval)
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("Reserve #%d (%s, +%s) = +%s, %v; want +%s", i, tt.upstream, tt.now.Sub(now), got.Sub(now), err, tt.want.Sub(now))
		}
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM upstream_slots`).Scan(&n); err != nil || n != 0 {
		t.Errorf("upstream_slots rows = %d, %v; want 0: a SQLite relay's slots are not written", n, err)
	}
	if err := s.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Reserve(ctx, "up", now, interval); err != nil || !got.Equal(now) {
		t.Errorf("Reserve after Reset = +%s, %v; want +0s", got.Sub(now), err)
	}
}

func testStoreReserve(t *testing.T, dsn string) {
	ctx := context.Background()
	a := openDSN(t, dsn)
	b := openDSN(t, dsn) // a second relay on the same store shares the rate
	now := time.UnixMicro(time.Now().UnixMicro())
	const interval = 100 * time.Millisecond
	tests := []struct {
		name     string
		s        *Store
		upstream string
		now      time.Time
		want     time.Time
	}{
		{"First", a, "up", now, now},
		{"Next", a, "up", now, now.Add(interval)},
		{"OtherRelay", b, "up", now, now.Add(2 * interval)},
		{"OtherUpstream", b, "other", now, now},
		{"AfterIdle", a, "up", now.Add(time.Second), now.Add(time.Second)},
		{"AfterIdleNext", b, "up", now.Add(time.Second), now.Add(time.Second + interval)},
	}
	for _, tt := range tests {
		got, err := tt.s.Reserve(ctx, tt.upstream, tt.now, interval)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Equal(tt.want) {
			t.Errorf("%s: Reserve(%s, +%s) = +%s, want +%s", tt.name, tt.upstream, tt.now.Sub(now), got.Sub(now), tt.want.Sub(now))
		}
	}
}

func TestStoreOldestPending(t *testing.T) { eachStore(t, testStoreOldestPending) }

func testStoreOldestPending(t *testing.T, dsn string) {
	ctx := context.Background()
	s := openDSN(t, dsn)
	oldest := func(want time.Time) {
		t.Helper()
		got, err := s.OldestPending(ctx)
		if err != nil || !got.Equal(want) {
			t.Errorf("OldestPending = %s, %v, want %s, nil", got, err, want)
		}
	}
	oldest(time.Time{})
	frozenRecords(t, s, 1) // frozen in hour t0
	now := t0.Add(70 * time.Minute)
	if _, err := s.Ingest(ctx, []Event{ev("later", "c9", "requests", 1, now, nil)}, now, LateCurrentHour); err != nil {
		t.Fatal(err)
	}
	oldest(t0)
	if err := s.Settle(ctx, Key{"demo-product", "c0", "requests", t0}, OutcomeSuccess, "id", "", now); err != nil {
		t.Fatal(err)
	}
	oldest(t0.Add(time.Hour)) // the open hour is left
}
