package marketplace_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/catalog"
	"github.com/meterd/meterd/marketplace"
)

// requestAll asks for every term of an offer, configuring its contract
// (duration and quantities, when given) and its renewal.
func requestAll(o *meterd.Offer, duration string, q map[string]int64, autoRenew bool) []meterd.RequestedTerm {
	var out []meterd.RequestedTerm
	for _, t := range o.Terms {
		rt := meterd.RequestedTerm{ID: t.ID}
		switch {
		case t.Type == meterd.TermConfigurableUpfrontPrice && duration != "":
			c := &meterd.RequestedTermConfiguration{Member: meterd.ConfigUpfront, SelectorValue: duration}
			for _, k := range []string{"premium", "seats"} {
				if v, ok := q[k]; ok {
					c.Dimensions = append(c.Dimensions, meterd.DimensionValue{DimensionKey: k, DimensionValue: v})
				}
			}
			rt.Configuration = c
		case t.Type == meterd.TermRenewal:
			rt.Configuration = &meterd.RequestedTermConfiguration{Member: meterd.ConfigRenewal, EnableAutoRenew: &autoRenew}
		}
		out = append(out, rt)
	}
	return out
}

func (e *env) offer(id string) *meterd.Offer {
	e.t.Helper()
	o, err := e.l.Offer(e.t.Context(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return o
}

func TestAgreementRequests(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		api := &marketplace.Agreements{Store: e.l, Clock: e.clock, Market: e.market, TokenKey: make([]byte, 32)}
		buyer := as(t.Context(), newBuyer, "us-east-1")
		contractOffer := e.offer(catalog.DemoContractOffer)
		create := func(ctx context.Context, in *meterd.CreateAgreementRequestInput) *meterd.CreateAgreementRequestOutput {
			t.Helper()
			out, err := api.CreateAgreementRequest(ctx, in)
			if err != nil {
				t.Fatalf("CreateAgreementRequest(%s) = %v", in.Intent, err)
			}
			return out
		}
		accept := func(ctx context.Context, id string) string {
			t.Helper()
			out, err := api.AcceptAgreementRequest(ctx, &meterd.AcceptAgreementRequestInput{AgreementRequestID: id})
			if err != nil {
				t.Fatalf("AcceptAgreementRequest(%s) = %v", id, err)
			}
			return out.AgreementID
		}

		// NEW: a quote, then the agreement with its events.
		newIn := &meterd.CreateAgreementRequestInput{ClientToken: "tok-1", Intent: "NEW", AgreementProposalIdentifier: contractOffer.AgreementProposalID,
			RequestedTerms: requestAll(contractOffer, "P12M", map[string]int64{"seats": 5, "premium": 1}, false)}
		quote := create(buyer, newIn)
		cs := quote.ChargeSummary
		if len(quote.AgreementRequestID) != 28 || quote.AgreementRequestID[:3] != "ar-" || cs == nil || cs.NewAgreementValue != "1600.00" || cs.CurrencyCode != "USD" ||
			!slices.Equal(cs.ItemizedCharges, []meterd.ItemizedCharge{{DimensionKey: "premium", NewQuantity: 1, IncrementalChargeAmount: "1000.00"}, {DimensionKey: "seats", NewQuantity: 5, IncrementalChargeAmount: "600.00"}}) ||
			!slices.Equal(cs.ExpectedCharges, []meterd.ExpectedCharge{{ID: "charge-upfront", Amount: "1600.00", Timing: "ON_ACCEPTANCE"}}) {
			t.Errorf("CreateAgreementRequest(NEW) = %s %+v", quote.AgreementRequestID, cs)
		}
		if again := create(buyer, newIn); again.AgreementRequestID != quote.AgreementRequestID {
			t.Errorf("the same clientToken made request %s, want %s", again.AgreementRequestID, quote.AgreementRequestID)
		}
		changed := *newIn
		changed.RequestedTerms = requestAll(contractOffer, "P12M", map[string]int64{"seats": 6}, false)
		if _, err := api.CreateAgreementRequest(buyer, &changed); meterd.ErrorCode(err) != meterd.EConflictAPI {
			t.Errorf("a clientToken reused with other terms = %v, want ConflictException", err)
		}
		if _, err := api.AcceptAgreementRequest(as(t.Context(), "210987654321", "us-east-1"),
			&meterd.AcceptAgreementRequestInput{AgreementRequestID: quote.AgreementRequestID}); meterd.ErrorCode(err) != meterd.EAccessDenied {
			t.Errorf("another account's AcceptAgreementRequest = %v, want AccessDeniedException", err)
		}
		seq := e.lastSeq()
		id := accept(buyer, quote.AgreementRequestID)
		a := e.agreement(id)
		if a.Status != meterd.AgreementActive || a.Intent != meterd.IntentNew || a.BuyerAccountID != newBuyer || a.OfferID != catalog.DemoContractOffer ||
			a.AutoRenew || e.entitlements(a.CustomerIdentifier)["seats"] != "int:5" {
			t.Errorf("accepted agreement = %+v, want ACTIVE NEW of %s with 5 seats, no auto-renew", a, newBuyer)
		}
		_, types := e.events(seq)
		if !slices.Contains(types, marketplace.CreatedProposer) || !slices.Contains(types, marketplace.LicenseUpdated) || !slices.Contains(types, marketplace.ActionSubscribeSuccess) {
			t.Errorf("events of the acceptance = %q, want Created, License Updated and subscribe-success", types)
		}
		seq = e.lastSeq()
		if again := accept(buyer, quote.AgreementRequestID); again != id {
			t.Errorf("a second AcceptAgreementRequest = %s, want %s", again, id)
		}
		if _, types := e.events(seq); len(types) != 0 {
			t.Errorf("a second acceptance wrote events %q, want none", types)
		}

		// AMEND: raise seats; the same agreement, its amended events.
		amend := create(buyer, &meterd.CreateAgreementRequestInput{Intent: "AMEND", SourceAgreementIdentifier: id,
			RequestedTerms: []meterd.RequestedTerm{requestAll(contractOffer, "P12M", map[string]int64{"seats": 8, "premium": 1}, false)[slices.IndexFunc(contractOffer.Terms,
				func(t meterd.Term) bool { return t.Type == meterd.TermConfigurableUpfrontPrice })]}})
		if cs := amend.ChargeSummary; cs.NewAgreementValue != "1960.00" || cs.ExpectedCharges[0].Amount != "360.00" ||
			!slices.Contains(cs.ItemizedCharges, meterd.ItemizedCharge{DimensionKey: "seats", NewQuantity: 8, OldQuantity: 5, IncrementalChargeAmount: "360.00"}) {
			t.Errorf("CreateAgreementRequest(AMEND) charges = %+v, want 1960.00 and 360.00 more for 3 seats", cs)
		}
		lower := requestAll(contractOffer, "P12M", map[string]int64{"seats": 4}, false)[:1]
		if _, err := api.CreateAgreementRequest(buyer, &meterd.CreateAgreementRequestInput{Intent: "AMEND", SourceAgreementIdentifier: id, RequestedTerms: lower}); meterd.ErrorCode(err) != meterd.EValidation {
			t.Errorf("an AMEND lowering seats = %v, want ValidationException", err)
		}
		seq = e.lastSeq()
		if got := accept(buyer, amend.AgreementRequestID); got != id {
			t.Errorf("AcceptAgreementRequest(AMEND) = %s, want the same agreement %s", got, id)
		}
		if _, types := e.events(seq); !slices.Contains(types, marketplace.AmendedProposer) || e.entitlements(a.CustomerIdentifier)["seats"] != "int:8" {
			t.Errorf("after the amendment: events %q, entitlements %v; want Amended and 8 seats", types, e.entitlements(a.CustomerIdentifier))
		}

		// REPLACE: the usage offer follows on the same license.
		usageOffer := e.offer(catalog.DemoUsageOffer)
		repl := create(buyer, &meterd.CreateAgreementRequestInput{Intent: "REPLACE", SourceAgreementIdentifier: id,
			AgreementProposalIdentifier: usageOffer.AgreementProposalID, RequestedTerms: requestAll(usageOffer, "", nil, false)})
		if cs := repl.ChargeSummary; cs.NewAgreementValue != "0.00" || len(cs.ExpectedCharges) != 1 || cs.ExpectedCharges[0].Timing != "BILLING_PERIOD" {
			t.Errorf("CreateAgreementRequest(REPLACE to usage) charges = %+v", cs)
		}
		next := e.agreement(accept(buyer, repl.AgreementRequestID))
		if next.ID == id || next.Intent != meterd.IntentReplace || next.PreviousAgreementID != id || next.LicenseArn != a.LicenseArn ||
			e.agreement(id).Status != meterd.AgreementReplaced {
			t.Errorf("after REPLACE: %+v, source %s; want a new REPLACE agreement on the same license, the source REPLACED", next, e.agreement(id).Status)
		}

		// Expiry: an hour after its creation a request can not be accepted.
		late := create(buyer, &meterd.CreateAgreementRequestInput{Intent: "NEW", AgreementProposalIdentifier: contractOffer.AgreementProposalID,
			RequestedTerms: requestAll(contractOffer, "P1M", map[string]int64{"seats": 1}, true)})
		e.advance(marketplace.AgreementRequestTTL + time.Second)
		_, err := api.AcceptAgreementRequest(buyer, &meterd.AcceptAgreementRequestInput{AgreementRequestID: late.AgreementRequestID})
		if reason, _ := meterd.ErrorDetail(err); meterd.ErrorCode(err) != meterd.EValidation || reason != "INVALID_AGREEMENT_REQUEST_ID" {
			t.Errorf("AcceptAgreementRequest after an hour = %v (reason %q), want ValidationException", err, reason)
		}
	})
}

func TestAgreementRequestRefusals(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		api := &marketplace.Agreements{Store: e.l, Clock: e.clock, Market: e.market, TokenKey: make([]byte, 32)}
		buyer := as(t.Context(), newBuyer, "us-east-1")
		private, err := e.market.CreateOffer(t.Context(), catalog.DemoProduct, &marketplace.OfferSpec{Pricing: meterd.PricingUsage,
			Visibility: meterd.VisibilityPrivate, Buyers: []string{"210987654321"}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = api.CreateAgreementRequest(buyer, &meterd.CreateAgreementRequestInput{Intent: "NEW",
			AgreementProposalIdentifier: private.AgreementProposalID, RequestedTerms: requestAll(private, "", nil, false)})
		if meterd.ErrorCode(err) != meterd.EAccessDenied {
			t.Errorf("a buyer not allowed on a private offer = %v, want AccessDeniedException", err)
		}
		allowed := as(t.Context(), "210987654321", "us-east-1")
		if _, err := api.CreateAgreementRequest(allowed, &meterd.CreateAgreementRequestInput{Intent: "NEW",
			AgreementProposalIdentifier: private.AgreementProposalID, RequestedTerms: requestAll(private, "", nil, false)}); err != nil {
			t.Errorf("the private offer's buyer = %v, want a request", err)
		}

		// One free trial per buyer and product: a second request is
		// refused, and so is accepting a second one made before the first
		// was accepted.
		trial := e.offer(catalog.DemoTrialOffer)
		trialIn := &meterd.CreateAgreementRequestInput{Intent: "NEW", AgreementProposalIdentifier: trial.AgreementProposalID,
			RequestedTerms: requestAll(trial, "", nil, false)}
		first, err := api.CreateAgreementRequest(buyer, trialIn)
		if err != nil {
			t.Fatalf("CreateAgreementRequest(trial) = %v", err)
		}
		second, err := api.CreateAgreementRequest(buyer, trialIn)
		if err != nil {
			t.Fatalf("a second CreateAgreementRequest(trial) before any acceptance = %v", err)
		}
		out, err := api.AcceptAgreementRequest(buyer, &meterd.AcceptAgreementRequestInput{AgreementRequestID: first.AgreementRequestID})
		if err != nil || !e.agreement(out.AgreementID).Trial {
			t.Fatalf("AcceptAgreementRequest(trial) = %+v, %v; want a trial agreement", out, err)
		}
		_, err = api.AcceptAgreementRequest(buyer, &meterd.AcceptAgreementRequestInput{AgreementRequestID: second.AgreementRequestID})
		if meterd.ErrorCode(err) != meterd.EValidation {
			t.Errorf("accepting a second trial = %v, want ValidationException", err)
		}
		_, err = api.CreateAgreementRequest(buyer, trialIn)
		if reason, _ := meterd.ErrorDetail(err); meterd.ErrorCode(err) != meterd.EValidation || reason != "INCOMPATIBLE_TERMS" {
			t.Errorf("a request for a second trial = %v (reason %q), want ValidationException INCOMPATIBLE_TERMS", err, reason)
		}

		contract := e.offer(catalog.DemoContractOffer)
		demo, _ := e.l.Agreements(t.Context(), meterd.AgreementFilter{BuyerAccountID: catalog.DemoBuyerAccount2, OfferID: catalog.DemoContractOffer})
		good := requestAll(contract, "P12M", map[string]int64{"seats": 1}, true)
		wrongConfig := slices.Clone(good)
		wrongConfig[0].Configuration = &meterd.RequestedTermConfiguration{Member: meterd.ConfigRenewal, EnableAutoRenew: new(bool)}
		ap := contract.AgreementProposalID
		tests := []struct {
			name   string
			in     meterd.CreateAgreementRequestInput
			code   string
			reason string
		}{
			{"NoIntent", meterd.CreateAgreementRequestInput{AgreementProposalIdentifier: ap, RequestedTerms: good}, meterd.EValidation, "MISSING_INTENT"},
			{"BadIntent", meterd.CreateAgreementRequestInput{Intent: "RENEW", AgreementProposalIdentifier: ap, RequestedTerms: good}, meterd.EValidation, "INVALID_INTENT"},
			{"NoProposal", meterd.CreateAgreementRequestInput{Intent: "NEW", RequestedTerms: good}, meterd.EValidation, "MISSING_AGREEMENT_PROPOSAL_IDENTIFIER"},
			{"BadProposal", meterd.CreateAgreementRequestInput{Intent: "NEW", AgreementProposalIdentifier: "offer-1", RequestedTerms: good}, meterd.EValidation, "INVALID_AGREEMENT_PROPOSAL_IDENTIFIER"},
			{"UnknownProposal", meterd.CreateAgreementRequestInput{Intent: "NEW", AgreementProposalIdentifier: "ap-0000000000000000000000000", RequestedTerms: good}, meterd.EResourceNotFound, ""},
			{"NewWithSource", meterd.CreateAgreementRequestInput{Intent: "NEW", AgreementProposalIdentifier: ap, SourceAgreementIdentifier: "agmt-1", RequestedTerms: good}, meterd.EValidation, "INVALID_SOURCE_AGREEMENT_IDENTIFIER"},
			{"AmendWithoutSource", meterd.CreateAgreementRequestInput{Intent: "AMEND", RequestedTerms: good}, meterd.EValidation, "MISSING_SOURCE_AGREEMENT_IDENTIFIER"},
			{"AmendOthers", meterd.CreateAgreementRequestInput{Intent: "AMEND", SourceAgreementIdentifier: demo[0].ID, RequestedTerms: good}, meterd.EAccessDenied, ""},
			{"NoTerms", meterd.CreateAgreementRequestInput{Intent: "NEW", AgreementProposalIdentifier: ap}, meterd.EValidation, "MISSING_REQUESTED_TERMS"},
			{"UnknownTerm", meterd.CreateAgreementRequestInput{Intent: "NEW", AgreementProposalIdentifier: ap, RequestedTerms: append(slices.Clone(good), meterd.RequestedTerm{ID: "term-x"})}, meterd.EValidation, "INVALID_REQUESTED_TERM_ID"},
			{"MissingTerm", meterd.CreateAgreementRequestInput{Intent: "NEW", AgreementProposalIdentifier: ap, RequestedTerms: good[1:]}, meterd.EValidation, "MISSING_MANDATORY_TERMS"},
			{"NoConfiguration", meterd.CreateAgreementRequestInput{Intent: "NEW", AgreementProposalIdentifier: ap, RequestedTerms: requestAll(contract, "", nil, true)}, meterd.EValidation, "MISSING_REQUESTED_TERM_CONFIGURATION"},
			{"WrongConfiguration", meterd.CreateAgreementRequestInput{Intent: "NEW", AgreementProposalIdentifier: ap, RequestedTerms: wrongConfig}, meterd.EValidation, "INVALID_REQUESTED_TERM_CONFIGURATION"},
			{"BadDuration", meterd.CreateAgreementRequestInput{Intent: "NEW", AgreementProposalIdentifier: ap, RequestedTerms: requestAll(contract, "P5Y", map[string]int64{"seats": 1}, true)}, meterd.EValidation, "INVALID_REQUESTED_TERM_CONFIGURATION"},
			{"UnpricedDimension", meterd.CreateAgreementRequestInput{Intent: "NEW", AgreementProposalIdentifier: ap, RequestedTerms: requestAll(contract, "P12M", map[string]int64{"premium": 0}, true)}, meterd.EValidation, "INVALID_REQUESTED_TERM_CONFIGURATION"},
			{"BadClientToken", meterd.CreateAgreementRequestInput{ClientToken: "a b", Intent: "NEW", AgreementProposalIdentifier: ap, RequestedTerms: good}, meterd.EValidation, "INVALID_CLIENT_TOKEN"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				in := tt.in
				_, err := api.CreateAgreementRequest(buyer, &in)
				if reason, _ := meterd.ErrorDetail(err); meterd.ErrorCode(err) != tt.code || reason != tt.reason || meterd.ErrorMessage(err) == "" {
					t.Errorf("CreateAgreementRequest = %v (reason %q), want %s %q", err, reason, tt.code, tt.reason)
				}
			})
		}
		for name, c := range map[string]struct{ id, code, reason string }{
			"Missing": {"", meterd.EValidation, "MISSING_AGREEMENT_REQUEST_ID"},
			"Pattern": {"agmt-1", meterd.EValidation, "INVALID_AGREEMENT_REQUEST_ID"},
			"Unknown": {"ar-0000000000000000000000000", meterd.EResourceNotFound, ""},
		} {
			_, err := api.AcceptAgreementRequest(buyer, &meterd.AcceptAgreementRequestInput{AgreementRequestID: c.id})
			if reason, _ := meterd.ErrorDetail(err); meterd.ErrorCode(err) != c.code || reason != c.reason {
				t.Errorf("%s: AcceptAgreementRequest = %v (reason %q), want %s %q", name, err, reason, c.code, c.reason)
			}
		}
	})
}
