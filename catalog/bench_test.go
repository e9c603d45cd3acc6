package catalog_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/catalog"
	"github.com/meterd/meterd/pgtest"
	"github.com/meterd/meterd/postgres"
)

// bigCatalog is issue 12's speed target: one product with n customers,
// each an agreement, a license and its events when applied.
func bigCatalog(n int) *catalog.File {
	f := &catalog.File{
		Accounts: []catalog.Account{{ID: "111122223333"}},
		Products: []catalog.Product{{Code: "big", Seller: "111122223333", Type: meterd.ProductSaaS,
			Dimensions: []catalog.Dimension{{Name: "requests"}}}},
	}
	for i := range n {
		f.Products[0].Customers = append(f.Products[0].Customers, catalog.Customer{AWSAccountID: fmt.Sprintf("%012d", 100000000000+i)})
	}
	return f
}

// BenchmarkApplyCatalog applies a catalog of 10,000 customers to an empty
// store (first) and again to the applied one (again, a restart's apply),
// on SQLite and PostgreSQL:
//
//	go test -run '^$' -bench BenchmarkApplyCatalog -benchtime 1x ./catalog
func BenchmarkApplyCatalog(b *testing.B) {
	f := bigCatalog(10_000)
	stores := []struct {
		name string
		open func(b *testing.B) meterd.Ledger
	}{
		{"sqlite", func(b *testing.B) meterd.Ledger { return openStore(b) }},
		{"postgres", func(b *testing.B) meterd.Ledger {
			s, err := postgres.Open(context.Background(), pgtest.Start(b).NewDatabase(b))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		}},
	}
	for _, st := range stores {
		b.Run(st.name, func(b *testing.B) {
			b.Run("first", func(b *testing.B) {
				for b.Loop() {
					b.StopTimer()
					l := st.open(b)
					b.StartTimer()
					if err := catalog.Apply(b.Context(), l, f, t0); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("again", func(b *testing.B) {
				l := st.open(b)
				if err := catalog.Apply(b.Context(), l, f, t0); err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					if err := catalog.Apply(b.Context(), l, f, t0); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
