package catalog_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/catalog"
	"github.com/meterd/meterd/sqlite"
)

var t0 = time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)

func openStore(t testing.TB) *sqlite.Store {
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "meterd.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

const marketYAML = `
accounts:
  - {id: "111122223333"}
products:
  - code: p1
    id: prod-p1p1p1p1p1p1p
    seller: "111122223333"
    type: saas
    concurrent_agreements: true
    dimensions:
      - {name: requests, price: "0.01"}
      - {name: seats, contract: true}
      - {name: premium, contract: true, value_type: boolean}
    offers:
      - {id: offer-usage00000001, pricing: usage}
      - id: offer-contract00001
        pricing: contract
        durations: {P12M: {seats: "100", premium: "10"}}
        visibility: private
        buyers: ["777788889999"]
    customers:
      - {aws_account_id: "444455556666", status: subscribed}
      - {aws_account_id: "444455556667", status: unsubscribe-pending}
      - {aws_account_id: "444455556668", status: unsubscribed}
      - {aws_account_id: "444455556669", status: subscribe-failed}
      - {aws_account_id: "444455556670", status: suspended}
    agreements:
      - {buyer: "777788889999", offer: offer-contract00001, duration: P12M, quantities: {seats: 3, premium: 1}}
`

// TestApplyMarketplace: each customers: entry is an agreement on the default
// offer in the state its status maps to; agreements: entries are accepted;
// a second apply adds nothing.
func TestApplyMarketplace(t *testing.T) {
	f, err := catalog.Parse([]byte(marketYAML))
	if err != nil {
		t.Fatal(err)
	}
	l := openStore(t)
	ctx := t.Context()
	for range 2 {
		if err := catalog.Apply(ctx, l, f, t0); err != nil {
			t.Fatalf("Apply = %v", err)
		}
	}
	p, err := l.Product(ctx, "p1")
	if err != nil || p.ID != "prod-p1p1p1p1p1p1p" || !p.ConcurrentAgreements || !p.Dimensions[1].Contract || p.Dimensions[2].ValueType != "boolean" {
		t.Fatalf("product = %+v, %v", p, err)
	}
	want := map[string]struct{ status, agreement string }{
		"444455556666": {meterd.StatusSubscribed, meterd.AgreementActive},
		"444455556667": {meterd.StatusUnsubscribePending, meterd.AgreementCancelled},
		"444455556668": {meterd.StatusUnsubscribed, meterd.AgreementCancelled},
		"444455556669": {meterd.StatusSubscribeFailed, ""},
		"444455556670": {meterd.StatusSuspended, meterd.AgreementActive},
		"777788889999": {meterd.StatusSubscribed, meterd.AgreementActive},
	}
	for account, w := range want {
		c, err := l.CustomerByAccount(ctx, "p1", account)
		if err != nil {
			t.Fatalf("customer %s: %v", account, err)
		}
		if got := c.EffectiveStatus(t0); got != w.status {
			t.Errorf("customer %s status = %s, want %s", account, got, w.status)
		}
		agreements, _ := l.Agreements(ctx, meterd.AgreementFilter{ProductCode: "p1", BuyerAccountID: account})
		var statuses []string
		for _, a := range agreements {
			statuses = append(statuses, a.Status)
		}
		if w.agreement == "" && len(agreements) != 0 || w.agreement != "" && (len(agreements) != 1 || agreements[0].Status != w.agreement) {
			t.Errorf("customer %s agreements = %v, want one %q", account, statuses, w.agreement)
		}
	}
	es, err := l.Entitlements(ctx, meterd.EntitlementFilter{ProductCode: "p1", At: t0, AWSAccountIDs: []string{"777788889999"}})
	if err != nil || len(es) != 2 || *es[1].IntegerValue != 3 || !*es[0].BooleanValue {
		t.Errorf("entitlements of the contract = %d, %v; want premium true and seats 3", len(es), err)
	}
	events, _ := l.Events(ctx, meterd.EventFilter{ProductCode: "p1"})
	offers, _ := l.Offers(ctx, "p1")
	for _, o := range offers {
		if o.Default != (o.ID == "offer-usage00000001") {
			t.Errorf("offer %s Default = %v, want only the usage offer default", o.ID, o.Default)
		}
	}
	if len(offers) != 2 {
		t.Errorf("offers = %d, want 2", len(offers))
	}
	// Applying once more (a restart) writes no event.
	if err := catalog.Apply(ctx, l, f, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	again, _ := l.Events(ctx, meterd.EventFilter{ProductCode: "p1"})
	if len(again) != len(events) {
		t.Errorf("a re-apply wrote %d events, want 0: %s", len(again)-len(events), again[len(again)-1].Type)
	}
}

func TestMarketplaceErrors(t *testing.T) {
	tests := []struct {
		name, from, to, want string
	}{
		{"OfferDimension", `P12M: {seats: "100", premium: "10"}`, `P12M: {requests: "100"}`, `products[0].offers[1].durations.P12M.requests: product p1 has no contract dimension`},
		{"Pricing", "pricing: usage}", "pricing: gratis}", `products[0].offers[0].pricing: "gratis" is not usage`},
		{"ValueType", "value_type: boolean", "value_type: text", `products[0].dimensions[2].value_type: must be integer or boolean`},
		{"AgreementOffer", "offer: offer-contract00001,", "offer: offer-nosuchoffer00,", `products[0].agreements[0].offer: product p1 declares no offer`},
		{"AgreementQuantity", "quantities: {seats: 3, premium: 1}", "quantities: {seats: -3}", `products[0].agreements[0].quantities.seats: a quantity is 0`},
		{"PrivateBuyer", `buyers: ["777788889999"]`, `buyers: ["777788880000"]`, `products[0].agreements[0].offer: offer offer-contract00001 is private`},
		{"ProductID", "id: prod-p1p1p1p1p1p1p", "id: prod-X", `products[0].id: must be prod-`},
		{"UnknownKey", "concurrent_agreements: true", "concurrent: true", `unknown field "concurrent"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(marketYAML, tt.from, tt.to, 1)
			if src == marketYAML {
				t.Fatalf("replacement %q not found", tt.from)
			}
			_, err := catalog.Parse([]byte(src))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), ": ") {
				t.Errorf("Parse = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

// TestApply10000Customers reports how long applying a catalog of 10,000
// customers (10,000 agreements and their events) takes.
func TestApply10000Customers(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 customers")
	}
	f := &catalog.File{Accounts: []catalog.Account{{ID: "111122223333"}}, Products: []catalog.Product{{
		Code: "big", Seller: "111122223333", Type: "saas", Dimensions: []catalog.Dimension{{Name: "requests"}}}}}
	for i := range 10000 {
		f.Products[0].Customers = append(f.Products[0].Customers, catalog.Customer{AWSAccountID: fmt.Sprintf("%012d", 100000000000+i)})
	}
	l := openStore(t)
	start := time.Now()
	if err := catalog.Apply(t.Context(), l, f, t0); err != nil {
		t.Fatal(err)
	}
	t.Logf("applied a catalog of 10,000 customers in %v", time.Since(start))
	agreements, _ := l.Agreements(t.Context(), meterd.AgreementFilter{ProductCode: "big"})
	if len(agreements) != 10000 {
		t.Errorf("agreements = %d, want 10000", len(agreements))
	}
}
