package postgres_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/internal/meterdtest"
	"github.com/meterd/meterd/ledgertest"
)

// BenchmarkCommit25 commits 25 distinct records per call from many
// concurrent callers, as a loaded server does for BatchMeterUsage, and
// reports records/s, the mean number of calls sharing a commit, and the
// CPU time per record of this process (the store and its callers) and of
// PostgreSQL (every backend, the roller's included).
func BenchmarkCommit25(b *testing.B) {
	s := open(b, cluster.NewDatabase(b))
	var next atomic.Int64
	b.SetParallelism(32) // callers per GOMAXPROCS
	b.ResetTimer()
	self0, pg0 := meterdtest.SelfCPU(b), meterdtest.FamilyCPU(cluster.PID())
	b.RunParallel(func(pb *testing.PB) {
		recs := make([]*meterd.MeteringRecord, 25)
		for pb.Next() {
			base := int(next.Add(25))
			for i := range recs {
				recs[i] = record(base+i, base+i, 1)
			}
			res, err := s.Commit(b.Context(), recs)
			if err != nil {
				b.Error(err)
				return
			}
			if res[0].Status != meterd.Committed {
				b.Errorf("Commit = %+v, want Committed", res[0])
				return
			}
		}
	})
	b.StopTimer()
	perRecord := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(b.N*25) }
	b.ReportMetric(perRecord(meterdtest.SelfCPU(b)-self0), "store-cpu-µs/record")
	b.ReportMetric(perRecord(meterdtest.FamilyCPU(cluster.PID())-pg0), "postgres-cpu-µs/record")
	st := s.Stats()
	b.ReportMetric(float64(b.N*25)/b.Elapsed().Seconds(), "records/s")
	if st.Transactions > 0 {
		b.ReportMetric(float64(st.Batches)/float64(st.Transactions), "calls/commit")
	}
}

// BenchmarkEntitlements10k is GetEntitlements' store query for one
// customer of a product with 10,000 contract agreements.
func BenchmarkEntitlements10k(b *testing.B) {
	ledgertest.BenchmarkEntitlements(b, open(b, cluster.NewDatabase(b)), 10000)
}

// BenchmarkRollUp folds 6,000 committed records per op into the rollups
// (one roll, about a second of ingest at -c 16), with meterd bench's keys:
// 400 customers varying fastest, then two dimensions, then hours going
// back. It reports records rolled per second and the CPU per record of
// this process and of PostgreSQL during the rolls only (the commits that
// feed them are left out).
func BenchmarkRollUp(b *testing.B) {
	const perRoll, customers = 6000, 400
	s := open(b, cluster.NewDatabase(b))
	s.StopRoller()
	var self, pg, elapsed time.Duration
	k := 0
	for range b.N {
		recs := make([]*meterd.MeteringRecord, 0, 500)
		for range perRoll / 500 {
			recs = recs[:0]
			for range 500 {
				r := record(k, k%customers, 1)
				r.Resource = fmt.Sprintf("cust-%d", k%customers)
				r.Dimension = [2]string{"requests", "storage_gb"}[(k/customers)%2]
				r.Hour = h0.Add(-time.Duration(k/customers/2) * time.Hour)
				recs = append(recs, r)
				k++
			}
			if _, err := s.Commit(b.Context(), recs); err != nil {
				b.Fatal(err)
			}
		}
		self0, pg0, t0 := meterdtest.SelfCPU(b), meterdtest.FamilyCPU(cluster.PID()), time.Now()
		if n, err := s.RollUp(b.Context(), 20000); n != perRoll || err != nil {
			b.Fatalf("RollUp = %d, %v; want %d, nil", n, err, perRoll)
		}
		self, pg, elapsed = self+meterdtest.SelfCPU(b)-self0, pg+meterdtest.FamilyCPU(cluster.PID())-pg0, elapsed+time.Since(t0)
	}
	perRecord := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(b.N*perRoll) }
	b.ReportMetric(perRecord(self), "store-cpu-µs/record")
	b.ReportMetric(perRecord(pg), "postgres-cpu-µs/record")
	b.ReportMetric(float64(b.N*perRoll)/elapsed.Seconds(), "records/s")
}
