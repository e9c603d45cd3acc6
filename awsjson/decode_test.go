package awsjson

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd"
)

func TestDecodeBatchMeterUsage(t *testing.T) {
	tests := []struct {
		name string
		body string
		want *meterd.BatchMeterUsageInput
	}{
		{"AllMembers", `{"ProductCode":"p","UsageRecords":[{"Timestamp":1767323045.678,"CustomerIdentifier":"c",
			"CustomerAWSAccountId":"444455556666","LicenseArn":"arn:aws:license-manager::1:license:l-1","Dimension":"d",
			"Quantity":7,"UsageAllocations":[{"AllocatedUsageQuantity":7,"Tags":[{"Key":"k","Value":"v"}]}]}]}`,
			&meterd.BatchMeterUsageInput{ProductCode: "p", UsageRecords: []meterd.UsageRecord{{
				Timestamp: ptr(ms(1767323045, 678)), CustomerIdentifier: "c", CustomerAWSAccountID: "444455556666",
				LicenseArn: "arn:aws:license-manager::1:license:l-1", Dimension: "d", Quantity: ptr[int64](7),
				UsageAllocations: []meterd.UsageAllocation{{AllocatedUsageQuantity: ptr[int64](7), Tags: []meterd.Tag{{Key: "k", Value: "v"}}}},
			}}}},
		{"Empty", ``, &meterd.BatchMeterUsageInput{}},
		{"Whitespace", " \n\t ", &meterd.BatchMeterUsageInput{}},
		{"TopLevelNull", `null`, &meterd.BatchMeterUsageInput{}},
		{"EmptyObject", `{}`, &meterd.BatchMeterUsageInput{}},
		{"EmptyList", `{"UsageRecords":[]}`, &meterd.BatchMeterUsageInput{UsageRecords: []meterd.UsageRecord{}}},
		{"CaseSensitive", `{"productcode":"p","usageRecords":[{}],"PRODUCTCODE":"q"}`, &meterd.BatchMeterUsageInput{}},
		{"CaseSensitiveNested", `{"UsageRecords":[{"customerAWSAccountId":"1","CustomerAwsAccountId":"2","CustomerAWSAccountID":"3","quantity":"x","Timestamp":5}]}`,
			&meterd.BatchMeterUsageInput{UsageRecords: []meterd.UsageRecord{{Timestamp: ptr(ms(5, 0))}}}},
		{"NullIsAbsent", `{"ProductCode":null,"UsageRecords":[{"Timestamp":null,"CustomerIdentifier":null,"Dimension":null,
			"Quantity":null,"UsageAllocations":null,"LicenseArn":null,"CustomerAWSAccountId":null}]}`,
			&meterd.BatchMeterUsageInput{UsageRecords: []meterd.UsageRecord{{}}}},
		{"NullRecordsIsAbsent", `{"UsageRecords":null}`, &meterd.BatchMeterUsageInput{}},
		{"UnknownMembersIgnored", `{"NewMember":{"x":[1,2]},"UsageRecords":[{"Future":true,"UsageAllocations":[{"Tags":[{"Key":"k","Value":"v","Extra":1}],"Weight":2}]}]}`,
			&meterd.BatchMeterUsageInput{UsageRecords: []meterd.UsageRecord{{UsageAllocations: []meterd.UsageAllocation{{Tags: []meterd.Tag{{Key: "k", Value: "v"}}}}}}}},
		{"EmptyAllocationsKept", `{"UsageRecords":[{"UsageAllocations":[{"Tags":[]}]}]}`,
			&meterd.BatchMeterUsageInput{UsageRecords: []meterd.UsageRecord{{UsageAllocations: []meterd.UsageAllocation{{Tags: []meterd.Tag{}}}}}}},
		{"EmptyStrings", `{"ProductCode":"","UsageRecords":[{"CustomerIdentifier":""}]}`,
			&meterd.BatchMeterUsageInput{UsageRecords: []meterd.UsageRecord{{}}}},
		{"NegativeQuantityIsForValidation", `{"UsageRecords":[{"Quantity":-5}]}`,
			&meterd.BatchMeterUsageInput{UsageRecords: []meterd.UsageRecord{{Quantity: ptr[int64](-5)}}}},
		{"HugeQuantityIsForValidation", `{"UsageRecords":[{"Quantity":9223372036854775807}]}`,
			&meterd.BatchMeterUsageInput{UsageRecords: []meterd.UsageRecord{{Quantity: ptr[int64](9223372036854775807)}}}},
		{"DuplicateKeyLastWins", `{"ProductCode":"a","ProductCode":"b"}`, &meterd.BatchMeterUsageInput{ProductCode: "b"}},
		{"Unicode", `{"ProductCode":"\u00e9t\u00e9"}`, &meterd.BatchMeterUsageInput{ProductCode: "été"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeBatchMeterUsage([]byte(tt.body))
			if err != nil {
				t.Fatalf("decodeBatchMeterUsage(%s) error: %v", tt.body, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("decodeBatchMeterUsage(%s) = %+v, want %+v", tt.body, got, tt.want)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name   string
		decode func([]byte) error
		body   string
		want   string // substring of the message
	}{
		{"NotJSON", batch, `{"ProductCode":`, "Could not parse"},
		{"Garbage", batch, `hello`, "Could not parse"},
		{"TrailingData", batch, `{} {}`, "unexpected data"},
		{"TrailingGarbage", batch, `{}}`, "unexpected data"},
		{"Array", batch, `[]`, "must be a JSON object, not START_ARRAY"},
		{"String", batch, `"x"`, "must be a JSON object, not STRING_VALUE"},
		{"Number", meter, `3`, "must be a JSON object, not NUMBER_VALUE"},
		{"ProductCodeNumber", batch, `{"ProductCode":3}`, "Member ProductCode: NUMBER_VALUE can not be converted to a String"},
		{"RecordsObject", batch, `{"UsageRecords":{}}`, "Member UsageRecords: START_OBJECT can not be converted to a List"},
		{"RecordsString", batch, `{"UsageRecords":"x"}`, "Member UsageRecords: STRING_VALUE can not be converted to a List"},
		{"RecordNull", batch, `{"UsageRecords":[{},null]}`, "Member UsageRecords[1]: VALUE_NULL can not be converted to a Structure"},
		{"RecordString", batch, `{"UsageRecords":["x"]}`, "Member UsageRecords[0]: STRING_VALUE"},
		{"QuantityString", batch, `{"UsageRecords":[{"Quantity":"3"}]}`, "Member UsageRecords[0].Quantity: STRING_VALUE can not be converted to an Integer"},
		{"QuantityFraction", batch, `{"UsageRecords":[{"Quantity":3.5}]}`, "UsageRecords[0].Quantity: NUMBER_VALUE with a fraction"},
		{"QuantityPointZero", batch, `{"UsageRecords":[{"Quantity":3.0}]}`, "UsageRecords[0].Quantity: NUMBER_VALUE with a fraction"},
		{"QuantityExponentFraction", batch, `{"UsageRecords":[{"Quantity":1.25e1}]}`, "with a fraction or exponent"},
		{"QuantityNegativeExponent", batch, `{"UsageRecords":[{"Quantity":5e-1}]}`, "with a fraction or exponent"},
		{"QuantityExponentOverflow", batch, `{"UsageRecords":[{"Quantity":1e19}]}`, "out of range for a Long"},
		{"QuantityHugeExponent", batch, `{"UsageRecords":[{"Quantity":1e999999999999}]}`, "out of range for a Long"},
		{"QuantityOverflow", batch, `{"UsageRecords":[{"Quantity":9223372036854775808}]}`, "out of range for a Long"},
		{"QuantityBool", batch, `{"UsageRecords":[{"Quantity":true}]}`, "BOOLEAN_VALUE can not be converted to an Integer"},
		{"TimestampString", batch, `{"UsageRecords":[{"Timestamp":"2026-01-01T00:00:00Z"}]}`, "Member UsageRecords[0].Timestamp: STRING_VALUE can not be converted to a Timestamp"},
		{"TimestampNumericString", meter, `{"Timestamp":"1767323045"}`, "Member Timestamp: STRING_VALUE can not be converted to a Timestamp"},
		{"TimestampHuge", meter, `{"Timestamp":1e300}`, "out of range for a Timestamp"},
		{"TimestampHugeInteger", meter, `{"Timestamp":99999999999999999999}`, "out of range for a Timestamp"},
		{"CustomerAccountNumber", batch, `{"UsageRecords":[{"CustomerAWSAccountId":444455556666}]}`, "Member UsageRecords[0].CustomerAWSAccountId: NUMBER_VALUE"},
		{"AllocationsObject", batch, `{"UsageRecords":[{"UsageAllocations":{}}]}`, "Member UsageRecords[0].UsageAllocations: START_OBJECT can not be converted to a List"},
		{"AllocatedQuantityString", batch, `{"UsageRecords":[{},{"UsageAllocations":[{},{"AllocatedUsageQuantity":"1"}]}]}`,
			"Member UsageRecords[1].UsageAllocations[1].AllocatedUsageQuantity: STRING_VALUE"},
		{"TagsObject", meter, `{"UsageAllocations":[{"Tags":{"k":"v"}}]}`, "Member UsageAllocations[0].Tags: START_OBJECT can not be converted to a List"},
		{"TagNull", meter, `{"UsageAllocations":[{"Tags":[null]}]}`, "Member UsageAllocations[0].Tags[0]: VALUE_NULL"},
		{"TagValueNumber", meter, `{"UsageAllocations":[{"Tags":[{"Key":"k","Value":1}]}]}`, "Member UsageAllocations[0].Tags[0].Value: NUMBER_VALUE can not be converted to a String"},
		{"DryRunString", meter, `{"DryRun":"true"}`, "Member DryRun: STRING_VALUE can not be converted to a Boolean"},
		{"DryRunNumber", meter, `{"DryRun":1}`, "Member DryRun: NUMBER_VALUE can not be converted to a Boolean"},
		{"UsageQuantityFraction", meter, `{"UsageQuantity":0.5}`, "Member UsageQuantity: NUMBER_VALUE with a fraction"},
		{"ClientTokenList", meter, `{"ClientToken":["a"]}`, "Member ClientToken: START_ARRAY can not be converted to a String"},
		{"PublicKeyVersionString", register, `{"PublicKeyVersion":"1"}`, "Member PublicKeyVersion: STRING_VALUE can not be converted to an Integer"},
		{"NonceObject", register, `{"Nonce":{}}`, "Member Nonce: START_OBJECT can not be converted to a String"},
		{"RegistrationTokenNumber", resolve, `{"RegistrationToken":1}`, "Member RegistrationToken: NUMBER_VALUE can not be converted to a String"},
		{"FirstErrorWins", meter, `{"ProductCode":1,"UsageQuantity":"x"}`, "Member ProductCode:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.decode([]byte(tt.body))
			var e *meterd.Error
			if !errors.As(err, &e) || e.Code != meterd.ESerialization {
				t.Fatalf("decode(%s) error = %v, want a SerializationException", tt.body, err)
			}
			if !strings.Contains(e.Message, tt.want) {
				t.Errorf("decode(%s) message = %q, want it to contain %q", tt.body, e.Message, tt.want)
			}
		})
	}
}

func batch(b []byte) error    { _, err := decodeBatchMeterUsage(b); return err }
func meter(b []byte) error    { _, err := decodeMeterUsage(b); return err }
func register(b []byte) error { _, err := decodeRegisterUsage(b); return err }
func resolve(b []byte) error  { _, err := decodeResolveCustomer(b); return err }

func TestDecodeTimestamp(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want time.Time
	}{
		{"Integer", "1767323045", ms(1767323045, 0)},
		{"Millis", "1767323045.678", ms(1767323045, 678)},
		{"OneDecimal", "1767323045.5", ms(1767323045, 500)},
		{"PointZero", "1767323045.0", ms(1767323045, 0)},
		{"RoundDown", "1767323045.6784", ms(1767323045, 678)},
		{"RoundHalfUp", "1767323045.6785", ms(1767323045, 679)},
		{"RoundIntoNextSecond", "1767323045.9996", ms(1767323046, 0)},
		{"ManyDigits", "1767323045.12345678901234567890", ms(1767323045, 123)},
		{"Exponent", "1.767323045678e9", ms(1767323045, 678)},
		{"ExponentUpper", "1.767323045E+9", ms(1767323045, 0)},
		{"Zero", "0", ms(0, 0)},
		{"Negative", "-1.5", time.UnixMilli(-1500).UTC()},
		{"NegativeRound", "-0.0005", time.UnixMilli(-1).UTC()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := decodeMeterUsage([]byte(`{"Timestamp":` + tt.in + `}`))
			if err != nil {
				t.Fatalf("decodeMeterUsage(Timestamp %s) error: %v", tt.in, err)
			}
			if in.Timestamp == nil || !in.Timestamp.Equal(tt.want) || in.Timestamp.Location() != time.UTC {
				t.Errorf("decodeMeterUsage(Timestamp %s) = %v, want %v UTC", tt.in, in.Timestamp, tt.want)
			}
		})
	}
}

func TestDecodeMeterUsage(t *testing.T) {
	body := `{"ProductCode":"p","Timestamp":1767323045,"UsageDimension":"d","UsageQuantity":0,"DryRun":true,
		"UsageAllocations":[{"AllocatedUsageQuantity":0}],"ClientToken":"tok","usageQuantity":9}`
	want := &meterd.MeterUsageInput{ProductCode: "p", Timestamp: ptr(ms(1767323045, 0)), UsageDimension: "d",
		UsageQuantity: ptr[int64](0), DryRun: true, ClientToken: "tok",
		UsageAllocations: []meterd.UsageAllocation{{AllocatedUsageQuantity: ptr[int64](0)}}}
	got, err := decodeMeterUsage([]byte(body))
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("decodeMeterUsage(%s) = %+v, %v, want %+v", body, got, err, want)
	}
	got, err = decodeMeterUsage([]byte(`{"DryRun":false,"dryRun":true,"UsageQuantity":null}`))
	if err != nil || got.DryRun || got.UsageQuantity != nil {
		t.Errorf("decodeMeterUsage(DryRun false, dryRun true) = %+v, %v, want DryRun false, no quantity", got, err)
	}
}

func TestDecodeRegisterUsage(t *testing.T) {
	got, err := decodeRegisterUsage([]byte(`{"ProductCode":"p","PublicKeyVersion":1,"Nonce":"n","nonce":"x"}`))
	want := &meterd.RegisterUsageInput{ProductCode: "p", PublicKeyVersion: ptr[int64](1), Nonce: "n"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("decodeRegisterUsage = %+v, %v, want %+v", got, err, want)
	}
	got, err = decodeRegisterUsage([]byte(`{"ProductCode":"p"}`))
	if err != nil || got.PublicKeyVersion != nil {
		t.Errorf("decodeRegisterUsage(no version) = %+v, %v, want nil PublicKeyVersion", got, err)
	}
}

func TestDecodeResolveCustomer(t *testing.T) {
	got, err := decodeResolveCustomer([]byte(`{"RegistrationToken":"tok","registrationToken":"other"}`))
	if err != nil || got.RegistrationToken != "tok" {
		t.Errorf("decodeResolveCustomer = %+v, %v, want token %q", got, err, "tok")
	}
}

// TestDecodeIntegerExponent: whole numbers written with an exponent, as R's
// paws writes them (as.character(100000) is "1e+05"), are integers.
func TestDecodeIntegerExponent(t *testing.T) {
	for body, want := range map[string]int64{
		"1e+05": 100000, "1.5e+05": 150000, "1E5": 100000, "3e0": 3, "250e-1": 25, "0e7": 0, "0.0e-3": 0,
		"-2e3": -2000, "9.223372036854775807e18": math.MaxInt64, "-9.223372036854775808e18": math.MinInt64,
	} {
		in, err := decodeMeterUsage([]byte(`{"UsageQuantity":` + body + `}`))
		if err != nil || in.UsageQuantity == nil || *in.UsageQuantity != want {
			t.Errorf("UsageQuantity %s = %v, %v; want %d", body, in, err, want)
		}
	}
	for _, body := range []string{"1e-999999999999", "9.223372036854775808e18", "1.5e0"} {
		if _, err := decodeMeterUsage([]byte(`{"UsageQuantity":` + body + `}`)); err == nil {
			t.Errorf("UsageQuantity %s accepted, want a SerializationException", body)
		}
	}
}
