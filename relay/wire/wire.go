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
	br := bufio.NewReaderSize(r, 64<<10)
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
// read at the first one beyond the limit.
func decodeEvent(raw []byte, e *Event) error {
	if len(raw) == 0 || raw[0] != '{' {
		return fmt.Errorf("not a JSON object")
	}
	var probe struct {
		ID json.RawMessage `json:"id"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return fmt.Errorf("not a JSON object: %v", err)
	}
	json.Unmarshal(probe.ID, &e.ID)
	var wire struct {
		Event
		Quantity  json.RawMessage `json:"quantity"`
		Timestamp string          `json:"timestamp"`
		Tags      wireTags        `json:"tags"`
	}
	if err := json.Unmarshal(raw, &wire); err != nil {
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
