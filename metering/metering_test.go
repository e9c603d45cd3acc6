package metering

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/sqlite"
)

// Catalog of the fixture.
const (
	seller      = "111122223333"
	otherSeller = "999988887777"
	product     = "prod"
	otherProd   = "other-prod"
	region      = "us-east-1"
	offRegion   = "eu-west-1"

	// Customers of product, by identifier, AWS account and license.
	cust1, acct1, lic1             = "cust-1", "444455556666", "arn:aws:license-manager::111122223333:license:l-1"
	cust2, acct2, lic2             = "cust-2", "777788889999", "arn:aws:license-manager::111122223333:license:l-2"
	custPending, acctPending       = "cust-pending", "222233334444"
	custGone, acctGone             = "cust-gone", "333344445555"
	custSuspended, acctSuspended   = "cust-suspended", "123412341234"
	custAgent, acctAgent           = "cust-agent", "555566667777"
	custAgent2, acctAgent2         = "cust-agent-2", "555566668888"
	custOther, acctOther, licOther = "cust-x", "444455556666", "arn:aws:license-manager::999988887777:license:l-x"
	unknownAcct                    = "100010001000"
)

// t0 is the fixture's server time: half past an hour.
var t0 = time.Date(2026, 11, 23, 7, 30, 0, 0, time.UTC)

// fixture is a Service over a real SQLite store holding the catalog above,
// with the server clock frozen at t0.
type fixture struct {
	svc    *Service
	ledger meterd.Ledger
	clock  *meterd.ServerClock
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := t.Context()
	l, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "meterd.db"))
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	clock := &meterd.ServerClock{}
	clock.Set(t0)
	f := &fixture{svc: &Service{Ledger: l, Clock: clock}, ledger: l, clock: clock}
	for _, id := range []string{seller, otherSeller} {
		must(t, "PutAccount", l.PutAccount(ctx, &meterd.Account{ID: id, CreatedAt: t0}))
	}
	dims := []meterd.Dimension{{Name: "requests"}, {Name: "storage_gb"}}
	must(t, "PutProduct", l.PutProduct(ctx, &meterd.Product{Code: product, SellerAccountID: seller,
		Type: meterd.ProductContainer, Regions: []string{region, "us-west-2"}, Dimensions: dims, CreatedAt: t0}))
	must(t, "PutProduct", l.PutProduct(ctx, &meterd.Product{Code: otherProd, SellerAccountID: otherSeller,
		Type: meterd.ProductSaaS, Dimensions: dims, CreatedAt: t0}))
	for _, c := range []*meterd.Customer{
		{ProductCode: product, CustomerIdentifier: cust1, CustomerAWSAccountID: acct1, LicenseArn: lic1, Status: meterd.StatusSubscribed, Platform: meterd.PlatformECS},
		{ProductCode: product, CustomerIdentifier: cust2, CustomerAWSAccountID: acct2, LicenseArn: lic2, Status: meterd.StatusSubscribed, Platform: meterd.PlatformEC2},
		{ProductCode: product, CustomerIdentifier: custPending, CustomerAWSAccountID: acctPending, Status: meterd.StatusUnsubscribePending, Platform: meterd.PlatformECS},
		{ProductCode: product, CustomerIdentifier: custGone, CustomerAWSAccountID: acctGone, Status: meterd.StatusUnsubscribed, Platform: meterd.PlatformECS},
		{ProductCode: product, CustomerIdentifier: custSuspended, CustomerAWSAccountID: acctSuspended, Status: meterd.StatusSuspended, Platform: meterd.PlatformECS},
		{ProductCode: product, CustomerIdentifier: custAgent, CustomerAWSAccountID: acctAgent, Status: meterd.StatusSubscribed, Platform: meterd.PlatformAgentCore},
		{ProductCode: product, CustomerIdentifier: custAgent2, CustomerAWSAccountID: acctAgent2, Status: meterd.StatusSubscribed, Platform: meterd.PlatformAgentCore},
		{ProductCode: otherProd, CustomerIdentifier: custOther, CustomerAWSAccountID: acctOther, LicenseArn: licOther, Status: meterd.StatusSubscribed, Platform: meterd.PlatformOther},
	} {
		c.StatusChangedAt, c.CreatedAt = t0, t0
		must(t, "PutCustomer", l.PutCustomer(ctx, c))
	}
	return f
}

// must fails the test when err is not nil.
func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// as returns a context whose caller is account, signing with key in region.
func as(t *testing.T, account, key, region string) context.Context {
	t.Helper()
	return meterd.NewContextWithCaller(t.Context(), &meterd.Caller{AccountID: account, AccessKeyID: key, Region: region})
}

// asSeller is the product's seller calling in an enabled region.
func asSeller(t *testing.T) context.Context { return as(t, seller, "sellerkey", region) }

// stored returns the ledger records of product, in commit order.
func (f *fixture) stored(t *testing.T) []*meterd.MeteringRecord {
	t.Helper()
	var out []*meterd.MeteringRecord
	must(t, "Usage", f.ledger.Usage(t.Context(), meterd.UsageFilter{ProductCode: product}, func(r *meterd.MeteringRecord) error {
		out = append(out, r)
		return nil
	}))
	return out
}

// wantStored fails unless the ledger holds n records of product.
func (f *fixture) wantStored(t *testing.T, n int) []*meterd.MeteringRecord {
	t.Helper()
	recs := f.stored(t)
	if len(recs) != n {
		t.Fatalf("ledger holds %d records, want %d", len(recs), n)
	}
	return recs
}

func TestNoCaller(t *testing.T) {
	svc := &Service{}
	ctx := t.Context()
	_, err := svc.BatchMeterUsage(ctx, &meterd.BatchMeterUsageInput{})
	wantError(t, "BatchMeterUsage", err, meterd.EInternal)
	_, err = svc.MeterUsage(ctx, &meterd.MeterUsageInput{})
	wantError(t, "MeterUsage", err, meterd.EInternal)
	_, err = svc.RegisterUsage(ctx, &meterd.RegisterUsageInput{})
	wantError(t, "RegisterUsage", err, meterd.EInternal)
	_, err = svc.ResolveCustomer(ctx, &meterd.ResolveCustomerInput{})
	wantError(t, "ResolveCustomer", err, meterd.EInternal)
}
