package ledgertest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meterd/meterd"
)

// Marketplace fixtures.
const (
	offerUsage    = "offer-usage00000001"
	offerContract = "offer-contract00001"
	license1      = "arn:aws:license-manager::111122223333:license:l-00000000000000000000000000000001"
	license2      = "arn:aws:license-manager::111122223333:license:l-00000000000000000000000000000002"
	license3      = "arn:aws:license-manager::111122223333:license:l-00000000000000000000000000000003"
)

func testMarket(t *testing.T, open Open) {
	t.Run("Offers", func(t *testing.T) { testOffers(t, open) })
	t.Run("Agreements", func(t *testing.T) { testAgreements(t, open) })
	t.Run("AgreementConflicts", func(t *testing.T) { testAgreementConflicts(t, open) })
	t.Run("Licenses", func(t *testing.T) { testLicenses(t, open) })
	t.Run("Entitlements", func(t *testing.T) { testEntitlements(t, open) })
	t.Run("Events", func(t *testing.T) { testEvents(t, open) })
	t.Run("Due", func(t *testing.T) { testDue(t, open) })
	t.Run("Customers", func(t *testing.T) { testMarketCustomers(t, open) })
	t.Run("ProductFields", func(t *testing.T) { testProductFields(t, open) })
	t.Run("Reset", func(t *testing.T) { testMarketReset(t, open) })
	t.Run("AgreementRequests", func(t *testing.T) { testAgreementRequests(t, open) })
	t.Run("AgreementEnds", func(t *testing.T) { testAgreementEnds(t, open) })
}

// RunShared runs the checks that need two stores on one database (two
// processes sharing PostgreSQL); open returns both. A store that only one
// process may open can pass the same store twice.
func RunShared(t *testing.T, open func(t *testing.T) (meterd.Ledger, meterd.Ledger)) {
	t.Run("ConcurrentAcceptance", func(t *testing.T) { testConcurrentAcceptance(t, open) })
	t.Run("ConcurrentInitSetting", func(t *testing.T) { testConcurrentInitSetting(t, open) })
}

// testConcurrentInitSetting: nodes that initialize one setting at once
// (such as the pagination token key on a new shared store) all get the value
// that was stored.
func testConcurrentInitSetting(t *testing.T, open func(t *testing.T) (meterd.Ledger, meterd.Ledger)) {
	a, b := open(t)
	const n = 8
	got := make([]string, 2*n)
	errs := make([]error, 2*n)
	var wg sync.WaitGroup
	for i := range got {
		l := a
		if i%2 == 1 {
			l = b
		}
		wg.Go(func() { got[i], errs[i] = l.InitSetting(t.Context(), "race", fmt.Sprintf("value-%d", i)) })
	}
	wg.Wait()
	for i := range got {
		must(t, "InitSetting", errs[i])
		if got[i] != got[0] {
			t.Fatalf("InitSetting answers differ: %q and %q", got[0], got[i])
		}
	}
	if stored, _ := a.Setting(t.Context(), "race"); stored != got[0] {
		t.Errorf("Setting(race) = %q, InitSetting answered %q", stored, got[0])
	}
}

func apply(t *testing.T, l meterd.Ledger, ch *meterd.MarketChange) {
	t.Helper()
	must(t, "ApplyMarketChange", l.ApplyMarketChange(t.Context(), ch))
}

func testOffer(id, product string, created time.Time) *meterd.Offer {
	yes := true
	return &meterd.Offer{
		ID: id, ProductCode: product, Name: "Offer " + id, Pricing: meterd.PricingContract, Visibility: meterd.VisibilityPrivate,
		Buyers: []string{buyer2}, AgreementProposalID: "ap-" + id,
		Terms: []meterd.Term{
			{ID: "term-00000000000000000000000000000001", Type: meterd.TermConfigurableUpfrontPrice, CurrencyCode: "USD",
				RateCards: []meterd.DurationRateCard{{Duration: "P12M", RateCard: []meterd.RateCardItem{{DimensionKey: "seats", Price: "120"}}}}},
			{ID: "term-00000000000000000000000000000002", Type: meterd.TermRenewal, AutoRenew: &yes},
		},
		CreatedAt: created,
	}
}

func testOffers(t *testing.T, open Open) {
	l := open(t)
	ctx := t.Context()
	seedCatalog(t, l)
	o2 := testOffer(offerContract, product1, h1)
	o1 := testOffer(offerUsage, product1, h0)
	o3 := testOffer("offer-other00000001", product2, h0)
	apply(t, l, &meterd.MarketChange{Offers: []*meterd.Offer{o2, o1, o3}})
	got, err := l.Offer(ctx, offerContract)
	must(t, "Offer", err)
	if got.Name != o2.Name || got.Visibility != meterd.VisibilityPrivate || !slices.Equal(got.Buyers, []string{buyer2}) ||
		len(got.Terms) != 2 || got.Terms[0].RateCards[0].RateCard[0].Price != "120" || !*got.Terms[1].AutoRenew {
		t.Errorf("Offer(%s) = %+v, want %+v", offerContract, got, o2)
	}
	checkTime(t, "Offer.CreatedAt", got.CreatedAt, h1)
	byAP, err := l.OfferByProposal(ctx, o1.AgreementProposalID)
	must(t, "OfferByProposal", err)
	if byAP.ID != offerUsage {
		t.Errorf("OfferByProposal(%s).ID = %s, want %s", o1.AgreementProposalID, byAP.ID, offerUsage)
	}
	list, err := l.Offers(ctx, product1)
	must(t, "Offers", err)
	if len(list) != 2 || list[0].ID != offerUsage || list[1].ID != offerContract {
		t.Errorf("Offers(%s) = %d offers, want [%s %s] (by creation)", product1, len(list), offerUsage, offerContract)
	}
	all, err := l.Offers(ctx, "")
	must(t, "Offers(all)", err)
	if len(all) != 3 {
		t.Errorf("Offers(\"\") = %d offers, want 3", len(all))
	}
	_, err = l.Offer(ctx, "offer-nosuchoffer00")
	checkCode(t, "Offer(unknown)", err, meterd.ENotFound)
	_, err = l.OfferByProposal(ctx, "ap-nosuch")
	checkCode(t, "OfferByProposal(unknown)", err, meterd.ENotFound)
	bad := testOffer("offer-badproduct001", "no-such-product", h0)
	checkCode(t, "ApplyMarketChange(offer of unknown product)", l.ApplyMarketChange(ctx, &meterd.MarketChange{Offers: []*meterd.Offer{bad}}), meterd.ENotFound)
}

// testAgreement returns an ACTIVE NEW contract agreement of customer1 of
// product1 on license, from start for a year.
func testAgreement(n int, license string, start time.Time) *meterd.Agreement {
	end := start.AddDate(1, 0, 0)
	return &meterd.Agreement{
		ID: fmt.Sprintf("agmt-%025d", n), Status: meterd.AgreementActive, Intent: meterd.IntentNew,
		ProductCode: product1, OfferID: offerContract, BuyerAccountID: buyer1, SellerAccountID: seller,
		CustomerIdentifier: customer1, LicenseArn: license, AcceptanceTime: start, StartTime: start, EndTime: &end,
		Duration: "P12M", AutoRenew: true,
		Dimensions: []meterd.AgreementDimension{{Name: "seats", Quantity: 10}, {Name: "premium", Quantity: 1, ValueType: meterd.ValueBoolean}},
		RequestKey: fmt.Sprintf("request-%d", n), UpdatedAt: start,
	}
}

func testAgreements(t *testing.T, open Open) {
	l := open(t)
	ctx := t.Context()
	seedCatalog(t, l)
	a := testAgreement(1, license1, h0.Add(123456789*time.Nanosecond))
	b := testAgreement(2, license2, h1)
	b.BuyerAccountID, b.CustomerIdentifier, b.Status = buyer2, customer2, meterd.AgreementCancelled
	apply(t, l, &meterd.MarketChange{Insert: []*meterd.Agreement{b, a}})
	if a.Version != 1 {
		t.Errorf("inserted Version = %d, want 1", a.Version)
	}
	got, err := l.Agreement(ctx, a.ID)
	must(t, "Agreement", err)
	if got.Status != meterd.AgreementActive || got.LicenseArn != license1 || got.RequestKey != "request-1" || got.Version != 1 ||
		len(got.Dimensions) != 2 || got.Dimensions[1].ValueType != meterd.ValueBoolean || !got.AutoRenew {
		t.Errorf("Agreement(%s) = %+v, want %+v", a.ID, got, a)
	}
	checkTime(t, "Agreement.StartTime", got.StartTime, h0.Add(123*time.Millisecond))
	checkTime(t, "Agreement.EndTime", *got.EndTime, h0.Add(123*time.Millisecond).AddDate(1, 0, 0))
	byReq, err := l.AgreementByRequest(ctx, product1, "request-2")
	must(t, "AgreementByRequest", err)
	if byReq.ID != b.ID {
		t.Errorf("AgreementByRequest(request-2).ID = %s, want %s", byReq.ID, b.ID)
	}
	_, err = l.AgreementByRequest(ctx, product2, "request-2")
	checkCode(t, "AgreementByRequest(other product)", err, meterd.ENotFound)
	_, err = l.Agreement(ctx, "agmt-nosuch")
	checkCode(t, "Agreement(unknown)", err, meterd.ENotFound)

	tests := []struct {
		name string
		f    meterd.AgreementFilter
		want []string
	}{
		{"All", meterd.AgreementFilter{}, []string{a.ID, b.ID}},
		{"Product", meterd.AgreementFilter{ProductCode: product1}, []string{a.ID, b.ID}},
		{"OtherProduct", meterd.AgreementFilter{ProductCode: product2}, nil},
		{"Buyer", meterd.AgreementFilter{BuyerAccountID: buyer2}, []string{b.ID}},
		{"Seller", meterd.AgreementFilter{SellerAccountID: seller}, []string{a.ID, b.ID}},
		{"Status", meterd.AgreementFilter{Status: meterd.AgreementActive}, []string{a.ID}},
		{"Customer", meterd.AgreementFilter{ProductCode: product1, CustomerIdentifier: customer2}, []string{b.ID}},
		{"License", meterd.AgreementFilter{LicenseArn: license1}, []string{a.ID}},
		{"Offer", meterd.AgreementFilter{OfferID: offerUsage}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := l.Agreements(ctx, tt.f)
			must(t, "Agreements", err)
			var ids []string
			for _, x := range list {
				ids = append(ids, x.ID)
			}
			if !slices.Equal(ids, tt.want) {
				t.Errorf("Agreements(%+v) = %v, want %v", tt.f, ids, tt.want)
			}
		})
	}

	// An update with the stored version replaces the agreement and bumps it.
	got.Status = meterd.AgreementExpired
	apply(t, l, &meterd.MarketChange{Update: []meterd.AgreementUpdate{{Agreement: got, ExpectVersion: 1}}})
	again, err := l.Agreement(ctx, a.ID)
	must(t, "Agreement after update", err)
	if again.Status != meterd.AgreementExpired || again.Version != 2 || again.RequestKey != "request-1" {
		t.Errorf("after update: status %s version %d key %q, want EXPIRED 2 request-1", again.Status, again.Version, again.RequestKey)
	}
}

func testAgreementConflicts(t *testing.T, open Open) {
	l := open(t)
	ctx := t.Context()
	seedCatalog(t, l)
	a := testAgreement(1, license1, h0)
	apply(t, l, &meterd.MarketChange{Insert: []*meterd.Agreement{a},
		Licenses: []*meterd.License{{Arn: license1, ProductCode: product1, CustomerIdentifier: customer1, StartTime: h0}}})
	event := func(id string) *meterd.Event {
		return &meterd.Event{ID: id, Channel: meterd.ChannelEventBridge, Type: "x", ProductCode: product1, Payload: "{}", CreatedAt: h0}
	}
	tests := []struct {
		name string
		ch   *meterd.MarketChange
	}{
		{"SameRequestKey", &meterd.MarketChange{Insert: []*meterd.Agreement{func() *meterd.Agreement {
			b := testAgreement(2, license2, h0)
			b.RequestKey = a.RequestKey
			return b
		}()}}},
		{"SameID", &meterd.MarketChange{Insert: []*meterd.Agreement{func() *meterd.Agreement {
			b := testAgreement(1, license2, h0)
			b.RequestKey = "another"
			return b
		}()}}},
		{"StaleVersion", &meterd.MarketChange{Update: []meterd.AgreementUpdate{{Agreement: testAgreement(1, license1, h0), ExpectVersion: 7}}}},
		{"MissingDue", &meterd.MarketChange{Unschedule: []meterd.Due{{Kind: meterd.DueEnd, Ref: a.ID}}}},
		{"LicenseOfAnotherCustomer", &meterd.MarketChange{Licenses: []*meterd.License{{Arn: license1, ProductCode: product1, CustomerIdentifier: customer2, StartTime: h0}}}},
		{"CustomerAccountTaken", &meterd.MarketChange{Customers: []*meterd.Customer{{ProductCode: product1, CustomerIdentifier: "cust-new",
			CustomerAWSAccountID: buyer1, Status: meterd.StatusSubscribed, Platform: meterd.PlatformOther, StatusChangedAt: h0, CreatedAt: h0}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.ch.Events = append(tt.ch.Events, event("evt-"+tt.name))
			tt.ch.Licenses = append(tt.ch.Licenses, &meterd.License{Arn: license3, ProductCode: product1, CustomerIdentifier: customer1, StartTime: h0})
			checkCode(t, "ApplyMarketChange", l.ApplyMarketChange(ctx, tt.ch), meterd.EConflict)
			// Nothing of the change is written.
			events, err := l.Events(ctx, meterd.EventFilter{})
			must(t, "Events", err)
			if len(events) != 0 {
				t.Errorf("after a conflict, Events() = %d rows, want 0", len(events))
			}
			_, err = l.License(ctx, license3)
			checkCode(t, "License(of the refused change)", err, meterd.ENotFound)
			got, err := l.Agreement(ctx, a.ID)
			must(t, "Agreement", err)
			if got.Version != 1 || got.LicenseArn != license1 {
				t.Errorf("after a conflict, agreement version %d license %s, want 1 %s", got.Version, got.LicenseArn, license1)
			}
		})
	}
}

func testLicenses(t *testing.T, open Open) {
	l := open(t)
	ctx := t.Context()
	seedCatalog(t, l)
	end := h2
	apply(t, l, &meterd.MarketChange{Licenses: []*meterd.License{
		{Arn: license2, ProductCode: product1, CustomerIdentifier: customer1, StartTime: h1, CreatedAt: h1},
		{Arn: license1, ProductCode: product1, CustomerIdentifier: customer1, StartTime: h0, CreatedAt: h0, DeprovisionedAt: &end},
		{Arn: license3, ProductCode: product1, CustomerIdentifier: customer2, StartTime: h0, CreatedAt: h0},
	}})
	got, err := l.License(ctx, license1)
	must(t, "License", err)
	if got.CustomerIdentifier != customer1 || got.DeprovisionedAt == nil {
		t.Fatalf("License(%s) = %+v, want deprovisioned at %v", license1, got, end)
	}
	checkTime(t, "License.DeprovisionedAt", *got.DeprovisionedAt, h2)
	if !got.ActiveAt(h0) || !got.ActiveAt(h2.Add(59*time.Minute)) || got.ActiveAt(h2.Add(time.Hour)) || got.ActiveAt(h0.Add(-time.Second)) {
		t.Errorf("License.ActiveAt: want active from %v to one hour after %v", h0, h2)
	}
	list, err := l.Licenses(ctx, product1, customer1)
	must(t, "Licenses", err)
	if len(list) != 2 || list[0].Arn != license1 || list[1].Arn != license2 {
		t.Errorf("Licenses(%s, %s) = %d, want [%s %s]", product1, customer1, len(list), license1, license2)
	}
	all, err := l.Licenses(ctx, product1, "")
	must(t, "Licenses(all)", err)
	if len(all) != 3 {
		t.Errorf("Licenses(%s, \"\") = %d, want 3", product1, len(all))
	}
	_, err = l.License(ctx, "arn:nosuch")
	checkCode(t, "License(unknown)", err, meterd.ENotFound)
}

func testEntitlements(t *testing.T, open Open) {
	l := open(t)
	ctx := t.Context()
	seedCatalog(t, l)
	a := testAgreement(1, license1, h0) // customer1, seats 10, premium true
	b := testAgreement(2, license2, h0) // customer2
	b.CustomerIdentifier, b.BuyerAccountID = customer2, buyer2
	b.Dimensions = []meterd.AgreementDimension{{Name: "seats", Quantity: 3}}
	c := testAgreement(3, license3, h2) // customer1, future-dated
	d := testAgreement(4, license3, h0) // cancelled
	d.Status = meterd.AgreementCancelled
	e := testAgreement(5, license3, h0) // another product
	e.ProductCode = product2
	apply(t, l, &meterd.MarketChange{Insert: []*meterd.Agreement{a, b, c, d, e}})

	type row struct{ cust, dim, license string }
	rows := func(es []*meterd.Entitlement) []row {
		var out []row
		for _, e := range es {
			out = append(out, row{e.CustomerIdentifier, e.Dimension, e.LicenseArn})
		}
		return out
	}
	p1, s1 := row{customer1, "premium", license1}, row{customer1, "seats", license1}
	s2 := row{customer2, "seats", license2}
	p3, s3 := row{customer1, "premium", license3}, row{customer1, "seats", license3}
	tests := []struct {
		name string
		f    meterd.EntitlementFilter
		want []row
	}{
		{"All", meterd.EntitlementFilter{}, []row{p1, s1, s2}},
		{"Customer", meterd.EntitlementFilter{CustomerIdentifiers: []string{customer2}}, []row{s2}},
		{"Customers", meterd.EntitlementFilter{CustomerIdentifiers: []string{customer2, customer1}}, []row{p1, s1, s2}},
		{"Account", meterd.EntitlementFilter{AWSAccountIDs: []string{buyer1}}, []row{p1, s1}},
		{"Dimension", meterd.EntitlementFilter{Dimensions: []string{"seats"}}, []row{s1, s2}},
		{"License", meterd.EntitlementFilter{LicenseArns: []string{license2}}, []row{s2}},
		{"And", meterd.EntitlementFilter{CustomerIdentifiers: []string{customer1}, Dimensions: []string{"seats"}}, []row{s1}},
		{"Limit", meterd.EntitlementFilter{Limit: 2}, []row{p1, s1}},
		{"After", meterd.EntitlementFilter{After: &meterd.EntitlementKey{CustomerIdentifier: customer1, Dimension: "seats", LicenseArn: license1}}, []row{s2}},
		{"FutureStarted", meterd.EntitlementFilter{At: h2}, []row{p1, p3, s1, s3, s2}},
		{"Expired", meterd.EntitlementFilter{At: h2.AddDate(1, 0, 0)}, nil},
		{"BeforeStart", meterd.EntitlementFilter{At: h0.Add(-time.Millisecond)}, nil},
		{"NoMatch", meterd.EntitlementFilter{CustomerIdentifiers: []string{"nobody"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.f.ProductCode = product1
			if tt.f.At.IsZero() {
				tt.f.At = h1
			}
			got, err := l.Entitlements(ctx, tt.f)
			must(t, "Entitlements", err)
			if !slices.Equal(rows(got), tt.want) {
				t.Errorf("Entitlements(%+v) = %v, want %v", tt.f, rows(got), tt.want)
			}
		})
	}
	got, err := l.Entitlements(ctx, meterd.EntitlementFilter{ProductCode: product1, At: h1, CustomerIdentifiers: []string{customer1}})
	must(t, "Entitlements", err)
	if len(got) != 2 {
		t.Fatalf("Entitlements(customer1) = %d, want 2", len(got))
	}
	if got[0].BooleanValue == nil || !*got[0].BooleanValue || got[0].IntegerValue != nil {
		t.Errorf("premium entitlement = %+v, want BooleanValue true only", got[0])
	}
	if got[1].IntegerValue == nil || *got[1].IntegerValue != 10 || got[1].BooleanValue != nil {
		t.Errorf("seats entitlement = %+v, want IntegerValue 10 only", got[1])
	}
	if got[1].CustomerAWSAccountID != buyer1 || got[1].AgreementID != a.ID || got[1].ProductCode != product1 {
		t.Errorf("seats entitlement = %+v, want account %s agreement %s", got[1], buyer1, a.ID)
	}
	if got[1].ExpirationDate == nil {
		t.Fatalf("seats entitlement has no ExpirationDate, want %v", *a.EndTime)
	}
	checkTime(t, "ExpirationDate", *got[1].ExpirationDate, *a.EndTime)

	// An update that ends the agreement ends its entitlements.
	a.Status = meterd.AgreementExpired
	apply(t, l, &meterd.MarketChange{Update: []meterd.AgreementUpdate{{Agreement: a, ExpectVersion: 1}}})
	got, err = l.Entitlements(ctx, meterd.EntitlementFilter{ProductCode: product1, At: h1, CustomerIdentifiers: []string{customer1}})
	must(t, "Entitlements after expiry", err)
	if len(got) != 0 {
		t.Errorf("Entitlements of an EXPIRED agreement = %d, want 0", len(got))
	}
}

func testEvents(t *testing.T, open Open) {
	l := open(t)
	ctx := t.Context()
	seedCatalog(t, l)
	ev := func(id, product, typ string) *meterd.Event {
		return &meterd.Event{ID: id, Channel: meterd.ChannelSubscription, Type: typ, ProductCode: product,
			CustomerIdentifier: customer1, AgreementID: "agmt-1", Payload: `{"action":"` + typ + `"}`, CreatedAt: h0.Add(1500 * time.Microsecond)}
	}
	first := []*meterd.Event{ev("e1", product1, "subscribe-success"), ev("e2", product2, "subscribe-success")}
	apply(t, l, &meterd.MarketChange{Events: first})
	apply(t, l, &meterd.MarketChange{Events: []*meterd.Event{ev("e3", product1, "unsubscribe-pending")}})
	all, err := l.Events(ctx, meterd.EventFilter{})
	must(t, "Events", err)
	if len(all) != 3 || all[0].ID != "e1" || all[1].ID != "e2" || all[2].ID != "e3" {
		t.Fatalf("Events() = %d rows, want e1 e2 e3", len(all))
	}
	if !(all[0].Seq < all[1].Seq && all[1].Seq < all[2].Seq) || first[0].Seq != all[0].Seq {
		t.Errorf("Seqs = %d %d %d (given %d), want increasing and set on the change's events", all[0].Seq, all[1].Seq, all[2].Seq, first[0].Seq)
	}
	if all[2].Payload != `{"action":"unsubscribe-pending"}` || all[2].Channel != meterd.ChannelSubscription || all[2].AgreementID != "agmt-1" {
		t.Errorf("Events()[2] = %+v", all[2])
	}
	checkTime(t, "Event.CreatedAt", all[0].CreatedAt, h0.Add(time.Millisecond))
	tests := []struct {
		name string
		f    meterd.EventFilter
		want []string
	}{
		{"Product", meterd.EventFilter{ProductCode: product1}, []string{"e1", "e3"}},
		{"Type", meterd.EventFilter{Type: "subscribe-success"}, []string{"e1", "e2"}},
		{"Both", meterd.EventFilter{ProductCode: product1, Type: "subscribe-success"}, []string{"e1"}},
		{"After", meterd.EventFilter{AfterSeq: all[0].Seq}, []string{"e2", "e3"}},
		{"Limit", meterd.EventFilter{Limit: 1}, []string{"e1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := l.Events(ctx, tt.f)
			must(t, "Events", err)
			var ids []string
			for _, e := range got {
				ids = append(ids, e.ID)
			}
			if !slices.Equal(ids, tt.want) {
				t.Errorf("Events(%+v) = %v, want %v", tt.f, ids, tt.want)
			}
		})
	}
}

func testDue(t *testing.T, open Open) {
	l := open(t)
	ctx := t.Context()
	seedCatalog(t, l)
	if _, ok, err := l.NextDue(ctx); err != nil || ok {
		t.Fatalf("NextDue() on none = %v, %v, want false, nil", ok, err)
	}
	apply(t, l, &meterd.MarketChange{Schedule: []meterd.Due{
		{Kind: meterd.DueEnd, Ref: "agmt-b", ProductCode: product1, At: h2},
		{Kind: meterd.DueStart, Ref: "agmt-a", ProductCode: product1, At: h1},
		{Kind: meterd.DueEnd, Ref: "agmt-a", ProductCode: product1, At: h1},
	}})
	next, ok, err := l.NextDue(ctx)
	must(t, "NextDue", err)
	if !ok {
		t.Fatal("NextDue() ok = false, want true")
	}
	checkTime(t, "NextDue", next, h1)
	due, err := l.DueTransitions(ctx, h1, 0)
	must(t, "DueTransitions", err)
	if len(due) != 2 || due[0].Kind != meterd.DueEnd || due[1].Kind != meterd.DueStart || due[0].Ref != "agmt-a" {
		t.Fatalf("DueTransitions(h1) = %+v, want end then start of agmt-a", due)
	}
	checkTime(t, "Due.At", due[0].At, h1)
	if due, _ := l.DueTransitions(ctx, h2, 1); len(due) != 1 {
		t.Errorf("DueTransitions(h2, limit 1) = %d, want 1", len(due))
	}
	// Rescheduling moves the time; unscheduling removes it, once.
	apply(t, l, &meterd.MarketChange{Schedule: []meterd.Due{{Kind: meterd.DueEnd, Ref: "agmt-b", ProductCode: product1, At: h0}}})
	apply(t, l, &meterd.MarketChange{Unschedule: []meterd.Due{{Kind: meterd.DueEnd, Ref: "agmt-a"}, {Kind: meterd.DueStart, Ref: "agmt-a"}}})
	checkCode(t, "Unschedule twice", l.ApplyMarketChange(ctx, &meterd.MarketChange{Unschedule: []meterd.Due{{Kind: meterd.DueEnd, Ref: "agmt-a"}}}), meterd.EConflict)
	// Dropping removes when present and is no conflict when absent.
	apply(t, l, &meterd.MarketChange{Schedule: []meterd.Due{{Kind: meterd.DueStart, Ref: "agmt-c", ProductCode: product1, At: h1}}})
	apply(t, l, &meterd.MarketChange{Drop: []meterd.Due{{Kind: meterd.DueEnd, Ref: "agmt-a"}, {Kind: meterd.DueStart, Ref: "agmt-c"}}})
	due, err = l.DueTransitions(ctx, h2, 0)
	must(t, "DueTransitions", err)
	if len(due) != 1 || due[0].Ref != "agmt-b" {
		t.Fatalf("DueTransitions(h2) = %+v, want agmt-b only", due)
	}
	checkTime(t, "rescheduled Due.At", due[0].At, h0)
}

func testMarketCustomers(t *testing.T, open Open) {
	l := open(t)
	ctx := t.Context()
	seedCatalog(t, l)
	// Read first, so that a store keeping customers in memory has them.
	if _, err := l.CustomerByAccount(ctx, product1, buyer1); err != nil {
		t.Fatal(err)
	}
	c := &meterd.Customer{ProductCode: product1, CustomerIdentifier: customer1, CustomerAWSAccountID: buyer1, LicenseArn: license2,
		Status: meterd.StatusUnsubscribePending, Platform: meterd.PlatformOther, StatusChangedAt: h1, CreatedAt: h0}
	a := testAgreement(1, license2, h0)
	apply(t, l, &meterd.MarketChange{Customers: []*meterd.Customer{c}, Insert: []*meterd.Agreement{a}})
	got, err := l.CustomerByAccount(ctx, product1, buyer1)
	must(t, "CustomerByAccount", err)
	if got.Status != meterd.StatusUnsubscribePending || got.LicenseArn != license2 {
		t.Errorf("customer after a market change = %+v, want unsubscribe-pending with %s", got, license2)
	}
	checkTime(t, "Customer.StatusChangedAt", got.StatusChangedAt, h1)
}

func testProductFields(t *testing.T, open Open) {
	l := open(t)
	ctx := t.Context()
	must(t, "PutAccount", l.PutAccount(ctx, &meterd.Account{ID: seller, CreatedAt: h0}))
	p := &meterd.Product{Code: product1, ID: "prod-demoproduct1", SellerAccountID: seller, Type: meterd.ProductSaaS, ConcurrentAgreements: true,
		Dimensions: []meterd.Dimension{{Name: "requests"}, {Name: "seats", Contract: true}, {Name: "premium", Contract: true, ValueType: meterd.ValueBoolean}},
		CreatedAt:  h0}
	must(t, "PutProduct", l.PutProduct(ctx, p))
	for _, get := range []func() (*meterd.Product, error){
		func() (*meterd.Product, error) { return l.Product(ctx, product1) },
		func() (*meterd.Product, error) {
			ps, err := l.Products(ctx)
			if err != nil || len(ps) != 1 {
				return nil, fmt.Errorf("Products() = %d, %v", len(ps), err)
			}
			return ps[0], nil
		},
	} {
		got, err := get()
		must(t, "Product", err)
		if got.ID != p.ID || !got.ConcurrentAgreements || len(got.Dimensions) != 3 || got.Dimensions[0].Contract ||
			!got.Dimensions[1].Contract || got.Dimensions[2].ValueType != meterd.ValueBoolean {
			t.Errorf("Product = %+v, want %+v", got, p)
		}
	}
}

func testMarketReset(t *testing.T, open Open) {
	l := open(t)
	ctx := t.Context()
	seedCatalog(t, l)
	o := testOffer(offerContract, product1, h0)
	a := testAgreement(1, license1, h0)
	apply(t, l, &meterd.MarketChange{Offers: []*meterd.Offer{o}, Insert: []*meterd.Agreement{a},
		Licenses: []*meterd.License{{Arn: license1, ProductCode: product1, CustomerIdentifier: customer1, StartTime: h0}},
		Events:   []*meterd.Event{{ID: "e1", Channel: meterd.ChannelEventBridge, Type: "x", ProductCode: product1, Payload: "{}", CreatedAt: h0}},
		Schedule: []meterd.Due{{Kind: meterd.DueEnd, Ref: a.ID, ProductCode: product1, At: h1}}})
	must(t, "Reset", l.Reset(ctx))
	seedCatalog(t, l)
	if list, _ := l.Offers(ctx, ""); len(list) != 0 {
		t.Errorf("Offers after Reset = %d, want 0", len(list))
	}
	if list, _ := l.Agreements(ctx, meterd.AgreementFilter{}); len(list) != 0 {
		t.Errorf("Agreements after Reset = %d, want 0", len(list))
	}
	if list, _ := l.Licenses(ctx, product1, ""); len(list) != 0 {
		t.Errorf("Licenses after Reset = %d, want 0", len(list))
	}
	if list, _ := l.Events(ctx, meterd.EventFilter{}); len(list) != 0 {
		t.Errorf("Events after Reset = %d, want 0", len(list))
	}
	if _, ok, _ := l.NextDue(ctx); ok {
		t.Error("NextDue after Reset: ok = true, want false")
	}
	if list, _ := l.Entitlements(ctx, meterd.EntitlementFilter{ProductCode: product1, At: h1}); len(list) != 0 {
		t.Errorf("Entitlements after Reset = %d, want 0", len(list))
	}
	// The same ids can be used again, and seq does not go back.
	e := &meterd.Event{ID: "e1", Channel: meterd.ChannelEventBridge, Type: "x", ProductCode: product1, Payload: "{}", CreatedAt: h0}
	apply(t, l, &meterd.MarketChange{Insert: []*meterd.Agreement{testAgreement(1, license1, h0)}, Events: []*meterd.Event{e}})
	if e.Seq < 2 {
		t.Errorf("seq after Reset = %d, want more than the 1 used before", e.Seq)
	}
}

// testConcurrentAcceptance accepts the same request through both stores at
// once, many times: each time exactly one agreement is made, and the loser
// gets EConflict and wrote nothing.
func testConcurrentAcceptance(t *testing.T, open func(t *testing.T) (meterd.Ledger, meterd.Ledger)) {
	l1, l2 := open(t)
	ctx := t.Context()
	seedCatalog(t, l1)
	const rounds = 20
	for i := range rounds {
		var wg sync.WaitGroup
		var errs [2]error
		for j, l := range []meterd.Ledger{l1, l2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a := testAgreement(1000*i+j, license1, h0) // different ids, one request key
				a.RequestKey = fmt.Sprintf("round-%d", i)
				errs[j] = l.ApplyMarketChange(ctx, &meterd.MarketChange{Insert: []*meterd.Agreement{a},
					Events: []*meterd.Event{{ID: fmt.Sprintf("evt-%d-%d", i, j), Channel: meterd.ChannelEventBridge, Type: "created",
						ProductCode: product1, Payload: "{}", CreatedAt: h0}}})
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else if meterd.ErrorCode(err) != meterd.EConflict {
				t.Fatalf("round %d: ApplyMarketChange = %v, want nil or EConflict", i, err)
			}
		}
		if ok != 1 {
			t.Fatalf("round %d: %d acceptances of one request succeeded, want exactly 1 (errors %v)", i, ok, errs)
		}
	}
	agreements, err := l2.Agreements(ctx, meterd.AgreementFilter{ProductCode: product1})
	must(t, "Agreements", err)
	events, err := l1.Events(ctx, meterd.EventFilter{})
	must(t, "Events", err)
	if len(agreements) != rounds || len(events) != rounds {
		t.Errorf("after %d rounds: %d agreements and %d events, want %d of each", rounds, len(agreements), len(events), rounds)
	}
}

// testAgreementRequests: a request is stored once per buyer's client
// token, read back by id, accepted by exactly one market change, and gone
// after Reset.
func testAgreementRequests(t *testing.T, open Open) {
	l := open(t)
	ctx := t.Context()
	yes := true
	r := &meterd.AgreementRequest{ID: "ar-0000000000000000000000001", BuyerAccountID: buyer1, Intent: meterd.IntentNew,
		ProductCode: product1, OfferID: offerContract, Duration: "P12M", Quantities: map[string]int64{"seats": 3}, AutoRenew: &yes,
		ClientToken: "token-1", Fingerprint: "f1", CreatedAt: h0.Add(1500 * time.Microsecond)}
	got, err := l.PutAgreementRequest(ctx, r)
	must(t, "PutAgreementRequest", err)
	if got.ID != r.ID || !got.CreatedAt.Equal(h0.Add(time.Millisecond)) || got.Quantities["seats"] != 3 || got.AutoRenew == nil || !*got.AutoRenew {
		t.Errorf("PutAgreementRequest = %+v, want the request, created at the millisecond", got)
	}
	retry := *r
	retry.ID, retry.Fingerprint = "ar-0000000000000000000000002", "f2"
	got, err = l.PutAgreementRequest(ctx, &retry)
	if err != nil || got.ID != r.ID || got.Fingerprint != "f1" {
		t.Errorf("PutAgreementRequest with a used client token = %+v, %v; want the first request", got, err)
	}
	if _, err := l.AgreementRequest(ctx, retry.ID); meterd.ErrorCode(err) != meterd.ENotFound {
		t.Errorf("AgreementRequest(the retry's id) = %v, want ENotFound: nothing stored", err)
	}
	other := retry
	other.BuyerAccountID = buyer2
	if got, err := l.PutAgreementRequest(ctx, &other); err != nil || got.ID != other.ID {
		t.Errorf("PutAgreementRequest with another buyer's token = %+v, %v; want it stored", got, err)
	}
	for i, id := range []string{"ar-0000000000000000000000003", "ar-0000000000000000000000004"} {
		untokened := meterd.AgreementRequest{ID: id, BuyerAccountID: buyer1, Intent: meterd.IntentNew, ProductCode: product1, CreatedAt: h0}
		if got, err := l.PutAgreementRequest(ctx, &untokened); err != nil || got.ID != id {
			t.Errorf("PutAgreementRequest #%d without a token = %+v, %v; want it stored", i, got, err)
		}
	}

	accepted, err := l.AgreementRequest(ctx, r.ID)
	must(t, "AgreementRequest", err)
	accepted.AgreementID, accepted.AcceptedAt = "agmt-1", h1
	apply(t, l, &meterd.MarketChange{Accepted: []*meterd.AgreementRequest{accepted}})
	got, err = l.AgreementRequest(ctx, r.ID)
	if err != nil || got.AgreementID != "agmt-1" || !got.AcceptedAt.Equal(h1) {
		t.Errorf("AgreementRequest after its acceptance = %+v, %v; want agreement agmt-1 at %v", got, err, h1)
	}
	again := *accepted
	again.AgreementID = "agmt-2"
	ev := &meterd.Event{ID: "e-accept", Channel: meterd.ChannelEventBridge, Type: "x", ProductCode: product1, Payload: "{}", CreatedAt: h1}
	if err := l.ApplyMarketChange(ctx, &meterd.MarketChange{Accepted: []*meterd.AgreementRequest{&again}, Events: []*meterd.Event{ev}}); meterd.ErrorCode(err) != meterd.EConflict {
		t.Errorf("a second acceptance = %v, want EConflict", err)
	}
	if evs, _ := l.Events(ctx, meterd.EventFilter{}); len(evs) != 0 {
		t.Errorf("events after a refused acceptance = %d, want 0 (one transaction)", len(evs))
	}
	if got, _ := l.AgreementRequest(ctx, r.ID); got == nil || got.AgreementID != "agmt-1" {
		t.Errorf("AgreementRequest after a refused second acceptance = %+v, want agmt-1 kept", got)
	}
	missing := meterd.AgreementRequest{ID: "ar-none", AgreementID: "agmt-3"}
	if err := l.ApplyMarketChange(ctx, &meterd.MarketChange{Accepted: []*meterd.AgreementRequest{&missing}}); meterd.ErrorCode(err) != meterd.EConflict {
		t.Errorf("accepting a request never stored = %v, want EConflict", err)
	}
	must(t, "Reset", l.Reset(ctx))
	if _, err := l.AgreementRequest(ctx, r.ID); meterd.ErrorCode(err) != meterd.ENotFound {
		t.Errorf("AgreementRequest after Reset = %v, want ENotFound", err)
	}
}

// testAgreementEnds: AgreementEnds lists the id, product and end time of
// the agreements the filter selects (none for pay-as-you-go), as
// Agreements does.
func testAgreementEnds(t *testing.T, open Open) {
	l := open(t)
	ctx := t.Context()
	seedCatalog(t, l)
	a, b := testAgreement(1, license1, h0.Add(1500*time.Microsecond)), testAgreement(2, license2, h1)
	b.EndTime, b.Status = nil, meterd.AgreementCancelled
	apply(t, l, &meterd.MarketChange{Insert: []*meterd.Agreement{a, b}})
	ends, err := l.AgreementEnds(ctx, meterd.AgreementFilter{SellerAccountID: seller})
	must(t, "AgreementEnds", err)
	slices.SortFunc(ends, func(x, y meterd.AgreementEnd) int { return strings.Compare(x.ID, y.ID) })
	if len(ends) != 2 || ends[0].ID != a.ID || ends[0].ProductCode != product1 || ends[0].EndTime == nil ||
		!ends[0].EndTime.Equal(h0.AddDate(1, 0, 0).Add(time.Millisecond)) || ends[0].EndTime.Location() != time.UTC ||
		ends[1].ID != b.ID || ends[1].EndTime != nil {
		t.Errorf("AgreementEnds(seller) = %+v, want %s ending a year on (to the millisecond, UTC) and %s without an end", ends, a.ID, b.ID)
	}
	if ends, err := l.AgreementEnds(ctx, meterd.AgreementFilter{SellerAccountID: seller, Status: meterd.AgreementCancelled}); err != nil || len(ends) != 1 || ends[0].ID != b.ID {
		t.Errorf("AgreementEnds(CANCELLED) = %+v, %v; want %s", ends, err, b.ID)
	}
	if ends, err := l.AgreementEnds(ctx, meterd.AgreementFilter{BuyerAccountID: buyer2}); err != nil || len(ends) != 0 {
		t.Errorf("AgreementEnds(another buyer) = %+v, %v; want none", ends, err)
	}
}
