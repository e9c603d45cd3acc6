package ledgertest

import (
	"context"
	"testing"
	"time"

	"github.com/meterd/meterd"
)

// Roller is a ledger whose rollups trail its records behind a watermark:
// its summaries add the records after it to what the rollups hold.
type Roller interface {
	meterd.Ledger
	// StopRoller stops the background roller; the rollups then move only
	// when RollUp is called.
	StopRoller()
	// RollUp folds up to limit records after the watermark into the
	// rollups and returns how many it folded.
	RollUp(ctx context.Context, limit int) (int, error)
}

// RunRollups checks a Roller's summaries against the sums of its records
// while the roller is stopped, behind by a few records, caught up, and
// behind again when old usage is purged: every answer must be what a scan
// of the ledger gives at that moment.
func RunRollups(t *testing.T, open func(t *testing.T) Roller) {
	t.Run("StoppedAndBehind", func(t *testing.T) {
		l := open(t)
		l.StopRoller()
		records := acrossDaysRecords()
		third := len(records) / 3
		// Stopped: the rollups hold nothing, the tail is every record.
		commit(t, l, records[:third]...)
		checkSummariesAcrossDays(t, l, records[:third])
		// Behind by part of a commit.
		rollUp(t, l, 7, 7)
		checkSummariesAcrossDays(t, l, records[:third])
		// Behind by more than a commit: the rolled records' rollup rows
		// and the tail's records share keys.
		commit(t, l, records[third:2*third]...)
		rollUp(t, l, third, third)
		checkSummariesAcrossDays(t, l, records[:2*third])
		// Caught up, then a retry of rolled records stores nothing new.
		commit(t, l, records[2*third:]...)
		rollUp(t, l, len(records), len(records)-third-7)
		rollUp(t, l, len(records), 0)
		commit(t, l, records[:third]...)
		rollUp(t, l, len(records), 0)
		checkSummariesAcrossDays(t, l, records)
	})
	t.Run("PurgeBehind", func(t *testing.T) {
		// PurgeUsage takes records out of the rollups only if they were
		// rolled up: a purge while the roller is behind must leave every
		// summary of the records kept exact, before and after the roll.
		l := open(t)
		l.StopRoller()
		records := acrossDaysRecords()
		// Every other record first, so that the records rolled up and
		// those behind the watermark share rollup rows on both sides of
		// the purge's cut.
		var odd, even []*meterd.MeteringRecord
		for i, r := range records {
			if i%2 == 1 {
				odd = append(odd, r)
			} else {
				even = append(even, r)
			}
		}
		commit(t, l, odd...)
		commit(t, l, even...)
		rollUp(t, l, len(odd), len(odd))
		cut := time.Date(2026, 10, 31, 12, 0, 0, 0, time.UTC)
		n, err := l.PurgeUsage(t.Context(), cut, len(records))
		must(t, "PurgeUsage", err)
		var kept []*meterd.MeteringRecord
		for _, r := range records {
			if !r.Hour.Before(cut) {
				kept = append(kept, r)
			}
		}
		if n != len(records)-len(kept) || n == 0 {
			t.Fatalf("PurgeUsage = %d, want %d", n, len(records)-len(kept))
		}
		checkSummariesAcrossDays(t, l, kept)
		rollUp(t, l, len(records), -1)
		checkSummariesAcrossDays(t, l, kept)
	})
}

// rollUp calls l.RollUp(limit) and checks that it folded want records (any
// number when want is -1).
func rollUp(t *testing.T, l Roller, limit, want int) {
	t.Helper()
	n, err := l.RollUp(t.Context(), limit)
	must(t, "RollUp", err)
	if want >= 0 && n != want {
		t.Fatalf("RollUp(%d) = %d, want %d", limit, n, want)
	}
}

// CheckSummaries checks l's summaries by customer, dimension and hour, over
// windows of hours to months in October and November 2026 and five
// filters, against the sums of every record l holds (read with Usage).
func CheckSummaries(t *testing.T, l meterd.Ledger) {
	t.Helper()
	checkSummariesAcrossDays(t, l, usage(t, l, meterd.UsageFilter{}))
}

// RunRollupsShared checks two Rollers on one shared store (two processes'
// stores on one database): their rollers run at once, beside commits of
// both, and each record must be rolled up exactly once, so that summaries
// equal the sums of the records while the rolls go on and after both have
// caught up.
func RunRollupsShared(t *testing.T, open func(t *testing.T) (Roller, Roller)) {
	a, b := open(t)
	// The test's goroutines are the two rollers, so that it can count
	// what each folds.
	a.StopRoller()
	b.StopRoller()
	records := acrossDaysRecords()
	done := make(chan struct{})
	rolled := make(chan int, 2)
	for _, l := range []Roller{a, b} {
		go func() {
			n := 0
			defer func() { rolled <- n }()
			for {
				select {
				case <-done:
					return
				default:
				}
				k, err := l.RollUp(context.Background(), 5)
				if err != nil {
					t.Errorf("RollUp during commits = %v", err)
					return
				}
				n += k
			}
		}()
	}
	for i := 0; i < len(records); i += 10 {
		commit(t, []Roller{a, b}[i/10%2], records[i:min(i+10, len(records))]...)
	}
	CheckSummaries(t, a)
	close(done)
	total := <-rolled + <-rolled
	for _, l := range []Roller{a, b, a} {
		for {
			n, err := l.RollUp(t.Context(), len(records))
			must(t, "RollUp", err)
			if n == 0 {
				break
			}
			total += n
		}
	}
	if total != len(records) {
		t.Errorf("the two rollers folded %d records in all, want each of the %d once", total, len(records))
	}
	CheckSummaries(t, a)
	CheckSummaries(t, b)
}
