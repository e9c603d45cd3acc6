package marketplace_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/catalog"
	"github.com/meterd/meterd/marketplace"
	"github.com/meterd/meterd/pgtest"
	"github.com/meterd/meterd/postgres"
	"github.com/meterd/meterd/sqlite"
)

var cluster *pgtest.Cluster

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, &cluster)) }

// t0 is the server clock's time when each test starts.
var t0 = time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)

const newBuyer = "123456789012"

// env is a demo catalog on a store, with a frozen server clock.
type env struct {
	t      *testing.T
	l      meterd.Ledger
	clock  *meterd.ServerClock
	market *marketplace.Service
}

// stores runs fn on the demo catalog over SQLite and over PostgreSQL.
func stores(t *testing.T, fn func(t *testing.T, e *env)) {
	storesWith(t, catalog.Demo(), fn)
}

// storesWith runs fn on the catalog f over SQLite and over PostgreSQL.
func storesWith(t *testing.T, f *catalog.File, fn func(t *testing.T, e *env)) {
	for _, name := range []string{"SQLite", "PostgreSQL"} {
		t.Run(name, func(t *testing.T) {
			var l meterd.Ledger
			var err error
			if name == "SQLite" {
				l, err = sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "meterd.db"))
			} else {
				l, err = postgres.Open(t.Context(), cluster.NewDatabase(t))
			}
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Close() })
			fn(t, newEnv(t, l, f))
		})
	}
}

func newEnv(t *testing.T, l meterd.Ledger, f *catalog.File) *env {
	clock := &meterd.ServerClock{}
	clock.Set(t0)
	if err := catalog.Apply(t.Context(), l, f, clock.Now()); err != nil {
		t.Fatalf("catalog.Apply = %v", err)
	}
	return &env{t: t, l: l, clock: clock, market: &marketplace.Service{Ledger: l, Clock: clock}}
}

func (e *env) accept(in marketplace.AcceptInput) *meterd.Agreement {
	e.t.Helper()
	res, err := e.market.Accept(e.t.Context(), in)
	if err != nil {
		e.t.Fatalf("Accept(%+v) = %v", in, err)
	}
	return res.Agreement
}

// advance moves the clock and applies what fell due.
func (e *env) advance(d time.Duration) {
	e.t.Helper()
	e.clock.Advance(d)
	if _, err := e.market.ApplyDue(e.t.Context()); err != nil {
		e.t.Fatalf("ApplyDue() = %v", err)
	}
}

func (e *env) agreement(id string) *meterd.Agreement {
	e.t.Helper()
	a, err := e.l.Agreement(e.t.Context(), id)
	if err != nil {
		e.t.Fatalf("Agreement(%s) = %v", id, err)
	}
	return a
}

func (e *env) customer(account string) *meterd.Customer {
	e.t.Helper()
	c, err := e.l.CustomerByAccount(e.t.Context(), catalog.DemoProduct, account)
	if err != nil {
		e.t.Fatalf("CustomerByAccount(%s) = %v", account, err)
	}
	return c
}

// events returns the outbox rows after seq, but those of the demo's own
// customers, and their types.
func (e *env) events(after int64) ([]*meterd.Event, []string) {
	e.t.Helper()
	all, err := e.l.Events(e.t.Context(), meterd.EventFilter{AfterSeq: after})
	if err != nil {
		e.t.Fatal(err)
	}
	var evs []*meterd.Event
	var types []string
	for _, ev := range all {
		if ev.CustomerIdentifier != catalog.DemoCustomer1 && ev.CustomerIdentifier != catalog.DemoCustomer2 {
			evs = append(evs, ev)
			types = append(types, ev.Type)
		}
	}
	return evs, types
}

func (e *env) lastSeq() int64 {
	evs, _ := e.events(0)
	if len(evs) == 0 {
		return 0
	}
	return evs[len(evs)-1].Seq
}

func (e *env) entitlements(customer string) map[string]string {
	e.t.Helper()
	es, err := e.l.Entitlements(e.t.Context(), meterd.EntitlementFilter{ProductCode: catalog.DemoProduct, At: e.clock.Now(),
		CustomerIdentifiers: []string{customer}})
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]string{}
	for _, en := range es {
		if en.IntegerValue != nil {
			out[en.Dimension] = "int:" + itoa(*en.IntegerValue)
		} else {
			out[en.Dimension] = "bool:" + map[bool]string{true: "true", false: "false"}[*en.BooleanValue]
		}
	}
	return out
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func contract(buyer string) marketplace.AcceptInput {
	no := false
	return marketplace.AcceptInput{Buyer: buyer, OfferID: catalog.DemoContractOffer, Duration: "P12M",
		Quantities: map[string]int64{"seats": 5, "premium": 1}, AutoRenew: &no}
}

func checkTypes(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: events %q, want %q", what, got, want)
	}
}

func TestAcceptContract(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		seq := e.lastSeq()
		a := e.accept(contract(newBuyer))
		if a.Status != meterd.AgreementActive || a.Intent != meterd.IntentNew || a.EndTime == nil ||
			!a.EndTime.Equal(t0.AddDate(1, 0, 0)) || !a.StartTime.Equal(t0) || a.AutoRenew {
			t.Fatalf("agreement = %+v, want ACTIVE NEW from %v for 12 months without auto-renew", a, t0)
		}
		if !meterd.ValidAgreementID(a.ID) {
			t.Errorf("agreement id %q is not agmt- + 25 letters/digits", a.ID)
		}
		stored := e.agreement(a.ID)
		upfront, _ := stored.Term(meterd.TermConfigurableUpfrontPrice)
		if upfront.Configuration == nil || upfront.Configuration.SelectorValue != "P12M" || len(upfront.Configuration.Dimensions) != 2 {
			t.Errorf("stored ConfigurableUpfrontPricingTerm configuration = %+v, want P12M with 2 dimensions", upfront.Configuration)
		}
		c := e.customer(newBuyer)
		if c.Status != meterd.StatusSubscribed || c.LicenseArn != a.LicenseArn || a.CustomerIdentifier != c.CustomerIdentifier {
			t.Errorf("customer = %+v, want subscribed with license %s", c, a.LicenseArn)
		}
		if got := e.entitlements(c.CustomerIdentifier); got["seats"] != "int:5" || got["premium"] != "bool:true" || len(got) != 2 {
			t.Errorf("entitlements = %v, want seats int:5 and premium bool:true", got)
		}
		evs, types := e.events(seq)
		checkTypes(t, "accept", types, []string{marketplace.CreatedProposer, marketplace.CreatedManufacturer, marketplace.LicenseUpdated,
			marketplace.ActionSubscribeSuccess, marketplace.ActionEntitlementUpdated})
		want := `{"action":"subscribe-success","customer-identifier":"` + c.CustomerIdentifier +
			`","product-code":"demo-product","offer-identifier":"offer-democontract1","isFreeTrialTermPresent":"false"}`
		if evs[3].Payload != want || evs[3].Channel != meterd.ChannelSubscription {
			t.Errorf("subscribe-success payload = %s on %s, want %s", evs[3].Payload, evs[3].Channel, want)
		}
		if want := `{"action":"entitlement-updated","customer-identifier":"` + c.CustomerIdentifier + `","product-code":"demo-product"}`; evs[4].Payload != want {
			t.Errorf("entitlement-updated payload = %s, want %s", evs[4].Payload, want)
		}
		var ev struct {
			Version    string   `json:"version"`
			DetailType string   `json:"detail-type"`
			Source     string   `json:"source"`
			Account    string   `json:"account"`
			Time       string   `json:"time"`
			Region     string   `json:"region"`
			Resources  []string `json:"resources"`
			Detail     struct {
				Catalog   string `json:"catalog"`
				Agreement struct {
					ID, Intent, Status, AcceptanceTime, StartTime, EndTime string
				} `json:"agreement"`
				Acceptor struct{ AccountID string } `json:"acceptor"`
				Proposer struct{ AccountID string } `json:"proposer"`
				Offer    struct{ ID string }        `json:"offer"`
				Product  struct{ ID, Code string }  `json:"product"`
				License  *struct{ Arn string }      `json:"license"`
			} `json:"detail"`
		}
		if err := json.Unmarshal([]byte(evs[2].Payload), &ev); err != nil {
			t.Fatal(err)
		}
		d := ev.Detail
		if ev.Version != "0" || ev.DetailType != marketplace.LicenseUpdated || ev.Source != "aws.agreement-marketplace" ||
			ev.Account != catalog.DemoSellerAccount || ev.Region != "us-east-1" || ev.Time != "2026-11-23T07:00:00Z" ||
			!slices.Equal(ev.Resources, []string{"arn:aws:aws-marketplace::aws:agreement:" + a.ID}) ||
			d.Catalog != "AWSMarketplace" || d.Agreement.ID != a.ID || d.Agreement.Intent != "NEW" || d.Agreement.Status != "ACTIVE" ||
			d.Agreement.StartTime != "2026-11-23T07:00:00.000Z" || d.Agreement.EndTime != "2027-11-23T07:00:00.000Z" ||
			d.Acceptor.AccountID != newBuyer || d.Proposer.AccountID != catalog.DemoSellerAccount || d.Offer.ID != catalog.DemoContractOffer ||
			d.Product.ID != catalog.DemoProductID || d.Product.Code != catalog.DemoProduct || d.License == nil || d.License.Arn != a.LicenseArn {
			t.Errorf("License Updated event = %s", evs[2].Payload)
		}
	})
}

func TestExpiryAndGrace(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		a := e.accept(contract(newBuyer))
		c := e.customer(newBuyer)
		seq := e.lastSeq()
		e.advance(a.EndTime.Sub(t0) + time.Minute)
		if got := e.agreement(a.ID); got.Status != meterd.AgreementExpired {
			t.Fatalf("after the end time: status %s, want EXPIRED", got.Status)
		}
		lic, err := e.l.License(t.Context(), a.LicenseArn)
		if err != nil || lic.DeprovisionedAt == nil || !lic.DeprovisionedAt.Equal(*a.EndTime) {
			t.Fatalf("license = %+v, %v; want deprovisioned at %v", lic, err, *a.EndTime)
		}
		if c := e.customer(newBuyer); c.Status != meterd.StatusUnsubscribePending || !c.StatusChangedAt.Equal(*a.EndTime) || !c.CanMeter(e.clock.Now()) {
			t.Errorf("customer after expiry = %+v, want unsubscribe-pending since %v, still metering", c, *a.EndTime)
		}
		if got := e.entitlements(c.CustomerIdentifier); len(got) != 0 {
			t.Errorf("entitlements after expiry = %v, want none", got)
		}
		_, types := e.events(seq)
		checkTypes(t, "expiry", types, []string{marketplace.EndedProposer, marketplace.EndedManufacturer, marketplace.LicenseDeprovisioned,
			marketplace.ActionUnsubscribePending})
		seq = e.lastSeq()
		e.advance(time.Hour)
		evs, types := e.events(seq)
		checkTypes(t, "grace end", types, []string{marketplace.ActionUnsubscribeSuccess})
		if len(evs) == 1 && !evs[0].CreatedAt.Equal(a.EndTime.Add(time.Hour)) {
			t.Errorf("unsubscribe-success created at %v, want %v (its due time)", evs[0].CreatedAt, a.EndTime.Add(time.Hour))
		}
		if c := e.customer(newBuyer); c.Status != meterd.StatusUnsubscribed || c.CanMeter(e.clock.Now()) {
			t.Errorf("customer after the grace hour = %+v, want unsubscribed", c)
		}
	})
}

func TestAutoRenewInOrder(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		in := contract(newBuyer)
		in.Duration, in.AutoRenew = "P1M", nil // the offer's default: auto-renew
		a := e.accept(in)
		if !a.AutoRenew {
			t.Fatalf("AutoRenew = false, want the offer's default true")
		}
		e.advance(3*31*24*time.Hour + time.Hour) // past three monthly ends at once
		all, err := e.l.Agreements(t.Context(), meterd.AgreementFilter{BuyerAccountID: newBuyer})
		if err != nil {
			t.Fatal(err)
		}
		var statuses []string
		for i, x := range all {
			statuses = append(statuses, x.Status+"/"+x.Intent)
			if x.LicenseArn != a.LicenseArn {
				t.Errorf("agreement %d license %s, want the lineage's %s", i, x.LicenseArn, a.LicenseArn)
			}
			if i > 0 && (x.PreviousAgreementID != all[i-1].ID || !x.StartTime.Equal(*all[i-1].EndTime)) {
				t.Errorf("agreement %d previous %s start %v, want %s and %v", i, x.PreviousAgreementID, x.StartTime, all[i-1].ID, *all[i-1].EndTime)
			}
		}
		if !slices.Equal(statuses, []string{"RENEWED/NEW", "RENEWED/RENEW", "RENEWED/RENEW", "ACTIVE/RENEW"}) {
			t.Errorf("lineage = %v, want three renewals and an active one", statuses)
		}
		if c := e.customer(newBuyer); c.Status != meterd.StatusSubscribed {
			t.Errorf("customer = %s, want subscribed through renewals", c.Status)
		}
	})
}

func TestTrialEnd(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		a := e.accept(marketplace.AcceptInput{Buyer: newBuyer, OfferID: catalog.DemoTrialOffer})
		if !a.Trial || !a.EndTime.Equal(t0.AddDate(0, 0, 30)) {
			t.Fatalf("trial = %+v, want a trial ending after 30 days", a)
		}
		_, err := e.market.Accept(t.Context(), marketplace.AcceptInput{Buyer: newBuyer, OfferID: catalog.DemoTrialOffer})
		if meterd.ErrorCode(err) != meterd.EInvalid {
			t.Errorf("a second trial: %v, want EInvalid", err)
		}
		seq := e.lastSeq()
		e.advance(31 * 24 * time.Hour)
		if got := e.agreement(a.ID); got.Status != meterd.AgreementReplaced {
			t.Fatalf("trial after its end: %s, want REPLACED (converts: true)", got.Status)
		}
		paid, _ := e.l.Agreements(t.Context(), meterd.AgreementFilter{BuyerAccountID: newBuyer, Status: meterd.AgreementActive})
		if len(paid) != 1 || paid[0].Trial || paid[0].Intent != meterd.IntentReplace || paid[0].EndTime != nil || paid[0].LicenseArn != a.LicenseArn {
			t.Fatalf("paid agreement = %+v, want one ACTIVE REPLACE pay-as-you-go on the same license", paid)
		}
		// The trial has ended: only its ended agreement remembers it.
		if _, err := e.market.Accept(t.Context(), marketplace.AcceptInput{Buyer: newBuyer, OfferID: catalog.DemoTrialOffer}); meterd.ErrorCode(err) != meterd.EInvalid {
			t.Errorf("a trial after the first ended: %v, want EInvalid", err)
		}
		if _, err := e.market.Replace(t.Context(), paid[0].ID, marketplace.AcceptInput{Buyer: newBuyer, OfferID: catalog.DemoTrialOffer}); meterd.ErrorCode(err) != meterd.EInvalid {
			t.Errorf("replacing by a trial after the first ended: %v, want EInvalid", err)
		}
		_, types := e.events(seq)
		checkTypes(t, "trial converts", types, []string{marketplace.EndedProposer, marketplace.EndedManufacturer,
			marketplace.CreatedProposer, marketplace.CreatedManufacturer, marketplace.LicenseUpdated, marketplace.ActionSubscribeSuccess})
	})
}

func TestTrialWithoutConversion(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		no := false
		o, err := e.market.CreateOffer(t.Context(), catalog.DemoProduct, &marketplace.OfferSpec{Pricing: meterd.PricingFreeTrial,
			Trial: &marketplace.TrialSpec{Duration: "P7D", Converts: &no}})
		if err != nil {
			t.Fatal(err)
		}
		a := e.accept(marketplace.AcceptInput{Buyer: newBuyer, OfferID: o.ID})
		e.advance(7*24*time.Hour + time.Minute)
		if got := e.agreement(a.ID); got.Status != meterd.AgreementExpired {
			t.Errorf("trial with converts: false after its end: %s, want EXPIRED", got.Status)
		}
		if c := e.customer(newBuyer); c.Status != meterd.StatusUnsubscribePending {
			t.Errorf("customer = %s, want unsubscribe-pending", c.Status)
		}
	})
}

func TestFutureDated(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		in := contract(newBuyer)
		start := t0.Add(48 * time.Hour)
		in.Start = &start
		a := e.accept(in)
		c := e.customer(newBuyer)
		if c.CanMeter(e.clock.Now()) || len(e.entitlements(c.CustomerIdentifier)) != 0 {
			t.Errorf("before the start: customer %s, entitlements %v; want neither", c.Status, e.entitlements(c.CustomerIdentifier))
		}
		seq := e.lastSeq()
		e.advance(48 * time.Hour)
		if c := e.customer(newBuyer); c.Status != meterd.StatusSubscribed || len(e.entitlements(c.CustomerIdentifier)) != 2 {
			t.Errorf("at the start: customer %s, want subscribed with 2 entitlements", c.Status)
		}
		_, types := e.events(seq)
		checkTypes(t, "start", types, []string{marketplace.ActionSubscribeSuccess, marketplace.ActionEntitlementUpdated})
		if !a.EndTime.Equal(start.AddDate(1, 0, 0)) {
			t.Errorf("end = %v, want a year after the start", *a.EndTime)
		}
	})
}

func TestAmend(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		a := e.accept(contract(newBuyer))
		seq := e.lastSeq()
		yes := true
		got, err := e.market.Amend(t.Context(), a.ID, marketplace.AmendInput{Quantities: map[string]int64{"seats": 8}, AutoRenew: &yes})
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != a.ID || got.Version != a.Version+1 || got.Intent != meterd.IntentAmend || !got.AutoRenew {
			t.Errorf("amended = id %s version %d intent %s auto %v", got.ID, got.Version, got.Intent, got.AutoRenew)
		}
		if es := e.entitlements(a.CustomerIdentifier); es["seats"] != "int:8" {
			t.Errorf("entitlements after amend = %v, want seats int:8", es)
		}
		_, types := e.events(seq)
		checkTypes(t, "amend", types, []string{marketplace.AmendedProposer, marketplace.AmendedManufacturer, marketplace.LicenseUpdated,
			marketplace.ActionEntitlementUpdated})
		seq = e.lastSeq()
		_, err = e.market.Amend(t.Context(), a.ID, marketplace.AmendInput{Quantities: map[string]int64{"seats": 2}})
		if meterd.ErrorCode(err) != meterd.EInvalid {
			t.Errorf("amend down = %v, want EInvalid", err)
		}
		if _, types := e.events(seq); len(types) != 0 || e.agreement(a.ID).Version != got.Version {
			t.Errorf("a refused amendment wrote %v", types)
		}
	})
}

func TestReplaceCancelTerminate(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		a := e.accept(contract(newBuyer))
		b, err := e.market.Replace(t.Context(), a.ID, marketplace.AcceptInput{OfferID: catalog.DemoUsageOffer})
		if err != nil {
			t.Fatal(err)
		}
		if e.agreement(a.ID).Status != meterd.AgreementReplaced || b.Intent != meterd.IntentReplace || b.PreviousAgreementID != a.ID ||
			b.LicenseArn != a.LicenseArn || b.OfferID != catalog.DemoUsageOffer {
			t.Errorf("replace: old %s, new %+v", e.agreement(a.ID).Status, b)
		}
		if es := e.entitlements(a.CustomerIdentifier); len(es) != 0 {
			t.Errorf("entitlements after replacing by a usage offer = %v, want none", es)
		}
		if _, err := e.market.Cancel(t.Context(), a.ID); meterd.ErrorCode(err) != meterd.EConflict {
			t.Errorf("Cancel(REPLACED) = %v, want EConflict", err)
		}
		if got, err := e.market.Cancel(t.Context(), b.ID); err != nil || got.Status != meterd.AgreementCancelled {
			t.Errorf("Cancel = %v, %v; want CANCELLED", got, err)
		}
		if c := e.customer(newBuyer); c.Status != meterd.StatusUnsubscribePending {
			t.Errorf("customer after cancel = %s, want unsubscribe-pending", c.Status)
		}
		x := e.accept(contract("210987654321"))
		if got, err := e.market.Terminate(t.Context(), x.ID); err != nil || got.Status != meterd.AgreementTerminated {
			t.Errorf("Terminate = %v, %v; want TERMINATED", got, err)
		}
	})
}

func TestAcceptErrors(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		private, err := e.market.CreateOffer(t.Context(), catalog.DemoProduct, &marketplace.OfferSpec{Pricing: meterd.PricingUsage,
			Visibility: meterd.VisibilityPrivate, Buyers: []string{"210987654321"}})
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name string
			in   marketplace.AcceptInput
			code string
		}{
			{"BadBuyer", marketplace.AcceptInput{Buyer: "12", OfferID: catalog.DemoUsageOffer}, meterd.EInvalid},
			{"NoOffer", marketplace.AcceptInput{Buyer: newBuyer, OfferID: "offer-nosuchoffer00"}, meterd.EInvalid},
			{"Private", marketplace.AcceptInput{Buyer: newBuyer, OfferID: private.ID}, meterd.EAccessDenied},
			{"NoDuration", marketplace.AcceptInput{Buyer: newBuyer, OfferID: catalog.DemoContractOffer, Quantities: map[string]int64{"seats": 1}}, meterd.EInvalid},
			{"BadDuration", marketplace.AcceptInput{Buyer: newBuyer, OfferID: catalog.DemoContractOffer, Duration: "P36M", Quantities: map[string]int64{"seats": 1}}, meterd.EInvalid},
			{"NoQuantity", marketplace.AcceptInput{Buyer: newBuyer, OfferID: catalog.DemoContractOffer, Duration: "P12M"}, meterd.EInvalid},
			{"UsageDimension", marketplace.AcceptInput{Buyer: newBuyer, OfferID: catalog.DemoContractOffer, Duration: "P12M", Quantities: map[string]int64{"requests": 1}}, meterd.EInvalid},
			{"QuantitiesOnUsage", marketplace.AcceptInput{Buyer: newBuyer, OfferID: catalog.DemoUsageOffer, Quantities: map[string]int64{"seats": 1}}, meterd.EInvalid},
			{"TrialWithoutTrial", marketplace.AcceptInput{Buyer: newBuyer, OfferID: catalog.DemoUsageOffer, Trial: true}, meterd.EInvalid},
		}
		seq := e.lastSeq()
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := e.market.Accept(t.Context(), tt.in)
				if got := meterd.ErrorCode(err); got != tt.code {
					t.Errorf("Accept(%+v) = %v, want %s", tt.in, err, tt.code)
				}
			})
		}
		if _, types := e.events(seq); len(types) != 0 {
			t.Errorf("refused acceptances wrote events %v", types)
		}
		if _, err := e.l.CustomerByAccount(t.Context(), catalog.DemoProduct, newBuyer); meterd.ErrorCode(err) != meterd.ENotFound {
			t.Errorf("refused acceptances made a customer: %v", err)
		}
	})
}

func TestFailAndClientToken(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		seq := e.lastSeq()
		res, err := e.market.Accept(t.Context(), marketplace.AcceptInput{Buyer: newBuyer, OfferID: catalog.DemoUsageOffer, Fail: true})
		if err != nil || !res.Failed || res.Agreement != nil {
			t.Fatalf("Accept(fail) = %+v, %v", res, err)
		}
		c := e.customer(newBuyer)
		if c.Status != meterd.StatusSubscribeFailed {
			t.Errorf("customer after a failed acceptance = %s, want subscribe-failed", c.Status)
		}
		evs, types := e.events(seq)
		checkTypes(t, "fail", types, []string{marketplace.ActionSubscribeFail})
		if want := `{"action":"subscribe-fail","customer-identifier":"` + c.CustomerIdentifier +
			`","product-code":"demo-product","offer-identifier":"offer-demousage0001","isFreeTrialTermPresent":"false"}`; len(evs) == 1 && evs[0].Payload != want {
			t.Errorf("subscribe-fail payload = %s, want %s", evs[0].Payload, want)
		}
		in := marketplace.AcceptInput{Buyer: newBuyer, OfferID: catalog.DemoUsageOffer, ClientToken: "tok-1"}
		a1 := e.accept(in)
		a2 := e.accept(in)
		if a1.ID != a2.ID {
			t.Errorf("the same client token made %s and %s, want one agreement", a1.ID, a2.ID)
		}
		if c := e.customer(newBuyer); c.Status != meterd.StatusSubscribed {
			t.Errorf("customer after a successful acceptance = %s, want subscribed", c.Status)
		}
	})
}

// TestRestart: a due transition is read from the store, so a new Service
// on a reopened store applies it.
func TestRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meterd.db")
	l, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, l, catalog.Demo())
	a := e.accept(contract(newBuyer))
	l.Close()
	l, err = sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	clock := &meterd.ServerClock{}
	clock.Set(a.EndTime.Add(time.Second))
	// The demo's own contract renews at the same time.
	if n, err := (&marketplace.Service{Ledger: l, Clock: clock}).ApplyDue(t.Context()); err != nil || n != 2 {
		t.Fatalf("ApplyDue after a restart = %d, %v; want 2 transitions", n, err)
	}
	if got, _ := l.Agreement(t.Context(), a.ID); got.Status != meterd.AgreementExpired {
		t.Errorf("after a restart past the end: %s, want EXPIRED", got.Status)
	}
}
