package faults

import (
	"testing"
	"time"

	"github.com/meterd/meterd"
)

func TestQuotas(t *testing.T) {
	now := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	q := NewQuotas(DefaultRates())
	q.now = func() time.Time { return now }
	seller := &meterd.Caller{AccountID: "111122223333", Region: "us-east-1"}
	allowed := func(c *meterd.Caller, op string, n int) int {
		ok := 0
		for range n {
			switch err := q.Allow(c, op); meterd.ErrorCode(err) {
			case "":
				ok++
			case meterd.EThrottling:
			default:
				t.Fatalf("Allow() = %v, want nil or ThrottlingException", err)
			}
		}
		return ok
	}
	if got := allowed(seller, meterd.OpBatchMeterUsage, 50); got != 10 {
		t.Errorf("BatchMeterUsage burst: %d of 50 allowed, want 10", got)
	}
	if got := allowed(seller, meterd.OpRegisterUsage, 50); got != 5 {
		t.Errorf("RegisterUsage burst: %d of 50 allowed, want 5 (its own bucket)", got)
	}
	if got := allowed(&meterd.Caller{AccountID: seller.AccountID, Region: "eu-west-1"}, meterd.OpBatchMeterUsage, 50); got != 10 {
		t.Errorf("other region: %d of 50 allowed, want 10 (its own bucket)", got)
	}
	if got := allowed(&meterd.Caller{AccountID: "444455556666", Region: "us-east-1"}, meterd.OpBatchMeterUsage, 50); got != 10 {
		t.Errorf("other account: %d of 50 allowed, want 10 (its own bucket)", got)
	}
	// Regions AWS does not have share one bucket per account, so that
	// made-up names cannot multiply a caller's quota (or the buckets).
	made := func(region string) *meterd.Caller { return &meterd.Caller{AccountID: "777788889999", Region: region} }
	if got := allowed(made("xx-mars-1"), meterd.OpBatchMeterUsage, 6) + allowed(made("xx-venus-1"), meterd.OpBatchMeterUsage, 6); got != 10 {
		t.Errorf("two made-up regions: %d of 12 allowed, want 10 (one bucket)", got)
	}
	if got := allowed(made("eu-west-1"), meterd.OpBatchMeterUsage, 50); got != 10 {
		t.Errorf("a real region beside made-up ones: %d of 50 allowed, want 10 (its own bucket)", got)
	}
	now = now.Add(500 * time.Millisecond)
	if got := allowed(seller, meterd.OpBatchMeterUsage, 50); got != 5 {
		t.Errorf("after 500ms: %d of 50 allowed, want 5", got)
	}
	now = now.Add(time.Hour)
	if got := allowed(seller, meterd.OpBatchMeterUsage, 50); got != 10 {
		t.Errorf("after an hour: %d of 50 allowed, want 10 (burst is one second's worth)", got)
	}
}

func TestParseRates(t *testing.T) {
	tests := []struct {
		name, in string
		want     map[string]float64 // nil: an error
	}{
		{"Empty", "", DefaultRates()},
		{"One", "BatchMeterUsage=20", map[string]float64{"BatchMeterUsage": 20, "MeterUsage": 10, "RegisterUsage": 5, "ResolveCustomer": 10}},
		{"Two", "MeterUsage=2.5, ResolveCustomer=1", map[string]float64{"BatchMeterUsage": 10, "MeterUsage": 2.5, "RegisterUsage": 5, "ResolveCustomer": 1}},
		{"ErrOperation", "Foo=1", nil},
		{"ErrNoValue", "MeterUsage", nil},
		{"ErrZero", "MeterUsage=0", nil},
		{"ErrNumber", "MeterUsage=fast", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DefaultRates()
			err := ParseRates(tt.in, got)
			if tt.want == nil {
				if err == nil {
					t.Errorf("ParseRates(%q) = nil, want an error", tt.in)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseRates(%q) = %v", tt.in, err)
			}
			for op, r := range tt.want {
				if got[op] != r {
					t.Errorf("ParseRates(%q)[%s] = %v, want %v", tt.in, op, got[op], r)
				}
			}
		})
	}
}
