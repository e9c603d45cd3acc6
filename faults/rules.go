// Package faults injects failures into the Metering API for testing sellers'
// retry code, and enforces AWS-like request quotas.
//
// Service decorates a meterd.MeteringService: it consults the quotas, then
// the fault rules, and then (unless a rule answered for it) calls the inner
// service. Rules live in memory, per process; their random draws come from
// one generator seeded at start, so the same seed and the same sequence of
// requests give the same faults.
package faults

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/events"
)

// Spec defines a fault rule: what it matches (any subset of the match
// fields; empty matches anything) and its one effect. Its JSON is the body
// of POST /admin/v1/faults.
type Spec struct {
	// Operation is the operation name, such as BatchMeterUsage. Required.
	Operation string `json:"operation"`
	// Product matches the request's ProductCode.
	Product string `json:"product,omitempty"`
	// Customer matches a record's CustomerIdentifier or
	// CustomerAWSAccountId; for MeterUsage and RegisterUsage, whose caller
	// is the customer, the caller's account.
	Customer string `json:"customer,omitempty"`
	// Dimension matches a record's Dimension (MeterUsage: UsageDimension).
	Dimension string `json:"dimension,omitempty"`
	// Account matches the caller's AWS account (the SigV4 key's account).
	Account string `json:"account,omitempty"`

	// Error answers this error code: any modeled exception, such as
	// ThrottlingException or InternalServiceErrorException.
	Error string `json:"error,omitempty"`
	// Unprocessed moves each matching record of a BatchMeterUsage request
	// into UnprocessedRecords, independently with this probability. Those
	// records are not stored.
	Unprocessed float64 `json:"unprocessed,omitempty"`
	// Latency delays the request by this Go duration, such as "2s".
	Latency string `json:"latency,omitempty"`
	// DropResponse runs the request (records are committed) and then closes
	// the connection without an answer.
	DropResponse bool `json:"drop_response,omitempty"`
	// Duplicate (operation Notify only) sends a matching delivery twice,
	// with one MessageId, so that a handler's idempotency is tested.
	Duplicate bool `json:"duplicate,omitempty"`

	// Probability is the chance that the rule affects a matching request;
	// 0 means 1.
	Probability float64 `json:"probability,omitempty"`
	// Count is how many requests the rule affects before it is deleted;
	// 0 means unlimited.
	Count int64 `json:"count,omitempty"`
}

// Rule is a fault rule in force.
type Rule struct {
	ID string `json:"id"`
	Spec
	// Hits is how many requests the rule has affected so far.
	Hits int64 `json:"hits"`
}

// operations are the operations a rule can name.
var operations = slices.Concat([]string{meterd.OpBatchMeterUsage, meterd.OpMeterUsage, meterd.OpRegisterUsage, meterd.OpResolveCustomer, meterd.OpGetEntitlements},
	meterd.AgreementOperations(), events.SQSOperations(), meterd.CatalogOperations(), []string{events.OpNotify})

// Operations returns the operations a rule can name, for forms.
func Operations() []string { return slices.Clone(operations) }

// codes are the error codes a rule may answer: the exceptions of the
// Metering API and of the AWS JSON protocol. A lookup table, never changed.
var codes = []string{
	meterd.EInternal, meterd.EValidation, meterd.ESerialization, meterd.EUnknownOperation,
	meterd.EIncompleteSignature, meterd.EInvalidSignature, meterd.EUnrecognizedClient,
	meterd.EAccessDenied, meterd.EExpiredToken, meterd.EMissingAuthToken, meterd.EThrottling,
	meterd.EInvalidProductCode, meterd.EInvalidUsageDimension, meterd.EInvalidTag,
	meterd.EInvalidUsageAllocations, meterd.EInvalidCustomerID, meterd.EInvalidLicense,
	meterd.ETimestampOutOfBounds, meterd.EDisabledAPI, meterd.ECustomerNotEntitled,
	meterd.EDuplicateRequest, meterd.EIdempotencyConflict, meterd.EInvalidEndpointRegion,
	meterd.EInvalidRegion, meterd.EInvalidPublicKeyVersion, meterd.EPlatformNotSupported,
	meterd.EInvalidToken, meterd.EDryRunOperation, meterd.EUnauthorized, meterd.EInvalidParameter,
	meterd.EResourceNotFound, meterd.EConflictAPI, meterd.EInternalServer, // the Agreement Service's
}

// Validate checks the spec: a known operation, exactly one effect, and
// values in range. Errors are meterd.EInvalid naming the field.
func (s *Spec) Validate() error {
	if !slices.Contains(operations, s.Operation) {
		return meterd.Errorf(meterd.EInvalid, "operation: must be one of %v, got %q", operations, s.Operation)
	}
	effects := 0
	for _, set := range []bool{s.Error != "", s.Unprocessed != 0, s.Latency != "", s.DropResponse, s.Duplicate} {
		if set {
			effects++
		}
	}
	switch {
	case effects != 1:
		return meterd.Errorf(meterd.EInvalid, "give exactly one effect: error, unprocessed, latency, drop_response or duplicate")
	case s.Duplicate && s.Operation != events.OpNotify:
		return meterd.Errorf(meterd.EInvalid, "duplicate: only for operation Notify (deliveries of lifecycle events)")
	case s.Operation == events.OpNotify && (s.Error != "" || s.Unprocessed != 0):
		return meterd.Errorf(meterd.EInvalid, "operation Notify: the effects are drop_response (the delivery is lost), latency (it is delayed) or duplicate (sent twice)")
	case s.Error != "" && !slices.Contains(codes, s.Error):
		return meterd.Errorf(meterd.EInvalid, "error: %q is not an exception of the Metering, Entitlement or Agreement API (such as ThrottlingException or InternalServiceErrorException)", s.Error)
	case s.Unprocessed != 0 && s.Operation != meterd.OpBatchMeterUsage:
		return meterd.Errorf(meterd.EInvalid, "unprocessed: only BatchMeterUsage has UnprocessedRecords")
	case s.Unprocessed < 0 || s.Unprocessed > 1:
		return meterd.Errorf(meterd.EInvalid, "unprocessed: must be a fraction in (0, 1], got %v", s.Unprocessed)
	case s.Probability < 0 || s.Probability > 1:
		return meterd.Errorf(meterd.EInvalid, "probability: must be in (0, 1], got %v", s.Probability)
	case s.Count < 0:
		return meterd.Errorf(meterd.EInvalid, "count: must not be negative, got %d", s.Count)
	}
	if s.Latency != "" {
		if d, err := time.ParseDuration(s.Latency); err != nil || d <= 0 {
			return meterd.Errorf(meterd.EInvalid, "latency: want a positive Go duration such as 250ms or 2s, got %q", s.Latency)
		}
	}
	return nil
}

// matchRecord reports whether a record (or the pseudo record of a
// single-record operation) matches the rule's customer and dimension.
func (s *Spec) matchRecord(r *meterd.UsageRecord) bool {
	return (s.Customer == "" || s.Customer == r.CustomerIdentifier || s.Customer == r.CustomerAWSAccountID) &&
		(s.Dimension == "" || s.Dimension == r.Dimension)
}

// match reports whether the rule applies to a request: same operation,
// product and caller account, and at least one matching record.
func (s *Spec) match(req *request) bool {
	if s.Operation != req.op || (s.Product != "" && s.Product != req.product) ||
		(s.Account != "" && s.Account != req.account) {
		return false
	}
	for i := range req.records {
		if s.matchRecord(&req.records[i]) {
			return true
		}
	}
	return false
}

// request is what rules match on. A single-record operation has one pseudo
// record: MeterUsage its caller and dimension, RegisterUsage its caller,
// ResolveCustomer an empty one (its product and customer are known only
// after the call, so rules naming them never match it).
type request struct {
	op, product, account string
	records              []meterd.UsageRecord
}

// decision is what the rules decided for one request.
type decision struct {
	latency     time.Duration
	err         error
	unprocessed []bool // per record of a BatchMeterUsage request
	drop        bool
	duplicate   bool
	rule        string // the last rule that fired
}

// InjectedError is an error answered by a fault rule: the AWS error the
// client sees (Unwrap), and the id of the rule, so that the server logs it
// at info as what a test asked for, not as a failure of its own, even when
// the code injected is InternalServiceErrorException.
type InjectedError struct {
	Err  *meterd.Error
	Rule string
}

func (e *InjectedError) Error() string { return e.Err.Error() + " (fault rule " + e.Rule + ")" }

// Unwrap returns the AWS error, which meterd.ErrorCode and ErrorMessage find.
func (e *InjectedError) Unwrap() error { return e.Err }

// FaultRule is the id of the rule that injected the error.
func (e *InjectedError) FaultRule() string { return e.Rule }

// Rules is the set of fault rules of a process and its random generator.
// It is safe for concurrent use.
type Rules struct {
	mu     sync.Mutex
	rules  []*Rule // in the order they were added
	nextID int
	rng    *rand.Rand
}

// NewRules returns an empty rule set whose draws come from a generator
// seeded with seed.
func NewRules(seed uint64) *Rules {
	return &Rules{rng: rand.New(rand.NewPCG(seed, seed^0x6d65746572640000))}
}

// Add validates spec and adds it as a new rule, which it returns.
func (rs *Rules) Add(spec Spec) (Rule, error) {
	if err := spec.Validate(); err != nil {
		return Rule{}, err
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.nextID++
	r := &Rule{ID: "f" + strconv.Itoa(rs.nextID), Spec: spec}
	rs.rules = append(rs.rules, r)
	return *r, nil
}

// List returns the rules in force, in the order they were added.
func (rs *Rules) List() []Rule {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	out := make([]Rule, len(rs.rules))
	for i, r := range rs.rules {
		out[i] = *r
	}
	return out
}

// Delete deletes a rule: meterd.ENotFound when there is none with that id.
func (rs *Rules) Delete(id string) error {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	i := slices.IndexFunc(rs.rules, func(r *Rule) bool { return r.ID == id })
	if i < 0 {
		return meterd.Errorf(meterd.ENotFound, "no fault rule %q", id)
	}
	rs.rules = slices.Delete(rs.rules, i, i+1)
	return nil
}

// Clear deletes every rule.
func (rs *Rules) Clear() {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.rules = nil
}

// decide walks the rules in order for one request. Every matching rule
// draws its probability; one that fires adds its effect and counts a hit
// (and is deleted at its count). An error ends the walk: later rules are
// not consulted. All draws happen under one lock, in a fixed order, so a
// seed and a request sequence give one outcome.
func (rs *Rules) decide(req *request) decision {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	var d decision
	kept := rs.rules[:0:0]
	for i, r := range rs.rules {
		if d.err != nil || !r.match(req) || (r.Probability != 0 && r.Probability < 1 && rs.rng.Float64() >= r.Probability) {
			kept = append(kept, rs.rules[i])
			continue
		}
		r.Hits++
		d.rule = r.ID
		switch {
		case r.Error != "":
			d.err = &InjectedError{Err: meterd.Errorf(r.Error, "Injected by meterd fault rule %s.", r.ID), Rule: r.ID}
		case r.Latency != "":
			lat, _ := time.ParseDuration(r.Latency) // checked by Validate
			d.latency += lat
		case r.DropResponse:
			d.drop = true
		case r.Duplicate:
			d.duplicate = true
		case r.Unprocessed != 0:
			if d.unprocessed == nil {
				d.unprocessed = make([]bool, len(req.records))
			}
			for j := range req.records {
				if !d.unprocessed[j] && r.matchRecord(&req.records[j]) && rs.rng.Float64() < r.Unprocessed {
					d.unprocessed[j] = true
				}
			}
		}
		if r.Count == 0 || r.Hits < r.Count {
			kept = append(kept, r)
		}
	}
	rs.rules = kept
	return d
}

// Notify decides the faults of one delivery of a lifecycle event (the
// operation Notify): product and customer are the event's, account the
// receiving target's owner. The dispatcher calls it once per delivery
// attempt it is about to make.
func (rs *Rules) Notify(product, customer, account string) events.NotifyFault {
	d := rs.decide(&request{op: events.OpNotify, product: product, account: account,
		records: []meterd.UsageRecord{{CustomerIdentifier: customer}}})
	return events.NotifyFault{Drop: d.drop, Delay: d.latency, Duplicate: d.duplicate, Rule: d.rule}
}
