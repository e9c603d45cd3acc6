package postgres_test

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/meterd/meterd"
)

// TestCursorInCommitOrder has two stores on one database (two processes)
// commit in parallel while a reader pages through the ledger by cursor
// (AfterSeq, as usage export and pagination do). The reader must see every
// committed record exactly once, in increasing seq: if a commit could take
// seqs below those of a commit that finished before it, the reader would
// have moved its cursor past them and never see them.
func TestCursorInCommitOrder(t *testing.T) {
	a, b := openTwo(t)
	const (
		writersPerStore = 4
		commits         = 60 // per writer
		batch           = 5  // records per commit
		page            = 7  // records per reader page
	)
	var next atomic.Int64 // key and id of the next record
	var committed sync.Map
	var writersDone atomic.Bool
	var wg sync.WaitGroup
	for w := range 2 * writersPerStore {
		store := a
		if w%2 == 1 {
			store = b
		}
		wg.Go(func() {
			for range commits {
				recs := make([]*meterd.MeteringRecord, batch)
				for i := range recs {
					n := int(next.Add(1))
					recs[i] = record(n, n, 1)
				}
				res, err := store.Commit(t.Context(), recs)
				if err != nil {
					t.Errorf("Commit = %v, want nil", err)
					return
				}
				for _, r := range res {
					if r.Status != meterd.Committed {
						t.Errorf("Commit(new key) = %+v, want Committed", r)
						continue
					}
					committed.Store(r.ID, true)
				}
			}
		})
	}
	go func() { wg.Wait(); writersDone.Store(true) }()

	seen := map[string]int64{} // id: seq
	var cursor int64
	readPage := func() int {
		t.Helper()
		n := 0
		err := a.Usage(t.Context(), meterd.UsageFilter{AfterSeq: cursor, Limit: page}, func(r *meterd.MeteringRecord) error {
			if r.Seq <= cursor {
				t.Errorf("Usage(AfterSeq: %d) returned seq %d", cursor, r.Seq)
			}
			if prev, ok := seen[r.ID]; ok {
				t.Errorf("record %s seen twice, at seq %d and %d", r.ID, prev, r.Seq)
			}
			seen[r.ID], cursor = r.Seq, r.Seq
			n++
			return nil
		})
		if err != nil {
			t.Fatalf("Usage(AfterSeq: %d) = %v, want nil", cursor, err)
		}
		return n
	}
	// Page while the writers run; once they are done, until a page is
	// empty. The reader never goes back: what it skipped is lost to it.
	for !writersDone.Load() {
		readPage()
	}
	for readPage() > 0 {
	}

	want := 0
	var missed []string
	committed.Range(func(id, _ any) bool {
		want++
		if _, ok := seen[id.(string)]; !ok {
			missed = append(missed, id.(string))
		}
		return true
	})
	if len(missed) > 0 {
		t.Errorf("%d committed records never seen by the cursor reader, such as %s", len(missed), missed[0])
	}
	if want != 2*writersPerStore*commits*batch {
		t.Errorf("committed %d records, want %d", want, 2*writersPerStore*commits*batch)
	}
	if len(seen) != want {
		t.Errorf("reader saw %d records, want the %d committed", len(seen), want)
	}
}
