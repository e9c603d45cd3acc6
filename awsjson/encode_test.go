package awsjson

import (
	"testing"
	"time"

	"github.com/meterd/meterd"
)

func TestAppendEpochSeconds(t *testing.T) {
	tests := []struct {
		name string
		in   time.Time
		want string
	}{
		{"WholeSeconds", ms(1767323045, 0), "1767323045"},
		{"Millis", ms(1767323045, 678), "1767323045.678"},
		{"TrimOneZero", ms(1767323045, 670), "1767323045.67"},
		{"TrimTwoZeros", ms(1767323045, 500), "1767323045.5"},
		{"LeadingZeroMillis", ms(1767323045, 5), "1767323045.005"},
		{"SubMillisRoundDown", time.Unix(1767323045, 678_400_000), "1767323045.678"},
		{"SubMillisRoundUp", time.Unix(1767323045, 999_600_000), "1767323046"},
		{"Zero", time.Unix(0, 0), "0"},
		{"Negative", time.UnixMilli(-1500), "-1.5"},
		{"NegativeWhole", time.Unix(-2, 0), "-2"},
		{"NonUTC", time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600)), "1767319445"},
		{"FarFuture", time.Unix(253402300799, 0), "253402300799"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(appendEpochSeconds(nil, tt.in)); got != tt.want {
				t.Errorf("appendEpochSeconds(%v) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestEncode(t *testing.T) {
	full := meterd.UsageRecord{
		Timestamp: ptr(ms(1767323045, 678)), CustomerIdentifier: "c", CustomerAWSAccountID: "444455556666",
		LicenseArn: "arn:aws:license-manager::1:license:l-1", Dimension: "d", Quantity: ptr[int64](3),
		UsageAllocations: []meterd.UsageAllocation{
			{AllocatedUsageQuantity: ptr[int64](1), Tags: []meterd.Tag{{Key: "k", Value: "<v&>"}}},
			{AllocatedUsageQuantity: ptr[int64](2)},
		},
	}
	tests := []struct {
		name string
		enc  func() ([]byte, error)
		want string
	}{
		{"BatchEmpty", func() ([]byte, error) { return encodeBatchMeterUsage(&meterd.BatchMeterUsageOutput{}) },
			`{"Results":[],"UnprocessedRecords":[]}`},
		{"BatchFull", func() ([]byte, error) {
			return encodeBatchMeterUsage(&meterd.BatchMeterUsageOutput{
				Results:            []meterd.UsageRecordResult{{UsageRecord: full, MeteringRecordID: "id-1", Status: meterd.StatusSuccess}},
				UnprocessedRecords: []meterd.UsageRecord{{Timestamp: ptr(ms(5, 0)), Dimension: "d"}},
			})
		}, `{"Results":[{"UsageRecord":{"Timestamp":1767323045.678,"CustomerIdentifier":"c","CustomerAWSAccountId":"444455556666",` +
			`"LicenseArn":"arn:aws:license-manager::1:license:l-1","Dimension":"d","Quantity":3,"UsageAllocations":[` +
			`{"AllocatedUsageQuantity":1,"Tags":[{"Key":"k","Value":"<v&>"}]},{"AllocatedUsageQuantity":2}]},` +
			`"MeteringRecordId":"id-1","Status":"Success"}],"UnprocessedRecords":[{"Timestamp":5,"Dimension":"d"}]}`},
		{"BatchEchoOnlyPresent", func() ([]byte, error) {
			return encodeBatchMeterUsage(&meterd.BatchMeterUsageOutput{Results: []meterd.UsageRecordResult{{
				UsageRecord: meterd.UsageRecord{Timestamp: ptr(ms(7, 0)), CustomerAWSAccountID: "1", Dimension: "d", Quantity: ptr[int64](0),
					UsageAllocations: []meterd.UsageAllocation{}},
				Status: meterd.StatusCustomerNotSubscribed,
			}}})
		}, `{"Results":[{"UsageRecord":{"Timestamp":7,"CustomerAWSAccountId":"1","Dimension":"d","Quantity":0},"Status":"CustomerNotSubscribed"}],"UnprocessedRecords":[]}`},
		{"MeterUsage", func() ([]byte, error) { return encodeMeterUsage(&meterd.MeterUsageOutput{MeteringRecordID: "mr"}) },
			`{"MeteringRecordId":"mr"}`},
		{"MeterUsageEmpty", func() ([]byte, error) { return encodeMeterUsage(&meterd.MeterUsageOutput{}) }, `{}`},
		{"RegisterUsage", func() ([]byte, error) { return encodeRegisterUsage(&meterd.RegisterUsageOutput{Signature: "a.b.c"}) },
			`{"Signature":"a.b.c"}`},
		{"RegisterUsageRotated", func() ([]byte, error) {
			return encodeRegisterUsage(&meterd.RegisterUsageOutput{Signature: "a.b.c", PublicKeyRotationTimestamp: ptr(ms(1767323045, 100))})
		}, `{"Signature":"a.b.c","PublicKeyRotationTimestamp":1767323045.1}`},
		{"ResolveCustomer", func() ([]byte, error) {
			return encodeResolveCustomer(&meterd.ResolveCustomerOutput{CustomerIdentifier: "c", CustomerAWSAccountID: "444455556666",
				ProductCode: "p", LicenseArn: "arn:l"})
		}, `{"CustomerIdentifier":"c","CustomerAWSAccountId":"444455556666","ProductCode":"p","LicenseArn":"arn:l"}`},
		{"ResolveCustomerOmitsEmpty", func() ([]byte, error) {
			return encodeResolveCustomer(&meterd.ResolveCustomerOutput{CustomerAWSAccountID: "444455556666", ProductCode: "p"})
		}, `{"CustomerAWSAccountId":"444455556666","ProductCode":"p"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.enc()
			if err != nil || string(got) != tt.want {
				t.Errorf("encode = %s, %v, want %s", got, err, tt.want)
			}
		})
	}
}
