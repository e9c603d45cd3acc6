package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestDecode: the forms of a body, and what each element becomes.
func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		ids     []string // of the elements, in order
		errs    []string // a part of each element's error, "" for none
		bodyErr string   // a part of the body's error
	}{
		{name: "Array", body: ` [{"id":"a","quantity":1,"tags":{"k":"v"}}, 7, {"id":"b","quantity":"2"}] `,
			ids: []string{"a", "", "b"}, errs: []string{"", "not a JSON object", "quantity: \"2\" is not an integer"}},
		{name: "Lines", body: "{\"id\":\"a\"}\n\n  broken\n{\"id\":\"c\",\"quantity\":99999999999999999999}\n",
			ids: []string{"a", "", "c"}, errs: []string{"", "not a JSON object", "out of range"}},
		{name: "TooManyTags", body: `[{"id":"t","tags":{"a":"1","b":"2","c":"3","d":"4","e":"5","f":"6"}}]`,
			ids: []string{"t"}, errs: []string{"more than 5 tags"}},
		{name: "TagNotString", body: `[{"id":"t","tags":{"a":1}}]`, ids: []string{"t"}, errs: []string{"is not a string"}},
		{name: "Empty", body: " \n ", bodyErr: "empty"},
		{name: "BrokenArray", body: `[{"id":`, bodyErr: "not a JSON array"},
		{name: "AfterArray", body: `[] []`, bodyErr: "data after its end"},
		{name: "Text", body: "hello\nworld", bodyErr: "neither a JSON array nor JSON lines"},
		{name: "TooMany", body: "[" + strings.Repeat("{},", MaxEvents) + "{}]", bodyErr: "more than 10000 events"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, err := Decode(strings.NewReader(tt.body))
			var be *BodyError
			if tt.bodyErr != "" {
				if !errors.As(err, &be) || !strings.Contains(err.Error(), tt.bodyErr) {
					t.Fatalf("Decode = %v, want a BodyError with %q", err, tt.bodyErr)
				}
				return
			}
			if err != nil || len(items) != len(tt.ids) {
				t.Fatalf("Decode = %d items, %v, want %d", len(items), err, len(tt.ids))
			}
			for i, it := range items {
				got := ""
				if it.Err != nil {
					got = it.Err.Error()
				}
				if it.Event.ID != tt.ids[i] || (tt.errs[i] == "") != (got == "") || !strings.Contains(got, tt.errs[i]) {
					t.Errorf("item %d = %q, %q, want %q, %q", i, it.Event.ID, got, tt.ids[i], tt.errs[i])
				}
			}
		})
	}
}

// FuzzDecodeEvents feeds arbitrary bodies to the POST /v1/events decoder:
// it never panics, returns at most MaxEvents events, and for a
// body that is a JSON array returns one result per element (or refuses
// the body for having too many). Read as one event, a body that
// decodePlain accepts decodes to the same event with encoding/json.
func FuzzDecodeEvents(f *testing.F) {
	ts := "2026-11-23T07:00:00Z"
	for _, seed := range []string{
		`{"id":"a","product_code":"p","customer_aws_account_id":"123456789012","license_arn":"arn:x","dimension":"d","quantity":-0,"timestamp":"` + ts + `","tags":{}}`,
		` { "id" : "a" , "quantity" : 12 , "tags" : { "k" : "v" , "l" : "w" } } `,
		`{"id":"a","ID":"b"}`, `{"id":"a","id":"b"}`, `{"id":"a\u0062"}`, `{"quantity":012}`, `{"quantity":1.0}`,
		`{"timestamp":"2026-11-23T07:00:00.123456789+02:00"}`, `{"tags":{"a":"1","a":"2"}}`, `{"id":"a"} x`,
		`[{"id":"a","product_code":"p","customer_identifier":"c","dimension":"d","quantity":3,"timestamp":"` + ts + `","tags":{"t":"x"}}]`,
		`{"id":"a","quantity":1}` + "\n" + `{"id":"b","quantity":"2"}` + "\n" + `not json`,
		`[1, "x", null, [], {"id": 5}, {"quantity": 1e3}, {"tags": {"a": 1}}]`,
		`[{"id":"q","quantity":99999999999999999999}]`,
		`{"id":"t","tags":{"a":"1","b":"2","c":"3","d":"4","e":"5","f":"6"}}`,
		` [ ] `, `[`, `[]x`, "\n\n", `{`, `[{"id":"x","timestamp":"yesterday"}]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var plain, viaJSON Event
		if decodePlain(body, &plain) {
			if err := decodeJSON(body, &viaJSON); err != nil || !reflect.DeepEqual(plain, viaJSON) {
				t.Fatalf("decodePlain(%q) = %+v, encoding/json: %+v, %v", body, plain, viaJSON, err)
			}
		}
		items, err := Decode(bytes.NewReader(body))
		if err != nil {
			if items != nil {
				t.Fatalf("Decode = %d items and error %v, want none with an error", len(items), err)
			}
			return
		}
		if len(items) > MaxEvents {
			t.Fatalf("Decode = %d items, more than %d", len(items), MaxEvents)
		}
		for _, it := range items {
			if it.Err == nil && it.Event.Tags != nil && len(it.Event.Tags) > MaxTags {
				t.Fatalf("event with %d tags decoded, want an error beyond %d", len(it.Event.Tags), MaxTags)
			}
		}
		var elems []json.RawMessage
		if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) > 0 && trimmed[0] == '[' {
			if json.Unmarshal(body, &elems) != nil {
				t.Fatalf("Decode took %q, which is not a JSON array", body)
			}
			if len(items) != len(elems) {
				t.Fatalf("Decode = %d items for an array of %d", len(items), len(elems))
			}
		}
	})
}

// TestDecodePlain: the form clients send is read by decodePlain (the
// fast path), and forms it does not read exactly as encoding/json does
// are left to encoding/json.
func TestDecodePlain(t *testing.T) {
	tests := []struct {
		raw   string
		plain bool
	}{
		{`{"id":"e1","product_code":"p","customer_identifier":"c","dimension":"d","quantity":3,"timestamp":"2026-11-23T07:12:00Z","tags":{"team":"a"}}`, true},
		{"{ \"id\" :\t\"e1\" ,\r\n\"quantity\": -0 } ", true},
		{`{}`, true},
		{`{"id":"e1","Quantity":3}`, false},         // case-folded name
		{`{"id":"e1","id":"e2"}`, false},            // repeated member
		{`{"id":"e\u0031"}`, false},                 // escape
		{`{"id":"e1","extra":1}`, false},            // unknown member
		{`{"quantity":1e3}`, false},                 // not an integer
		{`{"quantity":1234567890123456789}`, false}, // 19 digits
		{`{"timestamp":""}`, false},
		{`{"tags":null}`, false},
		{`{"id":"e1"}x`, false},
		{` {"id":"e1"}`, false},
	}
	for _, tt := range tests {
		var e Event
		if got := decodePlain([]byte(tt.raw), &e); got != tt.plain {
			t.Errorf("decodePlain(%s) = %v, want %v", tt.raw, got, tt.plain)
		}
	}
}
