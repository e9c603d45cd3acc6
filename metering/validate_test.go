package metering

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd"
)

func ptr[T any](v T) *T { return &v }

// tags builds a tag list from "k=v" strings.
func tags(kvs ...string) []meterd.Tag {
	out := []meterd.Tag{}
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		out = append(out, meterd.Tag{Key: k, Value: v})
	}
	return out
}

// alloc builds an allocation of q with the given "k=v" tags (none: untagged).
func alloc(q int64, kvs ...string) meterd.UsageAllocation {
	a := meterd.UsageAllocation{AllocatedUsageQuantity: ptr(q)}
	if len(kvs) > 0 {
		a.Tags = tags(kvs...)
	}
	return a
}

// wantError fails unless err is an *Error with code and a message holding
// every one of parts.
func wantError(t *testing.T, what string, err error, code string, parts ...string) {
	t.Helper()
	if got := meterd.ErrorCode(err); got != code {
		t.Fatalf("%s error = %v (code %q), want code %q", what, err, got, code)
	}
	for _, p := range parts {
		if msg := meterd.ErrorMessage(err); !strings.Contains(msg, p) {
			t.Errorf("%s message = %q, want it to contain %q", what, msg, p)
		}
	}
}

func validRecord() meterd.UsageRecord {
	return meterd.UsageRecord{
		Timestamp:          ptr(time.Date(2026, 11, 23, 7, 12, 0, 0, time.UTC)),
		CustomerIdentifier: "cust-1",
		Dimension:          "requests",
		Quantity:           ptr(int64(3)),
	}
}

func TestValidateBatchMeterUsage(t *testing.T) {
	records := func(n int) []meterd.UsageRecord {
		out := make([]meterd.UsageRecord, n)
		for i := range out {
			out[i] = validRecord()
		}
		return out
	}
	with := func(f func(r *meterd.UsageRecord)) []meterd.UsageRecord {
		r := validRecord()
		f(&r)
		return []meterd.UsageRecord{r}
	}
	tests := []struct {
		name  string
		in    meterd.BatchMeterUsageInput
		code  string
		parts []string
	}{
		{"OK", meterd.BatchMeterUsageInput{ProductCode: "p", UsageRecords: records(25)}, "", nil},
		{"OKEmptyList", meterd.BatchMeterUsageInput{ProductCode: "p", UsageRecords: []meterd.UsageRecord{}}, "", nil},
		{"OKNoProductCode", meterd.BatchMeterUsageInput{UsageRecords: records(1)}, "", nil},
		{"OKAllocations", meterd.BatchMeterUsageInput{UsageRecords: with(func(r *meterd.UsageRecord) {
			r.UsageAllocations = []meterd.UsageAllocation{alloc(1), alloc(2, "team=a", "env=prod")}
		})}, "", nil},
		{"OKAccountID", meterd.BatchMeterUsageInput{UsageRecords: with(func(r *meterd.UsageRecord) {
			r.CustomerIdentifier, r.CustomerAWSAccountID = "", "444455556666"
			r.LicenseArn = "arn:aws:license-manager::111122223333:license:l-0123456789abcdef"
		})}, "", nil},
		{"ErrUsageRecordsNull", meterd.BatchMeterUsageInput{ProductCode: "p"}, meterd.EValidation,
			[]string{"1 validation error detected: Value null at 'usageRecords' failed to satisfy constraint: Member must not be null"}},
		{"ErrTooManyRecords", meterd.BatchMeterUsageInput{ProductCode: "p", UsageRecords: records(26)}, meterd.EValidation,
			[]string{"at 'usageRecords' failed to satisfy constraint: Member must have length less than or equal to 25"}},
		{"ErrProductCodePattern", meterd.BatchMeterUsageInput{ProductCode: "bad code!", UsageRecords: records(1)}, meterd.EValidation,
			[]string{"Value 'bad code!' at 'productCode' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[-a-zA-Z0-9/=:_.@]*$"}},
		{"ErrProductCodeLength", meterd.BatchMeterUsageInput{ProductCode: strings.Repeat("p", 256), UsageRecords: records(1)}, meterd.EValidation,
			[]string{"at 'productCode' failed to satisfy constraint: Member must have length less than or equal to 255"}},
		{"ErrDimensionLength", meterd.BatchMeterUsageInput{UsageRecords: with(func(r *meterd.UsageRecord) { r.Dimension = strings.Repeat("d", 256) })},
			meterd.EValidation, []string{"1 validation error detected: Value '" + strings.Repeat("d", 256) +
				"' at 'usageRecords.1.member.dimension' failed to satisfy constraint: Member must have length less than or equal to 255"}},
		{"ErrDimensionMissing", meterd.BatchMeterUsageInput{UsageRecords: with(func(r *meterd.UsageRecord) { r.Dimension = "" })},
			meterd.EValidation, []string{"Value null at 'usageRecords.1.member.dimension' failed to satisfy constraint: Member must not be null"}},
		{"ErrTimestampMissing", meterd.BatchMeterUsageInput{UsageRecords: with(func(r *meterd.UsageRecord) { r.Timestamp = nil })},
			meterd.EValidation, []string{"at 'usageRecords.1.member.timestamp' failed to satisfy constraint: Member must not be null"}},
		{"ErrQuantityNegative", meterd.BatchMeterUsageInput{UsageRecords: with(func(r *meterd.UsageRecord) { r.Quantity = ptr(int64(-1)) })},
			meterd.EValidation, []string{"Value '-1' at 'usageRecords.1.member.quantity' failed to satisfy constraint: Member must have value greater than or equal to 0"}},
		{"ErrQuantityTooLarge", meterd.BatchMeterUsageInput{UsageRecords: with(func(r *meterd.UsageRecord) { r.Quantity = ptr(int64(2147483648)) })},
			meterd.EValidation, []string{"Member must have value less than or equal to 2147483647"}},
		{"ErrCustomerIdentifierLength", meterd.BatchMeterUsageInput{UsageRecords: with(func(r *meterd.UsageRecord) { r.CustomerIdentifier = strings.Repeat("c", 256) })},
			meterd.EValidation, []string{"at 'usageRecords.1.member.customerIdentifier'"}},
		{"ErrAccountIDPattern", meterd.BatchMeterUsageInput{UsageRecords: with(func(r *meterd.UsageRecord) { r.CustomerAWSAccountID = "4444-5555" })},
			meterd.EValidation, []string{"at 'usageRecords.1.member.customerAWSAccountId' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[0-9]+$"}},
		{"ErrLicenseArnPattern", meterd.BatchMeterUsageInput{UsageRecords: with(func(r *meterd.UsageRecord) { r.LicenseArn = "not-an-arn" })},
			meterd.EValidation, []string{"Value 'not-an-arn' at 'usageRecords.1.member.licenseArn'"}},
		{"OKLicenseArnLongest", meterd.BatchMeterUsageInput{UsageRecords: with(func(r *meterd.UsageRecord) {
			r.LicenseArn = "arn:aws:license-manager::1:" + strings.Repeat("l", 1024)
		})}, "", nil},
		{"ErrLicenseArnTooLong", meterd.BatchMeterUsageInput{UsageRecords: with(func(r *meterd.UsageRecord) {
			r.LicenseArn = "arn:aws:license-manager::1:" + strings.Repeat("l", 1025)
		})}, meterd.EValidation, []string{"at 'usageRecords.1.member.licenseArn'"}},
		{"ErrAllocatedQuantityMissing", meterd.BatchMeterUsageInput{UsageRecords: with(func(r *meterd.UsageRecord) {
			r.UsageAllocations = []meterd.UsageAllocation{{Tags: tags("a=b")}}
		})}, meterd.EValidation, []string{"at 'usageRecords.1.member.usageAllocations.1.member.allocatedUsageQuantity' failed to satisfy constraint: Member must not be null"}},
		{"ErrTwoViolations", meterd.BatchMeterUsageInput{ProductCode: "bad code", UsageRecords: with(func(r *meterd.UsageRecord) { r.Quantity = ptr(int64(-5)) })},
			meterd.EValidation, []string{"2 validation errors detected: Value 'bad code' at 'productCode'", "; Value '-5' at 'usageRecords.1.member.quantity'"}},
		{"ErrInvalidTag", meterd.BatchMeterUsageInput{UsageRecords: with(func(r *meterd.UsageRecord) {
			r.UsageAllocations = []meterd.UsageAllocation{alloc(3, "team=a\n")}
		})}, meterd.EInvalidTag, []string{"usageRecords.1.member.usageAllocations.1.member.tags.1.member.value"}},
		{"ErrAllocationSum", meterd.BatchMeterUsageInput{UsageRecords: with(func(r *meterd.UsageRecord) {
			r.UsageAllocations = []meterd.UsageAllocation{alloc(1)}
		})}, meterd.EInvalidUsageAllocations, []string{"sum to 1", "quantity 3"}},
		{"ErrValidationBeforeTag", meterd.BatchMeterUsageInput{ProductCode: "bad code", UsageRecords: with(func(r *meterd.UsageRecord) {
			r.UsageAllocations = []meterd.UsageAllocation{alloc(3, "=")}
		})}, meterd.EValidation, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validateBatchMeterUsage(&tt.in)
			wantError(t, "validateBatchMeterUsage", err, tt.code, tt.parts...)
		})
	}
}

func TestValidateMeterUsage(t *testing.T) {
	valid := func() meterd.MeterUsageInput {
		return meterd.MeterUsageInput{
			ProductCode:    "p",
			Timestamp:      ptr(time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)),
			UsageDimension: "requests",
			UsageQuantity:  ptr(int64(2)),
			ClientToken:    "tok",
		}
	}
	tests := []struct {
		name  string
		edit  func(in *meterd.MeterUsageInput)
		code  string
		parts []string
	}{
		{"OK", func(in *meterd.MeterUsageInput) {}, "", nil},
		{"OKNoQuantityNoToken", func(in *meterd.MeterUsageInput) { in.UsageQuantity, in.ClientToken = nil, "" }, "", nil},
		{"OKAllocations", func(in *meterd.MeterUsageInput) {
			in.UsageAllocations = []meterd.UsageAllocation{alloc(1, "a=1"), alloc(1, "a=2")}
		}, "", nil},
		{"ErrProductCodeMissing", func(in *meterd.MeterUsageInput) { in.ProductCode = "" }, meterd.EValidation,
			[]string{"Value null at 'productCode' failed to satisfy constraint: Member must not be null"}},
		{"ErrTimestampMissing", func(in *meterd.MeterUsageInput) { in.Timestamp = nil }, meterd.EValidation,
			[]string{"Value null at 'timestamp'"}},
		{"ErrDimensionMissing", func(in *meterd.MeterUsageInput) { in.UsageDimension = "" }, meterd.EValidation,
			[]string{"Value null at 'usageDimension'"}},
		{"ErrDimensionLength", func(in *meterd.MeterUsageInput) { in.UsageDimension = strings.Repeat("x", 256) }, meterd.EValidation,
			[]string{"at 'usageDimension' failed to satisfy constraint: Member must have length less than or equal to 255"}},
		{"ErrQuantity", func(in *meterd.MeterUsageInput) { in.UsageQuantity = ptr(int64(-1)) }, meterd.EValidation,
			[]string{"at 'usageQuantity'"}},
		{"ErrClientTokenLength", func(in *meterd.MeterUsageInput) { in.ClientToken = strings.Repeat("t", 65) }, meterd.EValidation,
			[]string{"at 'clientToken' failed to satisfy constraint: Member must have length less than or equal to 64"}},
		{"ErrAllocatedQuantityRange", func(in *meterd.MeterUsageInput) {
			in.UsageAllocations = []meterd.UsageAllocation{alloc(-1)}
		}, meterd.EValidation, []string{"at 'usageAllocations.1.member.allocatedUsageQuantity'"}},
		{"ErrThreeViolations", func(in *meterd.MeterUsageInput) { in.ProductCode, in.Timestamp, in.UsageDimension = "", nil, "" },
			meterd.EValidation, []string{"3 validation errors detected: "}},
		{"ErrEmptyAllocations", func(in *meterd.MeterUsageInput) { in.UsageAllocations = []meterd.UsageAllocation{} },
			meterd.EInvalidUsageAllocations, nil},
		{"ErrAllocationSumMissingQuantity", func(in *meterd.MeterUsageInput) {
			in.UsageQuantity = nil
			in.UsageAllocations = []meterd.UsageAllocation{alloc(1)}
		}, meterd.EInvalidUsageAllocations, []string{"sum to 1", "quantity 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := valid()
			tt.edit(&in)
			wantError(t, "validateMeterUsage", validateMeterUsage(&in), tt.code, tt.parts...)
		})
	}
}

func TestValidateRegisterUsage(t *testing.T) {
	tests := []struct {
		name  string
		in    meterd.RegisterUsageInput
		code  string
		parts []string
	}{
		{"OK", meterd.RegisterUsageInput{ProductCode: "p", PublicKeyVersion: ptr(int64(1)), Nonce: "n"}, "", nil},
		{"OKNoNonce", meterd.RegisterUsageInput{ProductCode: "p", PublicKeyVersion: ptr(int64(3))}, "", nil},
		{"ErrProductCodeMissing", meterd.RegisterUsageInput{PublicKeyVersion: ptr(int64(1))}, meterd.EValidation,
			[]string{"Value null at 'productCode'"}},
		{"ErrVersionMissing", meterd.RegisterUsageInput{ProductCode: "p"}, meterd.EValidation,
			[]string{"Value null at 'publicKeyVersion' failed to satisfy constraint: Member must not be null"}},
		{"ErrVersionZero", meterd.RegisterUsageInput{ProductCode: "p", PublicKeyVersion: ptr(int64(0))}, meterd.EValidation,
			[]string{"Value '0' at 'publicKeyVersion' failed to satisfy constraint: Member must have value greater than or equal to 1"}},
		{"ErrNonceLength", meterd.RegisterUsageInput{ProductCode: "p", PublicKeyVersion: ptr(int64(1)), Nonce: strings.Repeat("n", 256)},
			meterd.EValidation, []string{"at 'nonce' failed to satisfy constraint: Member must have length less than or equal to 255"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, "validateRegisterUsage", validateRegisterUsage(&tt.in), tt.code, tt.parts...)
		})
	}
}

func TestValidateResolveCustomer(t *testing.T) {
	wantError(t, "validateResolveCustomer(token)", validateResolveCustomer(&meterd.ResolveCustomerInput{RegistrationToken: "x"}), "")
	wantError(t, "validateResolveCustomer(empty)", validateResolveCustomer(&meterd.ResolveCustomerInput{}), meterd.EValidation,
		"1 validation error detected: Value null at 'registrationToken' failed to satisfy constraint: Member must not be null")
}

func TestCheckAllocations(t *testing.T) {
	many := func(n int) []meterd.UsageAllocation {
		out := make([]meterd.UsageAllocation, n)
		for i := range out {
			out[i] = alloc(0, fmt.Sprintf("k=%d", i))
		}
		return out
	}
	tests := []struct {
		name     string
		quantity *int64
		allocs   []meterd.UsageAllocation
		code     string
	}{
		{"OKAbsent", ptr(int64(5)), nil, ""},
		{"OKUntaggedOnly", ptr(int64(5)), []meterd.UsageAllocation{alloc(5)}, ""},
		{"OKTaggedAndUntagged", ptr(int64(5)), []meterd.UsageAllocation{alloc(2), alloc(3, "team=a")}, ""},
		{"OKTagOrderIrrelevantForSum", ptr(int64(5)), []meterd.UsageAllocation{alloc(2, "a=1", "b=2"), alloc(3, "a=1", "b=3")}, ""},
		{"OKFiveTags", ptr(int64(1)), []meterd.UsageAllocation{alloc(1, "a=1", "b=1", "c=1", "d=1", "e=1")}, ""},
		{"OKRangeCharacters", ptr(int64(1)), []meterd.UsageAllocation{alloc(1, "a!#$%&'()*,;<=x", "b=/:@+ -._")}, ""},
		{"OKKeyLength100", ptr(int64(1)), []meterd.UsageAllocation{alloc(1, strings.Repeat("k", 100)+"=v")}, ""},
		{"OKValueLength256", ptr(int64(1)), []meterd.UsageAllocation{alloc(1, "k="+strings.Repeat("v", 256))}, ""},
		{"OK2500", ptr(int64(0)), many(2500), ""},
		{"OKZeroQuantityNoQuantity", nil, []meterd.UsageAllocation{alloc(0)}, ""},
		{"ErrTagKeyTooLong", ptr(int64(1)), []meterd.UsageAllocation{alloc(1, strings.Repeat("k", 101)+"=v")}, meterd.EInvalidTag},
		{"ErrTagValueTooLong", ptr(int64(1)), []meterd.UsageAllocation{alloc(1, "k="+strings.Repeat("v", 257))}, meterd.EInvalidTag},
		{"ErrTagKeyEmpty", ptr(int64(1)), []meterd.UsageAllocation{alloc(1, "=v")}, meterd.EInvalidTag},
		{"ErrTagValueEmpty", ptr(int64(1)), []meterd.UsageAllocation{alloc(1, "k=")}, meterd.EInvalidTag},
		{"ErrTagCharacter", ptr(int64(1)), []meterd.UsageAllocation{alloc(1, "k=a>b")}, meterd.EInvalidTag},
		{"ErrTagNonASCII", ptr(int64(1)), []meterd.UsageAllocation{alloc(1, "k=é")}, meterd.EInvalidTag},
		{"ErrSixTags", ptr(int64(1)), []meterd.UsageAllocation{alloc(1, "a=1", "b=1", "c=1", "d=1", "e=1", "f=1")}, meterd.EInvalidTag},
		{"ErrSixDistinctKeys", ptr(int64(2)), []meterd.UsageAllocation{alloc(1, "a=1", "b=1", "c=1"), alloc(1, "d=1", "e=1", "f=1")}, meterd.EInvalidTag},
		{"ErrEmptyTagList", ptr(int64(1)), []meterd.UsageAllocation{{AllocatedUsageQuantity: ptr(int64(1)), Tags: []meterd.Tag{}}}, meterd.EInvalidTag},
		{"ErrKeyTwiceInAllocation", ptr(int64(1)), []meterd.UsageAllocation{alloc(1, "a=1", "a=2")}, meterd.EInvalidTag},
		{"ErrEmptyList", ptr(int64(0)), []meterd.UsageAllocation{}, meterd.EInvalidUsageAllocations},
		{"ErrTooMany", ptr(int64(0)), many(2501), meterd.EInvalidUsageAllocations},
		{"ErrSumBelow", ptr(int64(5)), []meterd.UsageAllocation{alloc(4)}, meterd.EInvalidUsageAllocations},
		{"ErrSumAbove", ptr(int64(5)), []meterd.UsageAllocation{alloc(4), alloc(2, "a=1")}, meterd.EInvalidUsageAllocations},
		{"ErrMissingQuantityCountsZero", nil, []meterd.UsageAllocation{alloc(1)}, meterd.EInvalidUsageAllocations},
		{"ErrDuplicateTagSet", ptr(int64(2)), []meterd.UsageAllocation{alloc(1, "a=1", "b=2"), alloc(1, "b=2", "a=1")}, meterd.EInvalidUsageAllocations},
		{"ErrTwoUntagged", ptr(int64(2)), []meterd.UsageAllocation{alloc(1), alloc(1)}, meterd.EInvalidUsageAllocations},
		{"ErrTagBeforeSum", ptr(int64(9)), []meterd.UsageAllocation{alloc(1, "k=")}, meterd.EInvalidTag},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, "checkAllocations", checkAllocations("usageAllocations", tt.quantity, tt.allocs), tt.code)
		})
	}
}

func TestNewRecordID(t *testing.T) {
	seen := make(map[string]bool)
	for range 100 {
		id := NewRecordID()
		if len(id) != 36 || strings.Count(id, "-") != 4 || id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-' {
			t.Fatalf("NewRecordID() = %q, want the 8-4-4-4-12 form", id)
		}
		if seen[id] {
			t.Fatalf("NewRecordID() = %q twice", id)
		}
		seen[id] = true
	}
}

func TestNewRegistrationToken(t *testing.T) {
	now := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	a := NewRegistrationToken("p", "c", "", now, 4*time.Hour)
	b := NewRegistrationToken("p", "c", "", now, 4*time.Hour)
	if len(a.Token) < 43 || a.Token == b.Token || strings.ContainsAny(a.Token, "+/=") {
		t.Errorf("NewRegistrationToken tokens = %q, %q, want distinct base64url of 32 bytes", a.Token, b.Token)
	}
	if want := now.Add(4 * time.Hour); !a.ExpiresAt.Equal(want) || a.ProductCode != "p" || a.CustomerIdentifier != "c" {
		t.Errorf("NewRegistrationToken = %+v, want product p, customer c, expiry %v", a, want)
	}
}

// TestValidationMessageBounded checks that a batch of 350,000 empty records
// (what a 1 MiB body holds) gets a ValidationException that counts every
// violation but names only the first 100: the answer was 75 MB before.
func TestValidationMessageBounded(t *testing.T) {
	in := &meterd.BatchMeterUsageInput{ProductCode: "p", UsageRecords: make([]meterd.UsageRecord, 350_000)}
	err := validateBatchMeterUsage(in)
	wantError(t, "validateBatchMeterUsage", err, meterd.EValidation)
	msg := err.Error()
	if len(msg) > 64<<10 || !strings.Contains(msg, "validation errors detected") || !strings.Contains(msg, "more") {
		t.Errorf("ValidationException of 350,000 records = %d bytes (%.200s...), want under 64 KiB, counting the rest", len(msg), msg)
	}
	if !strings.Contains(msg, "at 'usageRecords' failed to satisfy constraint: Member must have length less than or equal to 25") {
		t.Errorf("ValidationException = %.300s..., want the length violation first", msg)
	}
}
