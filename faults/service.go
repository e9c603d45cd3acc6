package faults

import (
	"context"
	"net/http"
	"time"

	"github.com/meterd/meterd"
)

// Service is a meterd.MeteringService that applies the quotas and the fault
// rules around Inner. A request refused by a quota or answered by an
// injected error never reaches Inner, so no fault leaves a half-written
// record.
type Service struct {
	Inner  meterd.MeteringService
	Rules  *Rules  // nil: no fault rules
	Quotas *Quotas // nil: no quotas
}

var _ meterd.MeteringService = (*Service)(nil)

// before checks the quota, decides the faults of the request and waits out
// any injected latency.
func (s *Service) before(ctx context.Context, req *request) (decision, error) {
	caller := meterd.CallerFromContext(ctx)
	if caller != nil {
		req.account = caller.AccountID
	}
	if s.Quotas != nil {
		if err := s.Quotas.Allow(caller, req.op); err != nil {
			return decision{}, err
		}
	}
	if s.Rules == nil {
		return decision{}, nil
	}
	d := s.Rules.decide(req)
	if d.latency > 0 {
		t := time.NewTimer(d.latency)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return d, ctx.Err()
		case <-t.C:
		}
	}
	return d, d.err
}

// drop ends the request without a response: net/http closes the connection
// when a handler panics with http.ErrAbortHandler (and awsjson lets it
// through), which is what a client sees when a response is lost.
func drop() {
	panic(http.ErrAbortHandler)
}

// BatchMeterUsage implements meterd.MeteringService. Records an unprocessed
// rule picks are withheld from Inner, so they are not stored, and come back
// in UnprocessedRecords in request order.
func (s *Service) BatchMeterUsage(ctx context.Context, in *meterd.BatchMeterUsageInput) (*meterd.BatchMeterUsageOutput, error) {
	d, err := s.before(ctx, &request{op: meterd.OpBatchMeterUsage, product: in.ProductCode, records: in.UsageRecords})
	if err != nil {
		return nil, err
	}
	// A request of the wrong size is left whole to Inner, whose
	// ValidationException must not be hidden by withholding records.
	if d.unprocessed == nil || len(in.UsageRecords) > 25 {
		out, err := s.Inner.BatchMeterUsage(ctx, in)
		if d.drop {
			drop()
		}
		return out, err
	}
	var held []meterd.UsageRecord
	pass := &meterd.BatchMeterUsageInput{ProductCode: in.ProductCode}
	for i, r := range in.UsageRecords {
		if d.unprocessed[i] {
			held = append(held, r)
		} else {
			pass.UsageRecords = append(pass.UsageRecords, r)
		}
	}
	out := &meterd.BatchMeterUsageOutput{Results: []meterd.UsageRecordResult{}}
	if len(pass.UsageRecords) > 0 {
		if out, err = s.Inner.BatchMeterUsage(ctx, pass); err != nil {
			if d.drop {
				drop()
			}
			return nil, err
		}
	}
	if d.drop {
		drop()
	}
	out.UnprocessedRecords = append(held, out.UnprocessedRecords...)
	return out, nil
}

// MeterUsage implements meterd.MeteringService. The caller is the customer.
func (s *Service) MeterUsage(ctx context.Context, in *meterd.MeterUsageInput) (*meterd.MeterUsageOutput, error) {
	rec := meterd.UsageRecord{Dimension: in.UsageDimension}
	if c := meterd.CallerFromContext(ctx); c != nil {
		rec.CustomerAWSAccountID = c.AccountID
	}
	d, err := s.before(ctx, &request{op: meterd.OpMeterUsage, product: in.ProductCode, records: []meterd.UsageRecord{rec}})
	if err != nil {
		return nil, err
	}
	out, err := s.Inner.MeterUsage(ctx, in)
	if d.drop {
		drop()
	}
	return out, err
}

// RegisterUsage implements meterd.MeteringService. The caller is the
// customer.
func (s *Service) RegisterUsage(ctx context.Context, in *meterd.RegisterUsageInput) (*meterd.RegisterUsageOutput, error) {
	var rec meterd.UsageRecord
	if c := meterd.CallerFromContext(ctx); c != nil {
		rec.CustomerAWSAccountID = c.AccountID
	}
	d, err := s.before(ctx, &request{op: meterd.OpRegisterUsage, product: in.ProductCode, records: []meterd.UsageRecord{rec}})
	if err != nil {
		return nil, err
	}
	out, err := s.Inner.RegisterUsage(ctx, in)
	if d.drop {
		drop()
	}
	return out, err
}

// ResolveCustomer implements meterd.MeteringService. Its product and
// customer are known only from the token, so rules naming a product,
// customer or dimension do not match it.
func (s *Service) ResolveCustomer(ctx context.Context, in *meterd.ResolveCustomerInput) (*meterd.ResolveCustomerOutput, error) {
	d, err := s.before(ctx, &request{op: meterd.OpResolveCustomer, records: []meterd.UsageRecord{{}}})
	if err != nil {
		return nil, err
	}
	out, err := s.Inner.ResolveCustomer(ctx, in)
	if d.drop {
		drop()
	}
	return out, err
}
