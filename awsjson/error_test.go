package awsjson

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/meterd/meterd"
)

func TestStatusOf(t *testing.T) {
	tests := []struct {
		code string
		want int
	}{
		{meterd.EInternal, 500},
		{meterd.EIdempotencyConflict, 409},
		{meterd.EDryRunOperation, 412},
		{meterd.EIncompleteSignature, 403},
		{meterd.EInvalidSignature, 403},
		{meterd.EUnrecognizedClient, 403},
		{meterd.EAccessDenied, 403},
		{meterd.EMissingAuthToken, 403},
		{meterd.EUnauthorized, 403},
		{meterd.EThrottling, 400},
		{meterd.EValidation, 400},
		{meterd.ESerialization, 400},
		{meterd.EUnknownOperation, 400},
		{meterd.EExpiredToken, 400},
		{meterd.EInvalidProductCode, 400},
		{meterd.EInvalidUsageDimension, 400},
		{meterd.EInvalidTag, 400},
		{meterd.EInvalidUsageAllocations, 400},
		{meterd.EInvalidCustomerID, 400},
		{meterd.EInvalidLicense, 400},
		{meterd.ETimestampOutOfBounds, 400},
		{meterd.EDisabledAPI, 400},
		{meterd.ECustomerNotEntitled, 400},
		{meterd.EDuplicateRequest, 400},
		{meterd.EInvalidEndpointRegion, 400},
		{meterd.EInvalidRegion, 400},
		{meterd.EInvalidPublicKeyVersion, 400},
		{meterd.EPlatformNotSupported, 400},
		{meterd.EInvalidToken, 400},
		{"SomethingNew", 400},
		{"", 400},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			if got := StatusOf(tt.code); got != tt.want {
				t.Errorf("StatusOf(%q) = %d, want %d", tt.code, got, tt.want)
			}
		})
	}
}

func TestWriteError(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		status  int
		code    string
		message string
	}{
		{"Error", meterd.Errorf(meterd.EInvalidProductCode, "unknown product %q", "p"), 400, meterd.EInvalidProductCode, `unknown product "p"`},
		{"Wrapped", fmt.Errorf("metering: %w", meterd.Errorf(meterd.EThrottling, "Rate exceeded")), 400, meterd.EThrottling, "Rate exceeded"},
		{"Forbidden", meterd.Errorf(meterd.EAccessDenied, "no"), 403, meterd.EAccessDenied, "no"},
		{"Internal", errors.New("pq: connection refused at 10.0.0.1"), 500, meterd.EInternal, internalMessage},
		{"Nil", nil, 500, meterd.EInternal, internalMessage},
		{"HTMLIsEscapedSafely", meterd.Errorf(meterd.EValidation, `<b>"x"</b>`), 400, meterd.EValidation, `<b>"x"</b>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			WriteError(w, tt.err)
			assertError(t, w, tt.status, tt.code)
			if got := decodeErrorBody(t, w.Body.Bytes()).Message; got != tt.message {
				t.Errorf("message = %q, want %q", got, tt.message)
			}
		})
	}
}

// TestWriteErrorKeepsRequestID checks that an id set by the handler (or by
// middleware) is not replaced.
func TestWriteErrorKeepsRequestID(t *testing.T) {
	w := httptest.NewRecorder()
	w.Header().Set("X-Amzn-RequestId", "11111111-2222-4333-8444-555555555555")
	WriteError(w, meterd.Errorf(meterd.EThrottling, "slow down"))
	if got := w.Header().Get("X-Amzn-RequestId"); got != "11111111-2222-4333-8444-555555555555" {
		t.Errorf("x-amzn-RequestId = %q, want the one already set", got)
	}
}
