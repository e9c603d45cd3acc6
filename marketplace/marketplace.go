// Package marketplace implements offers, agreements, licenses and
// entitlements: the transitions of AWS Marketplace's agreement lifecycle
// (accept, amend, replace, cancel, terminate, and by the server clock
// start, expiry, renewal, trial end and the final-metering hour) as plain
// functions over a meterd.Ledger and a clock. Each transition is computed
// here and written by one Ledger.ApplyMarketChange: the agreement rows,
// licenses, the customer's derived status, the outbox's events and the
// transitions it schedules, in one transaction. It knows nothing of HTTP
// or SQL.
package marketplace

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/meterd/meterd"
)

// Service runs the marketplace transitions. Its methods are safe for
// concurrent use; several processes sharing a store are kept apart by the
// store's optimistic checks, and a transition that lost a race is computed
// again from what the store then holds.
type Service struct {
	Ledger meterd.Ledger
	Clock  meterd.Clock

	mu sync.Mutex // one transition at a time in this process
}

// attempts bounds how often a transition that lost a race to another
// process is computed again.
const attempts = 5

// AcceptResult is what an acceptance made: the agreement, or for a failed
// acceptance none, and the customer.
type AcceptResult struct {
	Agreement *meterd.Agreement `json:"agreement,omitempty"`
	Customer  *meterd.Customer  `json:"-"`
	Failed    bool              `json:"failed,omitempty"`
}

// CreateOffer validates spec and stores the offer on the product.
// ENotFound for an unknown product; EInvalid naming the field; EConflict
// when the id is taken.
func (s *Service) CreateOffer(ctx context.Context, productCode string, spec *OfferSpec) (*meterd.Offer, error) {
	p, err := s.Ledger.Product(ctx, productCode)
	if err != nil {
		return nil, err
	}
	o, err := NewOffer(p, spec, s.Clock.Now())
	if err != nil {
		return nil, err
	}
	if _, err := s.Ledger.Offer(ctx, o.ID); err == nil {
		return nil, meterd.Errorf(meterd.EConflict, "offer %s exists", o.ID)
	} else if meterd.ErrorCode(err) != meterd.ENotFound {
		return nil, err
	}
	if err := s.Ledger.ApplyMarketChange(ctx, &meterd.MarketChange{Offers: []*meterd.Offer{o}}); err != nil {
		return nil, err
	}
	return o, nil
}

// Accept makes the buyer's agreement on an offer (§1.1), with its license
// and events, creating the customer when the buyer is new to the product.
// With Fail it makes no agreement and marks the customer subscribe-failed.
// A ClientToken already used on the product returns the agreement it made.
func (s *Service) Accept(ctx context.Context, in AcceptInput) (*AcceptResult, error) {
	if !meterd.ValidAccountID(in.Buyer) {
		return nil, invalid("buyer", "%q is not a 12-digit account id", in.Buyer)
	}
	if in.Platform != "" && !meterd.ValidPlatform(in.Platform) {
		return nil, invalid("platform", "%q is not ec2, ecs, eks, fargate, agentcore or other", in.Platform)
	}
	if in.ClientToken != "" {
		if len(in.ClientToken) > 64 {
			return nil, invalid("client_token", "at most 64 characters")
		}
		in.requestKey = "client:" + in.ClientToken
	}
	return s.accept(ctx, in, nil)
}

// accept runs an acceptance; then, when set, adds to its plan what else
// the change writes with the agreement (an accepted agreement request).
func (s *Service) accept(ctx context.Context, in AcceptInput, then func(p *plan, a *meterd.Agreement)) (*AcceptResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.applyDue(ctx); err != nil {
		return nil, err
	}
	o, err := s.Ledger.Offer(ctx, in.OfferID)
	if meterd.ErrorCode(err) == meterd.ENotFound {
		return nil, invalid("offer", "no offer %q", in.OfferID)
	} else if err != nil {
		return nil, err
	}
	return s.retry(ctx, o.ProductCode, in.requestKey, func(p *plan) (*AcceptResult, error) {
		cs, err := s.buyerState(ctx, p, in.Buyer, in.CustomerIdentifier, in.Platform)
		if err != nil {
			return nil, err
		}
		if in.Trial || o.Pricing == meterd.PricingFreeTrial {
			if err := s.readTrial(ctx, cs); err != nil {
				return nil, err
			}
		}
		if in.Fail {
			p.fail(cs, o)
			return &AcceptResult{Customer: cs.c, Failed: true}, nil
		}
		a, err := p.accept(cs, o, &in)
		if err != nil {
			return nil, err
		}
		if then != nil {
			then(p, a)
		}
		return &AcceptResult{Agreement: a, Customer: cs.c}, nil
	})
}

// retry computes a transition on a fresh plan and applies it, again when
// it lost a race to another process. An acceptance with a request key that
// another process made first returns that agreement.
func (s *Service) retry(ctx context.Context, productCode, requestKey string, fn func(p *plan) (*AcceptResult, error)) (*AcceptResult, error) {
	for attempt := 1; ; attempt++ {
		if requestKey != "" {
			if a, err := s.Ledger.AgreementByRequest(ctx, productCode, requestKey); err == nil {
				return &AcceptResult{Agreement: a}, nil
			} else if meterd.ErrorCode(err) != meterd.ENotFound {
				return nil, err
			}
		}
		prod, err := s.Ledger.Product(ctx, productCode)
		if err != nil {
			return nil, err
		}
		p := newPlan(prod, s.Clock.Now())
		res, err := fn(p)
		if err != nil {
			return nil, err
		}
		err = s.Ledger.ApplyMarketChange(ctx, p.finish())
		if meterd.ErrorCode(err) == meterd.EConflict && attempt < attempts {
			continue
		}
		if err != nil {
			return nil, err
		}
		return res, nil
	}
}

// buyerState reads (or, for a buyer new to the product, makes) the
// customer and its agreements and licenses.
func (s *Service) buyerState(ctx context.Context, p *plan, buyer, identifier, platform string) (*custState, error) {
	c, err := s.Ledger.CustomerByAccount(ctx, p.product.Code, buyer)
	switch {
	case err == nil:
		if identifier != "" && identifier != c.CustomerIdentifier {
			return nil, meterd.Errorf(meterd.EConflict, "AWS account %s is already customer %s of product %s", buyer, c.CustomerIdentifier, p.product.Code)
		}
		return s.state(ctx, p, c)
	case meterd.ErrorCode(err) != meterd.ENotFound:
		return nil, err
	}
	if identifier == "" {
		identifier = NewCustomerIdentifier()
	} else if _, err := s.Ledger.Customer(ctx, p.product.Code, identifier); err == nil {
		return nil, meterd.Errorf(meterd.EConflict, "customer %s of product %s has another AWS account than %s", identifier, p.product.Code, buyer)
	}
	if platform == "" {
		platform = meterd.DefaultPlatform(p.product.Type)
	}
	c = &meterd.Customer{ProductCode: p.product.Code, CustomerIdentifier: identifier, CustomerAWSAccountID: buyer,
		Status: meterd.StatusUnsubscribed, Platform: platform, StatusChangedAt: p.now, CreatedAt: p.now}
	return p.customer(c, nil, nil), nil
}

// state reads a stored customer's agreements and licenses into the plan.
func (s *Service) state(ctx context.Context, p *plan, c *meterd.Customer) (*custState, error) {
	// Only the ACTIVE agreements: a lineage renewed every year holds one
	// ended agreement per year, and reading them all for each renewal made
	// a clock moved over N renewals cost O(N²).
	agreements, err := s.Ledger.Agreements(ctx, meterd.AgreementFilter{ProductCode: c.ProductCode, CustomerIdentifier: c.CustomerIdentifier,
		Status: meterd.AgreementActive})
	if err != nil {
		return nil, err
	}
	licenses, err := s.Ledger.Licenses(ctx, c.ProductCode, c.CustomerIdentifier)
	if err != nil {
		return nil, err
	}
	return p.customer(c, agreements, licenses), nil
}

// readTrial records in cs whether the customer ever had a free trial of
// the product, which takes reading its ended agreements too: done only for
// an acceptance of a trial.
func (s *Service) readTrial(ctx context.Context, cs *custState) error {
	all, err := s.Ledger.Agreements(ctx, meterd.AgreementFilter{ProductCode: cs.c.ProductCode, CustomerIdentifier: cs.c.CustomerIdentifier})
	if err != nil {
		return err
	}
	cs.trialed = slices.ContainsFunc(all, func(a *meterd.Agreement) bool { return a.Trial })
	return nil
}

// fail records a failed acceptance: no agreement, the customer
// subscribe-failed, an SNS subscribe-fail.
func (p *plan) fail(cs *custState, o *meterd.Offer) {
	if len(cs.active()) == 0 {
		cs.force = meterd.StatusSubscribeFailed
	}
	p.ev.subscription(ActionSubscribeFail, cs.c.CustomerIdentifier, "", o.ID, o.Pricing == meterd.PricingFreeTrial)
}

// change runs fn on a stored agreement and its customer's state, and
// applies the plan; it returns the agreement fn returns.
func (s *Service) change(ctx context.Context, id string, fn func(p *plan, cs *custState, a *meterd.Agreement) (*meterd.Agreement, error)) (*meterd.Agreement, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.applyDue(ctx); err != nil {
		return nil, err
	}
	stored, err := s.Ledger.Agreement(ctx, id)
	if err != nil {
		return nil, err
	}
	res, err := s.retry(ctx, stored.ProductCode, "", func(p *plan) (*AcceptResult, error) {
		a, err := s.Ledger.Agreement(ctx, id)
		if err != nil {
			return nil, err
		}
		c, err := s.Ledger.Customer(ctx, a.ProductCode, a.CustomerIdentifier)
		if err != nil {
			return nil, fmt.Errorf("marketplace: customer of agreement %s: %w", id, err)
		}
		cs, err := s.state(ctx, p, c)
		if err != nil {
			return nil, err
		}
		for _, x := range cs.agreements {
			if x.ID == a.ID {
				a = x
			}
		}
		if a.Status != meterd.AgreementActive {
			return nil, meterd.Errorf(meterd.EConflict, "agreement %s is %s, not ACTIVE", a.ID, a.Status)
		}
		out, err := fn(p, cs, a)
		return &AcceptResult{Agreement: out}, err
	})
	if err != nil {
		return nil, err
	}
	return res.Agreement, nil
}

// Amend raises an ACTIVE contract agreement's quantities or toggles its
// auto-renewal, keeping its id (§1.1). EConflict when it is not ACTIVE.
func (s *Service) Amend(ctx context.Context, id string, in AmendInput) (*meterd.Agreement, error) {
	return s.change(ctx, id, func(p *plan, cs *custState, a *meterd.Agreement) (*meterd.Agreement, error) {
		return a, p.amend(a, &in)
	})
}

// Replace ends an ACTIVE agreement as REPLACED and returns the agreement
// on the other offer that follows it on the same license.
func (s *Service) Replace(ctx context.Context, id string, in AcceptInput) (*meterd.Agreement, error) {
	return s.change(ctx, id, func(p *plan, cs *custState, a *meterd.Agreement) (*meterd.Agreement, error) {
		o, err := s.Ledger.Offer(ctx, in.OfferID)
		if meterd.ErrorCode(err) == meterd.ENotFound {
			return nil, invalid("offer", "no offer %q", in.OfferID)
		} else if err != nil {
			return nil, err
		}
		if in.Trial || o.Pricing == meterd.PricingFreeTrial {
			if err := s.readTrial(ctx, cs); err != nil {
				return nil, err
			}
		}
		return p.replace(cs, a, o, &in)
	})
}

// Cancel ends an ACTIVE agreement as the buyer does: CANCELLED.
func (s *Service) Cancel(ctx context.Context, id string) (*meterd.Agreement, error) {
	return s.endAgreement(ctx, id, meterd.AgreementCancelled)
}

// Terminate ends an ACTIVE agreement as the seller or AWS does: TERMINATED.
func (s *Service) Terminate(ctx context.Context, id string) (*meterd.Agreement, error) {
	return s.endAgreement(ctx, id, meterd.AgreementTerminated)
}

func (s *Service) endAgreement(ctx context.Context, id, status string) (*meterd.Agreement, error) {
	return s.change(ctx, id, func(p *plan, cs *custState, a *meterd.Agreement) (*meterd.Agreement, error) {
		p.end(cs, a, status, false, false)
		return a, nil
	})
}

// defaultOffer returns the product's default offer: the stored one marked
// default, else the first public usage offer, else a generated one that
// the plan stores.
func (s *Service) defaultOffer(ctx context.Context, p *plan) (*meterd.Offer, error) {
	offers, err := s.Ledger.Offers(ctx, p.product.Code)
	if err != nil {
		return nil, err
	}
	if o := pickDefault(offers); o != nil {
		return o, nil
	}
	o := DefaultOffer(p.product, p.now)
	p.ch.Offers = append(p.ch.Offers, o)
	return o, nil
}

func pickDefault(offers []*meterd.Offer) *meterd.Offer {
	for _, o := range offers {
		if o.Default {
			return o
		}
	}
	for _, o := range offers {
		if o.Pricing == meterd.PricingUsage && o.Visibility == meterd.VisibilityPublic {
			return o
		}
	}
	return nil
}

// now returns the service's clock time in UTC, to the millisecond.
func (s *Service) now() time.Time { return s.Clock.Now().UTC().Truncate(time.Millisecond) }
