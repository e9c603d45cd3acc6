package console_test

import (
	"cmp"
	"context"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/ledgertest"
	"github.com/meterd/meterd/metering"
	"github.com/meterd/meterd/pgtest"
)

// benchRecords is the size of BenchmarkPages' ledger: METERD_BENCH_RECORDS
// (10000000 for the ten million records the pages are held to), else 1,200
// records of 200 customers metered through the API.
func benchRecords(b *testing.B) int {
	if v := os.Getenv("METERD_BENCH_RECORDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 10_000 {
			b.Fatalf("METERD_BENCH_RECORDS=%q: want a number of records of at least 10000", v)
		}
		return n
	}
	return 0
}

// BenchmarkPages measures each console page's render at the server (the
// HTTP round trip on loopback included). With METERD_BENCH_RECORDS the
// ledger holds that many records of 10,000 customers, one per customer
// and hour up to the server clock's, oldest first (commit order, as a live
// ledger's), committed straight to the store and rolled up before the
// pages are measured: the pages must read rollups, never scan the ledger. METERD_BENCH_DATA names a directory to keep that
// ledger in: a later run finding the records there measures them without
// committing them again (ten million take many minutes).
// METERD_BENCH_BEHIND=N then commits N more records with the roller
// stopped, so that every page reads them from the ledger (on a copy of the
// ledger: the next run's roller catches up).
// METERD_BENCH_METERUSAGE=N commits and rolls up N MeterUsage records of
// other customers (addMeterUsage), also on a copy.
// METERD_BENCH_POSTGRES measures on PostgreSQL instead: the URL of a
// database (which may hold the ledger of an earlier run), or "pgtest" for
// a new database on a throwaway cluster.
func BenchmarkPages(b *testing.B) {
	dir := os.Getenv("METERD_BENCH_DATA")
	if dir == "" {
		dir = b.TempDir()
	}
	store := cmp.Or(os.Getenv("METERD_BENCH_POSTGRES"), "sqlite")
	if store == "pgtest" {
		store = pgtest.Start(b).NewDatabase(b)
	}
	s := startServerOn(b, store, dir)
	now := s.Clock.Now()
	if n := benchRecords(b); n > 0 {
		if have := storedRecords(b, s); have == 0 {
			fillLedger(b, s, n, now)
		} else if have != n {
			b.Fatalf("%s holds a ledger of %d records, not %d: remove it or name another directory", dir, have, n)
		}
		if v := os.Getenv("METERD_BENCH_BEHIND"); v != "" {
			behind, err := strconv.Atoi(v)
			if err != nil || behind < 1 {
				b.Fatalf("METERD_BENCH_BEHIND=%q: want a number of records", v)
			}
			leaveBehind(b, s, behind, now)
		}
		if v := os.Getenv("METERD_BENCH_METERUSAGE"); v != "" {
			mu, err := strconv.Atoi(v)
			if err != nil || mu < 1 {
				b.Fatalf("METERD_BENCH_METERUSAGE=%q: want a number of records", v)
			}
			addMeterUsage(b, s, mu, now)
		}
	} else {
		for c := range 200 {
			if _, err := s.Admin.Subscribe(context.Background(), "demo-product", admin.SubscribeInput{AWSAccountID: strconv.Itoa(100000000000 + c), CustomerIdentifier: "bench-customer-" + strconv.Itoa(c)}); err != nil {
				b.Fatal(err)
			}
			s.meter(b, "bench-customer-"+strconv.Itoa(c), 6, now)
		}
	}
	c := browser(nil)
	_, _, csrf := get(b, c, s.URL+"/console/login")
	post(b, c, s.URL+"/console/login", url.Values{"csrf": {csrf}, "token": {adminToken}})
	for _, p := range []string{"/console/", "/console/products", "/console/usage", "/console/usage?product=demo-product", "/console/usage?product=demo-product&customer=bench-customer-7",
		"/console/usage?customer=bench-customer-9999", "/console/usage?customer=bench-late-5",
		"/console/usage/tags?product=demo-product", "/console/usage/tags?customer=bench-customer-7",
		"/console/usage?tag=team%3Dt3", "/console/usage?tag=team%3Dnone",
		"/console/usage?customer=bench-mu-5", "/console/usage?product=demo-product&customer=bench-mu-5",
		"/console/notifications", "/console/faults", "/console/clock", "/console/tail"} {
		name := strings.NewReplacer("/console/", "", "?", "_", "&", "_", "=", "-").Replace(p)
		b.Run(cmp.Or(name, "dashboard"), func(b *testing.B) {
			for b.Loop() {
				if code, body, _ := get(b, c, s.URL+p); code != http.StatusOK {
					b.Fatalf("%s = %d: %s", p, code, body)
				}
			}
		})
	}
}

// storedRecords counts the ledger's records of demo-product, from its
// summary by dimension (the rollups).
func storedRecords(b *testing.B, s *testServer) int {
	rows, err := s.Ledger.SummarizeUsage(context.Background(), meterd.UsageFilter{ProductCode: "demo-product"}, "dimension")
	if err != nil {
		b.Fatal(err)
	}
	var n int64
	for _, r := range rows {
		n += r.Records
	}
	return int(n)
}

// fillLedger commits n records of demo-product straight to the store:
// 10,000 customers, one record per customer and hour, up to the hour of
// now, oldest hour first (in the order a live ledger commits them, each
// received a minute into its hour), then rolls them all up.
func fillLedger(b *testing.B, s *testServer, n int, now time.Time) {
	b.Helper()
	ctx := context.Background()
	// The rolls are this function's, so that it can count them: n rolled
	// is every record in the rollups (PostgreSQL's RollUp returns 0 while
	// another roll holds the watermark, a stopped roller's for a moment).
	st := s.Ledger.(ledgertest.Roller)
	st.StopRoller()
	start := time.Now()
	commitBench(b, s, n, "bench-customer-", now, false)
	b.Logf("committed %d records in %s", n, time.Since(start).Round(time.Second))
	start = time.Now()
	for rolled := 0; rolled < n; {
		k, err := st.RollUp(ctx, 50_000)
		if err != nil {
			b.Fatal(err)
		}
		rolled += k
	}
	b.Logf("rolled up in %s", time.Since(start).Round(time.Second))
}

// leaveBehind stops the roller and commits n more records (of 10,000
// other customers, one a customer and hour up to now's), which the rollups
// then do not hold: every page reads them from the ledger, up to the
// console's TailLimit. A ledger this left behind cannot be measured again
// (the next server's roller catches up): run it on a copy.
func leaveBehind(b *testing.B, s *testServer, n int, now time.Time) {
	b.Helper()
	s.Ledger.(ledgertest.Roller).StopRoller()
	start := time.Now()
	commitBench(b, s, n, "bench-late-", now, false)
	b.Logf("committed %d records behind the rollups in %s", n, time.Since(start).Round(time.Second))
}

// addMeterUsage commits n MeterUsage records (1,000 customers bench-mu-N,
// 10 instances each, a record an instance and hour up to now's) and rolls
// them up: a customer whose hours hold records the duplicate key does not
// find by customer, among the BatchMeterUsage records of 10,000 others.
// Run it on a copy of the ledger, as leaveBehind.
func addMeterUsage(b *testing.B, s *testServer, n int, now time.Time) {
	b.Helper()
	st := s.Ledger.(ledgertest.Roller)
	st.StopRoller()
	start := time.Now()
	commitBench(b, s, n, "bench-mu-", now, true)
	for rolled := 0; rolled < n; {
		k, err := st.RollUp(context.Background(), 50_000)
		if err != nil {
			b.Fatal(err)
		}
		rolled += k
	}
	b.Logf("committed and rolled up %d MeterUsage records in %s", n, time.Since(start).Round(time.Second))
}

// commitBench commits n records of demo-product of 10,000 customers named
// prefix and a number, one per customer and hour up to the hour of now,
// oldest hour first (in the order a live ledger commits them, each
// received a minute into its hour), each allocating its quantity to one
// of ten tags team=t0 to team=t9 (by customer). With meterUsage they are
// MeterUsage records of 10,000 instances, 10 for each of 1,000 customers.
func commitBench(b *testing.B, s *testServer, n int, prefix string, now time.Time, meterUsage bool) {
	b.Helper()
	ctx := context.Background()
	const customers, batchSize = 10_000, 50_000
	first := meterd.Hour(now).Add(-time.Duration((n-1)/customers) * time.Hour)
	batch := make([]*meterd.MeteringRecord, 0, batchSize)
	for i := range n {
		customer := prefix + strconv.Itoa(i%customers)
		h := first.Add(time.Duration(i/customers) * time.Hour)
		q := int64(1 + i%7)
		batch = append(batch, &meterd.MeteringRecord{
			ID: metering.NewRecordID(), Operation: meterd.OpBatchMeterUsage, ProductCode: "demo-product",
			CustomerIdentifier: customer, CustomerAWSAccountID: "444455556666", Resource: customer,
			Dimension: "requests", Hour: h, Timestamp: h.Add(time.Minute), Quantity: q,
			Allocations:     []meterd.UsageAllocation{{AllocatedUsageQuantity: &q, Tags: []meterd.Tag{{Key: "team", Value: "t" + strconv.Itoa(i%10)}}}},
			CallerAccountID: "111122223333", CallerAccessKeyID: "test", ReceivedAt: h.Add(time.Minute),
		})
		if r := batch[len(batch)-1]; meterUsage {
			r.Operation, r.Resource = meterd.OpMeterUsage, "i-"+strconv.Itoa(i%customers)
			r.CustomerIdentifier = prefix + strconv.Itoa(i%customers/10)
		}
		if len(batch) == batchSize || i == n-1 {
			res, err := s.Ledger.Commit(ctx, batch)
			if err != nil {
				b.Fatal(err)
			}
			for j, r := range res {
				if r.Status != meterd.Committed {
					b.Fatalf("record %+v: status %v", batch[j], r.Status)
				}
			}
			batch = batch[:0]
		}
	}
}
