package rpcv2

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/awsjson"
)

// h decodes hex written with spaces, for hand-built CBOR.
func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := cbor.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeGetEntitlements(t *testing.T) {
	five := int64(5)
	deep := bytes.Repeat([]byte{0x81}, 40) // 40 nested one-element arrays
	deep = append(h("a1 66 46696c746572"), append(deep, 0x00)...)
	tests := []struct {
		name    string
		body    []byte
		want    *meterd.GetEntitlementsInput
		wantErr string // part of a SerializationException's message
	}{
		{"Definite", mustMarshal(t, map[string]any{"ProductCode": "p", "MaxResults": 5, "NextToken": "n",
			"Filter": map[string][]string{"DIMENSION": {"a", "b"}}}),
			&meterd.GetEntitlementsInput{ProductCode: "p", MaxResults: &five, NextToken: "n", Filter: map[string][]string{"DIMENSION": {"a", "b"}}}, ""},
		// {_ "ProductCode": (_ "p", "q"), "Filter": {_ "DIMENSION": [_ "a"]}}
		{"Indefinite", h("bf 6b 50726f64756374436f6465 7f 6170 6171 ff 66 46696c746572 bf 69 44494d454e53494f4e 9f 6161 ff ff ff"),
			&meterd.GetEntitlementsInput{ProductCode: "pq", Filter: map[string][]string{"DIMENSION": {"a"}}}, ""},
		{"Empty", nil, &meterd.GetEntitlementsInput{}, ""},
		{"EmptyMap", h("a0"), &meterd.GetEntitlementsInput{}, ""},
		{"NullMembersAbsent", mustMarshal(t, map[string]any{"ProductCode": nil, "MaxResults": nil}), &meterd.GetEntitlementsInput{}, ""},
		{"UndefinedIsNull", h("a1 6b 50726f64756374436f6465 f7"), &meterd.GetEntitlementsInput{}, ""},
		{"UnknownMembersIgnored", mustMarshal(t, map[string]any{"ProductCode": "p", "__type": "x", "New": []int{1}}), &meterd.GetEntitlementsInput{ProductCode: "p"}, ""},
		{"NamesAreCaseSensitive", mustMarshal(t, map[string]any{"productcode": "p"}), &meterd.GetEntitlementsInput{}, ""},
		{"MaxResultsText", mustMarshal(t, map[string]any{"MaxResults": "5"}), nil, "Member MaxResults"},
		{"MaxResultsFloat", mustMarshal(t, map[string]any{"MaxResults": 5.5}), nil, "Member MaxResults"},
		{"MaxResultsBignum", h("a1 6a 4d6178526573756c7473 c2 49 010000000000000000"), nil, "Member MaxResults"},
		{"ProductCodeBytes", h("a1 6b 50726f64756374436f6465 41 70"), nil, "Member ProductCode"},
		{"FilterNotMap", mustMarshal(t, map[string]any{"Filter": []string{"a"}}), nil, "Member Filter"},
		{"FilterNullList", mustMarshal(t, map[string]any{"Filter": map[string]any{"DIMENSION": nil}}), nil, "Filter.DIMENSION: null"},
		{"FilterIntegerKey", h("a1 66 46696c746572 a1 01 81 6161"), nil, "CBOR"},
		{"TopLevelArray", h("80"), nil, "must be a CBOR map"},
		{"TopLevelText", h("6170"), nil, "must be a CBOR map"},
		{"DuplicateKey", h("a2 6b 50726f64756374436f6465 6170 6b 50726f64756374436f6465 6171"), nil, "duplicate"},
		{"TooDeep", deep, nil, "exceeded max nested level"},
		{"HugeDeclaredArray", h("a1 66 46696c746572 a1 69 44494d454e53494f4e 9b 00000000ffffffff"), nil, "CBOR"},
		{"HugeDeclaredText", h("a1 6b 50726f64756374436f6465 7b 00000000ffffffff 61"), nil, "CBOR"},
		{"TrailingData", h("a0 a0"), nil, "extraneous data"},
		{"Truncated", h("a1 6b 50726f6475"), nil, "CBOR"},
		{"InvalidUTF8", h("a1 6b 50726f64756374436f6465 62 c328"), nil, "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeGetEntitlements(tt.body)
			if tt.wantErr != "" {
				if meterd.ErrorCode(err) != meterd.ESerialization || !strings.Contains(meterd.ErrorMessage(err), tt.wantErr) {
					t.Errorf("decode(%x) = %v, want SerializationException containing %q", tt.body, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("decode(%x) = %v", tt.body, err)
			}
			if got.ProductCode != tt.want.ProductCode || got.NextToken != tt.want.NextToken ||
				(got.MaxResults == nil) != (tt.want.MaxResults == nil) || (got.MaxResults != nil && *got.MaxResults != *tt.want.MaxResults) ||
				len(got.Filter) != len(tt.want.Filter) {
				t.Fatalf("decode(%x) = %+v, want %+v", tt.body, got, tt.want)
			}
			for k, v := range tt.want.Filter {
				if !slices.Equal(got.Filter[k], v) {
					t.Errorf("Filter[%s] = %v, want %v", k, got.Filter[k], v)
				}
			}
		})
	}
}

func TestEncodeGetEntitlements(t *testing.T) {
	ten, yes := int64(10), true
	end := time.Unix(1798761600, 0).UTC()
	endMs := time.UnixMilli(1798761600250).UTC()
	tests := []struct {
		name string
		out  *meterd.GetEntitlementsOutput
		want string // hex
	}{
		// {"Entitlements": []}
		{"None", &meterd.GetEntitlementsOutput{Entitlements: []*meterd.Entitlement{}}, "a1 6c 456e7469746c656d656e7473 80"},
		// {"Entitlements": [{"Dimension": "seats", "Value": {"IntegerValue": 10}, "ExpirationDate": 1(1798761600)}], "NextToken": "t"}
		{"Integer", &meterd.GetEntitlementsOutput{NextToken: "t", Entitlements: []*meterd.Entitlement{{Dimension: "seats", IntegerValue: &ten, ExpirationDate: &end}}},
			"a2 6c 456e7469746c656d656e7473 81 a3 69 44696d656e73696f6e 65 7365617473 65 56616c7565 a1 6c 496e746567657256616c7565 0a" +
				" 6e 45787069726174696f6e44617465 c1 1a 6b36ec80 69 4e657874546f6b656e 61 74"},
		// Milliseconds make the timestamp a float: 1(1798761600.25)
		{"BooleanAndMillis", &meterd.GetEntitlementsOutput{Entitlements: []*meterd.Entitlement{{BooleanValue: &yes, ExpirationDate: &endMs}}},
			"a1 6c 456e7469746c656d656e7473 81 a2 65 56616c7565 a1 6c 426f6f6c65616e56616c7565 f5 6e 45787069726174696f6e44617465 c1 fb 41dacdbb20100000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := encodeGetEntitlements(tt.out)
			if err != nil {
				t.Fatal(err)
			}
			if want := h(tt.want); !bytes.Equal(got, want) {
				t.Errorf("encode = %x\nwant     %x", got, want)
			}
		})
	}
}

// handler serves an Entitlement Service whose operation answers out, err.
func handler(out *meterd.GetEntitlementsOutput, err error) *awsjson.Handler {
	return &awsjson.Handler{
		Services: []*awsjson.Service{Entitlement(func(ctx context.Context, in *meterd.GetEntitlementsInput) (*meterd.GetEntitlementsOutput, error) {
			return out, err
		})},
		Authenticate: func(r *http.Request, body []byte, signingName string) (*meterd.Caller, error) {
			if signingName != "aws-marketplace" {
				return nil, meterd.Errorf(meterd.EInvalidSignature, "signing name %s", signingName)
			}
			return &meterd.Caller{AccountID: "111122223333", Region: "us-east-1"}, nil
		},
	}
}

func rpcRequest(body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/service/AWSMPEntitlementService/operation/GetEntitlements", bytes.NewReader(body))
	r.Header.Set("Content-Type", ContentType)
	r.Header.Set("Smithy-Protocol", "rpc-v2-cbor")
	return r
}

func TestProtocol(t *testing.T) {
	ok := &meterd.GetEntitlementsOutput{Entitlements: []*meterd.Entitlement{}}
	tests := []struct {
		name       string
		h          *awsjson.Handler
		req        func() *http.Request
		wantStatus int
		wantType   string // __type of an error; "" for success
	}{
		{"OK", handler(ok, nil), func() *http.Request { return rpcRequest(h("a0")) }, 200, ""},
		{"OKWithoutBody", handler(ok, nil), func() *http.Request {
			r := rpcRequest(nil)
			r.Header.Del("Content-Type")
			return r
		}, 200, ""},
		{"ClientError", handler(nil, meterd.Errorf(meterd.EInvalidParameter, "bad")), func() *http.Request { return rpcRequest(h("a0")) },
			400, "com.amazonaws.marketplaceentitlementservice#InvalidParameterException"},
		{"Throttling", handler(nil, meterd.Errorf(meterd.EThrottling, "slow down")), func() *http.Request { return rpcRequest(h("a0")) },
			400, "com.amazonaws.marketplaceentitlementservice#ThrottlingException"},
		{"InternalError", handler(nil, errors.New("disk on fire")), func() *http.Request { return rpcRequest(h("a0")) },
			500, "com.amazonaws.marketplaceentitlementservice#InternalServiceErrorException"},
		{"BadBody", handler(ok, nil), func() *http.Request { return rpcRequest(h("80")) },
			400, "com.amazonaws.marketplaceentitlementservice#SerializationException"},
		{"WithXAmzTarget", handler(ok, nil), func() *http.Request {
			r := rpcRequest(h("a0"))
			r.Header.Set("X-Amz-Target", "AWSMPEntitlementService.GetEntitlements")
			return r
		}, 400, "com.amazonaws.marketplaceentitlementservice#SerializationException"},
		{"WithoutSmithyProtocol", handler(ok, nil), func() *http.Request {
			r := rpcRequest(h("a0"))
			r.Header.Del("Smithy-Protocol")
			return r
		}, 400, "com.amazonaws.marketplaceentitlementservice#SerializationException"},
		{"JSONContentType", handler(ok, nil), func() *http.Request {
			r := rpcRequest(h("a0"))
			r.Header.Set("Content-Type", "application/x-amz-json-1.1")
			return r
		}, 400, "com.amazonaws.marketplaceentitlementservice#SerializationException"},
		{"UnknownOperation", handler(ok, nil), func() *http.Request {
			r := rpcRequest(h("a0"))
			r.URL.Path = "/service/AWSMPEntitlementService/operation/GetEntitlement"
			return r
		}, 400, "com.amazonaws.marketplaceentitlementservice#UnknownOperationException"},
		{"NotPost", handler(ok, nil), func() *http.Request {
			r := rpcRequest(nil)
			r.Method = http.MethodGet
			return r
		}, 400, "com.amazonaws.marketplaceentitlementservice#UnknownOperationException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			tt.h.ServeHTTP(w, tt.req())
			if w.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", w.Code, tt.wantStatus)
			}
			for k, want := range map[string]string{"Smithy-Protocol": "rpc-v2-cbor", "Content-Type": ContentType, "X-Amzn-ErrorType": ""} {
				if got := w.Header().Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if w.Header().Get("X-Amzn-RequestId") == "" || w.Header().Get("Date") == "" {
				t.Errorf("headers %v lack x-amzn-RequestId or Date", w.Header())
			}
			var body map[string]any
			if err := cbor.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %x is not CBOR: %v", w.Body.Bytes(), err)
			}
			if tt.wantType == "" {
				if _, ok := body["Entitlements"]; !ok {
					t.Errorf("body = %v, want Entitlements", body)
				}
				return
			}
			if body["__type"] != tt.wantType || body["message"] == "" || body["message"] == nil {
				t.Errorf("error body = %v, want __type %s and a message", body, tt.wantType)
			}
		})
	}
}
