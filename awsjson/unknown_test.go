package awsjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// bigUnknown returns a body of about 1 MiB: the members before, then an
// unknown member holding an array of n small numbers, then after.
func bigUnknown(before, after string, n int) []byte {
	var b strings.Builder
	b.WriteString(before)
	b.WriteString(`"Unknown":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('1')
	}
	b.WriteString("]")
	b.WriteString(after)
	return []byte(b.String())
}

// allocated returns the bytes and allocations one call of f costs.
func allocated(f func()) (bytes uint64, allocs float64) {
	var m0, m1 runtime.MemStats
	f() // warm up once: lazily built state is not the request's cost
	runtime.GC()
	runtime.ReadMemStats(&m0)
	f()
	runtime.ReadMemStats(&m1)
	return m1.TotalAlloc - m0.TotalAlloc, testing.AllocsPerRun(3, f)
}

// TestDecodeSkipsUnknownMembers is the Metering API half of issue 19 item
// 4: a 1 MiB body whose unknown member is a 520,000-element array cost about
// 28 MB, every element built as a generic value. Unknown members are now
// skipped without being built, at any depth, and so are the values of known
// members that only their kind is needed of (an array given for a string,
// the elements after a list's first non-structure): a request costs a small
// multiple of its body.
func TestDecodeSkipsUnknownMembers(t *testing.T) {
	const n = 520_000
	record := `{"Timestamp":1767323045,"CustomerIdentifier":"c","Dimension":"d","Quantity":1`
	tests := []struct {
		name   string
		body   []byte
		decode func([]byte) error
		ok     bool
	}{
		{"TopLevel", bigUnknown(`{"ProductCode":"p",`, `,"UsageRecords":[`+record+`}]}`, n), decodeBatch, true},
		{"InRecord", bigUnknown(`{"ProductCode":"p","UsageRecords":[`+record+`,`, `}]}`, n), decodeBatch, true},
		{"InTag", bigUnknown(`{"ProductCode":"p","UsageRecords":[`+record+`,"UsageAllocations":[{"AllocatedUsageQuantity":1,"Tags":[{"Key":"k","Value":"v",`, `}]}]}]}`, n), decodeBatch, true},
		{"MeterUsage", bigUnknown(`{"ProductCode":"p","Timestamp":1767323045,"UsageDimension":"d",`, `}`, n), decodeMeter, true},
		{"ArrayForString", []byte(`{"ProductCode":[` + strings.Repeat("1,", n) + `1]}`), decodeBatch, false},
		{"NumbersForRecords", []byte(`{"UsageRecords":[` + strings.Repeat("1,", n) + `1]}`), decodeBatch, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.decode(tt.body); (err == nil) != tt.ok {
				t.Fatalf("decode = %v, want success %v", err, tt.ok)
			}
			b, allocs := allocated(func() { tt.decode(tt.body) })
			t.Logf("%d-byte body: %d bytes in %.0f allocations", len(tt.body), b, allocs)
			if limit := uint64(len(tt.body)); b > limit {
				t.Errorf("decoding a %d-byte body allocated %d bytes, want at most %d (the body once)", len(tt.body), b, limit)
			}
			if allocs > 500 {
				t.Errorf("decoding a %d-byte body took %.0f allocations, want at most 500", len(tt.body), allocs)
			}
		})
	}
}

func decodeBatch(b []byte) error { _, err := decodeBatchMeterUsage(b); return err }
func decodeMeter(b []byte) error { _, err := decodeMeterUsage(b); return err }

// BenchmarkDecodeBatchMeterUsage decodes a 25-record request, the common
// case the skipping must not slow down.
func BenchmarkDecodeBatchMeterUsage(b *testing.B) {
	var s strings.Builder
	s.WriteString(`{"ProductCode":"prod-1234567890","UsageRecords":[`)
	for i := range 25 {
		if i > 0 {
			s.WriteByte(',')
		}
		s.WriteString(`{"Timestamp":1767323045.123,"CustomerIdentifier":"customer-00000001","Dimension":"requests","Quantity":12,` +
			`"UsageAllocations":[{"AllocatedUsageQuantity":12,"Tags":[{"Key":"team","Value":"a"}]}]}`)
	}
	s.WriteString(`]}`)
	body := []byte(s.String())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeBatchMeterUsage(body); err != nil {
			b.Fatal(err)
		}
	}
}

// genericBody is how the body was parsed before unknown members were
// skipped: the whole body into encoding/json's generic values. The
// differential fuzz target holds the decoder to it.
func genericBody(d *reader, body []byte) fields {
	if len(bytes.TrimSpace(body)) == 0 {
		return fields{}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		d.fail("Could not parse the request body as JSON: %v", err)
		return fields{}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		d.fail("Could not parse the request body as JSON: unexpected data after the top-level object")
		return fields{}
	}
	switch v := v.(type) {
	case nil:
		return fields{}
	case map[string]any:
		return fields{m: v}
	}
	d.fail("The request body must be a JSON object, not %s", kind(v))
	return fields{}
}

// FuzzDecodeMatchesGeneric checks that skipping unknown members changed
// nothing a client sees: BatchMeterUsage, GetEntitlements and MeterUsage decode every body
// to the same input, or fail with the same message, as when the whole
// body was built.
func FuzzDecodeMatchesGeneric(f *testing.F) {
	for _, s := range batchSeeds {
		f.Add([]byte(s))
	}
	for _, s := range []string{`{"X":[1,{"a":"\"]"}],"ProductCode":"p"}`, `{"ProductCode":[1,2]}`, `{"UsageRecords":[1,{}]}`,
		`{"UsageAllocations":[{"Tags":[{"Key":"k","Value":"v","x":{}}]}]}`, `{"ProductCode":"a","ProductCode":"b"}`,
		`{"ProductCode":"\u00e9\u0000"}`, "{\"ProductCode\":\"\xff\"}", `{"Timestamp":1e3}`, `{} {}`, `[{}]`, ` "s" `,
		`{"Filter":{"CUSTOMER_IDENTIFIER":["a","b"],"x":[1]},"MaxResults":3}`, `{"Filter":[{"a":[]}]}`, `{"Filter":{"k":null}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var d reader
		wantB, wantErr := d.batchMeterUsage(genericBody(&d, body))
		gotB, gotErr := decodeBatchMeterUsage(body)
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || !reflect.DeepEqual(gotB, wantB) {
			t.Fatalf("decodeBatchMeterUsage(%q) = %+v, %v; generic: %+v, %v", body, gotB, gotErr, wantB, wantErr)
		}
		d = reader{}
		wantE, wantErr := d.getEntitlements(genericBody(&d, body))
		gotE, gotErr := decodeGetEntitlements(body)
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || !reflect.DeepEqual(gotE, wantE) {
			t.Fatalf("decodeGetEntitlements(%q) = %+v, %v; generic: %+v, %v", body, gotE, gotErr, wantE, wantErr)
		}
		d = reader{}
		wantM, wantErr := d.meterUsage(genericBody(&d, body))
		gotM, gotErr := decodeMeterUsage(body)
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || !reflect.DeepEqual(gotM, wantM) {
			t.Fatalf("decodeMeterUsage(%q) = %+v, %v; generic: %+v, %v", body, gotM, gotErr, wantM, wantErr)
		}
	})
}
