package ledgertest

import (
	"fmt"
	"testing"

	"github.com/meterd/meterd"
)

// testLicenseProducts checks LicenseProducts: the product of a LicenseArn
// held by a customer or by a license, unknown ARNs absent.
func testLicenseProducts(t *testing.T, open Open) {
	l := open(t)
	ctx := t.Context()
	seedCatalog(t, l)
	customerArn := "arn:aws:license-manager::111122223333:license:l-customer"
	c, err := l.Customer(ctx, product2, customer1)
	must(t, "Customer", err)
	c.LicenseArn = customerArn
	must(t, "PutCustomer", l.PutCustomer(ctx, c))
	apply(t, l, &meterd.MarketChange{Licenses: []*meterd.License{
		{Arn: license1, ProductCode: product1, CustomerIdentifier: customer1, StartTime: h0, CreatedAt: h0},
	}})
	for _, tt := range []struct {
		name string
		arns []string
		want map[string]string
	}{
		{"Both", []string{license1, customerArn, "arn:aws:license-manager::111122223333:license:l-unknown"},
			map[string]string{license1: product1, customerArn: product2}},
		{"Repeated", []string{customerArn, customerArn}, map[string]string{customerArn: product2}},
		{"Unknown", []string{"nope"}, map[string]string{}},
		{"EmptyArnMatchesNothing", []string{""}, map[string]string{}},
		{"None", nil, map[string]string{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := l.LicenseProducts(ctx, tt.arns)
			must(t, "LicenseProducts", err)
			if got == nil || fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("LicenseProducts(%q) = %v, want %v", tt.arns, got, tt.want)
			}
		})
	}
}
