// Package wire is the relay's event format: Event, as POST /v1/events
// takes it, and Decode, which reads a request body one event at a time.
// It imports the standard library only, so that its fuzz target builds
// in seconds.
package wire

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// Event is one raw usage event, as POST /v1/events takes it. ID is the
// idempotency key; exactly one of CustomerIdentifier and
// CustomerAWSAccountID names the customer.
type Event struct {
	ID                   string            `json:"id"`
	ProductCode          string            `json:"product_code"`
	CustomerIdentifier   string            `json:"customer_identifier,omitempty"`
	CustomerAWSAccountID string            `json:"customer_aws_account_id,omitempty"`
	LicenseArn           string            `json:"license_arn,omitempty"`
	Dimension            string            `json:"dimension"`
	Quantity             *int64            `json:"quantity"`
	Timestamp            time.Time         `json:"timestamp"`
	Tags                 map[string]string `json:"tags,omitempty"`
}

// AWS's limits that decoding enforces.
const (
	MaxQuantity = 2147483647 // the largest Quantity of a UsageRecord
	MaxTags     = 5          // tags of one usage allocation
)

// MaxEvents is the most events one request may carry. With the body
// streamed, it bounds what a request costs: at most this many events and
// results are held, whatever the body holds.
const MaxEvents = 10000

// Decoded is one event of a request body, or why it is not one (Err; ID
// is kept when it could be read, so that the result names it).
type Decoded struct {
	Event Event
	Err   error
}

// BodyError is a body that cannot be read as events at all; Err is the
// reader's error, if that is the cause.
type BodyError struct {
	Msg string
	Err error
}

func (e *BodyError) Error() string { return e.Msg }
func (e *BodyError) Unwrap() error { return e.Err }

func bodyError(format string, args ...any) error {
	return &BodyError{Msg: fmt.Sprintf(format, args...)}
}

// Decode reads a request body, a JSON array of events or JSON lines, one
// element at a time: no value is built for the whole body, and reading
// stops at the first element beyond MaxEvents. An element that is not a
// valid event is that event's Err; the returned error, a *BodyError, is
// for a body that cannot be read as either form.
func Decode(r io.Reader) ([]Decoded, error) {
	br := readers.Get().(*bufio.Reader)
	br.Reset(r)
	defer func() {
		br.Reset(nil) // holds no body while pooled
		readers.Put(br)
	}()
	first, err := firstNonSpace(br)
	switch {
	case errors.Is(err, io.EOF):
		return nil, bodyError("the body is empty: send a JSON array of events or JSON lines")
	case err != nil:
		return nil, readError(err)
	case first == '[':
		return decodeArray(br)
	}
	return decodeLines(br)
}

// readers are Decode's buffers, reused: a new 64 KiB buffer for each
// request was most of what a request of one event allocated. What Decode
// returns is copied out of the buffer.
var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 64<<10) }}

// firstNonSpace skips JSON whitespace and returns the next byte, unread.
func firstNonSpace(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err != nil {
			return 0, err
		}
		if !isSpace(b) {
			return b, br.UnreadByte()
		}
	}
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

func readError(err error) error {
	return &BodyError{Msg: fmt.Sprintf("reading the body: %v", err), Err: err}
}

func tooManyEvents() error {
	return bodyError("more than %d events in one request: send them in several requests of at most %d", MaxEvents, MaxEvents)
}

func decodeArray(r io.Reader) ([]Decoded, error) {
	dec := json.NewDecoder(r)
	notArray := func(err error) error {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return bodyError("the body is not a JSON array: %v", err)
		}
		return readError(err)
	}
	if _, err := dec.Token(); err != nil { // the '[' seen by decodeEvents
		return nil, notArray(err)
	}
	var out []Decoded
	for dec.More() {
		if len(out) == MaxEvents {
			return nil, tooManyEvents()
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, notArray(err)
		}
		var d Decoded
		d.Err = decodeEvent(raw, &d.Event)
		out = append(out, d)
	}
	if _, err := dec.Token(); err != nil { // ']'
		return nil, notArray(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, bodyError("the body is not a JSON array: data after its end")
	}
	return out, nil
}

func decodeLines(br *bufio.Reader) ([]Decoded, error) {
	var out []Decoded
	valid := false
	for {
		line, err := br.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, readError(err)
		}
		if line = bytes.TrimSpace(line); len(line) > 0 {
			if len(out) == MaxEvents {
				return nil, tooManyEvents()
			}
			// One broken line among good ones is that event's problem; a
			// body with no JSON line at all (a pretty-printed object,
			// text) cannot be parsed.
			valid = valid || json.Valid(line)
			var d Decoded
			d.Err = decodeEvent(line, &d.Event)
			out = append(out, d)
		}
		if err != nil { // io.EOF
			break
		}
	}
	if !valid {
		return nil, bodyError("the body is neither a JSON array nor JSON lines")
	}
	return out, nil
}

// decodeEvent decodes one event, keeping its id even when another field is
// malformed so that the result can name it. Quantities must be integers.
// Unknown members are skipped without being built, and tags stop being
// read at the first one beyond the limit. An event in the plain form most
// clients send is read by decodePlain; any other goes through
// encoding/json (decodeJSON), which decodePlain agrees with
// (FuzzDecodeEvents checks it).
func decodeEvent(raw []byte, e *Event) error {
	if decodePlain(raw, e) {
		return nil
	}
	*e = Event{}
	return decodeJSON(raw, e)
}

// decodeJSON is decodeEvent with encoding/json.
func decodeJSON(raw []byte, e *Event) error {
	if len(raw) == 0 || raw[0] != '{' {
		return fmt.Errorf("not a JSON object")
	}
	var wire struct {
		Event
		Quantity  json.RawMessage `json:"quantity"`
		Timestamp string          `json:"timestamp"`
		Tags      wireTags        `json:"tags"`
	}
	if err := json.Unmarshal(raw, &wire); err != nil {
		// Keep the id, if it can be read, for the result.
		var probe struct {
			ID json.RawMessage `json:"id"`
		}
		if err := json.Unmarshal(raw, &probe); err != nil {
			return fmt.Errorf("not a JSON object: %v", err)
		}
		json.Unmarshal(probe.ID, &e.ID)
		return fmt.Errorf("malformed event: %v", err)
	}
	*e = wire.Event
	e.Tags = wire.Tags
	if len(wire.Quantity) > 0 && string(wire.Quantity) != "null" {
		// A JSON number only: encoding/json would take "1" into a json.Number.
		var q int64
		if c := wire.Quantity[0]; c != '-' && (c < '0' || c > '9') || json.Unmarshal(wire.Quantity, &q) != nil {
			if isIntegerText(wire.Quantity) {
				return fmt.Errorf("quantity: %s is out of range: at most %d", clip(wire.Quantity), MaxQuantity)
			}
			return fmt.Errorf("quantity: %s is not an integer", clip(wire.Quantity))
		}
		e.Quantity = &q
	}
	if wire.Timestamp != "" {
		ts, err := time.Parse(time.RFC3339Nano, wire.Timestamp)
		if err != nil {
			return fmt.Errorf("timestamp: %q is not RFC 3339", clip([]byte(wire.Timestamp)))
		}
		e.Timestamp = ts
	}
	return nil
}

// decodePlain decodes a valid event in the plain form: an object of the
// known members, each at most once and spelt in lower case, whose string
// values are printable ASCII without escapes, whose quantity is an
// integer of at most 18 digits, whose timestamp parses, and whose tags, if
// any, are at most MaxTags distinct such strings. It reports false, having
// perhaps set some of e, for any other input, valid or not: decodeJSON
// reads those. What it accepts, it decodes as decodeJSON does.
func decodePlain(raw []byte, e *Event) bool {
	if len(raw) == 0 || raw[0] != '{' {
		return false // decodeJSON's "not a JSON object", even after spaces
	}
	p := plain{b: raw, i: 1}
	var seen uint16
	for first := true; ; first = false {
		if p.byte('}') {
			break
		}
		if !first && !p.byte(',') {
			return false
		}
		name, ok := p.str()
		if !ok || !p.byte(':') {
			return false
		}
		field := -1
		for i, n := range plainFields {
			if name == n {
				field = i
				break
			}
		}
		if field < 0 || seen&(1<<field) != 0 {
			return false
		}
		seen |= 1 << field
		var dst *string
		switch name {
		case "id":
			dst = &e.ID
		case "product_code":
			dst = &e.ProductCode
		case "customer_identifier":
			dst = &e.CustomerIdentifier
		case "customer_aws_account_id":
			dst = &e.CustomerAWSAccountID
		case "license_arn":
			dst = &e.LicenseArn
		case "dimension":
			dst = &e.Dimension
		case "quantity":
			q, ok := p.integer()
			if !ok {
				return false
			}
			e.Quantity = &q
		case "timestamp":
			s, ok := p.str()
			if !ok || s == "" {
				return false
			}
			ts, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return false
			}
			e.Timestamp = ts
		case "tags":
			if e.Tags, ok = p.tags(); !ok {
				return false
			}
		}
		if dst != nil {
			if *dst, ok = p.str(); !ok {
				return false
			}
		}
	}
	p.space()
	return p.i == len(p.b)
}

// plainFields are the members decodePlain reads, as Event's tags name them.
var plainFields = [...]string{"id", "product_code", "customer_identifier", "customer_aws_account_id",
	"license_arn", "dimension", "quantity", "timestamp", "tags"}

// plain reads JSON tokens from b at i, skipping whitespace before each.
type plain struct {
	b []byte
	i int
}

func (p *plain) space() {
	for p.i < len(p.b) && isSpace(p.b[p.i]) {
		p.i++
	}
}

// byte consumes c if it is next.
func (p *plain) byte(c byte) bool {
	p.space()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// str reads a string of printable ASCII without escapes.
func (p *plain) str() (string, bool) {
	if !p.byte('"') {
		return "", false
	}
	start := p.i
	for ; p.i < len(p.b); p.i++ {
		switch c := p.b[p.i]; {
		case c == '"':
			s := string(p.b[start:p.i])
			p.i++
			return s, true
		case c < 0x20 || c >= 0x7f || c == '\\':
			return "", false
		}
	}
	return "", false
}

// integer reads a JSON number that is an integer of at most 18 digits:
// an optional minus, then 0 or a digit from 1 to 9 and more digits, with
// no fraction or exponent after it.
func (p *plain) integer() (int64, bool) {
	p.space()
	neg := p.i < len(p.b) && p.b[p.i] == '-'
	if neg {
		p.i++
	}
	start := p.i
	var q int64
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		q = q*10 + int64(p.b[p.i]-'0')
		p.i++
	}
	n := p.i - start
	switch {
	case n == 0 || n > 18 || n > 1 && p.b[start] == '0':
		return 0, false
	case p.i < len(p.b) && (p.b[p.i] == '.' || p.b[p.i] == 'e' || p.b[p.i] == 'E'):
		return 0, false
	}
	if neg {
		q = -q
	}
	return q, true
}

// tags reads an object of at most MaxTags distinct members whose values
// are strings, all as str reads them.
func (p *plain) tags() (map[string]string, bool) {
	if !p.byte('{') {
		return nil, false
	}
	m := map[string]string{}
	for first := true; ; first = false {
		if p.byte('}') {
			return m, true
		}
		if !first && !p.byte(',') || len(m) == MaxTags {
			return nil, false
		}
		k, ok := p.str()
		if !ok || !p.byte(':') {
			return nil, false
		}
		v, ok := p.str()
		if _, dup := m[k]; !ok || dup {
			return nil, false
		}
		m[k] = v
	}
}

// wireTags decodes an event's tags, refusing more than AWS allows before
// building them: a body of one event with a million tags costs a few
// tags, not a million.
type wireTags map[string]string

func (t *wireTags) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*t = nil
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fmt.Errorf("tags: not a JSON object of strings")
	}
	m := map[string]string{}
	for dec.More() {
		if len(m) == MaxTags {
			return fmt.Errorf("tags: more than %d tags", MaxTags)
		}
		k, err := dec.Token()
		if err != nil {
			return fmt.Errorf("tags: %v", err)
		}
		v, err := dec.Token()
		s, ok := v.(string)
		if err != nil || !ok {
			return fmt.Errorf("tags: the value of %q is not a string", clip([]byte(k.(string))))
		}
		m[k.(string)] = s
	}
	*t = m
	return nil
}

// clip shortens a value quoted in an error message: a result never echoes
// a large part of the body.
func clip(b []byte) string {
	const max = 64
	if len(b) <= max {
		return string(b)
	}
	return string(b[:max]) + "..."
}

// isIntegerText reports whether b is an optional minus and digits only.
func isIntegerText(b []byte) bool {
	b = bytes.TrimPrefix(b, []byte("-"))
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
