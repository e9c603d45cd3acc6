package marketplace

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/sqlite"
)

var (
	t0 = time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	t1 = t0.Add(time.Hour)
)

const (
	seller      = "111122223333"
	otherSeller = "222233334444"
	product     = "contract-product"
	product2    = "second-product"
	otherProd   = "other-sellers-product"
)

// licenseOf is the license ARN of customer i's agreement.
func licenseOf(i int) string {
	return fmt.Sprintf("arn:aws:license-manager::%s:license:l-%032d", seller, i)
}

// seed fills store with n customers of product, each with an ACTIVE
// contract agreement from t0 for a year (seats = i+1 and the boolean
// premium), plus one agreement on product2 and one on another seller's
// product, so that neither may leak into product's answers.
func seed(tb testing.TB, store meterd.Ledger, n int) {
	tb.Helper()
	ctx := context.Background()
	for _, a := range []string{seller, otherSeller} {
		if err := store.PutAccount(ctx, &meterd.Account{ID: a, CreatedAt: t0}); err != nil {
			tb.Fatal(err)
		}
	}
	for code, owner := range map[string]string{product: seller, product2: seller, otherProd: otherSeller} {
		if err := store.PutProduct(ctx, &meterd.Product{Code: code, SellerAccountID: owner, Type: meterd.ProductSaaS,
			Dimensions: []meterd.Dimension{{Name: "seats", Contract: true}, {Name: "premium", Contract: true, ValueType: meterd.ValueBoolean}},
			CreatedAt:  t0}); err != nil {
			tb.Fatal(err)
		}
	}
	const chunk = 1000
	for i := 0; i < n+2; i += chunk {
		ch := &meterd.MarketChange{}
		for j := i; j < min(i+chunk, n+2); j++ {
			code, owner := product, seller
			switch j {
			case n:
				code = product2
			case n + 1:
				code, owner = otherProd, otherSeller
			}
			cust, account := fmt.Sprintf("cust-%06d", j), fmt.Sprintf("%012d", 500000000000+j)
			ch.Customers = append(ch.Customers, &meterd.Customer{ProductCode: code, CustomerIdentifier: cust,
				CustomerAWSAccountID: account, Status: meterd.StatusSubscribed, Platform: meterd.PlatformOther,
				StatusChangedAt: t0, CreatedAt: t0})
			end := t0.AddDate(1, 0, 0)
			ch.Insert = append(ch.Insert, &meterd.Agreement{
				ID: fmt.Sprintf("agmt-%025d", j), Status: meterd.AgreementActive, Intent: meterd.IntentNew,
				ProductCode: code, OfferID: "offer-contract00001", BuyerAccountID: account, SellerAccountID: owner,
				CustomerIdentifier: cust, LicenseArn: licenseOf(j), AcceptanceTime: t0, StartTime: t0, EndTime: &end,
				Duration: "P12M",
				Dimensions: []meterd.AgreementDimension{{Name: "seats", Quantity: int64(j + 1)},
					{Name: "premium", Quantity: 1, ValueType: meterd.ValueBoolean}},
				RequestKey: fmt.Sprintf("request-%d", j), UpdatedAt: t0,
			})
		}
		if err := store.ApplyMarketChange(ctx, ch); err != nil {
			tb.Fatal(err)
		}
	}
}

func openSQLite(tb testing.TB) meterd.Ledger {
	tb.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "meterd.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	return store
}

// newService returns the service over a store seeded with n customers, at t1.
func newService(tb testing.TB, n int) (*Entitlements, *meterd.ServerClock) {
	tb.Helper()
	store := openSQLite(tb)
	seed(tb, store, n)
	clock := &meterd.ServerClock{}
	clock.Set(t1)
	key, err := TokenKey(context.Background(), store)
	if err != nil {
		tb.Fatal(err)
	}
	return &Entitlements{Store: store, Clock: clock, TokenKey: key}, clock
}

func callerCtx(account, region string) context.Context {
	return meterd.NewContextWithCaller(context.Background(), &meterd.Caller{AccountID: account, AccessKeyID: "k", Region: region})
}

var sellerCtx = callerCtx(seller, "us-east-1")

func int64p(v int64) *int64 { return &v }

// keys renders entitlements as customer/dimension/value lines.
func keys(es []*meterd.Entitlement) []string {
	var out []string
	for _, e := range es {
		v := "?"
		switch {
		case e.IntegerValue != nil && e.BooleanValue == nil:
			v = fmt.Sprint(*e.IntegerValue)
		case e.BooleanValue != nil && e.IntegerValue == nil:
			v = fmt.Sprint(*e.BooleanValue)
		}
		out = append(out, e.CustomerIdentifier+"/"+e.Dimension+"="+v)
	}
	return out
}

func TestGetEntitlements(t *testing.T) {
	s, _ := newService(t, 3)
	tests := []struct {
		name   string
		filter map[string][]string
		want   []string
	}{
		{"All", nil, []string{"cust-000000/premium=true", "cust-000000/seats=1", "cust-000001/premium=true", "cust-000001/seats=2", "cust-000002/premium=true", "cust-000002/seats=3"}},
		{"Customer", map[string][]string{"CUSTOMER_IDENTIFIER": {"cust-000001"}}, []string{"cust-000001/premium=true", "cust-000001/seats=2"}},
		{"CustomersOred", map[string][]string{"CUSTOMER_IDENTIFIER": {"cust-000002", "cust-000000"}}, []string{"cust-000000/premium=true", "cust-000000/seats=1", "cust-000002/premium=true", "cust-000002/seats=3"}},
		{"Account", map[string][]string{"CUSTOMER_AWS_ACCOUNT_ID": {"500000000002"}}, []string{"cust-000002/premium=true", "cust-000002/seats=3"}},
		{"License", map[string][]string{"LICENSE_ARN": {licenseOf(0)}}, []string{"cust-000000/premium=true", "cust-000000/seats=1"}},
		{"DimensionAndCustomerAnded", map[string][]string{"DIMENSION": {"seats"}, "CUSTOMER_IDENTIFIER": {"cust-000001", "cust-000002"}}, []string{"cust-000001/seats=2", "cust-000002/seats=3"}},
		{"DimensionAndLicense", map[string][]string{"DIMENSION": {"premium"}, "LICENSE_ARN": {licenseOf(2)}}, []string{"cust-000002/premium=true"}},
		{"OtherProductsCustomer", map[string][]string{"CUSTOMER_IDENTIFIER": {"cust-000003"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := s.GetEntitlements(sellerCtx, &meterd.GetEntitlementsInput{ProductCode: product, Filter: tt.filter})
			if err != nil {
				t.Fatal(err)
			}
			if out.Entitlements == nil {
				t.Fatal("Entitlements = nil, want a list (empty when none)")
			}
			if got := keys(out.Entitlements); !slices.Equal(got, tt.want) {
				t.Errorf("GetEntitlements(%v) = %v, want %v", tt.filter, got, tt.want)
			}
			if out.NextToken != "" {
				t.Errorf("NextToken = %q on the only page, want none", out.NextToken)
			}
		})
	}
	t.Run("Members", func(t *testing.T) {
		out, err := s.GetEntitlements(sellerCtx, &meterd.GetEntitlementsInput{ProductCode: product,
			Filter: map[string][]string{"CUSTOMER_IDENTIFIER": {"cust-000001"}, "DIMENSION": {"seats"}}})
		if err != nil || len(out.Entitlements) != 1 {
			t.Fatalf("GetEntitlements = %v, %v; want one entitlement", out, err)
		}
		e := out.Entitlements[0]
		end := t0.AddDate(1, 0, 0)
		if e.ProductCode != product || e.CustomerAWSAccountID != "500000000001" || e.LicenseArn != licenseOf(1) ||
			e.ExpirationDate == nil || !e.ExpirationDate.Equal(end) {
			t.Errorf("entitlement = %+v, want product %s, account 500000000001, license %s, expiring %v", e, product, licenseOf(1), end)
		}
	})
}

func TestGetEntitlementsAfterExpiry(t *testing.T) {
	s, clock := newService(t, 2)
	clock.Set(t0.AddDate(1, 0, 1))
	out, err := s.GetEntitlements(sellerCtx, &meterd.GetEntitlementsInput{ProductCode: product})
	if err != nil || out.Entitlements == nil || len(out.Entitlements) != 0 {
		t.Errorf("GetEntitlements after the agreements ended = %v, %v; want an empty list", keys(out.Entitlements), err)
	}
}

func TestGetEntitlementsPagination(t *testing.T) {
	s, _ := newService(t, 7) // 14 entitlements
	all, err := s.GetEntitlements(sellerCtx, &meterd.GetEntitlementsInput{ProductCode: product})
	if err != nil || len(all.Entitlements) != 14 {
		t.Fatalf("GetEntitlements = %d, %v; want 14", len(all.Entitlements), err)
	}
	for _, size := range []int64{1, 3, 7, 13, 14, 25} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			var got []*meterd.Entitlement
			in := &meterd.GetEntitlementsInput{ProductCode: product, MaxResults: int64p(size)}
			for pages := 1; ; pages++ {
				out, err := s.GetEntitlements(sellerCtx, in)
				if err != nil {
					t.Fatalf("page %d: %v", pages, err)
				}
				if int64(len(out.Entitlements)) > size {
					t.Fatalf("page %d has %d entitlements, want at most %d", pages, len(out.Entitlements), size)
				}
				got = append(got, out.Entitlements...)
				if out.NextToken == "" {
					break
				}
				if pages > 20 {
					t.Fatal("pagination does not end")
				}
				in.NextToken = out.NextToken
			}
			if !slices.Equal(keys(got), keys(all.Entitlements)) {
				t.Errorf("pages joined = %v, want %v", keys(got), keys(all.Entitlements))
			}
		})
	}
}

func TestGetEntitlementsErrors(t *testing.T) {
	s, _ := newService(t, 3)
	first, err := s.GetEntitlements(sellerCtx, &meterd.GetEntitlementsInput{ProductCode: product, MaxResults: int64p(1),
		Filter: map[string][]string{"CUSTOMER_IDENTIFIER": {"cust-000000", "cust-000001"}}})
	if err != nil || first.NextToken == "" {
		t.Fatalf("first page = %v, %v; want a NextToken", first, err)
	}
	tok := first.NextToken
	payload, sig, _ := strings.Cut(tok, "=")
	other := &Entitlements{Store: s.Store, Clock: s.Clock, TokenKey: []byte("another server's key, 32 bytes..")}
	foreign, err := other.GetEntitlements(sellerCtx, &meterd.GetEntitlementsInput{ProductCode: product, MaxResults: int64p(1),
		Filter: map[string][]string{"CUSTOMER_IDENTIFIER": {"cust-000000", "cust-000001"}}})
	if err != nil {
		t.Fatal(err)
	}
	sameFilter := map[string][]string{"CUSTOMER_IDENTIFIER": {"cust-000001", "cust-000000"}} // the same set, reordered
	tests := []struct {
		name    string
		ctx     context.Context
		in      meterd.GetEntitlementsInput
		message string // part of the message; "" when the call must succeed
	}{
		{"TokenWithSameFilterReordered", sellerCtx, meterd.GetEntitlementsInput{ProductCode: product, NextToken: tok, Filter: sameFilter}, ""},
		{"NoProductCode", sellerCtx, meterd.GetEntitlementsInput{}, "ProductCode must be 1 to 255"},
		{"LongProductCode", sellerCtx, meterd.GetEntitlementsInput{ProductCode: strings.Repeat("p", 256)}, "ProductCode must be 1 to 255"},
		{"UnknownProduct", sellerCtx, meterd.GetEntitlementsInput{ProductCode: "no-such-product"}, "is not a product of the calling account"},
		{"OtherSellersProduct", sellerCtx, meterd.GetEntitlementsInput{ProductCode: otherProd}, "is not a product of the calling account"},
		{"NotTheSeller", callerCtx("500000000000", "us-east-1"), meterd.GetEntitlementsInput{ProductCode: product}, "is not a product of the calling account"},
		{"OtherRegion", callerCtx(seller, "eu-west-1"), meterd.GetEntitlementsInput{ProductCode: product}, "available only in us-east-1"},
		{"MaxResults0", sellerCtx, meterd.GetEntitlementsInput{ProductCode: product, MaxResults: int64p(0)}, "MaxResults must be between 1 and 25"},
		{"MaxResults26", sellerCtx, meterd.GetEntitlementsInput{ProductCode: product, MaxResults: int64p(26)}, "MaxResults must be between 1 and 25"},
		{"UnknownFilter", sellerCtx, meterd.GetEntitlementsInput{ProductCode: product, Filter: map[string][]string{"COLOUR": {"red"}}}, `Invalid filter name "COLOUR"`},
		{"EmptyFilterValues", sellerCtx, meterd.GetEntitlementsInput{ProductCode: product, Filter: map[string][]string{"DIMENSION": {}, "LICENSE_ARN": {licenseOf(0)}}}, "must list at least one value"},
		{"CustomerAndAccount", sellerCtx, meterd.GetEntitlementsInput{ProductCode: product, Filter: map[string][]string{"CUSTOMER_IDENTIFIER": {"c"}, "CUSTOMER_AWS_ACCOUNT_ID": {"500000000000"}}}, "mutually exclusive"},
		{"DimensionAlone", sellerCtx, meterd.GetEntitlementsInput{ProductCode: product, Filter: map[string][]string{"DIMENSION": {"seats"}}}, "Invalid filter combination provided"},
		{"TokenOfOtherFilter", sellerCtx, meterd.GetEntitlementsInput{ProductCode: product, NextToken: tok, Filter: map[string][]string{"CUSTOMER_IDENTIFIER": {"cust-000000"}}}, "NextToken is not valid"},
		{"TokenWithoutFilter", sellerCtx, meterd.GetEntitlementsInput{ProductCode: product, NextToken: tok}, "NextToken is not valid"},
		{"TokenOfOtherProduct", sellerCtx, meterd.GetEntitlementsInput{ProductCode: product2, NextToken: tok, Filter: sameFilter}, "NextToken is not valid"},
		{"TokenOfOtherServer", sellerCtx, meterd.GetEntitlementsInput{ProductCode: product, NextToken: foreign.NextToken, Filter: sameFilter}, "NextToken is not valid"},
		{"TokenAltered", sellerCtx, meterd.GetEntitlementsInput{ProductCode: product, NextToken: "f" + payload[1:] + "=" + sig, Filter: sameFilter}, "NextToken is not valid"},
		{"TokenUnsigned", sellerCtx, meterd.GetEntitlementsInput{ProductCode: product, NextToken: payload, Filter: sameFilter}, "NextToken is not valid"},
		{"TokenForged", sellerCtx, meterd.GetEntitlementsInput{ProductCode: product, NextToken: "eyJzIjoiIn0.AAAA", Filter: sameFilter}, "NextToken is not valid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := s.GetEntitlements(tt.ctx, &tt.in)
			if tt.message == "" {
				if err != nil || len(out.Entitlements) != 3 || out.Entitlements[0].CustomerIdentifier != "cust-000000" {
					t.Errorf("GetEntitlements = %v, %v; want the rest of cust-000000 and cust-000001's entitlements", out, err)
				}
				return
			}
			if meterd.ErrorCode(err) != meterd.EInvalidParameter || !strings.Contains(meterd.ErrorMessage(err), tt.message) {
				t.Errorf("GetEntitlements = %v, want %s containing %q", err, meterd.EInvalidParameter, tt.message)
			}
		})
	}
}

func TestTokenKeyIsKept(t *testing.T) {
	store := openSQLite(t)
	k1, err := TokenKey(context.Background(), store)
	if err != nil || len(k1) != 32 {
		t.Fatalf("TokenKey() = %x, %v; want 32 bytes", k1, err)
	}
	k2, err := TokenKey(context.Background(), store)
	if err != nil || string(k1) != string(k2) {
		t.Errorf("second TokenKey() = %x, %v; want the stored %x", k2, err, k1)
	}
}
