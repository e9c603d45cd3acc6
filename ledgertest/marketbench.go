package ledgertest

import (
	"fmt"
	"testing"

	"github.com/meterd/meterd"
)

// BenchmarkEntitlements measures Ledger.Entitlements for one customer of a
// product holding n contract agreements (one customer each, two contract
// dimensions), the query behind GetEntitlements. l must be empty.
func BenchmarkEntitlements(b *testing.B, l meterd.Ledger, n int) {
	ctx := b.Context()
	must(b, "PutAccount", l.PutAccount(ctx, &meterd.Account{ID: seller, CreatedAt: h0}))
	must(b, "PutProduct", l.PutProduct(ctx, &meterd.Product{Code: product1, SellerAccountID: seller, Type: meterd.ProductSaaS,
		Dimensions: []meterd.Dimension{{Name: "seats", Contract: true}, {Name: "premium", Contract: true, ValueType: meterd.ValueBoolean}},
		CreatedAt:  h0}))
	const chunk = 1000
	for i := 0; i < n; i += chunk {
		ch := &meterd.MarketChange{}
		for j := i; j < min(i+chunk, n); j++ {
			cust := fmt.Sprintf("cust-%06d", j)
			ch.Customers = append(ch.Customers, &meterd.Customer{ProductCode: product1, CustomerIdentifier: cust,
				CustomerAWSAccountID: fmt.Sprintf("%012d", j), Status: meterd.StatusSubscribed, Platform: meterd.PlatformOther,
				StatusChangedAt: h0, CreatedAt: h0})
			a := testAgreement(j, fmt.Sprintf("arn:aws:license-manager::%s:license:l-%032d", seller, j), h0)
			a.CustomerIdentifier, a.BuyerAccountID = cust, fmt.Sprintf("%012d", j)
			ch.Insert = append(ch.Insert, a)
		}
		must(b, "ApplyMarketChange", l.ApplyMarketChange(ctx, ch))
	}
	f := meterd.EntitlementFilter{ProductCode: product1, At: h1, CustomerIdentifiers: []string{fmt.Sprintf("cust-%06d", n/2)}, Limit: 25}
	b.ResetTimer()
	for b.Loop() {
		got, err := l.Entitlements(ctx, f)
		if err != nil || len(got) != 2 {
			b.Fatalf("Entitlements() = %d, %v, want 2", len(got), err)
		}
	}
}
