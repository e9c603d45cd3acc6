package marketplace

import (
	"maps"
	"time"

	"github.com/meterd/meterd"
)

// AcceptInput is a buyer's acceptance of an offer (the CLI's `agreements
// accept`, the admin API, the catalog's agreements and customers).
type AcceptInput struct {
	Buyer      string           `json:"buyer"`
	OfferID    string           `json:"offer"`
	Duration   string           `json:"duration,omitempty"`   // a contract duration the offer prices
	Quantities map[string]int64 `json:"quantities,omitempty"` // per contract dimension
	AutoRenew  *bool            `json:"auto_renew,omitempty"` // default: the offer's RenewalTerm
	Trial      bool             `json:"trial,omitempty"`      // start the offer's free trial
	Start      *time.Time       `json:"start,omitempty"`      // default: now (the offer's ValidityTerm start, when it has one)
	Fail       bool             `json:"fail,omitempty"`       // simulate a failed acceptance
	// ClientToken makes the acceptance idempotent: the same token on the
	// same product returns the agreement it made.
	ClientToken string `json:"client_token,omitempty"`

	// For customers (admin and catalog): the customer's identifier,
	// license and platform when it is new.
	CustomerIdentifier string `json:"customer_identifier,omitempty"`
	LicenseArn         string `json:"license_arn,omitempty"`
	Platform           string `json:"platform,omitempty"`

	requestKey string // set by the catalog: the entry's own key
}

// AmendInput changes an ACTIVE agreement: quantities up, auto-renew on or off.
type AmendInput struct {
	Quantities map[string]int64 `json:"quantities,omitempty"`
	AutoRenew  *bool            `json:"auto_renew,omitempty"`
}

// newAgreement builds the agreement an acceptance makes (not yet in the
// plan): its times, terms with the buyer's configuration and entitled
// dimensions. EInvalid naming the field for a choice the offer does not
// allow.
func (p *plan) newAgreement(cs *custState, o *meterd.Offer, in *AcceptInput) (*meterd.Agreement, error) {
	if !o.VisibleTo(in.Buyer) {
		return nil, meterd.Errorf(meterd.EAccessDenied, "offer: offer %s is private and account %s is not among its buyers", o.ID, in.Buyer)
	}
	trialTerm, hasTrial := o.Term(meterd.TermFreeTrialPricing)
	trial := in.Trial || o.Pricing == meterd.PricingFreeTrial
	if trial && !hasTrial {
		return nil, invalid("trial", "offer %s has no free trial", o.ID)
	}
	if trial && cs.hadTrial() {
		return nil, invalid("trial", "account %s already had a free trial of product %s: one trial per buyer and product", in.Buyer, o.ProductCode)
	}
	a := &meterd.Agreement{
		Status: meterd.AgreementActive, Intent: meterd.IntentNew, ProductCode: o.ProductCode, ProductID: p.product.ID,
		OfferID: o.ID, BuyerAccountID: in.Buyer, SellerAccountID: p.product.SellerAccountID,
		AcceptanceTime: p.now, StartTime: p.now, Trial: trial, UpdatedAt: p.now,
		Terms: cloneTerms(o.Terms), Dimensions: []meterd.AgreementDimension{},
	}
	if v, ok := o.Term(meterd.TermValidity); ok && v.AgreementStartDate != nil {
		a.StartTime = v.AgreementStartDate.UTC()
	}
	if in.Start != nil {
		a.StartTime = in.Start.UTC().Truncate(time.Millisecond)
	}
	if err := p.configure(a, in); err != nil {
		return nil, err
	}
	var end time.Time
	var err error
	switch v, hasValidity := o.Term(meterd.TermValidity); {
	case trial:
		end, err = meterd.AddISODuration(a.StartTime, trialTerm.Duration)
		a.Dimensions = p.grants(trialTerm)
	case a.Duration != "":
		end, err = meterd.AddISODuration(a.StartTime, a.Duration)
	case hasValidity && v.AgreementDuration != "":
		end, err = meterd.AddISODuration(a.StartTime, v.AgreementDuration)
	}
	if err != nil {
		return nil, invalid("duration", "%v", err)
	}
	if !end.IsZero() {
		a.EndTime = &end
	}
	return a, nil
}

// configure applies the buyer's contract choices (duration, quantities,
// auto-renew) to the agreement's terms.
func (p *plan) configure(a *meterd.Agreement, in *AcceptInput) error {
	upfront, ok := a.Term(meterd.TermConfigurableUpfrontPrice)
	if !ok {
		if in.Duration != "" {
			return invalid("duration", "offer %s has no contract durations", a.OfferID)
		}
		if len(in.Quantities) > 0 {
			return invalid("quantities", "offer %s has no contract dimensions", a.OfferID)
		}
		if in.AutoRenew != nil {
			return invalid("auto_renew", "offer %s has no renewal term", a.OfferID)
		}
		return nil
	}
	duration := in.Duration
	if duration == "" && len(upfront.RateCards) == 1 {
		duration = upfront.RateCards[0].Duration
	}
	var card *meterd.DurationRateCard
	for i := range upfront.RateCards {
		if upfront.RateCards[i].Duration == duration {
			card = &upfront.RateCards[i]
		}
	}
	if card == nil {
		offered := []string{}
		for _, c := range upfront.RateCards {
			offered = append(offered, c.Duration)
		}
		return invalid("duration", "%q is not a duration of offer %s (it offers %v)", duration, a.OfferID, offered)
	}
	priced := map[string]bool{}
	for _, r := range card.RateCard {
		priced[r.DimensionKey] = true
	}
	var total int64
	for name, q := range in.Quantities {
		if !priced[name] {
			return invalid("quantities."+name, "offer %s prices no contract dimension %q for %s", a.OfferID, name, duration)
		}
		if q < 0 || q > 1_000_000_000 {
			return invalid("quantities."+name, "a quantity is 0 to 1000000000, not %d", q)
		}
		total += q
	}
	if total == 0 {
		return invalid("quantities", "choose a quantity of at least one contract dimension of offer %s", a.OfferID)
	}
	a.Duration = duration
	auto := true
	if r, ok := a.Term(meterd.TermRenewal); ok && r.AutoRenew != nil {
		auto = *r.AutoRenew
	}
	if in.AutoRenew != nil {
		auto = *in.AutoRenew
	}
	p.setConfiguration(a, in.Quantities, auto)
	return nil
}

// setConfiguration writes the contract quantities and the auto-renew
// choice into the agreement's terms and its entitled dimensions.
func (p *plan) setConfiguration(a *meterd.Agreement, quantities map[string]int64, auto bool) {
	a.AutoRenew = auto
	upfront, _ := a.Term(meterd.TermConfigurableUpfrontPrice)
	cfg := &meterd.TermConfiguration{SelectorValue: a.Duration}
	a.Dimensions = []meterd.AgreementDimension{}
	for _, name := range sortedKeys(quantities) {
		cfg.Dimensions = append(cfg.Dimensions, meterd.DimensionValue{DimensionKey: name, DimensionValue: quantities[name]})
		d, _ := p.product.Dimension(name)
		a.Dimensions = append(a.Dimensions, meterd.AgreementDimension{Name: name, Quantity: quantities[name], ValueType: d.ValueType})
	}
	upfront.Configuration = cfg
	if r, ok := a.Term(meterd.TermRenewal); ok {
		r.Configuration = &meterd.TermConfiguration{EnableAutoRenew: &auto}
	}
}

// grants returns the entitled dimensions of a trial: its grants of
// contract dimensions.
func (p *plan) grants(t *meterd.Term) []meterd.AgreementDimension {
	out := []meterd.AgreementDimension{}
	for _, g := range t.Grants {
		if d, ok := p.product.Dimension(g.DimensionKey); ok && d.Contract {
			out = append(out, meterd.AgreementDimension{Name: d.Name, Quantity: g.MaxQuantity, ValueType: d.ValueType})
		}
	}
	return out
}

// quantities returns the agreement's configured contract quantities.
func quantities(a *meterd.Agreement) map[string]int64 {
	out := map[string]int64{}
	if t, ok := a.Term(meterd.TermConfigurableUpfrontPrice); ok && t.Configuration != nil {
		for _, d := range t.Configuration.Dimensions {
			out[d.DimensionKey] = d.DimensionValue
		}
	}
	return out
}

// accept makes a NEW agreement on the plan's customer, with its license.
func (p *plan) accept(cs *custState, o *meterd.Offer, in *AcceptInput) (*meterd.Agreement, error) {
	a, err := p.newAgreement(cs, o, in)
	if err != nil {
		return nil, err
	}
	a.RequestKey = in.requestKey
	a.ID = newAgreementID(a.ProductCode, a.RequestKey)
	a.CustomerIdentifier = cs.c.CustomerIdentifier
	arn := in.LicenseArn
	if arn == "" {
		arn = NewLicenseArn(p.product.SellerAccountID)
	}
	a.LicenseArn = arn
	l := cs.license(arn)
	if l == nil {
		l = &meterd.License{Arn: arn, ProductCode: a.ProductCode, CustomerIdentifier: cs.c.CustomerIdentifier,
			CustomerAWSAccountID: cs.c.CustomerAWSAccountID, StartTime: a.StartTime, CreatedAt: p.now}
		cs.licenses = append(cs.licenses, l)
	} else if l.DeprovisionedAt == nil && l.AgreementID != "" {
		return nil, meterd.Errorf(meterd.EConflict, "license %s is that of active agreement %s", arn, l.AgreementID)
	}
	l.AgreementID, l.DeprovisionedAt = a.ID, nil
	cs.changed[arn] = true
	p.insert(cs, a)
	p.created(cs, a, true)
	return a, nil
}

// successor makes the agreement that follows a on its license (RENEW,
// REPLACE, a converted trial), starting at start.
func (p *plan) successor(cs *custState, a *meterd.Agreement, b *meterd.Agreement, intent string) {
	b.ID = newAgreementID(b.ProductCode, "")
	b.Intent, b.PreviousAgreementID = intent, a.ID
	b.CustomerIdentifier, b.LicenseArn = a.CustomerIdentifier, a.LicenseArn
	if l := cs.license(a.LicenseArn); l != nil {
		l.AgreementID = b.ID
		cs.changed[l.Arn] = true
	}
	p.insert(cs, b)
	p.created(cs, b, intent != meterd.IntentRenew)
}

// renew ends a at its end time with RENEWED and starts its renewal for the
// same duration and quantities.
func (p *plan) renew(cs *custState, a *meterd.Agreement) {
	b := *a
	b.Terms, b.Dimensions = cloneTerms(a.Terms), append([]meterd.AgreementDimension(nil), a.Dimensions...)
	b.AcceptanceTime, b.StartTime, b.Version, b.EndedAt, b.UpdatedAt, b.RequestKey = p.now, *a.EndTime, 0, time.Time{}, p.now, ""
	end, _ := meterd.AddISODuration(b.StartTime, a.Duration)
	b.EndTime = &end
	p.end(cs, a, meterd.AgreementRenewed, true, true)
	p.successor(cs, a, &b, meterd.IntentRenew)
}

// convert ends a trial at its end time with REPLACED and starts the paid
// agreement on the same offer with the configuration chosen at acceptance.
func (p *plan) convert(cs *custState, a *meterd.Agreement) {
	b := *a
	b.Terms, b.Trial = cloneTerms(a.Terms), false
	b.AcceptanceTime, b.StartTime, b.Version, b.EndedAt, b.UpdatedAt, b.RequestKey = p.now, *a.EndTime, 0, time.Time{}, p.now, ""
	b.EndTime, b.Dimensions = nil, []meterd.AgreementDimension{}
	if b.Duration != "" {
		p.setConfiguration(&b, quantities(a), a.AutoRenew)
		end, _ := meterd.AddISODuration(b.StartTime, b.Duration)
		b.EndTime = &end
	}
	p.end(cs, a, meterd.AgreementReplaced, true, true)
	p.successor(cs, a, &b, meterd.IntentReplace)
}

// amend changes a's quantities (only up) and auto-renew choice in place.
func (p *plan) amend(a *meterd.Agreement, in *AmendInput) error {
	if _, ok := a.Term(meterd.TermConfigurableUpfrontPrice); !ok || a.Trial {
		return invalid("quantities", "agreement %s is not a contract: there is nothing to amend", a.ID)
	}
	q := quantities(a)
	next := maps.Clone(q)
	upfront, _ := a.Term(meterd.TermConfigurableUpfrontPrice)
	priced := map[string]bool{}
	for _, c := range upfront.RateCards {
		if c.Duration == a.Duration {
			for _, r := range c.RateCard {
				priced[r.DimensionKey] = true
			}
		}
	}
	for name, v := range in.Quantities {
		if !priced[name] {
			return invalid("quantities."+name, "the offer prices no contract dimension %q for %s", name, a.Duration)
		}
		if v < q[name] || v > 1_000_000_000 {
			return invalid("quantities."+name, "an amendment raises quantities only: %d is below the current %d", v, q[name])
		}
		next[name] = v
	}
	auto := a.AutoRenew
	if in.AutoRenew != nil {
		auto = *in.AutoRenew
	}
	if len(in.Quantities) == 0 && in.AutoRenew == nil {
		return invalid("quantities", "give quantities to raise or auto_renew")
	}
	p.update(a)
	a.Intent = meterd.IntentAmend
	p.setConfiguration(a, next, auto)
	p.ev.bridge(AmendedProposer, a)
	p.ev.bridge(AmendedManufacturer, a)
	p.ev.bridge(LicenseUpdated, a)
	p.ev.entitlementUpdated(a.CustomerIdentifier, a.ID)
	return nil
}

// replace ends a with REPLACED and makes the agreement on offer o that
// follows it on its license.
func (p *plan) replace(cs *custState, a *meterd.Agreement, o *meterd.Offer, in *AcceptInput) (*meterd.Agreement, error) {
	if o.ProductCode != a.ProductCode {
		return nil, invalid("offer", "offer %s is of product %s, not %s", o.ID, o.ProductCode, a.ProductCode)
	}
	in.Buyer = a.BuyerAccountID
	b, err := p.newAgreement(cs, o, in)
	if err != nil {
		return nil, err
	}
	p.end(cs, a, meterd.AgreementReplaced, true, false)
	p.successor(cs, a, b, meterd.IntentReplace)
	return b, nil
}

func cloneTerms(terms []meterd.Term) []meterd.Term {
	out := make([]meterd.Term, len(terms))
	for i, t := range terms {
		out[i] = t
		if t.Configuration != nil {
			c := *t.Configuration
			c.Dimensions = append([]meterd.DimensionValue(nil), c.Dimensions...)
			out[i].Configuration = &c
		}
	}
	return out
}

// CheckAcceptance reports whether the offer allows the acceptance in
// (EInvalid naming the field), making nothing: the catalog checks its
// agreements with it before applying any.
func CheckAcceptance(prod *meterd.Product, o *meterd.Offer, in AcceptInput, now time.Time) error {
	p := newPlan(prod, now)
	cs := p.customer(&meterd.Customer{ProductCode: prod.Code, CustomerAWSAccountID: in.Buyer}, nil, nil)
	_, err := p.newAgreement(cs, o, &in)
	return err
}
