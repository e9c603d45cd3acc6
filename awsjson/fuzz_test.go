package awsjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/meterd/meterd"
)

var batchSeeds = []string{
	``, `{}`, `null`, `[]`, `{"UsageRecords":[]}`, `{"UsageRecords":null}`,
	`{"ProductCode":"p","UsageRecords":[{"Timestamp":1767323045.678,"CustomerIdentifier":"c","Dimension":"d","Quantity":3}]}`,
	`{"UsageRecords":[{"CustomerAWSAccountId":"444455556666","LicenseArn":"arn:aws:x","Timestamp":1.7e9,` +
		`"UsageAllocations":[{"AllocatedUsageQuantity":3,"Tags":[{"Key":"k","Value":"v"}]},{"AllocatedUsageQuantity":0}]}]}`,
	`{"UsageRecords":[{"Quantity":3.5}]}`, `{"UsageRecords":[{"Timestamp":"1"}]}`, `{"UsageRecords":[null]}`,
	`{"UsageRecords":[{"Timestamp":-0.0005,"Quantity":-9223372036854775808}]}`, `{"usagerecords":{}}`, `{"ProductCode":"\ud800"}`,
}

// FuzzDecodeBatchMeterUsage checks that decoding never panics, fails only
// with SerializationException, and that what it accepts survives an
// encode/decode round trip unchanged.
func FuzzDecodeBatchMeterUsage(f *testing.F) {
	for _, s := range batchSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := decodeBatchMeterUsage(body)
		if err != nil {
			assertSerializationError(t, err)
			return
		}
		out, err := encodeBatchMeterUsage(&meterd.BatchMeterUsageOutput{UnprocessedRecords: in.UsageRecords})
		if err != nil {
			t.Fatalf("encode of decoded %q: %v", body, err)
		}
		var wire struct{ UnprocessedRecords json.RawMessage }
		if err := json.Unmarshal(out, &wire); err != nil {
			t.Fatalf("encoded output %s is not JSON: %v", out, err)
		}
		again, err := decodeBatchMeterUsage([]byte(`{"UsageRecords":` + string(wire.UnprocessedRecords) + `}`))
		if err != nil {
			t.Fatalf("decode of re-encoded %s: %v", out, err)
		}
		if want := normalize(in.UsageRecords); !reflect.DeepEqual(normalize(again.UsageRecords), want) {
			t.Errorf("round trip of %q = %+v, want %+v", body, again.UsageRecords, want)
		}
	})
}

// normalize drops the empty lists that encoding omits.
func normalize(records []meterd.UsageRecord) []meterd.UsageRecord {
	out := make([]meterd.UsageRecord, len(records))
	for i, r := range records {
		if len(r.UsageAllocations) == 0 {
			r.UsageAllocations = nil
		} else {
			r.UsageAllocations = append([]meterd.UsageAllocation(nil), r.UsageAllocations...)
			for j := range r.UsageAllocations {
				if len(r.UsageAllocations[j].Tags) == 0 {
					r.UsageAllocations[j].Tags = nil
				}
			}
		}
		out[i] = r
	}
	return out
}

// FuzzDecodeMeterUsage checks that decoding never panics, fails only with
// SerializationException, and keeps timestamps to whole milliseconds.
func FuzzDecodeMeterUsage(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `{"ProductCode":"p","Timestamp":1767323045,"UsageDimension":"d","UsageQuantity":1,"DryRun":true,"ClientToken":"t"}`,
		`{"Timestamp":1767323045.6785}`, `{"Timestamp":1e400}`, `{"DryRun":"true"}`, `{"UsageQuantity":1.0}`,
		`{"UsageAllocations":[{"AllocatedUsageQuantity":1,"Tags":[{"Key":"k","Value":"v"}]}]}`, `{"UsageAllocations":[[]]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := decodeMeterUsage(body)
		if err != nil {
			assertSerializationError(t, err)
			return
		}
		if in.Timestamp != nil && in.Timestamp.Nanosecond()%1e6 != 0 {
			t.Errorf("decodeMeterUsage(%q).Timestamp = %v, want whole milliseconds", body, in.Timestamp)
		}
	})
}

// FuzzHandler checks that any request gets a well-formed answer: a 200, or
// an AWS-shaped error whose header and __type agree, never a panic.
func FuzzHandler(f *testing.F) {
	f.Add(MeteringTarget+"."+meterd.OpBatchMeterUsage, JSON11.ContentType(), []byte(batchSeeds[6]))
	f.Add(MeteringTarget+"."+meterd.OpMeterUsage, "application/json", []byte(`{"Timestamp":1}`))
	f.Add(MeteringTarget+"."+meterd.OpRegisterUsage, JSON11.ContentType(), []byte(`{"PublicKeyVersion":"1"}`))
	f.Add(MeteringTarget+"."+meterd.OpResolveCustomer, JSON11.ContentType(), []byte(`{"RegistrationToken":"t"}`))
	f.Add("AWSMPMeteringService.Nope", "text/plain", []byte(`x`))
	f.Add("", "", []byte(nil))
	f.Fuzz(func(t *testing.T, target, contentType string, body []byte) {
		h, _ := newTestHandler(okService())
		r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		r.Header.Set("X-Amz-Target", target)
		r.Header.Set("Content-Type", contentType)
		w := serve(h, r)
		assertCommonHeaders(t, w)
		if w.Code == 200 {
			var v map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
				t.Errorf("200 body %s is not a JSON object: %v", w.Body, err)
			}
			return
		}
		if w.Code != 400 {
			t.Errorf("status = %d, want 200 or 400 (body %s)", w.Code, w.Body)
		}
		e := decodeErrorBody(t, w.Body.Bytes())
		if e.Type == "" || e.Type != w.Header().Get("X-Amzn-ErrorType") {
			t.Errorf("__type %q, X-Amzn-ErrorType %q: want equal and set", e.Type, w.Header().Get("X-Amzn-ErrorType"))
		}
	})
}

func assertSerializationError(t *testing.T, err error) {
	t.Helper()
	var e *meterd.Error
	if !errors.As(err, &e) || e.Code != meterd.ESerialization || e.Message == "" {
		t.Fatalf("error = %#v, want a *meterd.Error with code %s", err, meterd.ESerialization)
	}
}
