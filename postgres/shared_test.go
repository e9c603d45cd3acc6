package postgres_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/ledgertest"
	"github.com/meterd/meterd/pgtest"
	"github.com/meterd/meterd/postgres"
)

var h0 = time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)

// record returns a BatchMeterUsage record for key k with quantity q; n
// makes its id unique.
func record(n, k int, q int64) *meterd.MeteringRecord {
	return &meterd.MeteringRecord{
		ID:                 fmt.Sprintf("00000000-0000-4000-8000-%012d", n),
		Operation:          meterd.OpBatchMeterUsage,
		ProductCode:        "demo-product",
		CustomerIdentifier: fmt.Sprintf("cust-%d", k),
		Resource:           fmt.Sprintf("cust-%d", k),
		Dimension:          "requests",
		Hour:               h0,
		Timestamp:          h0.Add(time.Minute),
		Quantity:           q,
		CallerAccountID:    "111122223333",
		CallerAccessKeyID:  "test",
		ReceivedAt:         h0.Add(2 * time.Minute),
	}
}

// stored returns every stored record by resource, failing on a key stored
// twice.
func stored(t *testing.T, l meterd.Ledger) map[string]*meterd.MeteringRecord {
	t.Helper()
	out := map[string]*meterd.MeteringRecord{}
	err := l.Usage(t.Context(), meterd.UsageFilter{}, func(r *meterd.MeteringRecord) error {
		if prev, ok := out[r.Resource]; ok {
			return fmt.Errorf("key %s stored twice: %s and %s", r.Resource, prev.ID, r.ID)
		}
		out[r.Resource] = r
		return nil
	})
	if err != nil {
		t.Fatalf("Usage() = %v", err)
	}
	return out
}

// openTwo opens two stores (two pools: two meterd processes) on one new
// database at the same time, so that their migrations race too.
func openTwo(t *testing.T) (*postgres.Store, *postgres.Store) {
	t.Helper()
	url := cluster.NewDatabase(t)
	var stores [2]*postgres.Store
	var errs [2]error
	var wg sync.WaitGroup
	for i := range stores {
		wg.Go(func() { stores[i], errs[i] = postgres.Open(t.Context(), url) })
	}
	wg.Wait()
	for i, s := range stores {
		if s != nil {
			t.Cleanup(func() { s.Close() })
		}
		if errs[i] != nil {
			t.Fatalf("Open #%d of two at once = %v, want nil", i+1, errs[i])
		}
	}
	return stores[0], stores[1]
}

// TestTwoStoresRace has two stores on one database commit conflicting
// records concurrently: each key must be won exactly once, and every caller
// told Committed must hold the winner's id.
func TestTwoStoresRace(t *testing.T) {
	a, b := openTwo(t)
	const goroutines, keys = 16, 40
	results := make([][]meterd.CommitResult, goroutines)
	errs := make([]error, goroutines)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for g := range goroutines {
		store := a
		if g%2 == 1 {
			store = b
		}
		wg.Go(func() {
			recs := make([]*meterd.MeteringRecord, keys)
			for k := range keys {
				recs[k] = record(1000*(g+1)+k, k, int64(g%4+1))
			}
			<-start
			results[g], errs[g] = store.Commit(t.Context(), recs)
		})
	}
	close(start)
	wg.Wait()
	for g, err := range errs {
		if err != nil {
			t.Fatalf("goroutine %d: Commit = %v, want nil", g, err)
		}
	}
	won := stored(t, a)
	if len(won) != keys {
		t.Fatalf("stored %d keys, want %d", len(won), keys)
	}
	for k := range keys {
		w := won[fmt.Sprintf("cust-%d", k)]
		committed := 0
		for g := range goroutines {
			res, q := results[g][k], int64(g%4+1)
			switch {
			case res.Status == meterd.Committed && (res.ID != w.ID || q != w.Quantity):
				t.Errorf("key %d goroutine %d: Committed id %s quantity %d, stored id %s quantity %d", k, g, res.ID, q, w.ID, w.Quantity)
			case res.Status == meterd.Duplicate && q == w.Quantity:
				t.Errorf("key %d goroutine %d: Duplicate for the stored quantity %d", k, g, q)
			case res.Status == meterd.Committed:
				committed++
			}
		}
		if want := goroutines / 4; committed != want {
			t.Errorf("key %d: %d Committed results, want %d", k, committed, want)
		}
	}
	// An identical retry through either store returns the winner's id.
	w := won["cust-0"]
	for i, s := range []meterd.Ledger{a, b} {
		res, err := s.Commit(t.Context(), []*meterd.MeteringRecord{record(99000+i, 0, w.Quantity)})
		if err != nil || res[0].Status != meterd.Committed || res[0].ID != w.ID {
			t.Errorf("store %d: Commit(identical retry) = %+v, %v; want Committed %s", i, res, err, w.ID)
		}
	}
	if got := stored(t, b); len(got) != keys {
		t.Errorf("stored keys after retries = %d, want %d", len(got), keys)
	}
}

// TestTwoStoresShareState checks the ClientToken rule and registration
// tokens across two stores on one database.
func TestTwoStoresShareState(t *testing.T) {
	a, b := openTwo(t)
	ctx := t.Context()
	meter := func(n, k int, hash string) *meterd.MeteringRecord {
		r := record(n, k, 5)
		r.Operation, r.ClientToken, r.RequestHash = meterd.OpMeterUsage, "tok", hash
		return r
	}
	first := meter(1, 1, "h1")
	commitOne := func(s meterd.Ledger, r *meterd.MeteringRecord) meterd.CommitResult {
		t.Helper()
		res, err := s.Commit(ctx, []*meterd.MeteringRecord{r})
		if err != nil {
			t.Fatalf("Commit = %v", err)
		}
		return res[0]
	}
	if got := commitOne(a, first); got.Status != meterd.Committed || got.ID != first.ID {
		t.Fatalf("Commit(first) through A = %+v, want Committed %s", got, first.ID)
	}
	if got := commitOne(b, meter(2, 2, "h1")); got.Status != meterd.Committed || got.ID != first.ID {
		t.Errorf("Commit(same token, same hash) through B = %+v, want Committed %s", got, first.ID)
	}
	if got := commitOne(b, meter(3, 3, "h2")); got.Status != meterd.IdempotencyConflict {
		t.Errorf("Commit(same token, other hash) through B = %+v, want IdempotencyConflict", got)
	}
	if got := stored(t, a); len(got) != 1 {
		t.Errorf("stored records = %d, want 1", len(got))
	}

	want := &meterd.RegistrationToken{Token: "reg-1", ProductCode: "demo-product", CustomerIdentifier: "cust-1",
		ExpiresAt: h0.Add(4 * time.Hour), CreatedAt: h0}
	if err := a.PutRegistrationToken(ctx, want); err != nil {
		t.Fatalf("PutRegistrationToken through A = %v", err)
	}
	got, err := b.RegistrationToken(ctx, "reg-1")
	if err != nil || got.CustomerIdentifier != want.CustomerIdentifier || !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Errorf("RegistrationToken through B = %+v, %v; want %+v", got, err, want)
	}
}

// TestServerRestart stops the server under a Store: Commit fails with an
// internal (non-*meterd.Error) error and stores nothing; once the server is
// back, the same Store commits again.
func TestServerRestart(t *testing.T) {
	c := pgtest.Start(t) // its own: stopping the shared cluster would disturb other tests
	s := open(t, c.NewDatabase(t))
	ctx := t.Context()
	if _, err := s.Commit(ctx, []*meterd.MeteringRecord{record(1, 1, 1)}); err != nil {
		t.Fatalf("Commit before the stop = %v", err)
	}

	c.Stop(t)
	res, err := s.Commit(ctx, []*meterd.MeteringRecord{record(2, 2, 1), record(3, 3, 1)})
	var me *meterd.Error
	if err == nil || errors.As(err, &me) {
		t.Fatalf("Commit with the server down = %v, %v; want a non-*meterd.Error error", res, err)
	}
	t.Logf("Commit with the server down: %v", err)
	if code := meterd.ErrorCode(err); code != meterd.EInternal {
		t.Errorf("ErrorCode(Commit error) = %s, want %s", code, meterd.EInternal)
	}
	if err := s.Ping(ctx); err == nil {
		t.Errorf("Ping with the server down = nil, want an error")
	}

	c.Start(t)
	if got := stored(t, s); len(got) != 1 || got["cust-1"] == nil {
		t.Fatalf("stored after the failed Commit = %d records, want only cust-1", len(got))
	}
	res, err = s.Commit(ctx, []*meterd.MeteringRecord{record(2, 2, 1), record(3, 3, 1)})
	if err != nil || res[0].ID != record(2, 2, 1).ID || res[1].ID != record(3, 3, 1).ID {
		t.Fatalf("Commit after the restart = %+v, %v; want both Committed", res, err)
	}
	if got := stored(t, s); len(got) != 3 {
		t.Errorf("stored after the restart = %d records, want 3", len(got))
	}
}

// TestLedgerShared runs the contract checks that need two processes on one
// database, such as two acceptances of the same request racing.
func TestLedgerShared(t *testing.T) {
	ledgertest.RunShared(t, func(t *testing.T) (meterd.Ledger, meterd.Ledger) { return openTwo(t) })
}
