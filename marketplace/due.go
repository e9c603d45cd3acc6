package marketplace

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/meterd/meterd"
)

// maxDuePerCall bounds the transitions one ApplyDue applies, so that a
// clock moved centuries ahead over yearly renewals answers in seconds (the
// admin API's clock change waits for ApplyDue): what remains due is applied
// by Run's next ticks, still in time order.
const maxDuePerCall = 1000

// ApplyDue applies, in time order, every time-driven transition that is
// due at the server clock's time: agreement starts, ends (expiry, renewal,
// trial end) and the end of final-metering hours. Each is one transaction
// holding its events. It returns how many it applied. The due times are
// read from the store, so a restart or another process loses none.
func (s *Service) ApplyDue(ctx context.Context) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.applyDue(ctx)
}

func (s *Service) applyDue(ctx context.Context) (int, error) {
	n, conflicts := 0, 0
	for n < maxDuePerCall {
		due, err := s.Ledger.DueTransitions(ctx, s.Clock.Now(), 1)
		if err != nil || len(due) == 0 {
			return n, err
		}
		err = s.applyOne(ctx, due[0])
		if meterd.ErrorCode(err) == meterd.EConflict && conflicts < attempts {
			conflicts++ // another process applied it, or changed what it reads: read again
			continue
		}
		if err != nil {
			return n, err
		}
		n, conflicts = n+1, 0
	}
	return n, nil
}

// applyOne applies one due transition at its due time.
func (s *Service) applyOne(ctx context.Context, d meterd.Due) error {
	prod, err := s.Ledger.Product(ctx, d.ProductCode)
	if meterd.ErrorCode(err) == meterd.ENotFound {
		return s.Ledger.ApplyMarketChange(ctx, &meterd.MarketChange{Unschedule: []meterd.Due{d}})
	} else if err != nil {
		return err
	}
	p := newPlan(prod, d.At)
	p.ch.Unschedule = append(p.ch.Unschedule, d)
	switch d.Kind {
	case meterd.DueStart, meterd.DueEnd:
		if err := s.dueAgreement(ctx, p, d); err != nil {
			return err
		}
	case meterd.DueGrace:
		if err := s.dueGrace(ctx, p, d); err != nil {
			return err
		}
	}
	return s.Ledger.ApplyMarketChange(ctx, p.finish())
}

func (s *Service) dueAgreement(ctx context.Context, p *plan, d meterd.Due) error {
	a, err := s.Ledger.Agreement(ctx, d.Ref)
	if meterd.ErrorCode(err) == meterd.ENotFound {
		return nil
	} else if err != nil {
		return err
	}
	c, err := s.Ledger.Customer(ctx, a.ProductCode, a.CustomerIdentifier)
	if meterd.ErrorCode(err) == meterd.ENotFound {
		return nil
	} else if err != nil {
		return err
	}
	cs, err := s.state(ctx, p, c)
	if err != nil {
		return err
	}
	for _, x := range cs.agreements {
		if x.ID == a.ID {
			a = x
		}
	}
	if a.Status != meterd.AgreementActive {
		return nil // ended meanwhile: nothing is due
	}
	switch {
	case d.Kind == meterd.DueStart:
		p.started(a)
	case a.EndTime == nil || a.EndTime.After(d.At):
		// Moved by an amendment: its new end is scheduled.
	case a.Trial:
		if t, ok := a.Term(meterd.TermFreeTrialPricing); ok && t.Converts != nil && !*t.Converts {
			p.end(cs, a, meterd.AgreementExpired, false, true)
		} else {
			p.convert(cs, a)
		}
	case a.AutoRenew && a.Duration != "":
		p.renew(cs, a)
	default:
		p.end(cs, a, meterd.AgreementExpired, false, true)
	}
	return nil
}

// dueGrace ends a customer's final-metering hour: unsubscribed, with an
// SNS unsubscribe-success, unless the customer subscribed again meanwhile.
func (s *Service) dueGrace(ctx context.Context, p *plan, d meterd.Due) error {
	code, id, _ := strings.Cut(d.Ref, "/")
	c, err := s.Ledger.Customer(ctx, code, id)
	if meterd.ErrorCode(err) == meterd.ENotFound {
		return nil
	} else if err != nil {
		return err
	}
	if c.Status != meterd.StatusUnsubscribePending || p.now.Before(c.StatusChangedAt.Add(meterd.UnsubscribeGrace)) {
		return nil
	}
	cs := p.customer(c, nil, nil)
	cs.force = meterd.StatusUnsubscribed
	p.ev.subscription(ActionUnsubscribeSuccess, c.CustomerIdentifier, "", "", false)
	return nil
}

// Run applies due transitions until ctx is done, checking the store every
// interval (with the real clock, a transition is applied within interval
// of becoming due). Errors are logged and retried at the next tick.
func (s *Service) Run(ctx context.Context, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := s.ApplyDue(ctx); err != nil && ctx.Err() == nil {
			log.Error("marketplace: applying due transitions", "err", err)
		} else if n > 0 {
			log.Debug("marketplace: applied due transitions", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
