package ledgertest

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
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
	t.Run("TailLimit", func(t *testing.T) { testTailLimit(t, open(t)) })
	t.Run("Tags", func(t *testing.T) { testRollupTags(t, open(t)) })
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
	t.Run("CustomerInChunks", func(t *testing.T) { testCustomerInChunks(t, open(t)) })
}

// testCustomerInChunks checks a customer's Usage, which visits the
// customer's hours a chunk at a time in first-seq order and stops at the
// page's end (meterd.ReadCustomerUsage), against the records read without
// the customer (another path, by seq) and kept where they are the
// customer's: hundreds of hours, more than a chunk, every seventh hour's
// record committed late (after the later hours', so the hours' seq ranges
// overlap across chunks), another customer's records between, and records
// after the watermark. Read whole and in pages of 17 through the cursor,
// the customer's records must be the same, in the same order.
func testCustomerInChunks(t *testing.T, l Roller) {
	l.StopRoller()
	const hours = 5*meterd.CustomerHoursChunk - 20
	h0 := time.Date(2026, 10, 20, 0, 0, 0, 0, time.UTC)
	n := 0
	rec := func(customer, dimension string, h int) *meterd.MeteringRecord {
		n++
		return batchRecord(5000+n, product1, customer, dimension, h0.Add(time.Duration(h)*time.Hour), int64(h%7+1))
	}
	// MeterUsage records, keyed by the caller's resource, not the
	// customer: the duplicate key cannot find them by customer.
	meterUsage := func(customer, resource string, h int) *meterd.MeteringRecord {
		r := rec(customer, "requests", h)
		r.Operation, r.Resource, r.CallerAccessKeyID = meterd.OpMeterUsage, resource, resource
		return r
	}
	var batch, late []*meterd.MeteringRecord
	own := 0 // customer1's records
	for h := range hours {
		switch {
		case h%11 == 6: // only MeterUsage records this hour
			late = append(late, meterUsage(customer1, "i-a", h))
			own++
		case h%7 == 3:
			late = append(late, rec(customer1, "requests", h))
			own++
		default:
			batch = append(batch, rec(customer1, "requests", h))
			own++
		}
		if h%5 == 2 { // and the BatchMeterUsage record too
			late = append(late, meterUsage(customer1, "i-b", h), meterUsage(customer2, "i-c", h))
			own++
		}
		batch = append(batch, rec(customer2, "requests", h))
	}
	commit(t, l, batch...)
	commit(t, l, late...)
	rollUp(t, l, 10*hours, len(batch)+len(late))
	// Not rolled up: after the watermark, one of them in an early hour.
	commit(t, l, rec(customer1, "requests", hours), rec(customer2, "requests", hours), rec(customer1, "storage_gb", 5))

	var want []string
	for _, r := range usage(t, l, meterd.UsageFilter{}) {
		if r.CustomerIdentifier == customer1 {
			want = append(want, r.ID)
		}
	}
	if len(want) != own+2 {
		t.Fatalf("Usage without a customer holds %d of %s's records, want %d", len(want), customer1, own+2)
	}
	if got := ids(usage(t, l, meterd.UsageFilter{CustomerIdentifier: customer1})); !slices.Equal(got, want) {
		t.Errorf("Usage(%s) =\n%v\nwant (the records without a customer, %[1]s's)\n%v", customer1, got, want)
	}
	if paged := usagePaged(t, l, meterd.UsageFilter{CustomerIdentifier: customer1, ProductCode: product1}, 17, len(want)+1); !slices.Equal(paged, want) {
		t.Errorf("Usage(%s) in pages of 17 =\n%v\nwant\n%v", customer1, paged, want)
	}
}

// testTailLimit checks Rollups and the summaries, top customers and Usage
// of a TailLimit: with the roller behind, they count the rolled records
// and the records of the tail up to the watermark plus the limit, none
// after.
func testTailLimit(t *testing.T, l Roller) {
	l.StopRoller()
	seedCatalog(t, l)
	state := func() meterd.RollupState {
		st, err := l.Rollups(t.Context())
		must(t, "Rollups", err)
		return st
	}
	if st := state(); st != (meterd.RollupState{}) {
		t.Errorf("Rollups of an empty ledger = %+v, want zeros", st)
	}
	commit(t, l, acrossDaysRecords()...)
	stored := usage(t, l, meterd.UsageFilter{})
	rollUp(t, l, 7, 7)
	st := state()
	if want := (meterd.RollupState{Watermark: stored[6].Seq, LastSeq: stored[len(stored)-1].Seq}); st != want {
		t.Fatalf("Rollups = %+v, want %+v", st, want)
	}
	if st.Behind() != int64(len(stored)-7) {
		t.Errorf("Behind() = %d, want %d", st.Behind(), len(stored)-7)
	}
	for _, limit := range []int64{1, 9, st.Behind(), st.Behind() + 5} {
		var counted []*meterd.MeteringRecord
		for _, r := range stored {
			if r.Seq <= st.Watermark+limit {
				counted = append(counted, r)
			}
		}
		checkSummaryWindows(t, l, counted, limit)
		checkTopCustomers(t, l, counted, limit)
		checkUsageWindows(t, l, counted, limit)
	}
	checkSummaryWindows(t, l, stored, 0)
}

// testRollupTags checks the summaries by tag, and Usage filtered by a
// tag, with the roller stopped, behind, caught up, and after a purge of
// rolled and unrolled records: each must be what the records give.
func testRollupTags(t *testing.T, l Roller) {
	l.StopRoller()
	records := seedUsage(t, l) // 8 records in two commits, 6 of them tagged
	check := func(when string, records []*meterd.MeteringRecord) {
		t.Helper()
		for _, f := range []meterd.UsageFilter{
			{}, {ProductCode: product1}, {ProductCode: product2}, {ProductCode: product1, Dimension: "requests"},
			{ProductCode: product1, From: h1}, {ProductCode: product1, To: h1}, {From: h0, To: h2},
			{ProductCode: product1, CustomerIdentifier: customer2}, {ProductCode: product1, From: h0.Add(30 * time.Minute)},
			{ProductCode: product1, Tag: &meterd.Tag{Key: "team", Value: "a"}},
		} {
			got, err := l.SummarizeUsage(t.Context(), f, "tag")
			must(t, "SummarizeUsage(tag)", err)
			if want := sumTags(records, f); fmt.Sprint(got) != fmt.Sprint(want) && (len(got) != 0 || len(want) != 0) {
				t.Errorf("%s: SummarizeUsage(%+v, tag) = %v, want %v", when, f, got, want)
			}
		}
		// The records of a tag, whole and a page of one at a time.
		stored := usage(t, l, meterd.UsageFilter{})
		for _, tag := range []meterd.Tag{{Key: "team", Value: "a"}, {Key: "env", Value: "prod"}, {Key: "team", Value: "none"}} {
			for _, f := range []meterd.UsageFilter{{Tag: &tag}, {ProductCode: product1, Tag: &tag}, {Tag: &tag, From: h0, To: h1}} {
				var want []string
				for _, r := range stored {
					if matches(r, f) {
						want = append(want, r.ID)
					}
				}
				if got := ids(usage(t, l, f)); !slices.Equal(got, want) {
					t.Errorf("%s: Usage(%+v) = %v, want %v", when, f, got, want)
				}
				if paged := usagePaged(t, l, f, 1, len(want)+1); !slices.Equal(paged, want) {
					t.Errorf("%s: Usage(tag %v) a record at a time = %v, want %v", when, tag, paged, want)
				}
			}
		}
	}
	check("stopped", records)
	rollUp(t, l, 4, 4)
	check("behind", records)
	// Purged, the roller behind: h0's records, r1 to r3 rolled up and r7
	// not yet.
	var kept []*meterd.MeteringRecord
	for _, r := range records {
		if !r.Hour.Before(h1) {
			kept = append(kept, r)
		}
	}
	for {
		n, err := l.PurgeUsage(t.Context(), h1, 3)
		must(t, "PurgeUsage", err)
		if n == 0 {
			break
		}
	}
	check("purged", kept)
	rollUp(t, l, 100, 3)
	check("purged, caught up", kept)
	commit(t, l, records[0]) // stored anew, under a new seq
	rollUp(t, l, 100, 1)
	check("one back", append(kept, records[0]))
}

// sumTags is the reference meaning of SummarizeUsage by "tag": per tag
// key=value and dimension, the quantity the matching records' allocations
// give the tag and the records carrying it, each once.
func sumTags(records []*meterd.MeteringRecord, f meterd.UsageFilter) []meterd.UsageSummaryRow {
	type key struct{ group, dimension string }
	sums := map[key]meterd.UsageSummaryRow{}
	for _, r := range records {
		if !matches(r, f) {
			continue
		}
		seen := map[key]bool{}
		for _, a := range r.Allocations {
			for _, tg := range a.Tags {
				k := key{tg.Key + "=" + tg.Value, r.Dimension}
				row := sums[k]
				row.Group, row.Dimension = k.group, k.dimension
				row.Quantity += *a.AllocatedUsageQuantity
				if !seen[k] {
					seen[k] = true
					row.Records++
				}
				sums[k] = row
			}
		}
	}
	out := slices.Collect(maps.Values(sums))
	slices.SortFunc(out, func(a, b meterd.UsageSummaryRow) int {
		return cmp.Or(strings.Compare(a.Group, b.Group), strings.Compare(a.Dimension, b.Dimension))
	})
	return out
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
