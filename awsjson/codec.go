package awsjson

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"time"
)

// Codec is a protocol's body encoding, so that a service's request readers
// and output structs are written once and served in several protocols (the
// Agreement Service in awsJson1_0 and RPC v2 CBOR): JSON implements it, and
// so does rpcv2.Protocol.
type Codec interface {
	// Members parses a request body, which must be one object (a JSON
	// object, a CBOR map), into its members: strings, booleans, lists as
	// []any, structures as map[string]any, numbers (json.Number; CBOR's
	// uint64, int64 and float64) and timestamps (epoch seconds; CBOR's tag 1
	// as time.Time). An empty body has no members. Errors are
	// SerializationException.
	Members(body []byte) (map[string]any, error)
	// Time is a timestamp as Marshal writes it.
	Time(t time.Time) any
	// Marshal encodes an output: structs whose json tags name the model's
	// members (with omitempty on every member that may be absent; the CBOR
	// encoder reads the same tags), maps, slices, strings, integers,
	// booleans and Time's values.
	Marshal(v any) ([]byte, error)
}

var _ Codec = JSON10

// Members implements Codec: the whole object is built (the operations
// served this way have small inputs; the Metering API's decoders skip
// unknown members without building them).
func (v JSON) Members(body []byte) (map[string]any, error) {
	var d reader
	if len(bytes.TrimSpace(body)) == 0 {
		return map[string]any{}, nil
	}
	if !json.Valid(body) {
		d.fail("Could not parse the request body as JSON: %s", syntaxError(body))
		return nil, d.err
	}
	p := &parser{b: body}
	p.ws()
	switch m := p.value(buildAll).(type) {
	case map[string]any:
		return m, nil
	case nil:
		return map[string]any{}, nil // a top-level null reads as {}
	default:
		d.fail("The request body must be a JSON object, not %s", kind(m))
		return nil, d.err
	}
}

// Time implements Codec: epoch seconds, a plain JSON number.
func (v JSON) Time(t time.Time) any { return epochSeconds(t) }

// Marshal implements Codec.
func (v JSON) Marshal(out any) ([]byte, error) { return marshal(out) }

// bindCodec joins an input reader, an operation function and an output
// writer into an Operation of codec c.
func bindCodec[I, O any](c Codec, read func(*reader, fields) *I, op func(context.Context, *I) (*O, error), write func(c Codec, out *O) any) Operation {
	return Bind(func(body []byte) (*I, error) { return decodeWith(c, read, body) }, op,
		func(out *O) ([]byte, error) { return c.Marshal(write(c, out)) })
}

// decodeWith reads an input from body in codec c.
func decodeWith[I any](c Codec, read func(*reader, fields) *I, body []byte) (*I, error) {
	m, err := c.Members(body)
	if err != nil {
		return nil, err
	}
	var d reader
	in := read(&d, fields{m: m})
	if d.err != nil {
		return nil, d.err
	}
	return in, nil
}

// structure returns a member that must be a structure; its m is nil when
// absent.
func (d *reader) structure(f fields, name string) fields {
	v := d.value(f, name)
	if v == nil {
		return fields{}
	}
	m, ok := v.(map[string]any)
	if !ok {
		d.typeError(f.member(name), v, "a Structure")
		return fields{}
	}
	return fields{m: m, path: f.member(name)}
}

// strings returns a member that must be a list of strings; nil when absent,
// empty and non-nil when present but empty.
func (d *reader) strings(f fields, name string) []string {
	items, path, ok := d.list(f, name)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(items))
	for i, item := range items {
		s, ok := item.(string)
		if !ok {
			d.typeError(path+"["+strconv.Itoa(i)+"]", item, "a String")
			return nil
		}
		out = append(out, s)
	}
	return out
}
