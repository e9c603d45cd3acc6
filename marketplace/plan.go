package marketplace

import (
	"slices"
	"time"

	"github.com/meterd/meterd"
)

// plan gathers one transition's writes over the state it read, so that
// they go to the store in one MarketChange (one transaction). The rules of
// §1.1 are its methods; the plan knows nothing of SQL.
type plan struct {
	now     time.Time // the instant of the transition, by the server clock
	product *meterd.Product
	ch      meterd.MarketChange
	ev      events
	custs   []*custState

	inserted map[string]bool
	updated  map[string]int64 // agreement id → the version read
	touched  []*meterd.Agreement
}

// custState is what a plan knows of one customer of the product: the
// customer (nil when new), its agreements and licenses, as the plan
// changes them.
type custState struct {
	c          *meterd.Customer
	agreements []*meterd.Agreement
	licenses   []*meterd.License
	changed    map[string]bool // license ARNs written
	force      string          // a status the catalog or the admin sets
	trialed    bool            // the customer had a free trial (Service.readTrial)
}

func newPlan(p *meterd.Product, now time.Time) *plan {
	now = now.UTC().Truncate(time.Millisecond)
	return &plan{now: now, product: p, ev: events{product: p, at: now}, inserted: map[string]bool{}, updated: map[string]int64{}}
}

// at moves the plan's instant (a due transition happens at its due time).
func (p *plan) at(t time.Time) {
	p.now = t.UTC().Truncate(time.Millisecond)
	p.ev.at = p.now
}

func (p *plan) customer(c *meterd.Customer, agreements []*meterd.Agreement, licenses []*meterd.License) *custState {
	cs := &custState{c: c, agreements: agreements, licenses: licenses, changed: map[string]bool{}}
	p.custs = append(p.custs, cs)
	return cs
}

// insert adds a new agreement to the plan.
func (p *plan) insert(cs *custState, a *meterd.Agreement) {
	p.inserted[a.ID] = true
	p.touched = append(p.touched, a)
	cs.agreements = append(cs.agreements, a)
}

// update marks a stored agreement changed (once, with the version read).
func (p *plan) update(a *meterd.Agreement) {
	if p.inserted[a.ID] {
		return
	}
	if _, ok := p.updated[a.ID]; !ok {
		p.updated[a.ID] = a.Version
		p.touched = append(p.touched, a)
	}
	a.UpdatedAt = p.now
}

func (cs *custState) license(arn string) *meterd.License {
	for _, l := range cs.licenses {
		if l.Arn == arn {
			return l
		}
	}
	return nil
}

func isContract(a *meterd.Agreement) bool {
	_, ok := a.Term(meterd.TermConfigurableUpfrontPrice)
	return ok && !a.Trial
}

// created emits the events of a new agreement (§1.1 accept, replace,
// renew); subscribe tells whether it is a new subscription (accept,
// replace) rather than a renewal.
func (p *plan) created(cs *custState, a *meterd.Agreement, subscribe bool) {
	p.ev.bridge(CreatedProposer, a)
	p.ev.bridge(CreatedManufacturer, a)
	p.ev.bridge(LicenseUpdated, a)
	switch {
	case !a.Started(p.now):
		p.ch.Schedule = append(p.ch.Schedule, meterd.Due{Kind: meterd.DueStart, Ref: a.ID, ProductCode: a.ProductCode, At: a.StartTime})
	case subscribe:
		p.started(a)
	case isContract(a):
		p.ev.entitlementUpdated(a.CustomerIdentifier, a.ID)
	}
	if a.EndTime != nil {
		p.ch.Schedule = append(p.ch.Schedule, meterd.Due{Kind: meterd.DueEnd, Ref: a.ID, ProductCode: a.ProductCode, At: *a.EndTime})
	}
}

// started emits what the start of an agreement tells: subscribe-success,
// and for a contract entitlement-updated.
func (p *plan) started(a *meterd.Agreement) {
	p.ev.subscription(ActionSubscribeSuccess, a.CustomerIdentifier, a.ID, a.OfferID, a.Trial)
	if isContract(a) {
		p.ev.entitlementUpdated(a.CustomerIdentifier, a.ID)
	}
}

// end ends an ACTIVE agreement with status (EXPIRED, CANCELLED,
// TERMINATED, or REPLACED/RENEWED with a successor on its license).
// successor false deprovisions the license.
func (p *plan) end(cs *custState, a *meterd.Agreement, status string, successor bool, fromDue bool) {
	p.update(a)
	a.Status, a.EndedAt = status, p.now
	if !fromDue {
		p.ch.Drop = append(p.ch.Drop, meterd.Due{Kind: meterd.DueEnd, Ref: a.ID}, meterd.Due{Kind: meterd.DueStart, Ref: a.ID})
	}
	if status != meterd.AgreementRenewed {
		p.ev.bridge(EndedProposer, a)
		p.ev.bridge(EndedManufacturer, a)
	}
	if successor {
		return
	}
	if l := cs.license(a.LicenseArn); l != nil {
		t := p.now
		l.DeprovisionedAt = &t
		cs.changed[l.Arn] = true
	}
	p.ev.bridge(LicenseDeprovisioned, a)
}

// finish derives each customer's status and license from its agreements
// (§1 "Customer") and fills the change set.
func (p *plan) finish() *meterd.MarketChange {
	for _, cs := range p.custs {
		p.finishCustomer(cs)
	}
	for _, a := range p.touched {
		if p.inserted[a.ID] {
			p.ch.Insert = append(p.ch.Insert, a)
		} else {
			p.ch.Update = append(p.ch.Update, meterd.AgreementUpdate{Agreement: a, ExpectVersion: p.updated[a.ID]})
		}
	}
	p.ch.Events = append(p.ch.Events, p.ev.out...)
	p.ev.out = nil
	return &p.ch
}

func (p *plan) finishCustomer(cs *custState) {
	c := cs.c
	if c == nil {
		return
	}
	for _, l := range cs.licenses {
		if cs.changed[l.Arn] {
			p.ch.Licenses = append(p.ch.Licenses, l)
		}
	}
	active := false
	var newest *meterd.License
	for _, a := range cs.agreements {
		if a.Status == meterd.AgreementActive && a.Started(p.now) {
			active = true
			if l := cs.license(a.LicenseArn); l != nil && (newest == nil || !l.StartTime.Before(newest.StartTime)) {
				newest = l
			}
		}
	}
	if newest != nil {
		c.LicenseArn = newest.Arn
	}
	eff := c.EffectiveStatus(p.now)
	status := eff
	switch {
	case cs.force != "":
		status = cs.force
	case eff == meterd.StatusSuspended:
		// Suspension is the admin's: agreements do not lift it.
	case active:
		status = meterd.StatusSubscribed
	case eff == meterd.StatusSubscribed:
		status = meterd.StatusUnsubscribePending
	}
	if status == meterd.StatusUnsubscribePending && eff != meterd.StatusUnsubscribePending {
		p.ev.subscription(ActionUnsubscribePending, c.CustomerIdentifier, "", "", false)
		p.ch.Schedule = append(p.ch.Schedule, meterd.Due{Kind: meterd.DueGrace, Ref: graceRef(c), ProductCode: c.ProductCode,
			At: p.now.Add(meterd.UnsubscribeGrace)})
	}
	if status != eff {
		c.StatusChangedAt = p.now
	}
	c.Status = status
	p.ch.Customers = append(p.ch.Customers, c)
}

// graceRef is the Due.Ref of a customer's final-metering hour.
func graceRef(c *meterd.Customer) string { return c.ProductCode + "/" + c.CustomerIdentifier }

// activeAgreements returns the customer's ACTIVE agreements.
func (cs *custState) active() []*meterd.Agreement {
	var out []*meterd.Agreement
	for _, a := range cs.agreements {
		if a.Status == meterd.AgreementActive {
			out = append(out, a)
		}
	}
	return out
}

// hadTrial reports whether the buyer already had a free trial of the
// product: cs.agreements holds only the ACTIVE agreements unless the
// catalog read them all, so Service.readTrial looks at the ended ones.
func (cs *custState) hadTrial() bool {
	return cs.trialed || slices.ContainsFunc(cs.agreements, func(a *meterd.Agreement) bool { return a.Trial })
}
