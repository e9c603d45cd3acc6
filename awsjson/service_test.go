package awsjson

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/meterd/meterd"
)

// pathProtocol is a stand-in RPC v2 protocol: routed by path, answers in
// plain text, so that the Handler's routing is tested without a CBOR codec.
type pathProtocol struct{}

func (pathProtocol) ByPath() bool                       { return true }
func (pathProtocol) CheckRequest(r *http.Request) error { return nil }
func (pathProtocol) WriteOutput(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "text/plain")
	w.Write(body)
}
func (pathProtocol) WriteError(w http.ResponseWriter, err error) {
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(StatusOf(meterd.ErrorCode(err)))
	w.Write([]byte(meterd.ErrorCode(err)))
}

// echo is an operation answering its name and the caller's signing name.
func echo(name string) Operation {
	return func(ctx context.Context, body []byte) ([]byte, error) {
		return []byte(name + ":" + meterd.CallerFromContext(ctx).Region), nil
	}
}

// multiHandler serves the Metering API, an awsJson1_0 service signed as
// "sqs" and an RPC v2 service. The caller's Region carries the signing name
// Authenticate was asked for, so the answers show it.
func multiHandler() *Handler {
	return &Handler{
		Services: []*Service{
			Metering(okService()),
			{Name: "AmazonSQS", SigningName: "sqs", Protocol: JSON10,
				Operations: map[string]Operation{"SendMessage": echo("SendMessage")}},
			{Name: "AWSMPEntitlementService", SigningName: "aws-marketplace", Protocol: pathProtocol{},
				Operations: map[string]Operation{"GetEntitlements": echo("GetEntitlements")}},
		},
		Authenticate: func(r *http.Request, body []byte, signingName string) (*meterd.Caller, error) {
			return &meterd.Caller{AccountID: "111122223333", Region: signingName}, nil
		},
	}
}

func TestHandlerRoutes(t *testing.T) {
	tests := []struct {
		name        string
		path        string
		target      string
		contentType string
		wantStatus  int
		wantType    string // response Content-Type
		wantBody    string // prefix of the body
	}{
		{"Metering", "/", "AWSMPMeteringService.MeterUsage", "application/x-amz-json-1.1", 200, "application/x-amz-json-1.1", `{"MeteringRecordId"`},
		{"JSON10", "/", "AmazonSQS.SendMessage", "application/x-amz-json-1.0", 200, "application/x-amz-json-1.0", "SendMessage:sqs"},
		{"JSON10WrongContentType", "/", "AmazonSQS.SendMessage", "application/x-amz-json-1.1", 400, "application/x-amz-json-1.0", `{"__type":"SerializationException"`},
		{"JSON10UnknownOperation", "/", "AmazonSQS.Nope", "application/x-amz-json-1.0", 400, "application/x-amz-json-1.0", `{"__type":"UnknownOperationException"`},
		{"UnknownService", "/", "AWSMPNope.MeterUsage", "application/x-amz-json-1.1", 400, "application/x-amz-json-1.1", `{"__type":"UnknownOperationException"`},
		{"RPC", "/service/AWSMPEntitlementService/operation/GetEntitlements", "", "application/cbor", 200, "text/plain", "GetEntitlements:aws-marketplace"},
		{"RPCBasePath", "/v1/x/service/AWSMPEntitlementService/operation/GetEntitlements", "", "application/cbor", 200, "text/plain", "GetEntitlements:aws-marketplace"},
		{"RPCAbsoluteShapeID", "/service/com.amazonaws.marketplaceentitlementservice.AWSMPEntitlementService/operation/GetEntitlements", "", "application/cbor", 200, "text/plain", "GetEntitlements"},
		{"RPCWithTarget", "/service/AWSMPEntitlementService/operation/GetEntitlements", "AWSMPMeteringService.MeterUsage", "application/cbor", 400, "text/plain", meterd.ESerialization},
		{"RPCUnknownOperation", "/service/AWSMPEntitlementService/operation/Nope", "", "application/cbor", 400, "text/plain", meterd.EUnknownOperation},
		{"RPCAbsoluteOperationRefused", "/service/AWSMPEntitlementService/operation/x.GetEntitlements", "", "application/cbor", 400, "text/plain", meterd.EUnknownOperation},
		{"RPCUnknownService", "/service/Nope/operation/GetEntitlements", "", "application/cbor", 400, "text/plain", meterd.EUnknownOperation},
		{"RPCPathOfUnknownServiceWithTarget", "/service/Nope/operation/X", "AWSMPMeteringService.MeterUsage", "application/x-amz-json-1.1", 200, "application/x-amz-json-1.1", `{"MeteringRecordId"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, tt.path, strings.NewReader(`{}`))
			r.Header.Set("Content-Type", tt.contentType)
			if tt.target != "" {
				r.Header.Set("X-Amz-Target", tt.target)
			}
			w := serve(multiHandler(), r)
			if w.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d (body %s)", w.Code, tt.wantStatus, w.Body)
			}
			if got := w.Header().Get("Content-Type"); got != tt.wantType {
				t.Errorf("Content-Type = %q, want %q", got, tt.wantType)
			}
			if !strings.HasPrefix(w.Body.String(), tt.wantBody) {
				t.Errorf("body = %s, want it to start with %s", w.Body, tt.wantBody)
			}
			assertCommonHeaders(t, w)
		})
	}
}

func TestAdmissionAnswersInTheProtocol(t *testing.T) {
	h := multiHandler()
	h.Admission = NewAdmission(1, nil, 0, 0, 0)
	block := make(chan struct{})
	entered := make(chan struct{})
	h.Services[2].Operations["GetEntitlements"] = func(ctx context.Context, body []byte) ([]byte, error) {
		close(entered)
		<-block
		return []byte("ok"), nil
	}
	rpc := func() *http.Request {
		return httptest.NewRequest(http.MethodPost, "/service/AWSMPEntitlementService/operation/GetEntitlements", strings.NewReader(""))
	}
	done := make(chan struct{})
	go func() { serve(h, rpc()); close(done) }()
	<-entered
	w := serve(h, rpc())
	close(block)
	<-done
	if w.Code != 400 || w.Body.String() != meterd.EThrottling || w.Header().Get("Content-Type") != "text/plain" {
		t.Errorf("beyond the bound: %d %q %q, want 400 %q in the RPC protocol", w.Code, w.Header().Get("Content-Type"), w.Body, meterd.EThrottling)
	}
}
