package faults

import (
	"context"

	"github.com/meterd/meterd"
)

// Guard wraps an operation of a service other than the Metering API (whose
// operations Service wraps) in the same quotas and fault rules: the quota
// of op for the caller, then the rules naming op (and the request's
// product, given by product), then next unless a quota or rule answered.
// Rules naming a customer or dimension do not match these requests.
func Guard[I, O any](rules *Rules, quotas *Quotas, op string, product func(*I) string, next func(context.Context, *I) (*O, error)) func(context.Context, *I) (*O, error) {
	s := &Service{Rules: rules, Quotas: quotas}
	return func(ctx context.Context, in *I) (*O, error) {
		d, err := s.before(ctx, &request{op: op, product: product(in), records: []meterd.UsageRecord{{}}})
		if err != nil {
			return nil, err
		}
		out, err := next(ctx, in)
		if d.drop {
			drop()
		}
		return out, err
	}
}
