// Package rpcv2 is the Smithy RPC v2 CBOR protocol (smithy.protocols#rpcv2Cbor),
// which the newest AWS SDKs (Go v2, .NET) speak to the Entitlement and
// Agreement Services: a POST to .../service/<Service>/operation/<Operation>
// with a CBOR body and Smithy-Protocol: rpc-v2-cbor. Protocol is the framing
// awsjson.Handler uses for a service routed by path; Decode and Encode are
// the codec, with decode limits for hostile input.
package rpcv2

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/awsjson"
)

// ContentType is the media type of every request and answer body.
const ContentType = "application/cbor"

// Protocol frames one service's requests and answers in RPC v2 CBOR.
type Protocol struct {
	// Namespace is the service's Smithy namespace: an error's __type is its
	// absolute shape id, Namespace#Code, as the protocol requires.
	Namespace string
}

var _ awsjson.Protocol = Protocol{}

// ByPath implements awsjson.Protocol: RPC v2 routes by path.
func (Protocol) ByPath() bool { return true }

// CheckRequest implements awsjson.Protocol: a request with a body must be
// application/cbor and every request must say Smithy-Protocol: rpc-v2-cbor.
// (Requests carrying X-Amz-Target are refused by the router.)
func (Protocol) CheckRequest(r *http.Request) error {
	if p := r.Header.Get("Smithy-Protocol"); p != "rpc-v2-cbor" {
		return meterd.Errorf(meterd.ESerialization, "Missing or unsupported Smithy-Protocol header %q: expected rpc-v2-cbor", clip(p))
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" && r.ContentLength == 0 {
		return nil // an empty input may come without a body and its type
	}
	if mt, _, err := mime.ParseMediaType(ct); (err != nil && !errors.Is(err, mime.ErrInvalidMediaParameter)) || mt != ContentType {
		return meterd.Errorf(meterd.ESerialization, "Unsupported Content-Type %q: expected %s", clip(ct), ContentType)
	}
	return nil
}

// WriteOutput implements awsjson.Protocol.
func (Protocol) WriteOutput(w http.ResponseWriter, body []byte) {
	h := w.Header()
	h.Set("Smithy-Protocol", "rpc-v2-cbor")
	h.Set("Content-Type", ContentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

// errorBody is an error answer: __type is the error's absolute shape id.
type errorBody struct {
	Type    string      `cbor:"__type"`
	Message string      `cbor:"message"`
	Reason  string      `cbor:"reason,omitempty"`
	Fields  []fieldBody `cbor:"fields,omitempty"`
}

// fieldBody is a ValidationExceptionField of the Agreement Service.
type fieldBody struct {
	Name    string `cbor:"name"`
	Message string `cbor:"message"`
}

// WriteError implements awsjson.Protocol: status from awsjson.StatusOf (400
// for client errors, 500 for InternalServiceErrorException), body a CBOR map
// of __type and message. Errors that are not *meterd.Error are written as
// InternalServiceErrorException with a generic message. No
// X-Amzn-ErrorType: the protocol carries the type in the body only.
func (p Protocol) WriteError(w http.ResponseWriter, err error) {
	code, msg := meterd.ErrorCode(err), meterd.ErrorMessage(err)
	if err == nil {
		code, msg = meterd.EInternal, meterd.ErrorMessage(errors.New(""))
	}
	reason, fields := meterd.ErrorDetail(err)
	var fb []fieldBody
	for _, f := range fields {
		fb = append(fb, fieldBody{Name: f.Name, Message: f.Message})
	}
	body, eerr := encMode.Marshal(errorBody{Type: p.Namespace + "#" + code, Message: msg, Reason: reason, Fields: fb})
	if eerr != nil {
		// Unreachable: two strings always encode.
		code, body = meterd.EInternal, nil
	}
	h := w.Header()
	h.Set("Smithy-Protocol", "rpc-v2-cbor")
	h.Set("Content-Type", ContentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(awsjson.StatusOf(code))
	w.Write(body)
}

// Decode limits: generous for any real request (bodies are at most 1 MiB),
// small enough that hostile nesting or declared lengths cannot exhaust the
// stack or memory.
const (
	maxNestedLevels  = 32
	maxArrayElements = 10_000
	maxMapPairs      = 10_000
)

// decMode and encMode are the codec's settings, built once and never
// changed. Decoding matches member names exactly (AWS is case-sensitive),
// ignores unknown members (newer SDKs send newer ones), refuses duplicate
// keys and invalid UTF-8, accepts definite and indefinite lengths, and
// reads timestamps from tag 1. Encoding writes timestamps as tag 1 epoch
// seconds (an integer, or a float when there are milliseconds), integers in
// their shortest form, and never null for an empty list.
var (
	decMode = mustDecMode()
	encMode = mustEncMode()
)

func mustDecMode() cbor.DecMode {
	dm, err := cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		TimeTag:           cbor.DecTagOptional,
		MaxNestedLevels:   maxNestedLevels,
		MaxArrayElements:  maxArrayElements,
		MaxMapPairs:       maxMapPairs,
		IndefLength:       cbor.IndefLengthAllowed,
		UTF8:              cbor.UTF8RejectInvalid,
		FieldNameMatching: cbor.FieldNameMatchingCaseSensitive,
		DefaultMapType:    reflect.TypeOf(map[string]any(nil)),
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return dm
}

func mustEncMode() cbor.EncMode {
	em, err := cbor.EncOptions{
		Time:    cbor.TimeUnixDynamic,
		TimeTag: cbor.EncTagRequired,
	}.EncMode()
	if err != nil {
		panic(err)
	}
	return em
}

// Decode decodes a request body into v, a pointer to a struct whose cbor
// tags are the model's member names. An empty body is an empty input.
// Errors are SerializationException naming what is wrong.
func Decode(body []byte, v any) error {
	if len(body) == 0 {
		return nil
	}
	err := decMode.Unmarshal(body, v)
	if err == nil {
		return nil
	}
	if te, ok := errors.AsType[*cbor.UnmarshalTypeError](err); ok {
		if te.StructFieldName != "" {
			member := te.StructFieldName[strings.LastIndexByte(te.StructFieldName, '.')+1:]
			return meterd.Errorf(meterd.ESerialization, "Member %s: a CBOR %s can not be converted to %s", member, te.CBORType, te.GoType)
		}
		return meterd.Errorf(meterd.ESerialization, "The request body must be a CBOR map, not a CBOR %s", te.CBORType)
	}
	return meterd.Errorf(meterd.ESerialization, "Could not parse the request body as CBOR: %s", strings.TrimPrefix(err.Error(), "cbor: "))
}

// Encode encodes an output: v is a struct whose cbor tags are the model's
// member names, with omitempty on every member that may be absent.
func Encode(v any) ([]byte, error) {
	b, err := encMode.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("rpcv2: encode %T: %w", v, err)
	}
	return b, nil
}

// clip shortens client-supplied text echoed in messages.
func clip(s string) string {
	const max = 128
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

var _ awsjson.Codec = Protocol{}

// Members implements awsjson.Codec: the body must be one CBOR map with
// text keys, read within the decode limits.
func (Protocol) Members(body []byte) (map[string]any, error) {
	m := map[string]any{}
	if err := Decode(body, &m); err != nil {
		return nil, err
	}
	if m == nil { // a CBOR null reads as an empty input
		m = map[string]any{}
	}
	return m, nil
}

// Time implements awsjson.Codec: tag 1, rounded to the millisecond.
func (Protocol) Time(t time.Time) any { return *millis(&t) }

// Marshal implements awsjson.Codec.
func (Protocol) Marshal(v any) ([]byte, error) { return Encode(v) }
