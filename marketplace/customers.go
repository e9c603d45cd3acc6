package marketplace

import (
	"context"

	"github.com/meterd/meterd"
)

// Subscribe makes c (a new customer the admin API built, or a stored one)
// subscribed: unless it holds an ACTIVE agreement, it gets a NEW agreement
// on the product's default offer, on its own license ARN (a lineage that
// resumes), with the events of an acceptance. A suspended or failed
// customer becomes subscribed. It returns the customer as stored.
func (s *Service) Subscribe(ctx context.Context, c *meterd.Customer) (*meterd.Customer, error) {
	return s.setStatus(ctx, c, meterd.StatusSubscribed)
}

// SetStatus sets a stored customer's status the way its agreements would:
// subscribed as Subscribe; unsubscribe-pending cancels its ACTIVE
// agreements (the grace hour starts now); unsubscribed cancels them and
// skips the grace hour; subscribe-failed and suspended are set as they
// are. Setting the status in effect changes nothing.
func (s *Service) SetStatus(ctx context.Context, c *meterd.Customer, status string) (*meterd.Customer, error) {
	if !meterd.ValidStatus(status) {
		return nil, invalid("status", "%q is not subscribed, unsubscribe-pending, unsubscribed, subscribe-failed or suspended", status)
	}
	return s.setStatus(ctx, c, status)
}

func (s *Service) setStatus(ctx context.Context, c *meterd.Customer, status string) (*meterd.Customer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.applyDue(ctx); err != nil {
		return nil, err
	}
	var out *meterd.Customer
	_, err := s.retry(ctx, c.ProductCode, "", func(p *plan) (*AcceptResult, error) {
		cur := *c
		if stored, err := s.Ledger.Customer(ctx, c.ProductCode, c.CustomerIdentifier); err == nil {
			cur = *stored
			cur.Platform = c.Platform
		} else if meterd.ErrorCode(err) != meterd.ENotFound {
			return nil, err
		}
		cs, err := s.state(ctx, p, &cur)
		if err != nil {
			return nil, err
		}
		out = cs.c
		switch status {
		case meterd.StatusSubscribed:
			if len(cs.active()) == 0 {
				o, err := s.defaultOffer(ctx, p)
				if err != nil {
					return nil, err
				}
				if _, err := p.accept(cs, o, &AcceptInput{Buyer: cur.CustomerAWSAccountID, OfferID: o.ID, LicenseArn: cur.LicenseArn}); err != nil {
					return nil, err
				}
			}
		case meterd.StatusUnsubscribePending, meterd.StatusUnsubscribed:
			for _, a := range cs.active() {
				p.end(cs, a, meterd.AgreementCancelled, false, false)
			}
		}
		if status != meterd.StatusUnsubscribePending || cs.c.EffectiveStatus(p.now) != meterd.StatusSubscribed {
			cs.force = status
		}
		return nil, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
