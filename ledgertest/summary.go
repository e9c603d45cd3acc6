package ledgertest

import (
	"fmt"
	"testing"
	"time"

	"github.com/meterd/meterd"
)

// testSummarizeAcrossDays checks summaries of windows spanning several
// days, whose bounds fall at midnight, just after or before it, or near
// noon, against the sums of the records: a store may read a daily rollup
// for the whole days and hourly sums for the partial ones, added or
// subtracted, and must still give the records' sums (and no group whose
// records all lie outside the window).
func testSummarizeAcrossDays(t *testing.T, open Open) {
	l := open(t)
	d0 := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	var records []*meterd.MeteringRecord
	n := 0
	for d := range 4 {
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
					d0.Add(time.Duration(d)*day+time.Duration(h)*time.Hour), int64(n%7+1)))
			}
		}
	}
	// An AgentCore record: its Hour is the exact timestamp, inside hour 11
	// of day 2.
	agent := batchRecord(2000, product1, customer1, "requests", d0.Add(2*day+11*time.Hour+25*time.Minute), 9)
	agent.Operation, agent.Resource, agent.ClientToken, agent.RequestHash = meterd.OpMeterUsage, "agent-token-days", "agent-token-days", "hash"
	agent.Timestamp = agent.Hour
	records = append(records, agent)
	commit(t, l, records[:len(records)/2]...)
	commit(t, l, records[len(records)/2:]...)

	bounds := []time.Time{{}, d0, d0.Add(day), d0.Add(day + time.Hour), d0.Add(day + 11*time.Hour),
		d0.Add(day + 12*time.Hour), d0.Add(day + 13*time.Hour), d0.Add(2*day + 11*time.Hour),
		d0.Add(2*day + 23*time.Hour), d0.Add(3*day + 6*time.Hour), d0.Add(4 * day), d0.Add(9 * day)}
	filters := []meterd.UsageFilter{
		{}, {ProductCode: product1}, {ProductCode: product1, CustomerIdentifier: customer2},
		{ProductCode: product1, Dimension: "requests"}, {CustomerIdentifier: customer1, Dimension: "storage_gb"},
	}
	for _, base := range filters {
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
