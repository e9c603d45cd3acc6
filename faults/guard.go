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

// GuardOperation wraps an operation known by its name and raw body (the
// Agreement Service's and SQS's, whose requests name no product) in the quota of op
// and the rules naming op, as Guard does; rules naming a product do not
// match it.
func GuardOperation(rules *Rules, quotas *Quotas, op string, next func(context.Context, []byte) ([]byte, error)) func(context.Context, []byte) ([]byte, error) {
	guarded := Guard(rules, quotas, op, func(*[]byte) string { return "" }, func(ctx context.Context, body *[]byte) (*[]byte, error) {
		out, err := next(ctx, *body)
		return &out, err
	})
	return func(ctx context.Context, body []byte) ([]byte, error) {
		out, err := guarded(ctx, &body)
		if err != nil {
			return nil, err
		}
		return *out, nil
	}
}
