package ledgertest

import (
	"fmt"
	"testing"
	"time"

	"github.com/meterd/meterd"
)

// testCommitMany commits, in one call, more records than a store may put in
// one statement, with a repeat and a conflicting duplicate of keys stored
// earlier in the same call (possibly in another statement), and records
// with ClientTokens between them. Each must get the result the sequential
// rules give, and the summaries must count exactly the stored records.
func testCommitMany(t *testing.T, open Open) {
	l := open(t)
	seedCatalog(t, l)
	var recs []*meterd.MeteringRecord
	for i := range 140 {
		customer := fmt.Sprintf("cust-many-%d", i%7)
		dimension := []string{"requests", "storage_gb"}[i%2]
		hour := h0.Add(-time.Duration(i/14) * 24 * time.Hour) // ten days
		r := batchRecord(3000+i, product1, customer, dimension, hour, int64(i%5+1))
		r.Resource = customer
		recs = append(recs, r)
	}
	repeat := *recs[3] // same key and usage as record 3: its id
	repeat.ID = recordID(3200)
	conflict := *recs[70] // same key as record 70, another quantity
	conflict.ID, conflict.Quantity = recordID(3201), recs[70].Quantity+10
	tokened := *recs[100] // a ClientToken on the key of record 100, same usage
	tokened.ID, tokened.ClientToken, tokened.RequestHash = recordID(3202), "many-token", "hash-100"
	fresh := batchRecord(3203, product1, "cust-many-new", "requests", h0, 7)
	fresh.ClientToken, fresh.RequestHash = "many-token-2", "hash-fresh"
	tokenRetry := *fresh // the same ClientToken and hash again: the first's id
	tokenRetry.ID = recordID(3204)
	after := batchRecord(3205, product1, "cust-many-new", "storage_gb", h0, 2)
	all := append(append([]*meterd.MeteringRecord{}, recs[:64]...), &repeat)
	all = append(all, recs[64:130]...)
	all = append(all, &conflict, &tokened, fresh, &tokenRetry, after)
	all = append(all, recs[130:]...)

	res := commit(t, l, all...)
	want := map[*meterd.MeteringRecord]meterd.CommitResult{
		&repeat:     {Status: meterd.Committed, ID: recs[3].ID},
		&conflict:   {Status: meterd.Duplicate},
		&tokened:    {Status: meterd.Committed, ID: recs[100].ID},
		&tokenRetry: {Status: meterd.Committed, ID: fresh.ID},
	}
	stored := []*meterd.MeteringRecord{fresh, after}
	stored = append(stored, recs...)
	for i, r := range all {
		w, ok := want[r]
		if !ok {
			w = meterd.CommitResult{Status: meterd.Committed, ID: r.ID}
		}
		checkResult(t, fmt.Sprintf("Commit(record %d of %d)", i, len(all)), res[i], w.Status, w.ID)
	}
	if got := usage(t, l, meterd.UsageFilter{}); len(got) != len(stored) {
		t.Errorf("Usage() = %d records, want %d", len(got), len(stored))
	}
	f := meterd.UsageFilter{ProductCode: product1}
	for _, by := range []string{"customer", "dimension", "hour"} {
		got, err := l.SummarizeUsage(t.Context(), f, by)
		must(t, "SummarizeUsage", err)
		if want := summarize(stored, f, by); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("SummarizeUsage(%+v, %q) = %v, want %v", f, by, got, want)
		}
	}
}
