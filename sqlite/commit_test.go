package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/meterd/meterd"
)

// heldWriter opens a store and blocks its writer goroutine: the test takes
// the only write connection, then hands the writer a batch, which it takes
// and cannot store. Later Commit calls queue up until release is called.
func heldWriter(t *testing.T) (s *Store, path string, release func()) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "meterd.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open = %v, want nil", err)
	}
	t.Cleanup(func() { s.Close() })
	conn, err := s.write.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	blocker := &batch{records: []*meterd.MeteringRecord{rec(0, "blocker", 1)}, done: make(chan struct{})}
	s.queue <- blocker
	// The writer took it alone and now waits for the connection.
	waitFor(t, func() bool { return len(s.queue) == 0 && s.write.Stats().WaitCount > 0 })
	released := false
	release = func() {
		if !released {
			released = true
			conn.Close()
			<-blocker.done
		}
	}
	t.Cleanup(release) // runs before Close, which would wait for the writer
	return s, path, release
}

// waitFor yields until cond holds: it waits for other goroutines to reach
// a state, not for time to pass.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		runtime.Gosched()
	}
}

func rec(n int, customer string, q int64) *meterd.MeteringRecord {
	hour := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	return &meterd.MeteringRecord{
		ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", n), Operation: meterd.OpBatchMeterUsage,
		ProductCode: "demo-product", CustomerIdentifier: customer, Resource: customer, Dimension: "requests",
		Hour: hour, Timestamp: hour, Quantity: q, ReceivedAt: hour,
	}
}

type commitOutcome struct {
	res []meterd.CommitResult
	err error
}

// commitAsync runs Commit in a goroutine; its outcome arrives on the channel.
func commitAsync(ctx context.Context, s *Store, records ...*meterd.MeteringRecord) <-chan commitOutcome {
	ch := make(chan commitOutcome, 1)
	go func() {
		res, err := s.Commit(ctx, records)
		ch <- commitOutcome{res, err}
	}()
	return ch
}

func stored(t *testing.T, s *Store) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	if err := s.Usage(t.Context(), meterd.UsageFilter{}, func(r *meterd.MeteringRecord) error {
		out[r.ID] = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGroupCommit(t *testing.T) {
	s, _, release := heldWriter(t)
	const calls = 100
	outcomes := make([]<-chan commitOutcome, calls)
	for i := range outcomes {
		outcomes[i] = commitAsync(t.Context(), s, rec(i+1, fmt.Sprintf("cust-%d", i), 1), rec(1000+i, fmt.Sprintf("other-%d", i), 2))
	}
	waitFor(t, func() bool { return len(s.queue) == calls })
	release()
	for i, ch := range outcomes {
		o := <-ch
		if o.err != nil || o.res[0].ID != rec(i+1, "", 0).ID || o.res[1].ID != rec(1000+i, "", 0).ID {
			t.Fatalf("Commit %d = %+v, %v; want both records Committed", i, o.res, o.err)
		}
	}
	// The blocker's transaction, then one for every queued call.
	want := Stats{Transactions: 2, Batches: calls + 1, Records: 2*calls + 1}
	if st := s.Stats(); (Stats{Transactions: st.Transactions, Batches: st.Batches, Records: st.Records}) != want {
		got := st
		t.Errorf("Stats() = %+v, want %+v", got, want)
	}
	if n := len(stored(t, s)); n != 2*calls+1 {
		t.Errorf("stored %d records, want %d", n, 2*calls+1)
	}
}

func TestGroupCommitBadBatch(t *testing.T) {
	s, _, release := heldWriter(t)
	good1 := commitAsync(t.Context(), s, rec(1, "a", 1))
	waitFor(t, func() bool { return len(s.queue) == 1 })
	// The store refuses a negative quantity; the first record of that call
	// must not be stored either.
	bad := commitAsync(t.Context(), s, rec(2, "b", 1), rec(3, "c", -1))
	waitFor(t, func() bool { return len(s.queue) == 2 })
	good2 := commitAsync(t.Context(), s, rec(4, "d", 1))
	waitFor(t, func() bool { return len(s.queue) == 3 })
	release()
	for name, ch := range map[string]<-chan commitOutcome{"first": good1, "second": good2} {
		if o := <-ch; o.err != nil || o.res[0].Status != meterd.Committed {
			t.Errorf("%s good Commit = %+v, %v; want Committed", name, o.res, o.err)
		}
	}
	if o := <-bad; o.err == nil {
		t.Errorf("bad Commit = %+v, nil; want an error", o.res)
	}
	got := stored(t, s)
	if !got[rec(1, "", 0).ID] || !got[rec(4, "", 0).ID] || got[rec(2, "", 0).ID] || got[rec(3, "", 0).ID] {
		t.Errorf("stored = %v, want records 1 and 4 only (and the blocker)", got)
	}
	// The blocker's, then the good batches' own after the shared one failed.
	if got := s.Stats().Transactions; got != 3 {
		t.Errorf("Stats().Transactions = %d, want 3", got)
	}
}

func TestCommitCancelledWhileQueued(t *testing.T) {
	s, _, release := heldWriter(t)
	ctx, cancel := context.WithCancel(t.Context())
	ch := commitAsync(ctx, s, rec(1, "a", 1))
	waitFor(t, func() bool { return len(s.queue) == 1 })
	cancel()
	o := <-ch
	if !errors.Is(o.err, context.Canceled) {
		t.Errorf("Commit with a cancelled context = %+v, %v; want %v", o.res, o.err, context.Canceled)
	}
	release()
	// A later commit drains the queue; the cancelled batch is skipped.
	if _, err := s.Commit(t.Context(), []*meterd.MeteringRecord{rec(2, "b", 1)}); err != nil {
		t.Fatal(err)
	}
	if got := stored(t, s); got[rec(1, "", 0).ID] || !got[rec(2, "", 0).ID] {
		t.Errorf("stored = %v, want the cancelled record absent and the later one present", got)
	}
}

func TestCloseFlushesQueue(t *testing.T) {
	s, path, release := heldWriter(t)
	ch := commitAsync(t.Context(), s, rec(1, "a", 1))
	waitFor(t, func() bool { return len(s.queue) == 1 })
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	waitFor(t, func() bool {
		s.closeMu.RLock()
		defer s.closeMu.RUnlock()
		return s.closed
	})
	if _, err := s.Commit(t.Context(), []*meterd.MeteringRecord{rec(2, "b", 1)}); err == nil {
		t.Errorf("Commit after Close = nil error, want an error")
	}
	release()
	if err := <-closed; err != nil {
		t.Fatalf("Close = %v, want nil", err)
	}
	if o := <-ch; o.err != nil || o.res[0].Status != meterd.Committed {
		t.Fatalf("Commit queued before Close = %+v, %v; want Committed", o.res, o.err)
	}
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := stored(t, s); !got[rec(1, "", 0).ID] {
		t.Errorf("after reopen the record queued before Close is missing: %v", got)
	}
}
