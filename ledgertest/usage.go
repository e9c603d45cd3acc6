package ledgertest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd"
)

// seedUsage commits a small ledger whose summaries are worked out by hand in
// testSummarizeUsage, in two calls, and returns the records in commit order.
func seedUsage(t *testing.T, l meterd.Ledger) []*meterd.MeteringRecord {
	t.Helper()
	seedCatalog(t, l)
	r1 := batchRecord(1, product1, customer1, "requests", h0, 10)
	r1.Allocations = []meterd.UsageAllocation{alloc(6, "team", "a", "env", "dev"), alloc(4, "team", "b", "env", "dev")}
	r2 := batchRecord(2, product1, customer1, "storage_gb", h0, 5)
	r3 := batchRecord(3, product1, customer2, "requests", h0, 7)
	r3.Allocations = []meterd.UsageAllocation{alloc(7, "team", "a", "env", "prod")}
	r4 := batchRecord(4, product1, customer1, "requests", h1, 3)
	r4.Allocations = []meterd.UsageAllocation{alloc(3)}
	r5 := batchRecord(5, product1, customer2, "requests", h1, 2)
	r5.Allocations = []meterd.UsageAllocation{alloc(1, "team", "b"), alloc(1, "env", "prod")}
	r6 := batchRecord(6, product1, customer2, "storage_gb", h2, 8)
	r7 := batchRecord(7, product2, customer1, "requests", h0, 100)
	r7.Allocations = []meterd.UsageAllocation{alloc(100, "team", "a")}
	// An AgentCore MeterUsage record: its Hour is the exact timestamp and
	// its key the ClientToken; summaries put it in its hour with r4.
	r8 := batchRecord(8, product1, customer1, "requests", h1.Add(25*time.Minute+10*time.Second), 4)
	r8.Operation, r8.Resource, r8.ClientToken, r8.RequestHash = meterd.OpMeterUsage, "agent-token-1", "agent-token-1", "hash"
	r8.Timestamp = r8.Hour
	commit(t, l, r1, r2, r3)
	commit(t, l, r4, r5, r6, r7, r8)
	return []*meterd.MeteringRecord{r1, r2, r3, r4, r5, r6, r7, r8}
}

// matches is the reference meaning of a UsageFilter, without AfterSeq and
// Limit.
func matches(r *meterd.MeteringRecord, f meterd.UsageFilter) bool {
	if (f.ProductCode != "" && r.ProductCode != f.ProductCode) ||
		(f.CustomerIdentifier != "" && r.CustomerIdentifier != f.CustomerIdentifier) ||
		(f.Dimension != "" && r.Dimension != f.Dimension) ||
		(!f.From.IsZero() && r.Hour.Before(f.From)) ||
		(!f.To.IsZero() && !r.Hour.Before(f.To)) {
		return false
	}
	if f.Tag == nil {
		return true
	}
	for _, a := range r.Allocations {
		if slices.Contains(a.Tags, *f.Tag) {
			return true
		}
	}
	return false
}

func testUsage(t *testing.T, open Open) {
	l := open(t)
	all := seedUsage(t, l)
	stored := usage(t, l, meterd.UsageFilter{})
	if len(stored) != len(all) {
		t.Fatalf("Usage() = %d records, want %d", len(stored), len(all))
	}
	tests := []struct {
		name string
		f    meterd.UsageFilter
	}{
		{"All", meterd.UsageFilter{}},
		{"Product", meterd.UsageFilter{ProductCode: product2}},
		{"Customer", meterd.UsageFilter{CustomerIdentifier: customer2}},
		{"Dimension", meterd.UsageFilter{Dimension: "storage_gb"}},
		{"TagTeamA", meterd.UsageFilter{Tag: &meterd.Tag{Key: "team", Value: "a"}}},
		{"TagEnvProd", meterd.UsageFilter{Tag: &meterd.Tag{Key: "env", Value: "prod"}}},
		{"TagNoMatch", meterd.UsageFilter{Tag: &meterd.Tag{Key: "team", Value: "prod"}}},
		{"From", meterd.UsageFilter{From: h1}},
		{"To", meterd.UsageFilter{To: h1}},
		{"FromTo", meterd.UsageFilter{From: h1, To: h2}},
		{"FromInsideHour", meterd.UsageFilter{From: h0.Add(30 * time.Minute)}},
		{"FromInsideLaterHour", meterd.UsageFilter{From: h1.Add(20 * time.Minute)}},
		{"ToInsideHour", meterd.UsageFilter{To: h1.Add(25*time.Minute + 10*time.Second + 500*time.Millisecond)}},
		{"Combined", meterd.UsageFilter{ProductCode: product1, CustomerIdentifier: customer1, Dimension: "requests"}},
		{"CombinedTag", meterd.UsageFilter{ProductCode: product1, Tag: &meterd.Tag{Key: "team", Value: "b"}, From: h1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []string
			for _, r := range all {
				if matches(r, tt.f) {
					want = append(want, r.ID)
				}
			}
			if got := ids(usage(t, l, tt.f)); !slices.Equal(got, want) {
				t.Errorf("Usage(%+v) = %v, want %v", tt.f, got, want)
			}
		})
	}
	t.Run("AfterSeq", func(t *testing.T) {
		got := ids(usage(t, l, meterd.UsageFilter{AfterSeq: stored[2].Seq}))
		if want := ids(all[3:]); !slices.Equal(got, want) {
			t.Errorf("Usage(AfterSeq: %d) = %v, want %v", stored[2].Seq, got, want)
		}
	})
	t.Run("Limit", func(t *testing.T) {
		got := ids(usage(t, l, meterd.UsageFilter{ProductCode: product1, Limit: 2}))
		if want := ids(all[:2]); !slices.Equal(got, want) {
			t.Errorf("Usage(Limit: 2) = %v, want %v", got, want)
		}
	})
	t.Run("Pages", func(t *testing.T) {
		for _, f := range []meterd.UsageFilter{{}, {ProductCode: product1, Tag: &meterd.Tag{Key: "team", Value: "a"}}} {
			var got []string
			for page := 0; ; page++ {
				if page > len(all) {
					t.Fatalf("Usage pages never end")
				}
				f.Limit = 2
				recs := usage(t, l, f)
				if len(recs) > 2 {
					t.Fatalf("Usage(Limit: 2) = %d records", len(recs))
				}
				if len(recs) == 0 {
					break
				}
				got = append(got, ids(recs)...)
				f.AfterSeq = recs[len(recs)-1].Seq
			}
			var want []string
			for _, r := range all {
				if matches(r, f) {
					want = append(want, r.ID)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("paging Usage(%+v) = %v, want %v (each exactly once)", f, got, want)
			}
		}
	})
	t.Run("StopOnError", func(t *testing.T) {
		stop := errors.New("stop")
		calls := 0
		err := l.Usage(t.Context(), meterd.UsageFilter{}, func(*meterd.MeteringRecord) error {
			calls++
			return stop
		})
		if !errors.Is(err, stop) || calls != 1 {
			t.Errorf("Usage(fn returning an error) = %v after %d calls, want %v after 1", err, calls, stop)
		}
	})
}

func testSummarizeUsage(t *testing.T, open Open) {
	l := open(t)
	records := seedUsage(t, l)
	hour := func(t time.Time) string { return t.Format(time.RFC3339) }
	row := func(group, dimension string, quantity, records int64) meterd.UsageSummaryRow {
		return meterd.UsageSummaryRow{Group: group, Dimension: dimension, Quantity: quantity, Records: records}
	}
	tests := []struct {
		name string
		f    meterd.UsageFilter
		by   string
		want []meterd.UsageSummaryRow
	}{
		{"Customer", meterd.UsageFilter{ProductCode: product1}, "customer", []meterd.UsageSummaryRow{
			row(customer1, "requests", 17, 3), row(customer1, "storage_gb", 5, 1),
			row(customer2, "requests", 9, 2), row(customer2, "storage_gb", 8, 1),
		}},
		{"Dimension", meterd.UsageFilter{ProductCode: product1}, "dimension", []meterd.UsageSummaryRow{
			row("requests", "requests", 26, 5), row("storage_gb", "storage_gb", 13, 2),
		}},
		{"DimensionEveryProduct", meterd.UsageFilter{}, "dimension", []meterd.UsageSummaryRow{
			row("requests", "requests", 126, 6), row("storage_gb", "storage_gb", 13, 2),
		}},
		{"Hour", meterd.UsageFilter{ProductCode: product1}, "hour", []meterd.UsageSummaryRow{
			row(hour(h0), "requests", 17, 2), row(hour(h0), "storage_gb", 5, 1),
			row(hour(h1), "requests", 9, 3), row(hour(h2), "storage_gb", 8, 1),
		}},
		{"HourOfCustomer", meterd.UsageFilter{CustomerIdentifier: customer2}, "hour", []meterd.UsageSummaryRow{
			row(hour(h0), "requests", 7, 1), row(hour(h1), "requests", 2, 1), row(hour(h2), "storage_gb", 8, 1),
		}},
		{"Tag", meterd.UsageFilter{ProductCode: product1}, "tag", []meterd.UsageSummaryRow{
			row("env=dev", "requests", 10, 1), row("env=prod", "requests", 8, 2),
			row("team=a", "requests", 13, 2), row("team=b", "requests", 5, 2),
		}},
		{"TagEveryProduct", meterd.UsageFilter{}, "tag", []meterd.UsageSummaryRow{
			row("env=dev", "requests", 10, 1), row("env=prod", "requests", 8, 2),
			row("team=a", "requests", 113, 3), row("team=b", "requests", 5, 2),
		}},
		{"TagOfCustomer", meterd.UsageFilter{ProductCode: product1, CustomerIdentifier: customer1}, "tag", []meterd.UsageSummaryRow{
			row("env=dev", "requests", 10, 1), row("team=a", "requests", 6, 1), row("team=b", "requests", 4, 1),
		}},
		{"TagOfCustomerEveryProduct", meterd.UsageFilter{CustomerIdentifier: customer2, From: h0}, "tag", []meterd.UsageSummaryRow{
			row("env=prod", "requests", 8, 2), row("team=a", "requests", 7, 1), row("team=b", "requests", 1, 1),
		}},
		{"CustomerOfTag", meterd.UsageFilter{ProductCode: product1, Tag: &meterd.Tag{Key: "team", Value: "b"}}, "customer", []meterd.UsageSummaryRow{
			row(customer1, "requests", 10, 1), row(customer2, "requests", 2, 1),
		}},
		{"From", meterd.UsageFilter{ProductCode: product1, From: h1}, "dimension", []meterd.UsageSummaryRow{
			row("requests", "requests", 9, 3), row("storage_gb", "storage_gb", 8, 1),
		}},
		{"FromInsideHour", meterd.UsageFilter{ProductCode: product1, From: h0.Add(30 * time.Minute)}, "dimension", []meterd.UsageSummaryRow{
			row("requests", "requests", 9, 3), row("storage_gb", "storage_gb", 8, 1),
		}},
		{"FromInsideLaterHour", meterd.UsageFilter{ProductCode: product1, From: h1.Add(20 * time.Minute)}, "hour", []meterd.UsageSummaryRow{
			row(hour(h1), "requests", 4, 1), row(hour(h2), "storage_gb", 8, 1),
		}},
		{"FromTo", meterd.UsageFilter{ProductCode: product1, From: h0, To: h2}, "customer", []meterd.UsageSummaryRow{
			row(customer1, "requests", 17, 3), row(customer1, "storage_gb", 5, 1), row(customer2, "requests", 9, 2),
		}},
		{"DimensionFilter", meterd.UsageFilter{Dimension: "storage_gb"}, "customer", []meterd.UsageSummaryRow{
			row(customer1, "storage_gb", 5, 1), row(customer2, "storage_gb", 8, 1),
		}},
		{"NoMatch", meterd.UsageFilter{ProductCode: "nope"}, "customer", nil},
		// Whole-hour bounds and no customer filter: the per-dimension rollup
		// answers these, summing over customers and commits.
		{"DimensionOfDimensionFromTo", meterd.UsageFilter{ProductCode: product1, Dimension: "requests", From: h0, To: h2}, "dimension",
			[]meterd.UsageSummaryRow{row("requests", "requests", 26, 5)}},
		{"HourOfDimensionFromTo", meterd.UsageFilter{ProductCode: product1, Dimension: "requests", From: h1, To: h2}, "hour",
			[]meterd.UsageSummaryRow{row(hour(h1), "requests", 9, 3)}},
		{"HourOfDimensionTo", meterd.UsageFilter{ProductCode: product1, Dimension: "storage_gb", To: h2}, "hour",
			[]meterd.UsageSummaryRow{row(hour(h0), "storage_gb", 5, 1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := l.SummarizeUsage(t.Context(), tt.f, tt.by)
			must(t, "SummarizeUsage", err)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) && (len(got) != 0 || len(tt.want) != 0) {
				t.Errorf("SummarizeUsage(%+v, %q) = %v, want %v", tt.f, tt.by, got, tt.want)
			}
		})
	}
	t.Run("MatchesRecords", func(t *testing.T) {
		// Every product, dimension and whole-hour window, by dimension and
		// by hour, against the sums of the records themselves.
		bounds := []time.Time{{}, h0, h1, h2, h2.Add(time.Hour)}
		for _, product := range []string{"", product1, product2} {
			for _, dimension := range []string{"", "requests", "storage_gb"} {
				for _, from := range bounds {
					for _, to := range bounds {
						if !from.IsZero() && !to.IsZero() && !from.Before(to) {
							continue
						}
						f := meterd.UsageFilter{ProductCode: product, Dimension: dimension, From: from, To: to}
						for _, by := range []string{"dimension", "hour"} {
							got, err := l.SummarizeUsage(t.Context(), f, by)
							must(t, "SummarizeUsage", err)
							if want := summarize(records, f, by); fmt.Sprint(got) != fmt.Sprint(want) && (len(got) != 0 || len(want) != 0) {
								t.Errorf("SummarizeUsage(%+v, %q) = %v, want %v", f, by, got, want)
							}
						}
					}
				}
			}
		}
	})
	t.Run("EInvalid", func(t *testing.T) {
		_, err := l.SummarizeUsage(t.Context(), meterd.UsageFilter{}, "region")
		checkCode(t, `SummarizeUsage(by "region")`, err, meterd.EInvalid)
	})
}

// summarize is the reference meaning of SummarizeUsage by "customer",
// "dimension" or "hour" (a record counts in the hour it falls in), computed
// from records.
func summarize(records []*meterd.MeteringRecord, f meterd.UsageFilter, by string) []meterd.UsageSummaryRow {
	type key struct{ group, dimension string }
	sums := map[key]meterd.UsageSummaryRow{}
	for _, r := range records {
		if !matches(r, f) {
			continue
		}
		k := key{r.Dimension, r.Dimension}
		switch by {
		case "hour":
			k.group = meterd.Hour(r.Hour).Format(time.RFC3339)
		case "customer":
			k.group = r.CustomerIdentifier
		}
		row := sums[k]
		sums[k] = meterd.UsageSummaryRow{Group: k.group, Dimension: k.dimension, Quantity: row.Quantity + r.Quantity, Records: row.Records + 1}
	}
	var out []meterd.UsageSummaryRow
	for _, row := range sums {
		out = append(out, row)
	}
	slices.SortFunc(out, func(a, b meterd.UsageSummaryRow) int {
		if a.Group != b.Group {
			return strings.Compare(a.Group, b.Group)
		}
		return strings.Compare(a.Dimension, b.Dimension)
	})
	return out
}

func testReset(t *testing.T, open Open) {
	l := open(t)
	ctx := t.Context()
	records := seedUsage(t, l)
	must(t, "PutAccessKey", l.PutAccessKey(ctx, &meterd.AccessKey{ID: "test", Secret: "x", AccountID: seller, CreatedAt: h0}))
	must(t, "PutRegistrationToken", l.PutRegistrationToken(ctx, &meterd.RegistrationToken{Token: "tok", ProductCode: product1,
		CustomerIdentifier: customer1, ExpiresAt: h1, CreatedAt: h0}))
	must(t, "PutPublicKey", l.PutPublicKey(ctx, &meterd.PublicKey{ProductCode: product1, Version: 1, PrivateKey: []byte{1}, PublicKeyPEM: "p", CreatedAt: h0}))
	tokened := batchRecord(100, product1, customer1, "requests", h2, 1)
	tokened.ClientToken, tokened.RequestHash = "tok", "h"
	commit(t, l, tokened)
	must(t, "PutSetting", l.PutSetting(ctx, "admin_token_hash", "kept"))
	lastSeq := usage(t, l, meterd.UsageFilter{})[len(records)].Seq

	must(t, "Reset", l.Reset(ctx))

	accounts, err := l.Accounts(ctx)
	must(t, "Accounts", err)
	products, err := l.Products(ctx)
	must(t, "Products", err)
	keys, err := l.AccessKeys(ctx, "")
	must(t, "AccessKeys", err)
	customers, err := l.Customers(ctx, product1)
	must(t, "Customers", err)
	pubs, err := l.PublicKeys(ctx, product1)
	must(t, "PublicKeys", err)
	if len(accounts)+len(products)+len(keys)+len(customers)+len(pubs) != 0 {
		t.Errorf("after Reset: %d accounts, %d products, %d keys, %d customers, %d public keys; want none",
			len(accounts), len(products), len(keys), len(customers), len(pubs))
	}
	_, err = l.RegistrationToken(ctx, "tok")
	checkCode(t, "RegistrationToken after Reset", err, meterd.ENotFound)
	if got := usage(t, l, meterd.UsageFilter{}); len(got) != 0 {
		t.Errorf("Usage() after Reset = %d records, want 0", len(got))
	}
	sum, err := l.SummarizeUsage(ctx, meterd.UsageFilter{}, "customer")
	must(t, "SummarizeUsage", err)
	if len(sum) != 0 {
		t.Errorf("SummarizeUsage() after Reset = %v, want no rows", sum)
	}
	if v, err := l.Setting(ctx, "admin_token_hash"); err != nil || v != "kept" {
		t.Errorf("Setting after Reset = %q, %v; want %q, nil", v, err, "kept")
	}

	// The ledger starts over: the old keys and client tokens are free, and a
	// cursor taken before the reset never skips a new record.
	seedCatalog(t, l)
	again := batchRecord(200, product1, customer1, "requests", h0, 99)
	again.ClientToken, again.RequestHash = "tok", "other"
	checkResult(t, "Commit after Reset", commit(t, l, again)[0], meterd.Committed, again.ID)
	got := usage(t, l, meterd.UsageFilter{})
	if len(got) != 1 {
		t.Fatalf("Usage() after Reset and Commit = %d records, want 1", len(got))
	}
	if got[0].Seq <= lastSeq {
		t.Errorf("Seq after Reset = %d, want > %d (the last Seq before it)", got[0].Seq, lastSeq)
	}
	// The rollups started over too: only the new record is summed.
	for _, by := range []string{"customer", "dimension", "hour"} {
		sum, err := l.SummarizeUsage(ctx, meterd.UsageFilter{ProductCode: product1, From: h0, To: h2}, by)
		must(t, "SummarizeUsage", err)
		if len(sum) != 1 || sum[0].Quantity != 99 || sum[0].Records != 1 {
			t.Errorf("SummarizeUsage(by %q) after Reset and Commit = %v, want one row of quantity 99, 1 record", by, sum)
		}
	}
}

// checkUsageAcrossDays checks l's Usage, filtered by product, customer and
// dimension, over windows of acrossDaysBounds and a page at a time,
// against records: l must hold exactly them, and each answer is the
// records matching, in commit order, whichever part of them the rollups
// hold (a store may find a customer's records through them).
func checkUsageAcrossDays(t *testing.T, l meterd.Ledger, records []*meterd.MeteringRecord) {
	t.Helper()
	stored := usage(t, l, meterd.UsageFilter{})
	want := ids(records)
	slices.Sort(want)
	if got := slices.Sorted(slices.Values(ids(stored))); !slices.Equal(got, want) {
		t.Fatalf("Usage() = %v, want the records %v (in any order)", got, want)
	}
	checkUsageWindows(t, l, stored, 0)
}

// checkUsageWindows checks Usage of checkUsageAcrossDays' filters and
// windows, their TailLimit tailLimit, against counted: the records, in
// commit order, that each must find.
func checkUsageWindows(t *testing.T, l meterd.Ledger, counted []*meterd.MeteringRecord, tailLimit int64) {
	t.Helper()
	// Half of acrossDaysBounds: midnight, an hour's start near noon, a
	// month's start and the hour after, none.
	var bounds []time.Time
	for i, b := range acrossDaysBounds() {
		if i%2 == 0 || b.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) {
			bounds = append(bounds, b)
		}
	}
	for _, base := range []meterd.UsageFilter{
		{}, {ProductCode: product1}, {CustomerIdentifier: customer1}, {CustomerIdentifier: customer2},
		{ProductCode: product1, CustomerIdentifier: customer1}, {ProductCode: product2, CustomerIdentifier: customer1},
		{ProductCode: product1, CustomerIdentifier: customer2, Dimension: "requests"}, {CustomerIdentifier: customer1, Dimension: "storage_gb"},
	} {
		for i, from := range bounds {
			for j, to := range bounds {
				if !from.IsZero() && !to.IsZero() && !from.Before(to) {
					continue
				}
				f := base
				f.From, f.To, f.TailLimit = from, to, tailLimit
				var want []string
				for _, r := range counted {
					if matches(r, f) {
						want = append(want, r.ID)
					}
				}
				if got := ids(usage(t, l, f)); !slices.Equal(got, want) {
					t.Errorf("Usage(%+v) = %v, want %v", f, got, want)
				}
				if (i+j)%5 != 0 {
					continue
				}
				// A page at a time, as the console and the admin API read.
				if paged := usagePaged(t, l, f, 4, len(want)+1); !slices.Equal(paged, want) {
					t.Errorf("Usage(%+v) 4 at a time = %v, want %v", base, paged, want)
				}
			}
		}
	}
}
