package metering

import (
	"testing"
	"time"

	"github.com/meterd/meterd"
)

// meterInput returns a valid MeterUsage request for product at ts.
func meterInput(ts time.Time, q int64, token string) *meterd.MeterUsageInput {
	return &meterd.MeterUsageInput{ProductCode: product, Timestamp: ptr(ts), UsageDimension: "requests",
		UsageQuantity: ptr(q), ClientToken: token}
}

// meter calls MeterUsage as the buyer account acct with access key key and
// fails unless it succeeds; it returns the MeteringRecordId.
func (f *fixture) meter(t *testing.T, acct, key string, in *meterd.MeterUsageInput) string {
	t.Helper()
	out, err := f.svc.MeterUsage(as(t, acct, key, region), in)
	if err != nil {
		t.Fatalf("MeterUsage(%+v): %v", in, err)
	}
	if len(out.MeteringRecordID) != 36 {
		t.Fatalf("MeterUsage MeteringRecordID = %q, want an id", out.MeteringRecordID)
	}
	return out.MeteringRecordID
}

func TestMeterUsageHourRule(t *testing.T) {
	f := newFixture(t)
	ts := t0.Add(-10*time.Minute + 250*time.Millisecond)
	in := meterInput(ts, 4, "tok-1")
	in.UsageAllocations = []meterd.UsageAllocation{alloc(1, "team=a"), alloc(3)}
	id := f.meter(t, acct2, "task-1", in)
	r := f.wantStored(t, 1)[0]
	if r.ID != id || r.Resource != "task-1" || r.CustomerIdentifier != cust2 || r.CustomerAWSAccountID != acct2 ||
		r.LicenseArn != lic2 || r.Operation != meterd.OpMeterUsage || r.Quantity != 4 || r.ClientToken != "tok-1" ||
		r.RequestHash != requestHash(in) || r.CallerAccountID != acct2 || r.CallerAccessKeyID != "task-1" {
		t.Errorf("stored record = %+v, want id %s, resource task-1, customer %s, quantity 4, token tok-1", r, id, cust2)
	}
	if !r.Hour.Equal(time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)) || !r.Timestamp.Equal(ts) {
		t.Errorf("stored hour, timestamp = %v, %v, want 07:00, %v", r.Hour, r.Timestamp, ts)
	}

	// The same usage later in the hour, with a new token as every SDK sends,
	// is identical after rounding: same id.
	same := meterInput(t0.Add(-25*time.Minute), 4, "tok-2")
	same.UsageAllocations = []meterd.UsageAllocation{alloc(3), alloc(1, "team=a")}
	if got := f.meter(t, acct2, "task-1", same); got != id {
		t.Errorf("MeterUsage(same usage, same hour) = %s, want %s", got, id)
	}
	// Other usage in the same hour is a DuplicateRequestException.
	_, err := f.svc.MeterUsage(as(t, acct2, "task-1", region), meterInput(t0, 5, "tok-3"))
	wantError(t, "MeterUsage(other quantity, same hour)", err, meterd.EDuplicateRequest)
	// Another task, or another hour, is a new record.
	if got := f.meter(t, acct2, "task-2", meterInput(t0, 5, "tok-4")); got == id {
		t.Errorf("MeterUsage(other task) = %s, want a new id", got)
	}
	if got := f.meter(t, acct2, "task-1", meterInput(t0.Add(-time.Hour), 5, "tok-5")); got == id {
		t.Errorf("MeterUsage(other hour) = %s, want a new id", got)
	}
	f.wantStored(t, 3)
}

func TestMeterUsageAgentCore(t *testing.T) {
	f := newFixture(t)
	ts := t0.Add(-10*time.Minute + 250*time.Millisecond)
	a := f.meter(t, acctAgent, "runtime", meterInput(ts, 4, "tok-a"))
	// Same hour, other quantity, other token: aggregated, not a duplicate.
	b := f.meter(t, acctAgent, "runtime", meterInput(ts.Add(time.Minute), 6, "tok-b"))
	if a == b {
		t.Errorf("MeterUsage ids = %s, %s, want two records", a, b)
	}
	// Without a token every call is its own record.
	f.meter(t, acctAgent, "runtime", meterInput(ts, 4, ""))
	f.meter(t, acctAgent, "runtime", meterInput(ts, 4, ""))
	recs := f.wantStored(t, 4)
	// The SQLite store keeps Hour in whole seconds.
	if want := ts.Truncate(time.Second); !recs[0].Hour.Equal(want) || recs[0].Resource != "clienttoken:"+acctAgent+":tok-a" {
		t.Errorf("stored agentcore record hour, resource = %v, %q, want %v (not rounded to the hour), clienttoken:%s:tok-a", recs[0].Hour, recs[0].Resource, want, acctAgent)
	}
	// A retry with the same token is the same record.
	if got := f.meter(t, acctAgent, "runtime", meterInput(ts, 4, "tok-a")); got != a {
		t.Errorf("MeterUsage(retry tok-a) = %s, want %s", got, a)
	}
	f.wantStored(t, 4)
}

// TestMeterUsageAgentCoreTokenPerAccount checks that an AgentCore record's
// ClientToken is scoped by the caller's account: another buyer sending the
// same token, timestamp and quantity gets a record of its own (not the first
// buyer's id, with nothing stored for it), and with another quantity is not
// refused as a duplicate of the first buyer's record.
func TestMeterUsageAgentCoreTokenPerAccount(t *testing.T) {
	ts := t0.Add(-10 * time.Minute)
	t.Run("SameUsage", func(t *testing.T) {
		f := newFixture(t)
		a := f.meter(t, acctAgent, "runtime", meterInput(ts, 4, "shared"))
		b := f.meter(t, acctAgent2, "runtime", meterInput(ts, 4, "shared"))
		if a == b {
			t.Fatalf("MeterUsage(second account, same token and usage) = %s, want a record of its own", b)
		}
		recs := f.wantStored(t, 2)
		got := map[string]string{}
		for _, r := range recs {
			got[r.ID] = r.CustomerIdentifier
		}
		if got[a] != custAgent || got[b] != custAgent2 {
			t.Errorf("stored records by id = %v, want %s: %s, %s: %s", got, a, custAgent, b, custAgent2)
		}
		// Each account's retry still finds its own record.
		if got := f.meter(t, acctAgent2, "runtime", meterInput(ts, 4, "shared")); got != b {
			t.Errorf("MeterUsage(retry, second account) = %s, want %s", got, b)
		}
	})
	t.Run("OtherQuantity", func(t *testing.T) {
		f := newFixture(t)
		f.meter(t, acctAgent, "runtime", meterInput(ts, 4, "shared"))
		f.meter(t, acctAgent2, "runtime", meterInput(ts, 9, "shared"))
		f.wantStored(t, 2)
	})
}

func TestMeterUsageClientToken(t *testing.T) {
	f := newFixture(t)
	id := f.meter(t, acct2, "task-1", meterInput(t0, 4, "tok"))
	if got := f.meter(t, acct2, "task-1", meterInput(t0, 4, "tok")); got != id {
		t.Errorf("MeterUsage(retry) = %s, want %s", got, id)
	}
	tests := []struct {
		name string
		in   *meterd.MeterUsageInput
	}{
		{"OtherQuantity", meterInput(t0, 5, "tok")},
		{"OtherHour", meterInput(t0.Add(-time.Hour), 4, "tok")},
		{"OtherMillisecond", meterInput(t0.Add(time.Millisecond), 4, "tok")},
		{"OtherDimension", func() *meterd.MeterUsageInput {
			in := meterInput(t0, 4, "tok")
			in.UsageDimension = "storage_gb"
			return in
		}()},
		{"OtherAllocations", func() *meterd.MeterUsageInput {
			in := meterInput(t0, 4, "tok")
			in.UsageAllocations = []meterd.UsageAllocation{alloc(4, "team=a")}
			return in
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.MeterUsage(as(t, acct2, "task-1", region), tt.in)
			wantError(t, "MeterUsage", err, meterd.EIdempotencyConflict)
		})
	}
	f.wantStored(t, 1)
}

func TestMeterUsageDryRun(t *testing.T) {
	f := newFixture(t)
	in := meterInput(t0, 4, "tok")
	in.DryRun = true
	_, err := f.svc.MeterUsage(as(t, acct2, "task-1", region), in)
	wantError(t, "MeterUsage(DryRun)", err, meterd.EDryRunOperation, "Request would have succeeded, but DryRun flag is set.")
	f.wantStored(t, 0)
	// DryRun checks everything first.
	in.UsageDimension = "cpu"
	_, err = f.svc.MeterUsage(as(t, acct2, "task-1", region), in)
	wantError(t, "MeterUsage(DryRun, bad dimension)", err, meterd.EInvalidUsageDimension)
	// The token was not kept: the real call with it succeeds.
	f.meter(t, acct2, "task-1", meterInput(t0, 5, "tok"))
}

func TestMeterUsageErrors(t *testing.T) {
	edit := func(f func(in *meterd.MeterUsageInput)) *meterd.MeterUsageInput {
		in := meterInput(t0, 1, "tok")
		f(in)
		return in
	}
	badTag := func(in *meterd.MeterUsageInput) {
		in.UsageAllocations = []meterd.UsageAllocation{alloc(1, "bad>key=v")}
	}
	tests := []struct {
		name    string
		account string
		region  string
		in      *meterd.MeterUsageInput
		code    string
	}{
		{"ErrValidation", acct2, region, edit(func(in *meterd.MeterUsageInput) { in.Timestamp = nil }), meterd.EValidation},
		{"ErrInvalidTag", acct2, region, edit(badTag), meterd.EInvalidTag},
		{"ErrInvalidTagBeforeUnknownProduct", acct2, region, edit(func(in *meterd.MeterUsageInput) {
			badTag(in)
			in.ProductCode = "nope"
		}), meterd.EInvalidTag},
		{"ErrInvalidUsageAllocations", acct2, region, edit(func(in *meterd.MeterUsageInput) {
			in.UsageAllocations = []meterd.UsageAllocation{alloc(2)}
		}), meterd.EInvalidUsageAllocations},
		{"ErrInvalidProductCode", acct2, region, edit(func(in *meterd.MeterUsageInput) { in.ProductCode = "nope" }), meterd.EInvalidProductCode},
		{"ErrInvalidProductCodeBeforeRegion", acct2, offRegion, edit(func(in *meterd.MeterUsageInput) { in.ProductCode = "nope" }), meterd.EInvalidProductCode},
		{"ErrCustomerNotEntitledNotACustomer", unknownAcct, region, meterInput(t0, 1, "tok"), meterd.ECustomerNotEntitled},
		{"ErrCustomerNotEntitledSellerItself", seller, region, meterInput(t0, 1, "tok"), meterd.ECustomerNotEntitled},
		{"ErrCustomerNotEntitledBeforeRegion", unknownAcct, offRegion, meterInput(t0, 1, "tok"), meterd.ECustomerNotEntitled},
		{"ErrInvalidEndpointRegion", acct2, offRegion, meterInput(t0, 1, "tok"), meterd.EInvalidEndpointRegion},
		{"ErrInvalidEndpointRegionBeforeUnsubscribed", acctGone, offRegion, meterInput(t0, 1, "tok"), meterd.EInvalidEndpointRegion},
		{"ErrCustomerNotEntitledUnsubscribed", acctGone, region, meterInput(t0, 1, "tok"), meterd.ECustomerNotEntitled},
		{"ErrCustomerNotEntitledSuspended", acctSuspended, region, meterInput(t0, 1, "tok"), meterd.ECustomerNotEntitled},
		{"ErrCustomerNotEntitledBeforeDimension", acctGone, region, edit(func(in *meterd.MeterUsageInput) { in.UsageDimension = "cpu" }),
			meterd.ECustomerNotEntitled},
		{"ErrInvalidUsageDimension", acct2, region, edit(func(in *meterd.MeterUsageInput) { in.UsageDimension = "cpu" }), meterd.EInvalidUsageDimension},
		{"ErrInvalidUsageDimensionBeforeTimestamp", acct2, region, edit(func(in *meterd.MeterUsageInput) {
			in.UsageDimension = "cpu"
			in.Timestamp = ptr(t0.Add(-6 * time.Hour))
		}), meterd.EInvalidUsageDimension},
		{"ErrTimestampOutOfBoundsPast", acct2, region, meterInput(t0.Add(-6*time.Hour), 1, "tok"), meterd.ETimestampOutOfBounds},
		{"ErrTimestampOutOfBoundsFuture", acct2, region, meterInput(t0.Add(5*time.Minute+time.Second), 1, "tok"), meterd.ETimestampOutOfBounds},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			_, err := f.svc.MeterUsage(as(t, tt.account, "task-1", tt.region), tt.in)
			wantError(t, "MeterUsage", err, tt.code)
			f.wantStored(t, 0)
		})
	}
}

func TestMeterUsageWindow(t *testing.T) {
	f := newFixture(t)
	f.meter(t, acct2, "task-1", meterInput(t0.Add(-5*time.Hour-59*time.Minute), 1, ""))
	f.meter(t, acct2, "task-1", meterInput(t0.Add(5*time.Minute), 1, ""))
	_, err := f.svc.MeterUsage(as(t, acct2, "task-1", region), meterInput(t0.Add(-6*time.Hour), 1, ""))
	wantError(t, "MeterUsage(exactly 6h old)", err, meterd.ETimestampOutOfBounds)
}

func TestMeterUsageUnsubscribeGrace(t *testing.T) {
	f := newFixture(t)
	f.meter(t, acctPending, "task-1", meterInput(t0, 1, ""))
	f.clock.Advance(time.Hour)
	_, err := f.svc.MeterUsage(as(t, acctPending, "task-1", region), meterInput(t0.Add(time.Hour), 1, ""))
	wantError(t, "MeterUsage(1h after unsubscribe-pending)", err, meterd.ECustomerNotEntitled)
}
