package metering

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd"
)

// rec returns a usage record for customer identifier id (or, when id is all
// digits, that AWS account) at ts with quantity q.
func rec(id string, ts time.Time, q int64) meterd.UsageRecord {
	r := meterd.UsageRecord{Timestamp: ptr(ts), Dimension: "requests", Quantity: ptr(q)}
	if accountIDPattern.MatchString(id) {
		r.CustomerAWSAccountID = id
	} else {
		r.CustomerIdentifier = id
	}
	return r
}

// batch calls BatchMeterUsage as the seller for product with records.
func (f *fixture) batch(t *testing.T, records ...meterd.UsageRecord) (*meterd.BatchMeterUsageOutput, error) {
	t.Helper()
	return f.svc.BatchMeterUsage(asSeller(t), &meterd.BatchMeterUsageInput{ProductCode: product, UsageRecords: records})
}

// wantStatuses calls BatchMeterUsage and fails unless the results have the
// statuses, with a MeteringRecordId exactly for Success; it returns the ids.
func (f *fixture) wantStatuses(t *testing.T, records []meterd.UsageRecord, statuses ...string) []string {
	t.Helper()
	out, err := f.batch(t, records...)
	if err != nil {
		t.Fatalf("BatchMeterUsage: %v", err)
	}
	if len(out.Results) != len(statuses) {
		t.Fatalf("BatchMeterUsage returned %d results, want %d", len(out.Results), len(statuses))
	}
	ids := make([]string, len(statuses))
	for i, res := range out.Results {
		if res.Status != statuses[i] {
			t.Errorf("Results[%d].Status = %s, want %s", i, res.Status, statuses[i])
		}
		if (res.MeteringRecordID != "") != (statuses[i] == meterd.StatusSuccess) {
			t.Errorf("Results[%d].MeteringRecordID = %q with status %s, want an id only for Success", i, res.MeteringRecordID, res.Status)
		}
		ids[i] = res.MeteringRecordID
	}
	return ids
}

func TestBatchMeterUsageSuccess(t *testing.T) {
	f := newFixture(t)
	ts := t0.Add(-90*time.Minute + 1234*time.Millisecond)
	byAccount := rec(acct2, ts, 7)
	byAccount.LicenseArn = lic2
	noQuantity := rec(cust1, ts, 0)
	noQuantity.Dimension, noQuantity.Quantity = "storage_gb", nil
	allocated := rec(cust1, ts, 5)
	allocated.UsageAllocations = []meterd.UsageAllocation{alloc(2, "team=a"), alloc(3)}
	records := []meterd.UsageRecord{allocated, byAccount, noQuantity}
	out, err := f.batch(t, records...)
	if err != nil {
		t.Fatalf("BatchMeterUsage: %v", err)
	}
	if out.UnprocessedRecords == nil || len(out.UnprocessedRecords) != 0 {
		t.Errorf("UnprocessedRecords = %#v, want an empty non-nil list", out.UnprocessedRecords)
	}
	for i, res := range out.Results {
		if res.Status != meterd.StatusSuccess || len(res.MeteringRecordID) != 36 {
			t.Errorf("Results[%d] = %s %q, want Success with an id", i, res.Status, res.MeteringRecordID)
		}
		if !reflect.DeepEqual(res.UsageRecord, records[i]) {
			t.Errorf("Results[%d].UsageRecord = %+v, want the input %+v", i, res.UsageRecord, records[i])
		}
	}
	got := f.wantStored(t, 3)
	want := []struct {
		id, customer, account, dimension string
		quantity                         int64
	}{
		{out.Results[0].MeteringRecordID, cust1, acct1, "requests", 5},
		{out.Results[1].MeteringRecordID, cust2, acct2, "requests", 7},
		{out.Results[2].MeteringRecordID, cust1, acct1, "storage_gb", 0},
	}
	for i, w := range want {
		r := got[i]
		if r.ID != w.id || r.CustomerIdentifier != w.customer || r.CustomerAWSAccountID != w.account || r.Resource != w.customer ||
			r.Dimension != w.dimension || r.Quantity != w.quantity || r.Operation != meterd.OpBatchMeterUsage ||
			r.CallerAccountID != seller || r.CallerAccessKeyID != "sellerkey" {
			t.Errorf("stored record %d = %+v, want %+v", i, r, w)
		}
		if !r.Hour.Equal(time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)) || !r.Timestamp.Equal(ts) || !r.ReceivedAt.Equal(t0) {
			t.Errorf("stored record %d hour, timestamp, received = %v, %v, %v, want 06:00, %v, %v", i, r.Hour, r.Timestamp, r.ReceivedAt, ts, t0)
		}
	}
	if a, w := meterd.CanonicalAllocations(got[0].Allocations), meterd.CanonicalAllocations(allocated.UsageAllocations); a != w {
		t.Errorf("stored allocations = %s, want %s", a, w)
	}
}

func TestBatchMeterUsageEmptyList(t *testing.T) {
	f := newFixture(t)
	out, err := f.batch(t, []meterd.UsageRecord{}...)
	if err != nil {
		t.Fatalf("BatchMeterUsage(no records): %v", err)
	}
	if out.Results == nil || len(out.Results) != 0 || out.UnprocessedRecords == nil || len(out.UnprocessedRecords) != 0 {
		t.Errorf("BatchMeterUsage(no records) = %+v, want empty non-nil lists", out)
	}
}

func TestBatchMeterUsageProductFromLicense(t *testing.T) {
	f := newFixture(t)
	r := rec(acct1, t0, 1)
	r.LicenseArn = lic1
	plain := rec(cust2, t0, 1) // no LicenseArn: takes the product of the others
	out, err := f.svc.BatchMeterUsage(asSeller(t), &meterd.BatchMeterUsageInput{UsageRecords: []meterd.UsageRecord{r, plain}})
	if err != nil {
		t.Fatalf("BatchMeterUsage(no ProductCode): %v", err)
	}
	for i, res := range out.Results {
		if res.Status != meterd.StatusSuccess {
			t.Errorf("Results[%d].Status = %s, want Success", i, res.Status)
		}
	}
	recs := f.wantStored(t, 2)
	if recs[0].ProductCode != product || recs[0].CustomerIdentifier != cust1 || recs[0].LicenseArn != lic1 {
		t.Errorf("stored record = %+v, want product %s, customer %s, license %s", recs[0], product, cust1, lic1)
	}
}

func TestBatchMeterUsageErrors(t *testing.T) {
	now := t0
	good := rec(cust1, now, 1)
	with := func(base meterd.UsageRecord, f func(r *meterd.UsageRecord)) meterd.UsageRecord {
		f(&base)
		return base
	}
	badTag := with(good, func(r *meterd.UsageRecord) { r.UsageAllocations = []meterd.UsageAllocation{alloc(1, "k=")} })
	badDim := with(good, func(r *meterd.UsageRecord) { r.Dimension = "cpu" })
	old := rec(cust2, now.Add(-6*time.Hour), 1)
	tests := []struct {
		name    string
		product string
		region  string
		records []meterd.UsageRecord
		code    string
	}{
		{"ErrValidation", product, region, make([]meterd.UsageRecord, 26), meterd.EValidation},
		{"ErrUsageRecordsNull", product, region, nil, meterd.EValidation},
		{"ErrInvalidTag", product, region, []meterd.UsageRecord{good, badTag}, meterd.EInvalidTag},
		{"ErrInvalidTagBeforeUnknownProduct", "nope", region, []meterd.UsageRecord{badTag}, meterd.EInvalidTag},
		{"ErrInvalidUsageAllocations", product, region, []meterd.UsageRecord{with(good, func(r *meterd.UsageRecord) {
			r.UsageAllocations = []meterd.UsageAllocation{alloc(1), alloc(0)}
		})}, meterd.EInvalidUsageAllocations},
		{"ErrInvalidProductCodeUnknown", "nope", region, []meterd.UsageRecord{good}, meterd.EInvalidProductCode},
		{"ErrInvalidProductCodeOtherSeller", otherProd, region, []meterd.UsageRecord{rec(custOther, now, 1)}, meterd.EInvalidProductCode},
		{"ErrInvalidProductCodeMissing", "", region, []meterd.UsageRecord{good}, meterd.EInvalidProductCode},
		{"ErrInvalidLicenseOtherSeller", "", region, []meterd.UsageRecord{with(rec(acctOther, now, 1), func(r *meterd.UsageRecord) {
			r.LicenseArn = licOther
		})}, meterd.EInvalidLicense},
		{"ErrInvalidProductCodeBeforeRegion", "nope", offRegion, []meterd.UsageRecord{good}, meterd.EInvalidProductCode},
		{"ErrInvalidLicenseOtherProduct", product, region, []meterd.UsageRecord{with(good, func(r *meterd.UsageRecord) { r.LicenseArn = licOther })},
			meterd.EInvalidLicense},
		{"ErrInvalidLicenseOtherProductBeforeRegion", product, offRegion, []meterd.UsageRecord{with(good, func(r *meterd.UsageRecord) { r.LicenseArn = licOther })},
			meterd.EInvalidLicense},
		{"ErrInvalidLicenseTwoProducts", "", region, []meterd.UsageRecord{
			with(rec(acct1, now, 1), func(r *meterd.UsageRecord) { r.LicenseArn = lic1 }),
			with(rec(acctOther, now, 1), func(r *meterd.UsageRecord) { r.LicenseArn = licOther }),
		}, meterd.EInvalidLicense},
		{"ErrInvalidLicenseUnknown", "", region, []meterd.UsageRecord{with(good, func(r *meterd.UsageRecord) {
			r.LicenseArn = "arn:aws:license-manager::111122223333:license:l-unknown"
		})}, meterd.EInvalidLicense},
		{"ErrInvalidLicenseOtherCustomer", product, region, []meterd.UsageRecord{with(good, func(r *meterd.UsageRecord) { r.LicenseArn = lic2 })},
			meterd.EInvalidLicense},
		{"ErrInvalidLicenseUnknownCustomer", product, region, []meterd.UsageRecord{with(rec("cust-unknown", now, 1), func(r *meterd.UsageRecord) {
			r.LicenseArn = lic2
		})}, meterd.EInvalidLicense},
		{"ErrDisabledApi", product, offRegion, []meterd.UsageRecord{good}, meterd.EDisabledAPI},
		{"ErrDisabledApiBeforeDimension", product, offRegion, []meterd.UsageRecord{badDim}, meterd.EDisabledAPI},
		{"ErrInvalidUsageDimension", product, region, []meterd.UsageRecord{good, badDim}, meterd.EInvalidUsageDimension},
		{"ErrInvalidUsageDimensionBeforeTimestamp", product, region, []meterd.UsageRecord{old, badDim}, meterd.EInvalidUsageDimension},
		{"ErrInvalidCustomerIdentifierBoth", product, region, []meterd.UsageRecord{with(good, func(r *meterd.UsageRecord) {
			r.CustomerAWSAccountID = acct1
		})}, meterd.EInvalidCustomerID},
		{"ErrInvalidCustomerIdentifierNeither", product, region, []meterd.UsageRecord{with(good, func(r *meterd.UsageRecord) {
			r.CustomerIdentifier = ""
		})}, meterd.EInvalidCustomerID},
		{"ErrInvalidCustomerIdentifierBeforeTimestamp", product, region, []meterd.UsageRecord{old, with(good, func(r *meterd.UsageRecord) {
			r.CustomerIdentifier = ""
		})}, meterd.EInvalidCustomerID},
		{"ErrInvalidLicenseBeforeTimestamp", product, region, []meterd.UsageRecord{old, with(good, func(r *meterd.UsageRecord) { r.LicenseArn = lic2 })},
			meterd.EInvalidLicense},
		{"ErrTimestampOutOfBoundsWholeBatch", product, region, []meterd.UsageRecord{good, rec(cust2, now, 1), old}, meterd.ETimestampOutOfBounds},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			_, err := f.svc.BatchMeterUsage(as(t, seller, "sellerkey", tt.region),
				&meterd.BatchMeterUsageInput{ProductCode: tt.product, UsageRecords: tt.records})
			wantError(t, "BatchMeterUsage", err, tt.code)
			f.wantStored(t, 0)
		})
	}
}

func TestBatchMeterUsageWindow(t *testing.T) {
	tests := []struct {
		name string
		ts   time.Time
		ok   bool
	}{
		{"OK5h59m", t0.Add(-5*time.Hour - 59*time.Minute), true},
		{"OKJustInside", t0.Add(-6*time.Hour + time.Millisecond), true},
		{"ErrExactly6h", t0.Add(-6 * time.Hour), false},
		{"ErrOlder", t0.Add(-7 * time.Hour), false},
		{"OKNow", t0, true},
		{"OKFutureSkew", t0.Add(5 * time.Minute), true},
		{"ErrBeyondSkew", t0.Add(5*time.Minute + time.Millisecond), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			_, err := f.batch(t, rec(cust1, tt.ts, 1))
			if tt.ok {
				must(t, "BatchMeterUsage", err)
				f.wantStored(t, 1)
			} else {
				wantError(t, "BatchMeterUsage", err, meterd.ETimestampOutOfBounds)
				f.wantStored(t, 0)
			}
		})
	}
	t.Run("Configured", func(t *testing.T) {
		f := newFixture(t)
		f.svc.PastWindow, f.svc.FutureSkew = time.Hour, time.Minute
		_, err := f.batch(t, rec(cust1, t0.Add(-time.Hour), 1))
		wantError(t, "BatchMeterUsage(1h old, window 1h)", err, meterd.ETimestampOutOfBounds)
		_, err = f.batch(t, rec(cust1, t0.Add(2*time.Minute), 1))
		wantError(t, "BatchMeterUsage(2m ahead, skew 1m)", err, meterd.ETimestampOutOfBounds)
		f.wantStatuses(t, []meterd.UsageRecord{rec(cust1, t0.Add(-59*time.Minute), 1)}, meterd.StatusSuccess)
	})
}

func TestBatchMeterUsageCustomerNotSubscribed(t *testing.T) {
	f := newFixture(t)
	records := []meterd.UsageRecord{
		rec(cust1, t0, 1),
		rec("cust-unknown", t0, 1),
		rec(unknownAcct, t0, 1),
		rec(custGone, t0, 1),
		rec(acctSuspended, t0, 1),
		rec(custOther, t0, 1), // a customer of another product
		rec(acct2, t0, 1),
	}
	f.wantStatuses(t, records, meterd.StatusSuccess,
		meterd.StatusCustomerNotSubscribed, meterd.StatusCustomerNotSubscribed, meterd.StatusCustomerNotSubscribed,
		meterd.StatusCustomerNotSubscribed, meterd.StatusCustomerNotSubscribed, meterd.StatusSuccess)
	f.wantStored(t, 2)
}

func TestBatchMeterUsageUnsubscribeGrace(t *testing.T) {
	f := newFixture(t)
	f.wantStatuses(t, []meterd.UsageRecord{rec(custPending, t0, 1)}, meterd.StatusSuccess)
	f.clock.Advance(59*time.Minute + 59*time.Second)
	f.wantStatuses(t, []meterd.UsageRecord{rec(acctPending, t0.Add(time.Hour), 1)}, meterd.StatusSuccess)
	f.clock.Advance(time.Second) // one hour after unsubscribe-pending
	f.wantStatuses(t, []meterd.UsageRecord{rec(custPending, t0.Add(time.Hour), 1)}, meterd.StatusCustomerNotSubscribed)
	f.wantStored(t, 2)
}

func TestBatchMeterUsageDuplicates(t *testing.T) {
	f := newFixture(t)
	first := f.wantStatuses(t, []meterd.UsageRecord{rec(cust1, t0, 5), rec(cust2, t0, 1)}, meterd.StatusSuccess, meterd.StatusSuccess)

	// An identical retry, and the same usage later in the same hour, get the
	// stored id back.
	retry := f.wantStatuses(t, []meterd.UsageRecord{rec(cust1, t0, 5), rec(acct1, t0.Add(-10*time.Minute), 5)},
		meterd.StatusSuccess, meterd.StatusSuccess)
	if retry[0] != first[0] || retry[1] != first[0] {
		t.Errorf("retry ids = %v, want both %s", retry, first[0])
	}
	// Another quantity in the same hour is a DuplicateRecord and changes
	// nothing; another hour is a new record.
	ids := f.wantStatuses(t, []meterd.UsageRecord{rec(cust1, t0.Add(-20*time.Minute), 6), rec(cust1, t0.Add(-31*time.Minute), 6)},
		meterd.StatusDuplicateRecord, meterd.StatusSuccess)
	if ids[1] == first[0] {
		t.Errorf("other-hour record id = %s, want a new id", ids[1])
	}
	recs := f.wantStored(t, 3)
	if recs[0].Quantity != 5 {
		t.Errorf("stored quantity after DuplicateRecord = %d, want 5", recs[0].Quantity)
	}
	// Within one request, the second record of a key with other usage is
	// the duplicate.
	f.wantStatuses(t, []meterd.UsageRecord{rec(cust2, t0.Add(-time.Hour), 1), rec(cust2, t0.Add(-time.Hour), 2)},
		meterd.StatusSuccess, meterd.StatusDuplicateRecord)
}

// TestBatchMeterUsageOtherSellersLicense checks that a LicenseArn of
// another seller's product reads as an unknown license: the answer must not
// name that product (or say the license exists), alone or beside one of
// the caller's own.
func TestBatchMeterUsageOtherSellersLicense(t *testing.T) {
	f := newFixture(t)
	now := t0.Add(-time.Minute)
	other := rec(acctOther, now, 1)
	other.LicenseArn = licOther
	own := rec(acct1, now, 1)
	own.LicenseArn = lic1
	for _, tt := range []struct {
		name    string
		records []meterd.UsageRecord
		want    string
	}{
		{"Alone", []meterd.UsageRecord{other}, "LicenseArn " + licOther + " of usage record 1 is not valid."},
		{"BesideOwn", []meterd.UsageRecord{own, other}, "LicenseArn " + licOther + " of usage record 2 is not valid."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.BatchMeterUsage(asSeller(t), &meterd.BatchMeterUsageInput{UsageRecords: tt.records})
			wantError(t, "BatchMeterUsage", err, meterd.EInvalidLicense)
			if msg := err.Error(); !strings.Contains(msg, tt.want) || strings.Contains(msg, otherProd) {
				t.Errorf("BatchMeterUsage error = %q, want %q, never naming %s", msg, tt.want, otherProd)
			}
		})
	}
	f.wantStored(t, 0)
}
