package marketplace

import (
	"context"
	"fmt"
	"time"

	"github.com/meterd/meterd"
)

// CatalogProduct is what a catalog file declares of a product's
// marketplace: its offers, its customers (each an agreement on the
// default offer) and further agreements.
type CatalogProduct struct {
	Product    *meterd.Product
	Offers     []*OfferSpec
	Customers  []CatalogCustomer
	Agreements []CatalogAgreement
}

// CatalogCustomer is a catalog customers: entry, its generated values
// already filled in.
type CatalogCustomer struct {
	AWSAccountID       string
	CustomerIdentifier string
	LicenseArn         string // "" keeps the stored customer's, else one is derived
	Status             string
	Platform           string
}

// CatalogAgreement is a catalog agreements: entry.
type CatalogAgreement struct {
	Buyer      string
	Offer      string
	Duration   string
	Quantities map[string]int64
	AutoRenew  *bool
	Trial      bool
	Start      *time.Time
}

// catalogChunk is how many customers and agreements go into one
// transaction: a catalog of 10,000 customers is 20 of them.
const catalogChunk = 500

// Offers returns the product's offers as the catalog declares them, with
// the default offer (the first public usage offer, else a generated one)
// marked Default. Offer ids the catalog leaves out are derived from the
// product and position. EInvalid naming the offer's field.
func CatalogOffers(p *meterd.Product, specs []*OfferSpec, now time.Time) ([]*meterd.Offer, error) {
	var offers []*meterd.Offer
	for i, spec := range specs {
		sp := *spec
		if sp.ID == "" {
			sp.ID = DeclaredOfferID(p.Code, i)
		}
		o, err := NewOffer(p, &sp, now)
		if err != nil {
			return nil, fmt.Errorf("offers[%d].%w", i, err)
		}
		offers = append(offers, o)
	}
	if d := pickDefault(offers); d != nil {
		d.Default = true
	} else {
		offers = append([]*meterd.Offer{DefaultOffer(p, now)}, offers...)
	}
	return offers, nil
}

// ApplyCatalog writes what the catalog declares of a product, at the
// server clock's time: the offers (created or updated), then the customers
// and agreements not applied yet. It is idempotent: each entry is
// identified by its request key (the customer's account, or the
// agreement's buyer, offer and start), so a re-apply, a restart or another
// process applying the same catalog never makes an agreement twice, even
// of an entry that expired or was cancelled since.
func (s *Service) ApplyCatalog(ctx context.Context, cp *CatalogProduct) error {
	now := s.now()
	offers, err := CatalogOffers(cp.Product, cp.Offers, now)
	if err != nil {
		return err
	}
	stored, err := s.Ledger.Offers(ctx, cp.Product.Code)
	if err != nil {
		return err
	}
	created := map[string]time.Time{}
	for _, o := range stored {
		created[o.ID] = o.CreatedAt
	}
	byID := map[string]*meterd.Offer{}
	var def *meterd.Offer
	for _, o := range offers {
		if t, ok := created[o.ID]; ok {
			o.CreatedAt = t
		}
		byID[o.ID] = o
		if o.Default {
			def = o
		}
	}
	for _, o := range stored {
		if byID[o.ID] == nil {
			byID[o.ID] = o // an offer made with the CLI stays
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.Ledger.ApplyMarketChange(ctx, &meterd.MarketChange{Offers: offers}); err != nil {
		return err
	}
	var st *catalogState // read by the first chunk
	for i := 0; i < len(cp.Customers); i += catalogChunk {
		chunk := cp.Customers[i:min(i+catalogChunk, len(cp.Customers))]
		if err := s.catalogChunk(ctx, cp.Product, &st, func(p *plan, st *catalogState) error {
			for j, c := range chunk {
				if err := p.catalogCustomer(st, def, &c); err != nil {
					return fmt.Errorf("customers[%d]: %w", i+j, err)
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	for i := 0; i < len(cp.Agreements); i += catalogChunk {
		chunk := cp.Agreements[i:min(i+catalogChunk, len(cp.Agreements))]
		if err := s.catalogChunk(ctx, cp.Product, &st, func(p *plan, st *catalogState) error {
			for j, e := range chunk {
				o := byID[e.Offer]
				if o == nil {
					return invalid(fmt.Sprintf("agreements[%d].offer", i+j), "product %s has no offer %q", cp.Product.Code, e.Offer)
				}
				if err := p.catalogAgreement(st, o, &e); err != nil {
					return fmt.Errorf("agreements[%d]: %w", i+j, err)
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// catalogState is the product's stored marketplace state that a catalog
// chunk plans over.
type catalogState struct {
	s          *Service
	ctx        context.Context
	byAccount  map[string]*meterd.Customer
	byID       map[string]*meterd.Customer
	keys       map[string]bool // request keys of stored agreements
	agreements map[string][]*meterd.Agreement
	licenses   map[string][]*meterd.License
	states     map[string]*custState // by customer identifier, in this plan
}

// catalogChunk plans fn over the product's state st and applies it; when
// another process won a race, again from a fresh read. st is read once
// for the whole catalog and carried from chunk to chunk: reading the
// product's every customer, agreement and license again for each chunk
// made a catalog of N customers cost O(N²).
func (s *Service) catalogChunk(ctx context.Context, prod *meterd.Product, st **catalogState, fn func(p *plan, st *catalogState) error) error {
	for attempt := 1; ; attempt++ {
		if *st == nil {
			var err error
			if *st, err = s.catalogState(ctx, prod.Code); err != nil {
				return err
			}
		}
		p := newPlan(prod, s.Clock.Now())
		if err := fn(p, *st); err != nil {
			*st = nil // fn may have left its half-made plan in st
			return err
		}
		err := s.Ledger.ApplyMarketChange(ctx, p.finish())
		if err != nil {
			*st = nil
		}
		if meterd.ErrorCode(err) == meterd.EConflict && attempt < attempts {
			continue
		}
		if err == nil {
			(*st).settle()
		}
		return err
	}
}

// settle folds the customers a committed plan changed into the stored
// state, for the next chunk's plan.
func (st *catalogState) settle() {
	for id, cs := range st.states {
		st.byID[id] = cs.c
		st.byAccount[cs.c.CustomerAWSAccountID] = cs.c
		st.agreements[id] = cs.agreements
		st.licenses[id] = cs.licenses
	}
	clear(st.states)
}

func (s *Service) catalogState(ctx context.Context, code string) (*catalogState, error) {
	st := &catalogState{s: s, ctx: ctx, byAccount: map[string]*meterd.Customer{}, byID: map[string]*meterd.Customer{},
		keys: map[string]bool{}, agreements: map[string][]*meterd.Agreement{}, licenses: map[string][]*meterd.License{},
		states: map[string]*custState{}}
	customers, err := s.Ledger.Customers(ctx, code)
	if err != nil {
		return nil, err
	}
	for _, c := range customers {
		st.byID[c.CustomerIdentifier] = c
		if c.CustomerAWSAccountID != "" {
			st.byAccount[c.CustomerAWSAccountID] = c
		}
	}
	agreements, err := s.Ledger.Agreements(ctx, meterd.AgreementFilter{ProductCode: code})
	if err != nil {
		return nil, err
	}
	for _, a := range agreements {
		if a.RequestKey != "" {
			st.keys[a.RequestKey] = true
		}
		st.agreements[a.CustomerIdentifier] = append(st.agreements[a.CustomerIdentifier], a)
	}
	licenses, err := s.Ledger.Licenses(ctx, code, "")
	if err != nil {
		return nil, err
	}
	for _, l := range licenses {
		st.licenses[l.CustomerIdentifier] = append(st.licenses[l.CustomerIdentifier], l)
	}
	return st, nil
}

// stateOf returns the plan's state of a stored or new customer.
func (p *plan) stateOf(st *catalogState, c *meterd.Customer) *custState {
	if cs := st.states[c.CustomerIdentifier]; cs != nil {
		return cs
	}
	cs := p.customer(c, st.agreements[c.CustomerIdentifier], st.licenses[c.CustomerIdentifier])
	st.states[c.CustomerIdentifier] = cs
	st.byID[c.CustomerIdentifier] = c
	st.byAccount[c.CustomerAWSAccountID] = c
	return cs
}

// catalogCustomer applies a customers: entry (§1 "Customer"): an agreement
// on the default offer whose state follows the entry's status.
func (p *plan) catalogCustomer(st *catalogState, def *meterd.Offer, e *CatalogCustomer) error {
	key := "catalog:customer:" + e.AWSAccountID
	if st.keys[key] {
		return nil
	}
	st.keys[key] = true
	c := st.byAccount[e.AWSAccountID]
	if c != nil && e.Status == meterd.StatusSubscribeFailed {
		return nil // a failed acceptance makes no agreement to find it by: the customer is the mark
	}
	if c == nil {
		if other := st.byID[e.CustomerIdentifier]; other != nil {
			return meterd.Errorf(meterd.EConflict, "customer %s of product %s has AWS account %s, not %s",
				e.CustomerIdentifier, p.product.Code, other.CustomerAWSAccountID, e.AWSAccountID)
		}
		c = &meterd.Customer{ProductCode: p.product.Code, CustomerIdentifier: e.CustomerIdentifier, CustomerAWSAccountID: e.AWSAccountID,
			LicenseArn: e.LicenseArn, Status: meterd.StatusUnsubscribed, Platform: e.Platform, StatusChangedAt: p.now, CreatedAt: p.now}
	}
	cs := p.stateOf(st, c)
	arn := e.LicenseArn
	if arn == "" {
		arn = c.LicenseArn
	}
	if arn == "" {
		arn = fmt.Sprintf("arn:aws:license-manager::%s:license:l-%s", p.product.SellerAccountID, derive(p.product.Code, c.CustomerIdentifier)[:32])
	}
	status := e.Status
	if status == "" {
		status = meterd.StatusSubscribed
	}
	now := p.now
	in := &AcceptInput{Buyer: e.AWSAccountID, OfferID: def.ID, LicenseArn: arn, requestKey: key}
	switch status {
	case meterd.StatusSubscribeFailed:
		p.fail(cs, def)
		cs.force = status
		return nil
	case meterd.StatusUnsubscribed:
		// Cancelled more than the grace hour before.
		p.at(now.Add(-2*meterd.UnsubscribeGrace - time.Second))
	}
	a, err := p.accept(cs, def, in)
	if err != nil {
		return err
	}
	switch status {
	case meterd.StatusUnsubscribePending:
		p.end(cs, a, meterd.AgreementCancelled, false, false)
	case meterd.StatusUnsubscribed:
		p.at(now.Add(-meterd.UnsubscribeGrace - time.Second))
		p.end(cs, a, meterd.AgreementCancelled, false, false)
		p.at(now)
	}
	cs.force = status
	return nil
}

// catalogAgreement applies an agreements: entry, once.
func (p *plan) catalogAgreement(st *catalogState, o *meterd.Offer, e *CatalogAgreement) error {
	start := ""
	if e.Start != nil {
		start = e.Start.UTC().Format(time.RFC3339)
	}
	key := "catalog:agreement:" + e.Buyer + ":" + o.ID + ":" + start
	if st.keys[key] {
		return nil
	}
	st.keys[key] = true
	c := st.byAccount[e.Buyer]
	if c == nil {
		c = &meterd.Customer{ProductCode: p.product.Code, CustomerIdentifier: "cust-" + derive(p.product.Code, e.Buyer)[:12],
			CustomerAWSAccountID: e.Buyer, Status: meterd.StatusUnsubscribed, Platform: meterd.DefaultPlatform(p.product.Type),
			StatusChangedAt: p.now, CreatedAt: p.now}
	}
	cs := p.stateOf(st, c)
	in := &AcceptInput{Buyer: e.Buyer, OfferID: o.ID, Duration: e.Duration, Quantities: e.Quantities, AutoRenew: e.AutoRenew,
		Trial: e.Trial, Start: e.Start, requestKey: key,
		LicenseArn: fmt.Sprintf("arn:aws:license-manager::%s:license:l-%s", p.product.SellerAccountID, derive(p.product.Code, key)[:32])}
	_, err := p.accept(cs, o, in)
	return err
}
