package awsjson

import (
	"bytes"
	"encoding/json"
	"errors"
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
// SDKs send newer members), skipped without being built, so that a body
// costs a small multiple of its size; null counts as absent. Range, length and
// pattern checks belong to the operations (ValidationException); every error
// here is a SerializationException naming the member.
//
// A list that is present but empty decodes to an empty non-nil slice, so the
// operations can tell `"UsageAllocations": []` (invalid) from an absent list.

func decodeBatchMeterUsage(body []byte) (*meterd.BatchMeterUsageInput, error) {
	var d reader
	return d.batchMeterUsage(d.body(body, batchMeterUsageShape))
}

// batchMeterUsage reads a BatchMeterUsage request's members.
func (d *reader) batchMeterUsage(f fields) (*meterd.BatchMeterUsageInput, error) {
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
	return d.meterUsage(d.body(body, meterUsageShape))
}

// meterUsage reads a MeterUsage request's members.
func (d *reader) meterUsage(f fields) (*meterd.MeterUsageInput, error) {
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
	f := d.body(body, registerUsageShape)
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
	f := d.body(body, resolveCustomerShape)
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

// body parses the request body, which must be one JSON object, into the
// members s names (unknown members are skipped without being built). An
// empty body and a top-level null read as {}.
func (d *reader) body(body []byte, s shape) fields {
	if len(bytes.TrimSpace(body)) == 0 {
		return fields{}
	}
	// Syntax first, building nothing, so that a syntax error anywhere is
	// reported before the type of any member, and so that the walk below
	// may stop reading a list once it knows what is wrong with it.
	if !json.Valid(body) {
		d.fail("Could not parse the request body as JSON: %s", syntaxError(body))
		return fields{}
	}
	p := &parser{b: body}
	p.ws()
	if p.b[p.i] == '{' {
		return fields{m: p.object(s)}
	}
	// Anything else is refused by its kind alone.
	if v := p.value(nil); v != nil {
		d.fail("The request body must be a JSON object, not %s", kind(v))
	}
	return fields{}
}

// syntaxError describes what is wrong with a body that is not one JSON
// value, in encoding/json's words, reading it without keeping anything.
func syntaxError(body []byte) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&skipValue{}); err != nil {
		return err.Error()
	}
	return "unexpected data after the top-level object"
}

// skipValue reads a JSON value and keeps nothing of it.
type skipValue struct{}

func (*skipValue) UnmarshalJSON([]byte) error { return nil }

// shape is what the decoder builds of a JSON object: the members it
// knows, each with the shape of the structures its value holds (itself, or
// as the elements of a list), nil for a member of a scalar type, or
// buildAll. Shapes are never modified.
type shape map[string]*shape

// buildAll is the shape of a member whose value is built whole, as
// encoding/json would: a map, whose keys are not known in advance.
var buildAll = &shape{}

// The shapes of the Metering API's inputs.
var (
	tagShape         = shape{"Key": nil, "Value": nil}
	allocationShape  = shape{"AllocatedUsageQuantity": nil, "Tags": &tagShape}
	usageRecordShape = shape{"Timestamp": nil, "CustomerIdentifier": nil, "CustomerAWSAccountId": nil,
		"LicenseArn": nil, "Dimension": nil, "Quantity": nil, "UsageAllocations": &allocationShape}
	batchMeterUsageShape = shape{"ProductCode": nil, "UsageRecords": &usageRecordShape}
	meterUsageShape      = shape{"ProductCode": nil, "Timestamp": nil, "UsageDimension": nil, "UsageQuantity": nil,
		"DryRun": nil, "UsageAllocations": &allocationShape, "ClientToken": nil}
	registerUsageShape   = shape{"ProductCode": nil, "PublicKeyVersion": nil, "Nonce": nil}
	resolveCustomerShape = shape{"RegistrationToken": nil}
)

// parser walks a body already known to be one valid JSON value, building
// the generic values (strings, json.Number, bools, []any, map[string]any)
// that encoding/json would, but only where a shape asks for them. A value
// of which only its kind matters (an array or object given for a scalar
// member) is skipped and stands as an empty value of its kind, []any(nil)
// or map[string]any(nil), which the reader reports as START_ARRAY or
// START_OBJECT.
type parser struct {
	b []byte
	i int
}

// ws skips white space and the separators ',' and ':', which the walk
// needs not check in valid JSON.
func (p *parser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r', ',', ':':
			p.i++
		default:
			return
		}
	}
}

// value reads the next value; s is the shape of the structures it may
// hold, nil for a scalar member.
func (p *parser) value(s *shape) any {
	p.ws()
	switch c := p.b[p.i]; {
	case s == buildAll && (c == '{' || c == '['):
		return p.whole()
	case c == '{' && s != nil:
		return p.object(*s)
	case c == '{':
		p.skip()
		return map[string]any(nil)
	case c == '[' && s != nil:
		return p.list(s)
	case c == '[':
		p.skip()
		return []any(nil)
	case c == '"':
		return p.str()
	case c == 't':
		p.i += len("true")
		return true
	case c == 'f':
		p.i += len("false")
		return false
	case c == 'n':
		p.i += len("null")
		return nil
	}
	start := p.i
	p.scalarEnd()
	return json.Number(p.b[start:p.i])
}

// object reads an object's known members; the others are skipped. As
// with encoding/json, the last of a repeated member wins.
func (p *parser) object(s shape) map[string]any {
	p.i++ // {
	m := map[string]any{}
	for p.ws(); p.b[p.i] != '}'; p.ws() {
		key := p.str()
		if sub, known := s[key]; known {
			m[key] = p.value(sub)
		} else {
			p.ws()
			p.skip()
		}
	}
	p.i++ // }
	return m
}

// list reads a list whose elements have shape elem: structures, after the
// first of which that is not one the rest is skipped (the reader stops
// there), or buildAll.
func (p *parser) list(elem *shape) []any {
	p.i++ // [
	items := []any{}
	for p.ws(); p.b[p.i] != ']'; p.ws() {
		v := p.value(elem)
		items = append(items, v)
		if m, ok := v.(map[string]any); elem != buildAll && (!ok || m == nil) {
			for p.ws(); p.b[p.i] != ']'; p.ws() {
				p.skip()
			}
		}
	}
	p.i++ // ]
	return items
}

// whole reads an object or a list with everything in it.
func (p *parser) whole() any {
	if p.b[p.i] == '[' {
		return p.list(buildAll)
	}
	p.i++ // {
	m := map[string]any{}
	for p.ws(); p.b[p.i] != '}'; p.ws() {
		key := p.str()
		m[key] = p.value(buildAll)
	}
	p.i++ // }
	return m
}

// str reads a string. One without escapes or non-ASCII bytes is its bytes;
// any other goes through encoding/json, which replaces invalid UTF-8 as it
// always did.
func (p *parser) str() string {
	start := p.i
	plain := true
	for p.i++; p.b[p.i] != '"'; p.i++ {
		if c := p.b[p.i]; c == '\\' {
			plain = false
			p.i++
		} else if c >= 0x80 {
			plain = false
		}
	}
	p.i++
	if plain {
		return string(p.b[start+1 : p.i-1])
	}
	var v string
	json.Unmarshal(p.b[start:p.i], &v) // valid: checked by json.Valid
	return v
}

// skip passes the next value, of any kind, building nothing.
func (p *parser) skip() {
	switch p.b[p.i] {
	case '"':
		p.str()
	case '{', '[':
		depth := 0
		for {
			switch p.b[p.i] {
			case '"':
				p.str()
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
			p.i++
			if depth == 0 {
				return
			}
		}
	default:
		p.scalarEnd()
	}
}

// scalarEnd moves past a number or literal.
func (p *parser) scalarEnd() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return
		}
		p.i++
	}
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

// integer accepts an integer literal that fits int64, or a whole number
// written with an exponent, as R's paws writes 100000 (1e+05) and 150000
// (1.5e+05); a fraction without an exponent, even 3.0, is refused (no SDK
// sends one); from CBOR, an integer.
func (d *reader) integer(f fields, name string) *int64 {
	v := d.value(f, name)
	if v == nil {
		return nil
	}
	var n json.Number
	switch v := v.(type) {
	case json.Number:
		n = v
	case int64: // CBOR (Codec)
		return &v
	case uint64:
		n = json.Number(strconv.FormatUint(v, 10))
	case float64:
		d.fail("Member %s: a floating-point NUMBER_VALUE can not be converted to an Integer", f.member(name))
		return nil
	default:
		d.typeError(f.member(name), v, "an Integer")
		return nil
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil && strings.ContainsAny(string(n), "eE") {
		i, err = wholeWithExponent(string(n))
	}
	if errors.Is(err, strconv.ErrRange) {
		d.fail("Member %s: NUMBER_VALUE is out of range for a Long", f.member(name))
		return nil
	} else if err != nil {
		d.fail("Member %s: NUMBER_VALUE with a fraction or exponent can not be converted to an Integer", f.member(name))
		return nil
	}
	return &i
}

// errNotWhole is wholeWithExponent's answer for a value with a fraction.
var errNotWhole = errors.New("not a whole number")

// wholeWithExponent converts a valid JSON number with an exponent, such as
// 1e+05 or 1.5e+05, to the int64 it equals exactly: errNotWhole when it has
// a fraction, strconv.ErrRange beyond int64. It never builds the number's
// digits, so 1e999999999 costs no more than 1e5.
func wholeWithExponent(s string) (int64, error) {
	mantissa, exp, _ := strings.Cut(strings.ToLower(s), "e")
	neg := strings.HasPrefix(mantissa, "-")
	whole, frac, _ := strings.Cut(strings.TrimPrefix(mantissa, "-"), ".")
	digits := strings.TrimLeft(whole+frac, "0")
	e, err := strconv.Atoi(exp)
	if err != nil { // an exponent too long for int: out of range or zero
		if digits == "" {
			return 0, nil
		}
		if strings.HasPrefix(exp, "-") {
			return 0, errNotWhole
		}
		return 0, strconv.ErrRange
	}
	if digits == "" {
		return 0, nil
	}
	// The value is digits × 10^shift; trailing zeros move into shift.
	shift := e - len(frac)
	for strings.HasSuffix(digits, "0") {
		digits, shift = digits[:len(digits)-1], shift+1
	}
	if shift < 0 {
		return 0, errNotWhole
	}
	if len(digits)+shift > 19 {
		return 0, strconv.ErrRange
	}
	v, err := strconv.ParseUint(digits+strings.Repeat("0", shift), 10, 64)
	switch {
	case err != nil, !neg && v > math.MaxInt64, neg && v > 1<<63:
		return 0, strconv.ErrRange
	case neg:
		return int64(-v), nil
	}
	return int64(v), nil
}

// timestamp accepts epoch seconds as a JSON number, integer or fractional,
// or from CBOR a tag 1 time, rounded to the nearest millisecond.
func (d *reader) timestamp(f fields, name string) *time.Time {
	v := d.value(f, name)
	if v == nil {
		return nil
	}
	var n json.Number
	switch v := v.(type) {
	case json.Number:
		n = v
	case time.Time: // CBOR's tag 1 (Codec)
		t := v.Round(time.Millisecond).UTC()
		return &t
	default:
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
	case json.Number, int64, uint64, float64:
		return "NUMBER_VALUE"
	case time.Time:
		return "TIMESTAMP_VALUE"
	case []byte:
		return "BLOB_VALUE"
	case bool:
		return "BOOLEAN_VALUE"
	case []any:
		return "START_ARRAY"
	default:
		return "START_OBJECT"
	}
}
