package rpcv2

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/meterd/meterd"
)

// getEntitlementsSeeds are CBOR bodies: definite and indefinite, valid and
// broken.
var getEntitlementsSeeds = []string{
	"", "a0", "80", "f6", "a1 6b 50726f64756374436f6465 6170",
	"bf 6b 50726f64756374436f6465 7f 6170 6171 ff 66 46696c746572 bf 69 44494d454e53494f4e 9f 6161 ff ff ff",
	"a1 6a 4d6178526573756c7473 05", "a1 6a 4d6178526573756c7473 fb 4016000000000000",
	"a1 66 46696c746572 a1 69 44494d454e53494f4e 9b 00000000ffffffff",
	"a1 66 46696c746572 a1 69 44494d454e53494f4e f6", "c1 1a 6b36ec80", "a2 61 61 01 61 61 02",
}

// FuzzDecodeGetEntitlements checks that decoding never panics, fails only
// with SerializationException, and that what it accepts survives an
// encode/decode round trip unchanged.
func FuzzDecodeGetEntitlements(f *testing.F) {
	for _, s := range getEntitlementsSeeds {
		f.Add(h(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := decodeGetEntitlements(body)
		if err != nil {
			if meterd.ErrorCode(err) != meterd.ESerialization || meterd.ErrorMessage(err) == "" {
				t.Fatalf("decode(%x) = %v, want SerializationException with a message", body, err)
			}
			return
		}
		w := wireGetEntitlementsInput{ProductCode: in.ProductCode, Filter: in.Filter, NextToken: in.NextToken, MaxResults: in.MaxResults}
		b, err := cbor.Marshal(w)
		if err != nil {
			t.Fatalf("encode of decoded %x: %v", body, err)
		}
		again, err := decodeGetEntitlements(b)
		if err != nil {
			t.Fatalf("decode of re-encoded %x: %v", b, err)
		}
		if !reflect.DeepEqual(again, in) {
			t.Errorf("round trip of %x = %+v, want %+v", body, again, in)
		}
	})
}

// FuzzHandler sends arbitrary bodies to the RPC v2 route: every answer is a
// CBOR map with Smithy-Protocol, 200 or a 4xx with __type, never a 5xx.
func FuzzHandler(f *testing.F) {
	for _, s := range getEntitlementsSeeds {
		f.Add(h(s), "application/cbor")
	}
	f.Add([]byte("{}"), "application/json")
	svc := handler(nil, nil)
	svc.Services[0].Operations[meterd.OpGetEntitlements] = func(ctx context.Context, body []byte) ([]byte, error) {
		in, err := decodeGetEntitlements(body)
		if err != nil {
			return nil, err
		}
		return encodeGetEntitlements(&meterd.GetEntitlementsOutput{Entitlements: []*meterd.Entitlement{{ProductCode: in.ProductCode}}})
	}
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		r := httptest.NewRequest(http.MethodPost, "/service/AWSMPEntitlementService/operation/GetEntitlements", bytes.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		r.Header.Set("Smithy-Protocol", "rpc-v2-cbor")
		w := httptest.NewRecorder()
		svc.ServeHTTP(w, r)
		if w.Code != 200 && (w.Code < 400 || w.Code > 499) {
			t.Fatalf("status %d for %x (%q)", w.Code, body, contentType)
		}
		if w.Header().Get("Smithy-Protocol") != "rpc-v2-cbor" {
			t.Errorf("answer without Smithy-Protocol")
		}
		var m map[string]any
		if err := cbor.Unmarshal(w.Body.Bytes(), &m); err != nil {
			t.Fatalf("answer %x is not a CBOR map: %v", w.Body.Bytes(), err)
		}
		if _, ok := m["__type"]; (w.Code != 200) != ok {
			t.Errorf("answer %d %v: __type present only on errors", w.Code, m)
		}
	})
}
