package sqlite_test

import (
	"fmt"
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
}
