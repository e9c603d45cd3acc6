package sqlite_test

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/catalog"
)

// BenchmarkMeterPath does a MeterUsage request's store work one request at a
// time: the access key, product and customer lookups (each after the previous
// request's commit changed the database) and a one-record durable commit.
func BenchmarkMeterPath(b *testing.B) {
	s := open(b)
	ctx := b.Context()
	if err := catalog.Apply(ctx, s, catalog.Demo(), time.Now()); err != nil {
		b.Fatal(err)
	}
	cpu0 := cpuTime(b)
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.AccessKey(ctx, "buyer"); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Product(ctx, "demo-product"); err != nil {
			b.Fatal(err)
		}
		if _, err := s.CustomerByAccount(ctx, "demo-product", catalog.DemoBuyerAccount1); err != nil {
			b.Fatal(err)
		}
		res, err := s.Commit(ctx, []*meterd.MeteringRecord{record(i+1, fmt.Sprintf("cust-%d", i), 1)})
		if err != nil || res[0].Status != meterd.Committed {
			b.Fatalf("Commit = %v, %v; want Committed", res, err)
		}
	}
	b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}

// cpuTime returns the process's user and system CPU time so far.
func cpuTime(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
