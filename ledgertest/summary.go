package ledgertest

import (
	"fmt"
	"testing"
	"time"

	"github.com/meterd/meterd"
)

// testSummarizeAcrossDays checks summaries of windows of hours to months,
// whose bounds fall at midnight or the start of a month, just after or
// before, or near noon, against the sums of the records: a store may read
// monthly and daily rollups for whole units and finer sums for the rest,
// added or subtracted, and must still give the records' sums (and no group
// whose records all lie outside the window).
func testSummarizeAcrossDays(t *testing.T, open Open) {
	l := open(t)
	records := acrossDaysRecords()
	commit(t, l, records[:len(records)/2]...)
	commit(t, l, records[len(records)/2:]...)
	checkSummariesAcrossDays(t, l, records)
}

// acrossDaysRecords are records of days on both sides of a month's end,
// and far from it, of two products, customers and dimensions.
func acrossDaysRecords() []*meterd.MeteringRecord {
	day := 24 * time.Hour
	// Days on both sides of a month's end, and far from it.
	d0 := time.Date(2026, 10, 30, 0, 0, 0, 0, time.UTC)
	days := []time.Time{d0.Add(-25 * day), d0, d0.Add(day), d0.Add(2 * day), d0.Add(3 * day), d0.Add(17 * day), d0.Add(26 * day)}
	var records []*meterd.MeteringRecord
	n := 0
	for d, date := range days {
		for _, h := range []int{0, 5, 11, 12, 13, 23} {
			for c, customer := range []string{customer1, customer2} {
				// customer2 has no usage on day 1 before noon, so some
				// windows hold none of it.
				if c == 1 && d == 1 && h < 12 {
					continue
				}
				n++
				dimension := []string{"requests", "storage_gb"}[(h+c)%2]
				product := product1
				if n%5 == 0 {
					product = product2
				}
				records = append(records, batchRecord(1000+n, product, customer, dimension,
					date.Add(time.Duration(h)*time.Hour), int64(n%7+1)))
			}
		}
	}
	// An AgentCore record: its Hour is the exact timestamp, inside hour 11
	// of November 1st.
	agent := batchRecord(2000, product1, customer1, "requests", d0.Add(2*day+11*time.Hour+25*time.Minute), 9)
	agent.Operation, agent.Resource, agent.ClientToken, agent.RequestHash = meterd.OpMeterUsage, "agent-token-days", "agent-token-days", "hash"
	agent.Timestamp = agent.Hour
	// A MeterUsage record, keyed by the caller's access key, in the hour
	// and dimension of one of the customer's BatchMeterUsage records.
	meter := batchRecord(2001, product1, customer1, "requests", days[0], 3)
	meter.Operation, meter.Resource, meter.CallerAccessKeyID = meterd.OpMeterUsage, "AKIABUYER1", "AKIABUYER1"
	// Committed last, a record in the product, dimension and hour of one
	// committed early, where a window starts: a store that bounds a
	// window's records by the seqs of its hours' rollup rows must bound it
	// by that row's first record.
	var late *meterd.MeteringRecord
	for _, r := range records {
		if r.CustomerIdentifier == customer1 && r.Hour.Equal(d0.Add(day+12*time.Hour)) {
			late = batchRecord(2002, r.ProductCode, customer2, r.Dimension, r.Hour, 5)
		}
	}
	return append(records, agent, meter, late)
}

// acrossDaysBounds are window bounds at midnight or the start of a month,
// just after or before, or near noon ({} for none).
func acrossDaysBounds() []time.Time {
	day := 24 * time.Hour
	d0 := time.Date(2026, 10, 30, 0, 0, 0, 0, time.UTC)
	nov := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	// The first and last hours of the records, and the hours after them:
	// a store may leave a window's end open where its rollups hold nothing
	// beyond it, but not one hour too soon.
	first, last := d0.Add(-25*day), d0.Add(26*day+23*time.Hour)
	return []time.Time{{}, first, first.Add(time.Hour), last, last.Add(time.Hour), d0.Add(-30 * day), time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), d0, d0.Add(day + time.Hour),
		d0.Add(day + 11*time.Hour), d0.Add(day + 12*time.Hour), d0.Add(day + 13*time.Hour), nov, nov.Add(11 * time.Hour),
		nov.Add(day + 23*time.Hour), nov.Add(15*day + 6*time.Hour), nov.Add(16 * day), nov.Add(24*day + 17*time.Hour),
		time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)}
}

// checkSummariesAcrossDays checks the summaries of l, by customer,
// dimension and hour, of windows whose bounds are acrossDaysBounds,
// against the sums of records, and then its Usage (checkUsageAcrossDays):
// both read the rollups and the records after their watermark.
func checkSummariesAcrossDays(t *testing.T, l meterd.Ledger, records []*meterd.MeteringRecord) {
	t.Helper()
	defer checkUsageAcrossDays(t, l, records)
	checkSummaryWindows(t, l, records, 0)
}

// checkSummaryWindows compares the summaries of acrossDaysRecords' filters
// and windows, their TailLimit tailLimit, with the sums of records.
func checkSummaryWindows(t *testing.T, l meterd.Ledger, records []*meterd.MeteringRecord, tailLimit int64) {
	t.Helper()
	bounds := acrossDaysBounds()
	filters := []meterd.UsageFilter{
		{}, {ProductCode: product1}, {ProductCode: product1, CustomerIdentifier: customer2},
		{ProductCode: product1, Dimension: "requests"}, {CustomerIdentifier: customer1, Dimension: "storage_gb"},
	}
	for _, base := range filters {
		base.TailLimit = tailLimit
		for _, from := range bounds {
			for _, to := range bounds {
				if !from.IsZero() && !to.IsZero() && !from.Before(to) {
					continue
				}
				f := base
				f.From, f.To = from, to
				for _, by := range []string{"customer", "dimension", "hour"} {
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
