package ledgertest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd"
)

// testTopCustomers checks TopCustomers against the records' sums per month,
// product and customer: for the months of the records, one without, a time
// inside a month, n smaller and larger than the customers; and, on a
// Roller, with the roller stopped, behind and caught up, since the rollups
// and the records after their watermark are added up.
func testTopCustomers(t *testing.T, open Open) {
	l := open(t)
	seedCatalog(t, l)
	records := acrossDaysRecords()
	// A third customer of product1 with few records of October, so the
	// order by records decides which customers a small n keeps.
	for i, h := range []time.Time{time.Date(2026, 10, 4, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 4, 1, 0, 0, 0, time.UTC)} {
		r := batchRecord(3000+i, product1, "cust-3", "requests", h, 1000)
		r.CustomerAWSAccountID = ""
		records = append(records, r)
	}
	roller, isRoller := l.(Roller)
	if !isRoller {
		commit(t, l, records...)
		checkTopCustomers(t, l, records, 0)
		return
	}
	roller.StopRoller()
	half := len(records) / 2
	commit(t, l, records[:half]...)
	checkTopCustomers(t, l, records[:half], 0) // the rollups hold nothing yet
	rollUp(t, roller, half/3, half/3)
	checkTopCustomers(t, l, records[:half], 0) // the rollups and the tail share customers
	commit(t, l, records[half:]...)
	rollUp(t, roller, len(records), len(records)-half/3)
	checkTopCustomers(t, l, records, 0) // caught up
}

// checkTopCustomers compares TopCustomers, of tailLimit, with the sums of
// records.
func checkTopCustomers(t *testing.T, l meterd.Ledger, records []*meterd.MeteringRecord, tailLimit int64) {
	t.Helper()
	for _, month := range []time.Time{
		time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 17, 15, 4, 5, 0, time.UTC),
		time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
	} {
		start := time.Date(month.Year(), month.Month(), 1, 0, 0, 0, 0, time.UTC)
		type key struct{ product, customer string }
		sums := map[key]*meterd.CustomerUsage{}
		for _, r := range records {
			if r.Hour.Before(start) || !r.Hour.Before(start.AddDate(0, 1, 0)) {
				continue
			}
			k := key{r.ProductCode, r.CustomerIdentifier}
			if sums[k] == nil {
				sums[k] = &meterd.CustomerUsage{ProductCode: r.ProductCode, CustomerIdentifier: r.CustomerIdentifier}
			}
			sums[k].Records++
			sums[k].Quantity += r.Quantity
		}
		var all []meterd.CustomerUsage
		for _, c := range sums {
			all = append(all, *c)
		}
		slices.SortFunc(all, func(a, b meterd.CustomerUsage) int {
			switch {
			case a.Records != b.Records:
				return int(b.Records - a.Records)
			case a.ProductCode != b.ProductCode:
				return strings.Compare(a.ProductCode, b.ProductCode)
			}
			return strings.Compare(a.CustomerIdentifier, b.CustomerIdentifier)
		})
		for _, n := range []int{1, 2, 10} {
			got, err := l.TopCustomers(t.Context(), month, n, tailLimit)
			must(t, "TopCustomers", err)
			want := all[:min(n, len(all))]
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("TopCustomers(%s, %d) = %v, want %v", month.Format(time.RFC3339), n, got, want)
			}
		}
	}
}
