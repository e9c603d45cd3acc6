package relay

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// maxEventsPerRequest is the most events one POST /v1/events may carry.
// With the body streamed, it bounds what a request costs: at most this
// many events and results are held, whatever the body holds.
const maxEventsPerRequest = 10000

// decoded is one event of a request body, or why it is not one (Err; ID
// is kept when it could be read, so that the result names it).
type decoded struct {
	Event Event
	Err   error
}

// decodeEvents reads a POST /v1/events body, a JSON array of events or
// JSON lines, one element at a time: no value is built for the whole body,
// and reading stops at the first element beyond maxEventsPerRequest. An
// element that is not a valid event is that event's error; the returned
// error (a 400) is for a body that cannot be read as either form.
func decodeEvents(r io.Reader) ([]decoded, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	first, err := firstNonSpace(br)
	switch {
	case errors.Is(err, io.EOF):
		return nil, badRequest("the body is empty: send a JSON array of events or JSON lines")
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
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return badRequest("the body is larger than %d bytes; send at most %d events per request", tooLarge.Limit, maxEventsPerRequest)
	}
	return badRequest("reading the body: %v", err)
}

func tooManyEvents() error {
	return badRequest("more than %d events in one request: send them in several requests of at most %d", maxEventsPerRequest, maxEventsPerRequest)
}

func decodeArray(r io.Reader) ([]decoded, error) {
	dec := json.NewDecoder(r)
	notArray := func(err error) error {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return readError(err)
		}
		return badRequest("the body is not a JSON array: %v", err)
	}
	if _, err := dec.Token(); err != nil { // the '[' seen by decodeEvents
		return nil, notArray(err)
	}
	var out []decoded
	for dec.More() {
		if len(out) == maxEventsPerRequest {
			return nil, tooManyEvents()
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, notArray(err)
		}
		var d decoded
		d.Err = decodeEvent(raw, &d.Event)
		out = append(out, d)
	}
	if _, err := dec.Token(); err != nil { // ']'
		return nil, notArray(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, badRequest("the body is not a JSON array: data after its end")
	}
	return out, nil
}

func decodeLines(br *bufio.Reader) ([]decoded, error) {
	var out []decoded
	valid := false
	for {
		line, err := br.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, readError(err)
		}
		if line = bytes.TrimSpace(line); len(line) > 0 {
			if len(out) == maxEventsPerRequest {
				return nil, tooManyEvents()
			}
			// One broken line among good ones is that event's problem; a
			// body with no JSON line at all (a pretty-printed object,
			// text) cannot be parsed.
			valid = valid || json.Valid(line)
			var d decoded
			d.Err = decodeEvent(line, &d.Event)
			out = append(out, d)
		}
		if err != nil { // io.EOF
			break
		}
	}
	if !valid {
		return nil, badRequest("the body is neither a JSON array nor JSON lines")
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
				return fmt.Errorf("quantity: %s is out of range: at most %d", clip(wire.Quantity), maxQuantity)
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
		if len(m) == maxTagsPerAllocation {
			return fmt.Errorf("tags: more than %d tags", maxTagsPerAllocation)
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
