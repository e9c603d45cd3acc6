package marketplace

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/meterd/meterd"
)

// AgreementRequestTTL is how long an agreement request may be accepted
// after it was created.
const AgreementRequestTTL = time.Hour

// The model's patterns of CreateAgreementRequest's and
// AcceptAgreementRequest's identifiers.
var (
	clientTokenPattern        = regexp.MustCompile(`^[a-zA-Z0-9-]{1,64}$`)
	proposalIDPattern         = regexp.MustCompile(`^(at-|ap-)[A-Za-z0-9]{1,61}$`)
	agreementRequestIDPattern = regexp.MustCompile(`^ar-[A-Za-z0-9]{1,61}$`)
)

// CreateAgreementRequest records the buyer's quote for a NEW agreement on
// the offer of agreementProposalIdentifier, or to AMEND or REPLACE one of
// its agreements, after checking every requested term and configuration as
// accepting it would; it returns the request's id and the charges accepting
// would incur. The same clientToken returns the same request; one reused
// with other members is ConflictException.
func (s *Agreements) CreateAgreementRequest(ctx context.Context, in *meterd.CreateAgreementRequestInput) (*meterd.CreateAgreementRequestOutput, error) {
	caller, err := agreementCaller(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkRequestShape(in); err != nil {
		return nil, err
	}
	r := &meterd.AgreementRequest{BuyerAccountID: caller.AccountID, Intent: in.Intent, ClientToken: in.ClientToken, CreatedAt: s.Clock.Now()}
	var source *meterd.Agreement
	if in.Intent != meterd.IntentNew {
		if source, err = s.sourceAgreement(ctx, caller, in.SourceAgreementIdentifier); err != nil {
			return nil, err
		}
		r.SourceAgreementID, r.ProductCode, r.OfferID = source.ID, source.ProductCode, source.OfferID
	}
	var o *meterd.Offer
	if in.Intent == meterd.IntentAmend {
		if o, err = s.Store.Offer(ctx, source.OfferID); err != nil {
			return nil, fmt.Errorf("marketplace: offer of agreement %s: %w", source.ID, err)
		}
		if in.AgreementProposalIdentifier != "" && in.AgreementProposalIdentifier != o.AgreementProposalID {
			return nil, validation("INVALID_AGREEMENT_PROPOSAL_IDENTIFIER", "agreementProposalIdentifier",
				"An AMEND keeps its agreement's offer: agreementProposalIdentifier must be %s (of offer %s) or absent", o.AgreementProposalID, o.ID)
		}
	} else if o, err = s.proposal(ctx, caller, in.AgreementProposalIdentifier); err != nil {
		return nil, err
	}
	if source != nil && o.ProductCode != source.ProductCode {
		return nil, validation("INVALID_AGREEMENT_PROPOSAL_IDENTIFIER", "agreementProposalIdentifier",
			"A REPLACE stays on the product of agreement %s: offer %s is of another product", source.ID, o.ID)
	}
	r.ProductCode, r.OfferID = o.ProductCode, o.ID
	if err := configureRequest(r, o, source, in.RequestedTerms); err != nil {
		return nil, err
	}
	p, err := s.Store.Product(ctx, o.ProductCode)
	if err != nil {
		return nil, fmt.Errorf("marketplace: product of offer %s: %w", o.ID, err)
	}
	if err := s.checkAcceptable(ctx, p, o, r); err != nil {
		return nil, err
	}
	r.Fingerprint = fingerprint(in)
	r.ID = "ar-" + random(upperAlnum, 25)
	stored, err := s.Store.PutAgreementRequest(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("marketplace: store agreement request: %w", err)
	}
	if stored.ID != r.ID && stored.Fingerprint != r.Fingerprint {
		return nil, meterd.Errorf(meterd.EConflictAPI, "clientToken %s was used for agreement request %s with other members: use a new clientToken for a new request", in.ClientToken, stored.ID)
	}
	return &meterd.CreateAgreementRequestOutput{AgreementRequestID: stored.ID, ChargeSummary: chargeSummary(o, stored, source)}, nil
}

// checkRequestShape checks the members the model constrains.
func checkRequestShape(in *meterd.CreateAgreementRequestInput) error {
	if in.ClientToken != "" && !clientTokenPattern.MatchString(in.ClientToken) {
		return validation("INVALID_CLIENT_TOKEN", "clientToken", "clientToken must be 1 to 64 letters, digits or '-'")
	}
	switch in.Intent {
	case "":
		return validation("MISSING_INTENT", "intent", "intent is required: NEW, AMEND or REPLACE")
	case meterd.IntentNew, meterd.IntentAmend, meterd.IntentReplace:
	default:
		return validation("INVALID_INTENT", "intent", "intent must be NEW, AMEND or REPLACE, got %q", clipEcho(in.Intent))
	}
	if in.Intent != meterd.IntentAmend && in.AgreementProposalIdentifier == "" {
		return validation("MISSING_AGREEMENT_PROPOSAL_IDENTIFIER", "agreementProposalIdentifier", "agreementProposalIdentifier is required for intent %s", in.Intent)
	}
	if in.AgreementProposalIdentifier != "" && !proposalIDPattern.MatchString(in.AgreementProposalIdentifier) {
		return validation("INVALID_AGREEMENT_PROPOSAL_IDENTIFIER", "agreementProposalIdentifier", "agreementProposalIdentifier must be ap- or at- and 1 to 61 letters or digits")
	}
	if in.Intent == meterd.IntentNew && in.SourceAgreementIdentifier != "" {
		return validation("INVALID_SOURCE_AGREEMENT_IDENTIFIER", "sourceAgreementIdentifier", "sourceAgreementIdentifier must be absent for intent NEW")
	}
	if in.Intent != meterd.IntentNew && in.SourceAgreementIdentifier == "" {
		return validation("MISSING_SOURCE_AGREEMENT_IDENTIFIER", "sourceAgreementIdentifier", "sourceAgreementIdentifier is required for intent %s", in.Intent)
	}
	if in.SourceAgreementIdentifier != "" && !resourceID.MatchString(in.SourceAgreementIdentifier) {
		return validation("INVALID_SOURCE_AGREEMENT_IDENTIFIER", "sourceAgreementIdentifier", "sourceAgreementIdentifier must be 1 to 64 letters, digits, '_', '/' or '-'")
	}
	if len(in.RequestedTerms) == 0 {
		return validation("MISSING_REQUESTED_TERMS", "requestedTerms", "requestedTerms is required: the ids of the terms to accept")
	}
	if len(in.RequestedTerms) > 30 {
		return validation("INVALID_REQUESTED_TERMS", "requestedTerms", "requestedTerms holds at most 30 terms, got %d", len(in.RequestedTerms))
	}
	for i, t := range in.RequestedTerms {
		if t.ID == "" {
			return validation("MISSING_REQUESTED_TERM_ID", fmt.Sprintf("requestedTerms[%d].id", i), "requestedTerms[%d].id is required", i)
		}
	}
	return nil
}

// sourceAgreement returns the caller's ACTIVE agreement that an AMEND or
// REPLACE acts on.
func (s *Agreements) sourceAgreement(ctx context.Context, caller *meterd.Caller, id string) (*meterd.Agreement, error) {
	a, err := s.readable(ctx, caller, "sourceAgreementIdentifier", id)
	if err != nil {
		return nil, err
	}
	if caller.AccountID != a.BuyerAccountID {
		return nil, meterd.Errorf(meterd.EAccessDenied, "Account %s is the proposer of agreement %s: only its acceptor (%s) may amend or replace it", caller.AccountID, a.ID, a.BuyerAccountID)
	}
	if a.Status != meterd.AgreementActive {
		return nil, validation("INACTIVE_AGREEMENT", "sourceAgreementIdentifier", "Agreement %s is %s: only an ACTIVE agreement can be amended or replaced", a.ID, a.Status)
	}
	return a, nil
}

// proposal returns the offer of an agreement proposal the caller may
// accept: a public offer, or a private one that allows its account.
func (s *Agreements) proposal(ctx context.Context, caller *meterd.Caller, id string) (*meterd.Offer, error) {
	o, err := s.Store.OfferByProposal(ctx, id)
	if meterd.ErrorCode(err) == meterd.ENotFound {
		return nil, meterd.Errorf(meterd.EResourceNotFound, "Agreement proposal %s does not exist", id)
	} else if err != nil {
		return nil, fmt.Errorf("marketplace: agreement proposal %s: %w", id, err)
	}
	if !o.VisibleTo(caller.AccountID) {
		return nil, meterd.Errorf(meterd.EAccessDenied, "Offer %s (agreement proposal %s) is private and account %s is not among its buyers", o.ID, id, caller.AccountID)
	}
	return o, nil
}

// configureRequest reads the requested terms into the request's
// configuration: each must be a term of the offer, once; a NEW or REPLACE
// requests every term of the offer, an AMEND the terms it configures.
func configureRequest(r *meterd.AgreementRequest, o *meterd.Offer, source *meterd.Agreement, terms []meterd.RequestedTerm) error {
	seen := map[string]bool{}
	for i, rt := range terms {
		member := fmt.Sprintf("requestedTerms[%d]", i)
		idx := slices.IndexFunc(o.Terms, func(t meterd.Term) bool { return t.ID == rt.ID })
		if idx < 0 {
			return validation("INVALID_REQUESTED_TERM_ID", member+".id", "Term %s is not a term of offer %s", clipEcho(rt.ID), o.ID)
		}
		if seen[rt.ID] {
			return validation("INVALID_REQUESTED_TERMS", member+".id", "Term %s is requested twice", rt.ID)
		}
		seen[rt.ID] = true
		term := o.Terms[idx]
		if term.Type == meterd.TermFreeTrialPricing && r.Intent != meterd.IntentAmend {
			r.Trial = true
		}
		if err := configureTerm(r, term, rt.Configuration, member+".configuration"); err != nil {
			return err
		}
	}
	if r.Intent == meterd.IntentAmend {
		if r.Quantities == nil && r.AutoRenew == nil {
			return validation("MISSING_REQUESTED_TERM_CONFIGURATION", "requestedTerms",
				"An AMEND configures the ConfigurableUpfrontPricingTerm (new quantities) or the RenewalTerm of agreement %s", source.ID)
		}
		if r.Duration != "" && r.Duration != source.Duration {
			return validation("INVALID_REQUESTED_TERM_CONFIGURATION", "requestedTerms",
				"An AMEND keeps agreement %s's duration %s, not %s: REPLACE it for another duration", source.ID, source.Duration, r.Duration)
		}
		r.Duration = ""
		current := quantities(source)
		for _, name := range sortedKeys(r.Quantities) {
			if r.Quantities[name] < current[name] {
				return validation("INVALID_REQUESTED_TERM_CONFIGURATION", "requestedTerms",
					"An AMEND raises quantities only: %s %d is below agreement %s's %d", name, r.Quantities[name], source.ID, current[name])
			}
		}
		return nil
	}
	var missing []string
	for _, t := range o.Terms {
		if !seen[t.ID] && !(t.Type == meterd.TermFreeTrialPricing && o.Pricing != meterd.PricingFreeTrial) {
			missing = append(missing, t.ID+" ("+t.Type+")")
		}
	}
	if len(missing) > 0 {
		return validation("MISSING_MANDATORY_TERMS", "requestedTerms", "requestedTerms must accept every term of offer %s; missing %s", o.ID, strings.Join(missing, ", "))
	}
	if _, contract := o.Term(meterd.TermConfigurableUpfrontPrice); contract && r.Quantities == nil && !r.Trial {
		return validation("MISSING_REQUESTED_TERM_CONFIGURATION", "requestedTerms",
			"The ConfigurableUpfrontPricingTerm of offer %s needs its configurableUpfrontPricingTermConfiguration: a duration and quantities", o.ID)
	}
	return nil
}

// configureTerm applies one requested term's configuration.
func configureTerm(r *meterd.AgreementRequest, term meterd.Term, c *meterd.RequestedTermConfiguration, member string) error {
	if c == nil {
		return nil
	}
	switch {
	case c.Member == meterd.ConfigUpfront && term.Type == meterd.TermConfigurableUpfrontPrice:
		if c.SelectorValue == "" || len(c.Dimensions) == 0 {
			return validation("MISSING_REQUESTED_TERM_CONFIGURATION", member, "%s needs a selectorValue (a duration such as P12M) and dimensions", meterd.ConfigUpfront)
		}
		r.Duration, r.Quantities = c.SelectorValue, map[string]int64{}
		for i, d := range c.Dimensions {
			if d.DimensionKey == "" || d.DimensionValue < 0 {
				return validation("INVALID_REQUESTED_TERM_CONFIGURATION", fmt.Sprintf("%s.%s.dimensions[%d]", member, meterd.ConfigUpfront, i),
					"A dimension needs its dimensionKey and a dimensionValue of 0 or more")
			}
			r.Quantities[d.DimensionKey] = d.DimensionValue
		}
	case c.Member == meterd.ConfigRenewal && term.Type == meterd.TermRenewal:
		if c.EnableAutoRenew == nil {
			return validation("MISSING_REQUESTED_TERM_CONFIGURATION", member, "%s needs enableAutoRenew", meterd.ConfigRenewal)
		}
		r.AutoRenew = c.EnableAutoRenew
	default:
		return validation("INVALID_REQUESTED_TERM_CONFIGURATION", member, "Term %s is a %s: it takes no %s", term.ID, term.Type, clipEcho(c.Member))
	}
	return nil
}

// checkAcceptable runs the offer's rules on the request as accepting it
// would (durations, priced dimensions, quantities, one free trial per buyer
// and product), making nothing.
func (s *Agreements) checkAcceptable(ctx context.Context, p *meterd.Product, o *meterd.Offer, r *meterd.AgreementRequest) error {
	if r.Trial {
		prior, err := s.Store.Agreements(ctx, meterd.AgreementFilter{ProductCode: p.Code, BuyerAccountID: r.BuyerAccountID})
		if err != nil {
			return fmt.Errorf("marketplace: agreements of %s: %w", r.BuyerAccountID, err)
		}
		if slices.ContainsFunc(prior, func(a *meterd.Agreement) bool { return a.Trial }) {
			return validation("INCOMPATIBLE_TERMS", "requestedTerms",
				"Account %s already had a free trial of product %s: one trial per buyer and product", r.BuyerAccountID, p.Code)
		}
	}
	if r.Intent == meterd.IntentAmend {
		return nil // amendTerms checks the quantities against the source at acceptance
	}
	err := CheckAcceptance(p, o, requestAcceptance(r), s.Clock.Now())
	if meterd.ErrorCode(err) == meterd.EInvalid {
		return validation("INVALID_REQUESTED_TERM_CONFIGURATION", "requestedTerms", "%s", meterd.ErrorMessage(err))
	}
	return err
}

// requestAcceptance is the acceptance a NEW or REPLACE request makes.
func requestAcceptance(r *meterd.AgreementRequest) AcceptInput {
	return AcceptInput{Buyer: r.BuyerAccountID, OfferID: r.OfferID, Duration: r.Duration, Quantities: r.Quantities,
		AutoRenew: r.AutoRenew, Trial: r.Trial, requestKey: "request:" + r.ID}
}

// fingerprint is a digest of a request's members, to tell a retry with
// its clientToken from another request reusing it.
func fingerprint(in *meterd.CreateAgreementRequestInput) string {
	b, _ := json.Marshal(in) // plain members always marshal
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// chargeSummary prices a request from the offer's rate cards: a
// contract's value for the chosen duration and quantities, charged on
// acceptance (for an AMEND, the raise over the source's quantities); usage
// billed each period; nothing for a trial.
func chargeSummary(o *meterd.Offer, r *meterd.AgreementRequest, source *meterd.Agreement) *meterd.ChargeSummary {
	sum := &meterd.ChargeSummary{CurrencyCode: "USD", NewAgreementValue: "0.00", ItemizedCharges: []meterd.ItemizedCharge{}, ExpectedCharges: []meterd.ExpectedCharge{}}
	upfront, contract := o.Term(meterd.TermConfigurableUpfrontPrice)
	if r.Trial {
		return sum
	}
	if !contract {
		sum.ExpectedCharges = append(sum.ExpectedCharges, meterd.ExpectedCharge{ID: "charge-usage", Timing: "BILLING_PERIOD"})
		return sum
	}
	sum.CurrencyCode = or(upfront.CurrencyCode, "USD")
	duration, old := r.Duration, map[string]int64{}
	if source != nil && r.Intent == meterd.IntentAmend {
		duration, old = source.Duration, quantities(source)
	}
	next := r.Quantities
	if next == nil {
		next = old // an AMEND of the auto-renewal alone
	}
	prices := map[string]*big.Rat{}
	for _, rc := range upfront.RateCards {
		if rc.Duration == duration {
			for _, it := range rc.RateCard {
				if v, ok := new(big.Rat).SetString(it.Price); ok {
					prices[it.DimensionKey] = v
				}
			}
		}
	}
	total, incremental := new(big.Rat), new(big.Rat)
	for _, name := range sortedKeys(next) {
		price := prices[name]
		if price == nil {
			price = new(big.Rat)
		}
		total.Add(total, new(big.Rat).Mul(price, new(big.Rat).SetInt64(next[name])))
		inc := new(big.Rat).Mul(price, new(big.Rat).SetInt64(next[name]-old[name]))
		incremental.Add(incremental, inc)
		sum.ItemizedCharges = append(sum.ItemizedCharges, meterd.ItemizedCharge{DimensionKey: name, NewQuantity: next[name],
			OldQuantity: old[name], IncrementalChargeAmount: inc.FloatString(2)})
	}
	sum.NewAgreementValue = total.FloatString(2)
	sum.ExpectedCharges = append(sum.ExpectedCharges, meterd.ExpectedCharge{ID: "charge-upfront", Amount: incremental.FloatString(2), Timing: "ON_ACCEPTANCE"})
	return sum
}

// AcceptAgreementRequest turns the caller's agreement request into its
// agreement (§1.1, with its events): NEW accepts the offer, AMEND amends
// and REPLACE replaces the source agreement. A request accepted before
// returns the same agreement id; one older than an hour is
// ValidationException.
func (s *Agreements) AcceptAgreementRequest(ctx context.Context, in *meterd.AcceptAgreementRequestInput) (*meterd.AcceptAgreementRequestOutput, error) {
	caller, err := agreementCaller(ctx)
	if err != nil {
		return nil, err
	}
	if in.AgreementRequestID == "" {
		return nil, validation("MISSING_AGREEMENT_REQUEST_ID", "agreementRequestId", "agreementRequestId is required")
	}
	if !agreementRequestIDPattern.MatchString(in.AgreementRequestID) {
		return nil, validation("INVALID_AGREEMENT_REQUEST_ID", "agreementRequestId", "agreementRequestId must be ar- and 1 to 61 letters or digits")
	}
	r, err := s.Store.AgreementRequest(ctx, in.AgreementRequestID)
	if meterd.ErrorCode(err) == meterd.ENotFound {
		return nil, meterd.Errorf(meterd.EResourceNotFound, "Agreement request %s does not exist", in.AgreementRequestID)
	} else if err != nil {
		return nil, fmt.Errorf("marketplace: agreement request %s: %w", in.AgreementRequestID, err)
	}
	if r.BuyerAccountID != caller.AccountID {
		return nil, meterd.Errorf(meterd.EAccessDenied, "Agreement request %s is account %s's: only it may accept it", r.ID, r.BuyerAccountID)
	}
	if r.AgreementID == "" && s.Clock.Now().After(r.CreatedAt.Add(AgreementRequestTTL)) {
		return nil, validation("INVALID_AGREEMENT_REQUEST_ID", "agreementRequestId",
			"Agreement request %s expired at %s: a request may be accepted for 1 hour after CreateAgreementRequest", r.ID, r.CreatedAt.Add(AgreementRequestTTL).Format(time.RFC3339))
	}
	a, err := s.Market.AcceptRequest(ctx, r)
	switch meterd.ErrorCode(err) {
	case "":
	case meterd.EInvalid:
		return nil, validation("INVALID_REQUESTED_TERM_CONFIGURATION", "agreementRequestId", "Agreement request %s can not be accepted: %s", r.ID, meterd.ErrorMessage(err))
	case meterd.EConflict:
		return nil, meterd.Errorf(meterd.EConflictAPI, "Agreement request %s can not be accepted: %s", r.ID, meterd.ErrorMessage(err))
	case meterd.EAccessDenied:
		return nil, err
	default:
		return nil, fmt.Errorf("marketplace: accept agreement request %s: %w", r.ID, err)
	}
	return &meterd.AcceptAgreementRequestOutput{AgreementID: a.ID}, nil
}

// AcceptRequest runs the transition of an agreement request (NEW: accept,
// AMEND: amend, REPLACE: replace) and marks the request accepted in the
// same change, so that it is accepted once whatever the races; a request
// already accepted returns its agreement.
func (s *Service) AcceptRequest(ctx context.Context, r *meterd.AgreementRequest) (*meterd.Agreement, error) {
	mark := func(p *plan, a *meterd.Agreement) {
		done := *r
		done.AgreementID, done.AcceptedAt = a.ID, p.now
		p.ch.Accepted = append(p.ch.Accepted, &done)
	}
	var a *meterd.Agreement
	var err error
	switch {
	case r.AgreementID != "":
		return s.Ledger.Agreement(ctx, r.AgreementID)
	case r.Intent == meterd.IntentNew:
		var res *AcceptResult
		if res, err = s.accept(ctx, requestAcceptance(r), mark); err == nil {
			a = res.Agreement
		}
	case r.Intent == meterd.IntentAmend:
		a, err = s.change(ctx, r.SourceAgreementID, func(p *plan, cs *custState, a *meterd.Agreement) (*meterd.Agreement, error) {
			mark(p, a)
			return a, p.amend(a, &AmendInput{Quantities: r.Quantities, AutoRenew: r.AutoRenew})
		})
	default:
		in := requestAcceptance(r)
		in.requestKey = ""
		a, err = s.change(ctx, r.SourceAgreementID, func(p *plan, cs *custState, a *meterd.Agreement) (*meterd.Agreement, error) {
			o, err := s.Ledger.Offer(ctx, r.OfferID)
			if err != nil {
				return nil, err
			}
			b, err := p.replace(cs, a, o, &in)
			if err == nil {
				mark(p, b)
			}
			return b, err
		})
	}
	if err != nil {
		// Another process may have accepted it first: its agreement then
		// stands.
		if stored, rerr := s.Ledger.AgreementRequest(ctx, r.ID); rerr == nil && stored.AgreementID != "" {
			return s.Ledger.Agreement(ctx, stored.AgreementID)
		}
		return nil, err
	}
	return a, nil
}
