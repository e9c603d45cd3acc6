package faults

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/meterd/meterd"
)

// DefaultRates returns the request rates of `--quotas aws` in requests per
// second, per caller account and region (README, Differences from AWS; GetEntitlements: 10).
func DefaultRates() map[string]float64 {
	return map[string]float64{
		meterd.OpBatchMeterUsage: 10,
		meterd.OpMeterUsage:      10,
		meterd.OpRegisterUsage:   5,
		meterd.OpResolveCustomer: 10,
		meterd.OpGetEntitlements: 10,
	}
}

// ParseRates parses rate overrides such as "BatchMeterUsage=20,MeterUsage=5"
// (the value of --quota-rate) into rates, which it updates.
func ParseRates(s string, rates map[string]float64) error {
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		op, v, ok := strings.Cut(item, "=")
		if !ok || !slices.Contains(operations, op) {
			return fmt.Errorf("want OPERATION=REQUESTS_PER_SECOND with an operation of %v, got %q", operations, item)
		}
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || r <= 0 || math.IsInf(r, 0) {
			return fmt.Errorf("%s: want a positive number of requests per second, got %q", op, v)
		}
		rates[op] = r
	}
	return nil
}

// Quotas are AWS-like request quotas: one token bucket per caller account,
// signing region (the regions AWS has; one more for all others) and
// operation, whose burst is one second of its rate. They run on wall time, never on the server clock. Safe for concurrent use.
type Quotas struct {
	rates map[string]float64
	// now is the time the buckets read; tests replace it.
	now func() time.Time

	mu      sync.Mutex
	buckets map[bucketKey]*rate.Limiter
}

type bucketKey struct{ account, region, op string }

// NewQuotas returns quotas with the given rates (requests per second by
// operation); operations without a rate are not limited.
func NewQuotas(rates map[string]float64) *Quotas {
	return &Quotas{rates: rates, now: time.Now, buckets: map[bucketKey]*rate.Limiter{}}
}

// Allow takes a token for one request of op by caller (nil: anonymous), or
// answers ThrottlingException when the bucket is empty.
func (q *Quotas) Allow(caller *meterd.Caller, op string) error {
	r, ok := q.rates[op]
	if !ok {
		return nil
	}
	var k bucketKey
	if caller != nil {
		k = bucketKey{caller.AccountID, caller.Region, op}
		if !meterd.KnownRegion(k.region) {
			// One bucket for every region AWS does not have: SigV4 lets
			// any well-formed name through, and a bucket per made-up name
			// would multiply the caller's quota and the memory kept.
			k.region = "other"
		}
	}
	k.op = op
	q.mu.Lock()
	b := q.buckets[k]
	if b == nil {
		b = rate.NewLimiter(rate.Limit(r), max(1, int(math.Ceil(r))))
		q.buckets[k] = b
	}
	q.mu.Unlock()
	if !b.AllowN(q.now(), 1) {
		return meterd.Errorf(meterd.EThrottling, "Rate exceeded")
	}
	return nil
}
