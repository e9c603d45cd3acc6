package console

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/admin"
)

// FuzzBuyerForms sends any body to the buyer pages' form readers (the
// offer's acceptance and a subscription's amendment): they never panic,
// and what they pass on to the admin API is well formed: the three
// acceptances given, the buyer's own client token, no negative quantity,
// only the offer's dimensions.
func FuzzBuyerForms(f *testing.F) {
	yes := true
	offer := &meterd.Offer{ID: "offer-fuzzcontract01", ProductCode: "p", Name: "n", Pricing: meterd.PricingContract, Terms: []meterd.Term{
		{Type: meterd.TermConfigurableUpfrontPrice, RateCards: []meterd.DurationRateCard{
			{Duration: "P12M", RateCard: []meterd.RateCardItem{{DimensionKey: "seats", Price: "1"}, {DimensionKey: "premium", Price: "2"}}},
			{Duration: "P1M", RateCard: []meterd.RateCardItem{{DimensionKey: "seats", Price: "1"}}}}},
		{Type: meterd.TermFreeTrialPricing, Duration: "P30D", Grants: []meterd.GrantItem{{DimensionKey: "seats", MaxQuantity: 3}}},
		{Type: meterd.TermRenewal, AutoRenew: &yes},
	}}
	product := &admin.Product{Code: "p", Dimensions: []admin.Dimension{{Name: "seats", Contract: true}, {Name: "premium", Contract: true, ValueType: "boolean"}, {Name: "requests"}}}
	agreement := meterd.Agreement{ID: "agmt-x", Status: meterd.AgreementActive, Duration: "P12M", Terms: offer.Terms,
		Dimensions: []meterd.AgreementDimension{{Name: "seats", Quantity: 4}}}
	f.Add("accept_pricing=on&accept_eula=on&accept_customer_agreement=on&client_token=0123456789abcdef0123456789abcdef&duration=P12M&q_seats=5&q_premium=1&auto_renew=on")
	f.Add("q_seats=-1&q_premium=99999999999999999999&client_token=zz")
	f.Add("trial=on&q_seats=%20%207%20&auto_renew=")
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/marketplace/offers/x", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		in, problem := newOfferPage(offer, product).readForm(r, "555566667777")
		if problem == "" {
			if !strings.HasPrefix(in.ClientToken, "page-555566667777-") || in.Buyer != "555566667777" || in.OfferID != offer.ID {
				t.Fatalf("readForm(%q) = %+v: not the buyer's acceptance of the offer", body, in)
			}
			for _, a := range acceptances {
				if r.PostFormValue(a.Field) == "" {
					t.Fatalf("readForm(%q) accepted without %s", body, a.Field)
				}
			}
		}
		for dim, n := range in.Quantities {
			if n <= 0 || (dim != "seats" && dim != "premium") {
				t.Fatalf("readForm(%q) passes quantity %s=%d", body, dim, n)
			}
		}
		r = httptest.NewRequest(http.MethodPost, "/marketplace/subscriptions/agmt-x/amend", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		am, err := newSubscription(agreement).amendInput(r)
		if err != nil {
			return
		}
		for dim, n := range am.Quantities {
			if n < 0 || dim != "seats" && dim != "premium" || n == 4 && dim == "seats" {
				t.Fatalf("amendInput(%q) passes quantity %s=%d", body, dim, n)
			}
		}
	})
}
