package awsjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/meterd/meterd"
)

// Decoding is strict about JSON types and lenient about unknown members.
// encoding/json struct tags match keys case-insensitively while AWS does not,
// so the body is parsed into generic values (numbers kept as json.Number) and
// each member is picked by its exact name. Unknown members are ignored (newer
// SDKs send newer members) and null counts as absent. Range, length and
// pattern checks belong to the operations (ValidationException); every error
// here is a SerializationException naming the member.
//
// A list that is present but empty decodes to an empty non-nil slice, so the
// operations can tell `"UsageAllocations": []` (invalid) from an absent list.

func decodeBatchMeterUsage(body []byte) (*meterd.BatchMeterUsageInput, error) {
	var d reader
	f := d.body(body)
	in := &meterd.BatchMeterUsageInput{ProductCode: d.str(f, "ProductCode")}
	items, path, ok := d.list(f, "UsageRecords")
	if ok {
		in.UsageRecords = make([]meterd.UsageRecord, 0, len(items))
		for i, item := range items {
			if d.err != nil {
				break
			}
			in.UsageRecords = append(in.UsageRecords, d.usageRecord(d.element(item, path, i)))
		}
	}
	if d.err != nil {
		return nil, d.err
	}
	return in, nil
}

func decodeMeterUsage(body []byte) (*meterd.MeterUsageInput, error) {
	var d reader
	f := d.body(body)
	in := &meterd.MeterUsageInput{
		ProductCode:      d.str(f, "ProductCode"),
		Timestamp:        d.timestamp(f, "Timestamp"),
		UsageDimension:   d.str(f, "UsageDimension"),
		UsageQuantity:    d.integer(f, "UsageQuantity"),
		DryRun:           d.boolean(f, "DryRun"),
		UsageAllocations: d.allocations(f, "UsageAllocations"),
		ClientToken:      d.str(f, "ClientToken"),
	}
	if d.err != nil {
		return nil, d.err
	}
	return in, nil
}

func decodeRegisterUsage(body []byte) (*meterd.RegisterUsageInput, error) {
	var d reader
	f := d.body(body)
	in := &meterd.RegisterUsageInput{
		ProductCode:      d.str(f, "ProductCode"),
		PublicKeyVersion: d.integer(f, "PublicKeyVersion"),
		Nonce:            d.str(f, "Nonce"),
	}
	if d.err != nil {
		return nil, d.err
	}
	return in, nil
}

func decodeResolveCustomer(body []byte) (*meterd.ResolveCustomerInput, error) {
	var d reader
	f := d.body(body)
	in := &meterd.ResolveCustomerInput{RegistrationToken: d.str(f, "RegistrationToken")}
	if d.err != nil {
		return nil, d.err
	}
	return in, nil
}

// usageRecord decodes one UsageRecord structure.
func (d *reader) usageRecord(f fields) meterd.UsageRecord {
	return meterd.UsageRecord{
		Timestamp:            d.timestamp(f, "Timestamp"),
		CustomerIdentifier:   d.str(f, "CustomerIdentifier"),
		CustomerAWSAccountID: d.str(f, "CustomerAWSAccountId"),
		LicenseArn:           d.str(f, "LicenseArn"),
		Dimension:            d.str(f, "Dimension"),
		Quantity:             d.integer(f, "Quantity"),
		UsageAllocations:     d.allocations(f, "UsageAllocations"),
	}
}

// allocations decodes a list of UsageAllocation; nil when absent.
func (d *reader) allocations(f fields, name string) []meterd.UsageAllocation {
	items, path, ok := d.list(f, name)
	if !ok {
		return nil
	}
	out := make([]meterd.UsageAllocation, 0, len(items))
	for i, item := range items {
		if d.err != nil {
			return nil
		}
		g := d.element(item, path, i)
		out = append(out, meterd.UsageAllocation{
			AllocatedUsageQuantity: d.integer(g, "AllocatedUsageQuantity"),
			Tags:                   d.tags(g, "Tags"),
		})
	}
	return out
}

// tags decodes a list of Tag; nil when absent.
func (d *reader) tags(f fields, name string) []meterd.Tag {
	items, path, ok := d.list(f, name)
	if !ok {
		return nil
	}
	out := make([]meterd.Tag, 0, len(items))
	for i, item := range items {
		if d.err != nil {
			return nil
		}
		g := d.element(item, path, i)
		out = append(out, meterd.Tag{Key: d.str(g, "Key"), Value: d.str(g, "Value")})
	}
	return out
}

// reader decodes generic JSON values into typed members. It keeps the first
// error; later calls then return zero values, so decoders read straight
// through and check d.err once.
type reader struct {
	err error
}

// fields is a JSON object and its path in the request, for error messages.
type fields struct {
	m    map[string]any
	path string // "" for the top-level object
}

func (f fields) member(name string) string {
	if f.path == "" {
		return name
	}
	return f.path + "." + name
}

// body parses the request body, which must be one JSON object. An empty
// body and a top-level null read as {}.
func (d *reader) body(body []byte) fields {
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

// value returns a member's value, nil when absent or null.
func (d *reader) value(f fields, name string) any {
	if d.err != nil {
		return nil
	}
	return f.m[name]
}

func (d *reader) str(f fields, name string) string {
	v := d.value(f, name)
	if v == nil {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		d.typeError(f.member(name), v, "a String")
	}
	return s
}

func (d *reader) boolean(f fields, name string) bool {
	v := d.value(f, name)
	if v == nil {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		d.typeError(f.member(name), v, "a Boolean")
	}
	return b
}

// integer accepts only an integer literal that fits int64: no fraction and
// no exponent, not even 3.0 (no SDK sends one).
func (d *reader) integer(f fields, name string) *int64 {
	v := d.value(f, name)
	if v == nil {
		return nil
	}
	n, ok := v.(json.Number)
	if !ok {
		d.typeError(f.member(name), v, "an Integer")
		return nil
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
	if errors.Is(err, strconv.ErrRange) {
		d.fail("Member %s: NUMBER_VALUE is out of range for a Long", f.member(name))
		return nil
	} else if err != nil {
		d.fail("Member %s: NUMBER_VALUE with a fraction or exponent can not be converted to an Integer", f.member(name))
		return nil
	}
	return &i
}

// timestamp accepts epoch seconds as a JSON number, integer or fractional,
// rounded to the nearest millisecond.
func (d *reader) timestamp(f fields, name string) *time.Time {
	v := d.value(f, name)
	if v == nil {
		return nil
	}
	n, ok := v.(json.Number)
	if !ok {
		d.typeError(f.member(name), v, "a Timestamp")
		return nil
	}
	ms, ok := epochMillis(string(n))
	if !ok {
		d.fail("Member %s: NUMBER_VALUE is out of range for a Timestamp", f.member(name))
		return nil
	}
	t := time.UnixMilli(ms).UTC()
	return &t
}

// maxEpochSeconds bounds timestamps so that milliseconds fit int64; anything
// this far out is for the operations to reject as out of bounds.
const maxEpochSeconds = 1e15

// epochMillis converts a valid JSON number of seconds to milliseconds,
// rounding half away from zero. Plain decimals are converted exactly; the
// rare exponent form goes through float64.
func epochMillis(s string) (int64, bool) {
	if strings.ContainsAny(s, "eE") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.Abs(f) > maxEpochSeconds {
			return 0, false
		}
		return int64(math.Round(f * 1000)), true
	}
	neg := strings.HasPrefix(s, "-")
	whole, frac, _ := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	sec, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || sec > maxEpochSeconds {
		return 0, false
	}
	frac += "0000" // at least the 4 digits that decide the rounding
	ms, _ := strconv.ParseInt(frac[:3], 10, 64)
	ms += sec * 1000
	if frac[3] >= '5' {
		ms++
	}
	if neg {
		ms = -ms
	}
	return ms, true
}

// list returns a member that must be a JSON array, the path of its elements
// and whether it was present.
func (d *reader) list(f fields, name string) ([]any, string, bool) {
	v := d.value(f, name)
	if v == nil {
		return nil, "", false
	}
	items, ok := v.([]any)
	if !ok {
		d.typeError(f.member(name), v, "a List")
		return nil, "", false
	}
	return items, f.member(name), true
}

// element returns list element i, which must be a JSON object (AWS JSON
// lists are not sparse: null elements are refused).
func (d *reader) element(v any, path string, i int) fields {
	if d.err != nil {
		return fields{}
	}
	p := path + "[" + strconv.Itoa(i) + "]"
	m, ok := v.(map[string]any)
	if !ok {
		d.typeError(p, v, "a Structure")
		return fields{}
	}
	return fields{m: m, path: p}
}

func (d *reader) typeError(member string, v any, want string) {
	d.fail("Member %s: %s can not be converted to %s", member, kind(v), want)
}

func (d *reader) fail(format string, args ...any) {
	if d.err == nil {
		d.err = meterd.Errorf(meterd.ESerialization, format, args...)
	}
}

// kind names a JSON value's type the way Coral's messages do.
func kind(v any) string {
	switch v.(type) {
	case nil:
		return "VALUE_NULL"
	case string:
		return "STRING_VALUE"
	case json.Number:
		return "NUMBER_VALUE"
	case bool:
		return "BOOLEAN_VALUE"
	case []any:
		return "START_ARRAY"
	default:
		return "START_OBJECT"
	}
}
