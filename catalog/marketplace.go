package catalog

import (
	"fmt"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/marketplace"
)

// product returns the domain product the catalog entry declares.
func (p *Product) product(now time.Time) *meterd.Product {
	prod := &meterd.Product{
		Code: p.Code, ID: p.ID, SellerAccountID: p.Seller, Type: p.Type, Regions: p.Regions,
		FulfillmentURL: p.FulfillmentURL, ConcurrentAgreements: p.ConcurrentAgreements, CreatedAt: now,
	}
	if prod.ID == "" {
		prod.ID = marketplace.ProductID(p.Code)
	}
	for _, d := range p.Dimensions {
		prod.Dimensions = append(prod.Dimensions, meterd.Dimension{Name: d.Name, Unit: d.Unit, Price: d.Price,
			Contract: d.Contract, ValueType: d.ValueType})
	}
	return prod
}

func (o *Offer) spec() *marketplace.OfferSpec {
	s := &marketplace.OfferSpec{
		ID: o.ID, Name: o.Name, Pricing: o.Pricing, Durations: o.Durations, AutoRenew: o.AutoRenew, Visibility: o.Visibility,
		Buyers: o.Buyers, EULA: o.EULA, Refund: o.RefundPolicy, AgreementDuration: o.AgreementDuration, StartDate: o.StartDate,
	}
	if o.Trial != nil {
		s.Trial = &marketplace.TrialSpec{Duration: o.Trial.Duration, Grants: o.Trial.Grants, Converts: o.Trial.Converts}
	}
	return s
}

func (a *Agreement) input() marketplace.CatalogAgreement {
	return marketplace.CatalogAgreement{Buyer: a.Buyer, Offer: a.Offer, Duration: a.Duration, Quantities: a.Quantities,
		AutoRenew: a.AutoRenew, Trial: a.Trial, Start: a.Start}
}

// validateMarketplace checks the product's offers and agreements with the
// rules that accept them, naming the line and field of the first problem.
func (p *Product) validateMarketplace(at string) error {
	prod := p.product(time.Time{})
	offers := map[string]*meterd.Offer{}
	seen := map[string]bool{}
	for i := range p.Offers {
		o := &p.Offers[i]
		field := fmt.Sprintf("%s.offers[%d]", at, i)
		if o.Pricing == "" {
			return fieldError(o.line, field+".pricing", "required: usage, contract, contract-with-consumption or free-trial")
		}
		spec := o.spec()
		if spec.ID == "" {
			spec.ID = marketplace.DeclaredOfferID(p.Code, i)
		}
		if seen[spec.ID] {
			return fieldError(o.line, field+".id", "duplicate offer %q", spec.ID)
		}
		seen[spec.ID] = true
		off, err := marketplace.NewOffer(prod, spec, time.Time{})
		if err != nil {
			return fmt.Errorf("%d: %s.%s", o.line, field, meterd.ErrorMessage(err))
		}
		offers[off.ID] = off
	}
	keys := map[string]bool{}
	for i := range p.Agreements {
		a := &p.Agreements[i]
		field := fmt.Sprintf("%s.agreements[%d]", at, i)
		if !meterd.ValidAccountID(a.Buyer) {
			return fieldError(a.line, field+".buyer", "must be 12 digits, got %q", a.Buyer)
		}
		o := offers[a.Offer]
		if o == nil {
			return fieldError(a.line, field+".offer", "product %s declares no offer %q", p.Code, a.Offer)
		}
		in := a.input()
		if err := marketplace.CheckAcceptance(prod, o, marketplace.AcceptInput{Buyer: in.Buyer, OfferID: o.ID, Duration: in.Duration,
			Quantities: in.Quantities, AutoRenew: in.AutoRenew, Trial: in.Trial, Start: in.Start}, time.Time{}); err != nil {
			return fmt.Errorf("%d: %s.%s", a.line, field, meterd.ErrorMessage(err))
		}
		key := fmt.Sprint(a.Buyer, a.Offer, a.Start)
		if keys[key] {
			return fieldError(a.line, field, "the same buyer, offer and start as an earlier agreement: give another start")
		}
		keys[key] = true
	}
	return nil
}
