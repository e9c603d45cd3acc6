package awsjson

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"

	"github.com/meterd/meterd"
)

// The wire shapes of the outputs. Member names are the model's, exactly;
// unset members are omitted, never null. Integers are int64, so they never
// carry a fraction or exponent (the Go SDK rejects 3.0), and timestamps are
// epochSeconds, always a plain JSON number.

type wireTag struct {
	Key   string
	Value string
}

type wireAllocation struct {
	AllocatedUsageQuantity *int64    `json:",omitempty"`
	Tags                   []wireTag `json:",omitempty"`
}

type wireUsageRecord struct {
	Timestamp            *epochSeconds    `json:",omitempty"`
	CustomerIdentifier   string           `json:",omitempty"`
	CustomerAWSAccountId string           `json:",omitempty"`
	LicenseArn           string           `json:",omitempty"`
	Dimension            string           `json:",omitempty"`
	Quantity             *int64           `json:",omitempty"`
	UsageAllocations     []wireAllocation `json:",omitempty"`
}

type wireUsageRecordResult struct {
	UsageRecord      wireUsageRecord
	MeteringRecordId string `json:",omitempty"`
	Status           string `json:",omitempty"`
}

type wireBatchMeterUsageOutput struct {
	Results            []wireUsageRecordResult // always present, [] when empty
	UnprocessedRecords []wireUsageRecord       // always present, [] when empty
}

type wireMeterUsageOutput struct {
	MeteringRecordId string `json:",omitempty"`
}

type wireRegisterUsageOutput struct {
	Signature                  string        `json:",omitempty"`
	PublicKeyRotationTimestamp *epochSeconds `json:",omitempty"`
}

type wireResolveCustomerOutput struct {
	CustomerIdentifier   string `json:",omitempty"`
	CustomerAWSAccountId string `json:",omitempty"`
	ProductCode          string `json:",omitempty"`
	LicenseArn           string `json:",omitempty"`
}

func encodeBatchMeterUsage(out *meterd.BatchMeterUsageOutput) ([]byte, error) {
	w := wireBatchMeterUsageOutput{
		Results:            make([]wireUsageRecordResult, len(out.Results)),
		UnprocessedRecords: make([]wireUsageRecord, len(out.UnprocessedRecords)),
	}
	for i, r := range out.Results {
		w.Results[i] = wireUsageRecordResult{
			UsageRecord:      usageRecord(&r.UsageRecord),
			MeteringRecordId: r.MeteringRecordID,
			Status:           r.Status,
		}
	}
	for i := range out.UnprocessedRecords {
		w.UnprocessedRecords[i] = usageRecord(&out.UnprocessedRecords[i])
	}
	return marshal(w)
}

func encodeMeterUsage(out *meterd.MeterUsageOutput) ([]byte, error) {
	return marshal(wireMeterUsageOutput{MeteringRecordId: out.MeteringRecordID})
}

func encodeRegisterUsage(out *meterd.RegisterUsageOutput) ([]byte, error) {
	return marshal(wireRegisterUsageOutput{
		Signature:                  out.Signature,
		PublicKeyRotationTimestamp: timestamp(out.PublicKeyRotationTimestamp),
	})
}

func encodeResolveCustomer(out *meterd.ResolveCustomerOutput) ([]byte, error) {
	return marshal(wireResolveCustomerOutput{
		CustomerIdentifier:   out.CustomerIdentifier,
		CustomerAWSAccountId: out.CustomerAWSAccountID,
		ProductCode:          out.ProductCode,
		LicenseArn:           out.LicenseArn,
	})
}

// usageRecord echoes a record with the members the client sent; an empty
// allocation or tag list is omitted.
func usageRecord(r *meterd.UsageRecord) wireUsageRecord {
	w := wireUsageRecord{
		Timestamp:            timestamp(r.Timestamp),
		CustomerIdentifier:   r.CustomerIdentifier,
		CustomerAWSAccountId: r.CustomerAWSAccountID,
		LicenseArn:           r.LicenseArn,
		Dimension:            r.Dimension,
		Quantity:             r.Quantity,
	}
	if len(r.UsageAllocations) > 0 {
		w.UsageAllocations = make([]wireAllocation, len(r.UsageAllocations))
		for i, a := range r.UsageAllocations {
			w.UsageAllocations[i].AllocatedUsageQuantity = a.AllocatedUsageQuantity
			for _, t := range a.Tags {
				w.UsageAllocations[i].Tags = append(w.UsageAllocations[i].Tags, wireTag(t))
			}
		}
	}
	return w
}

func timestamp(t *time.Time) *epochSeconds {
	if t == nil {
		return nil
	}
	s := epochSeconds(*t)
	return &s
}

// epochSeconds is a time on the wire: seconds since the epoch as a JSON
// number, an integer when the milliseconds are 0, else with up to three
// decimals (trailing zeros trimmed). Never a string, never an exponent.
type epochSeconds time.Time

// MarshalJSON implements json.Marshaler.
func (e epochSeconds) MarshalJSON() ([]byte, error) {
	return appendEpochSeconds(nil, time.Time(e)), nil
}

// appendEpochSeconds appends t rounded to the nearest millisecond.
func appendEpochSeconds(b []byte, t time.Time) []byte {
	ms := t.Round(time.Millisecond).UnixMilli()
	abs := uint64(ms)
	if ms < 0 {
		b = append(b, '-')
		abs = -abs
	}
	b = strconv.AppendUint(b, abs/1000, 10)
	frac := abs % 1000
	if frac == 0 {
		return b
	}
	digits := []byte{'0' + byte(frac/100), '0' + byte(frac/10%10), '0' + byte(frac%10)}
	return append(append(b, '.'), bytes.TrimRight(digits, "0")...)
}

// marshal encodes v without HTML escaping (record members are echoed as
// sent) and without a trailing newline.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
