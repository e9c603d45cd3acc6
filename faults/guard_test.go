package faults

import (
	"context"
	"testing"

	"github.com/meterd/meterd"
)

// TestGuardOperation: a rule naming an Agreement Service operation answers
// its error for that operation only, as many times as its count; then the
// operation runs.
func TestGuardOperation(t *testing.T) {
	rules := NewRules(1)
	if _, err := rules.Add(Spec{Operation: meterd.OpDescribeAgreement, Error: meterd.EInternalServer, Probability: 1, Count: 1}); err != nil {
		t.Fatalf("Add(DescribeAgreement) = %v", err)
	}
	calls := 0
	next := func(context.Context, []byte) ([]byte, error) { calls++; return []byte("{}"), nil }
	describe := GuardOperation(rules, nil, meterd.OpDescribeAgreement, next)
	search := GuardOperation(rules, nil, meterd.OpSearchAgreements, next)
	ctx := meterd.NewContextWithCaller(context.Background(), &meterd.Caller{AccountID: "111122223333"})
	if out, err := search(ctx, nil); err != nil || string(out) != "{}" {
		t.Errorf("SearchAgreements under a DescribeAgreement rule = %s, %v; want it run", out, err)
	}
	if _, err := describe(ctx, nil); meterd.ErrorCode(err) != meterd.EInternalServer || calls != 1 {
		t.Errorf("DescribeAgreement = %v after %d calls, want the rule's InternalServerException without running", err, calls)
	}
	if out, err := describe(ctx, nil); err != nil || string(out) != "{}" || calls != 2 {
		t.Errorf("DescribeAgreement after the rule's count = %s, %v; want it run", out, err)
	}
	if _, err := rules.Add(Spec{Operation: "ListAgreementCharges", Error: meterd.EThrottling, Probability: 1}); meterd.ErrorCode(err) != meterd.EInvalid {
		t.Errorf("a rule on an operation meterd does not serve = %v, want EInvalid", err)
	}
}
