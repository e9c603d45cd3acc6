package ledgertest

import (
	"fmt"
	"testing"
	"time"

	"github.com/meterd/meterd"
)

// testRetention checks the purges: each deletes at most its limit, oldest
// first, and only what is older than its cutoff; ledger records leave the
// rollups with them, so that every summary of the records kept, by
// customer, dimension, hour or tag, over any window, stays exact.
func testRetention(t *testing.T, open Open) {
	t.Run("ClientTokens", func(t *testing.T) {
		l := open(t)
		ctx := t.Context()
		var recs []*meterd.MeteringRecord
		for i := range 5 {
			r := batchRecord(100+i, product1, customer1, "requests", h0.Add(time.Duration(i)*time.Hour), 1)
			r.Operation, r.ClientToken, r.RequestHash = meterd.OpMeterUsage, fmt.Sprintf("token-%d", i), "hash"
			r.Resource = "clienttoken:" + r.ClientToken
			recs = append(recs, r)
		}
		commit(t, l, recs...)
		// Stored at ReceivedAt: h0+13m, h1+13m, ...; three are before h2+20m.
		cut := h2.Add(20 * time.Minute)
		n, err := l.PurgeClientTokens(ctx, cut, 2)
		if err != nil || n != 2 {
			t.Fatalf("PurgeClientTokens(limit 2) = %d, %v; want 2", n, err)
		}
		n, err = l.PurgeClientTokens(ctx, cut, 2)
		if err != nil || n != 1 {
			t.Fatalf("PurgeClientTokens(limit 2) again = %d, %v; want the 1 left", n, err)
		}
		if n, err := l.PurgeClientTokens(ctx, cut, 2); err != nil || n != 0 {
			t.Fatalf("PurgeClientTokens(nothing old left) = %d, %v; want 0", n, err)
		}
		// A purged token is free again: the same token with other usage is a
		// new record, not IdempotencyConflict. A kept one still answers the
		// stored record.
		again := *recs[0]
		again.ID, again.Hour, again.Resource, again.RequestHash = recordID(200), h0.Add(10*time.Hour), "clienttoken:again", "other"
		kept := *recs[4]
		kept.ID, kept.RequestHash = recordID(201), recs[4].RequestHash
		res := commit(t, l, &again, &kept)
		checkResult(t, "Commit(purged token, other usage)", res[0], meterd.Committed, again.ID)
		checkResult(t, "Commit(kept token)", res[1], meterd.Committed, recs[4].ID)
		if got := usage(t, l, meterd.UsageFilter{}); len(got) != 6 {
			t.Errorf("records after purging ClientTokens = %d, want the 5 kept and the new one", len(got))
		}
	})

	t.Run("RegistrationTokens", func(t *testing.T) {
		l := open(t)
		ctx := t.Context()
		for i := range 4 {
			must(t, "PutRegistrationToken", l.PutRegistrationToken(ctx, &meterd.RegistrationToken{
				Token: fmt.Sprintf("tok-%d", i), ProductCode: product1, CustomerIdentifier: customer1,
				ExpiresAt: h0.Add(time.Duration(i) * time.Hour), CreatedAt: h0,
			}))
		}
		n, err := l.PurgeRegistrationTokens(ctx, h2, 10)
		if err != nil || n != 2 {
			t.Fatalf("PurgeRegistrationTokens(expired before h2) = %d, %v; want 2", n, err)
		}
		for i, want := range []string{meterd.ENotFound, meterd.ENotFound, "", ""} {
			_, err := l.RegistrationToken(ctx, fmt.Sprintf("tok-%d", i))
			checkCode(t, fmt.Sprintf("RegistrationToken(tok-%d)", i), err, want)
		}
	})

	t.Run("Usage", func(t *testing.T) {
		l := open(t)
		ctx := t.Context()
		records := acrossDaysRecords()
		// Tags on some records on both sides of the cutoff.
		for i, r := range records {
			if i%3 == 0 {
				r.Allocations = []meterd.UsageAllocation{alloc(r.Quantity, "team", fmt.Sprint("t", i%2))}
			}
		}
		commit(t, l, records...)
		// Mid-day, mid-month, and after some hours of that day.
		cut := time.Date(2026, 10, 31, 12, 0, 0, 0, time.UTC)
		var kept []*meterd.MeteringRecord
		old := 0
		for _, r := range records {
			if r.Hour.Before(cut) {
				old++
			} else {
				kept = append(kept, r)
			}
		}
		purged := 0
		for {
			n, err := l.PurgeUsage(ctx, cut, 7)
			must(t, "PurgeUsage", err)
			if n > 7 {
				t.Fatalf("PurgeUsage(limit 7) = %d", n)
			}
			if n == 0 {
				break
			}
			purged += n
		}
		if purged != old || old == 0 || len(kept) == 0 {
			t.Fatalf("PurgeUsage deleted %d records, want the %d before %v (of %d)", purged, old, cut, len(records))
		}
		if got := usage(t, l, meterd.UsageFilter{}); fmt.Sprint(ids(got)) != fmt.Sprint(ids(kept)) {
			t.Errorf("records after PurgeUsage = %v, want %v", ids(got), ids(kept))
		}
		checkSummariesAcrossDays(t, l, kept)
		for _, f := range []meterd.UsageFilter{{}, {ProductCode: product1}} {
			got, err := l.SummarizeUsage(ctx, f, "tag")
			must(t, "SummarizeUsage(tag)", err)
			if want := summarizeTags(kept, f); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("SummarizeUsage(%+v, tag) after PurgeUsage = %v, want %v", f, got, want)
			}
		}
		if got := usage(t, l, meterd.UsageFilter{Tag: &meterd.Tag{Key: "team", Value: "t0"}}); len(got) == 0 {
			t.Errorf("Usage(tag team=t0) after PurgeUsage = none, want the kept records with it")
		}
	})
}

// summarizeTags is the reference meaning of SummarizeUsage by "tag" for
// records allocating their whole quantity to one tag each.
func summarizeTags(records []*meterd.MeteringRecord, f meterd.UsageFilter) []meterd.UsageSummaryRow {
	var tagged []*meterd.MeteringRecord
	for _, r := range records {
		if len(r.Allocations) == 1 && len(r.Allocations[0].Tags) == 1 {
			c := *r
			tg := r.Allocations[0].Tags[0]
			c.CustomerIdentifier = tg.Key + "=" + tg.Value
			tagged = append(tagged, &c)
		}
	}
	f.CustomerIdentifier = ""
	return summarize(tagged, f, "customer")
}

// testPurger runs meterd.Purger passes on the store with the server clock
// set and then advanced: each pass deletes, in batches, exactly what its
// cutoffs no longer keep, tells Purged what it deleted, and a second pass
// at the same time deletes nothing.
func testPurger(t *testing.T, open Open) {
	l := open(t)
	ctx := t.Context()
	day := meterd.Day
	// Records of hours 0 to 9 days before h0, each with a ClientToken
	// stored when it was received, and a registration token expiring at
	// each of those hours.
	var recs []*meterd.MeteringRecord
	for d := range 10 {
		hour := h0.Add(-time.Duration(d) * day)
		r := batchRecord(300+d, product1, customer1, "requests", hour, int64(d+1))
		r.Operation, r.ClientToken, r.RequestHash = meterd.OpMeterUsage, fmt.Sprintf("purger-%d", d), "hash"
		r.Resource = "clienttoken:" + r.ClientToken
		r.ReceivedAt = hour
		recs = append(recs, r)
		must(t, "PutRegistrationToken", l.PutRegistrationToken(ctx, &meterd.RegistrationToken{
			Token: fmt.Sprintf("purger-%d", d), ProductCode: product1, CustomerIdentifier: customer1, ExpiresAt: hour, CreatedAt: hour,
		}))
	}
	commit(t, l, recs...)

	clock := &meterd.ServerClock{}
	clock.Set(h0)
	told := map[string]int{}
	p := &meterd.Purger{Ledger: l, Clock: clock, ClientTokens: 3 * day, Usage: 5 * day, Batch: 2,
		Purged: func(kind string, n int) {
			if n > 2 {
				t.Errorf("Purged(%s, %d): more than a batch", kind, n)
			}
			told[kind] += n
		}}
	// At h0: tokens stored before h0-3d (days 4..9: 6), registration tokens
	// expired before h0-1d (days 2..9: 8), records before h0-5d (days 6..9: 4).
	want := map[string]int{meterd.PurgedClientTokens: 6, meterd.PurgedRegistrationTokens: 8, meterd.PurgedUsageRecords: 4}
	got, err := p.Pass(ctx)
	must(t, "Pass", err)
	if fmt.Sprint(got) != fmt.Sprint(want) || fmt.Sprint(told) != fmt.Sprint(want) {
		t.Fatalf("Pass at h0 = %v, told %v; want %v", got, told, want)
	}
	if got, err := p.Pass(ctx); err != nil || len(got) != 0 {
		t.Errorf("second Pass at h0 = %v, %v; want nothing", got, err)
	}
	kept := usage(t, l, meterd.UsageFilter{})
	if fmt.Sprint(ids(kept)) != fmt.Sprint(ids(recs[:6])) {
		t.Errorf("records after the pass = %v, want days 0..5 %v", ids(kept), ids(recs[:6]))
	}
	_, err = l.RegistrationToken(ctx, "purger-1")
	must(t, "RegistrationToken(expired less than a day ago)", err)

	// Two days later: records of days 4 and 5 go too; nothing else of them.
	clock.Advance(2 * day)
	got, err = p.Pass(ctx)
	must(t, "Pass", err)
	if want := (map[string]int{meterd.PurgedClientTokens: 2, meterd.PurgedRegistrationTokens: 2, meterd.PurgedUsageRecords: 2}); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Pass two days later = %v, want %v", got, want)
	}
	rows, err := l.SummarizeUsage(ctx, meterd.UsageFilter{}, "customer")
	must(t, "SummarizeUsage", err)
	if want := summarize(recs[:4], meterd.UsageFilter{}, "customer"); fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Errorf("SummarizeUsage after the passes = %v, want %v (days 0..3)", rows, want)
	}

	// Without Usage, records are kept whatever their age.
	clock.Advance(1000 * day)
	p.Usage = 0
	got, err = p.Pass(ctx)
	must(t, "Pass", err)
	if got[meterd.PurgedUsageRecords] != 0 || len(usage(t, l, meterd.UsageFilter{})) != 4 {
		t.Errorf("Pass without Usage = %v, want no record purged", got)
	}
}
