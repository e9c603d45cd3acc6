package awsjson

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/meterd/meterd"
)

func TestServeHTTPRequestLog(t *testing.T) {
	const secretish = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
	tests := []struct {
		name    string
		op      string
		body    string
		svc     *fakeService
		outcome string
		status  float64
		account string
	}{
		{"success", meterd.OpMeterUsage, `{"ProductCode":"p","Timestamp":1767323045,"UsageDimension":"d"}`,
			okService(), "ok", 200, testCaller.AccountID},
		{"operation error", meterd.OpMeterUsage, `{"ProductCode":"p","Timestamp":1767323045,"UsageDimension":"d"}`,
			&fakeService{err: meterd.Errorf(meterd.EDuplicateRequest, "dup")}, meterd.EDuplicateRequest, 400, testCaller.AccountID},
		{"bad body, before the operation", meterd.OpMeterUsage, `{"ProductCode":`,
			okService(), meterd.ESerialization, 400, testCaller.AccountID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log bytes.Buffer
			h, _ := newTestHandler(tt.svc)
			h.Logger = slog.New(slog.NewJSONHandler(&log, nil))
			r := newRequest(tt.op, tt.body)
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/aws-marketplace/aws4_request, SignedHeaders=host, Signature="+secretish)
			r.Header.Set("X-Amz-Security-Token", secretish)
			w := serve(h, r)
			if strings.Contains(log.String(), secretish) || strings.Contains(log.String(), "AWS4-HMAC") {
				t.Fatalf("log carries the Authorization header or token:\n%s", log.String())
			}
			var line map[string]any
			for l := range strings.Lines(log.String()) {
				var m map[string]any
				if err := json.Unmarshal([]byte(l), &m); err != nil {
					t.Fatalf("log line %q is not JSON: %v", l, err)
				}
				if m["msg"] == "request" {
					line = m
				}
			}
			if line == nil {
				t.Fatalf("no request log line in %q", log.String())
			}
			want := map[string]any{
				"request_id": w.Header().Get("X-Amzn-RequestId"),
				"operation":  tt.op,
				"account":    tt.account,
				"outcome":    tt.outcome,
				"status":     tt.status,
			}
			for k, v := range want {
				if line[k] != v {
					t.Errorf("log %s = %v, want %v", k, line[k], v)
				}
			}
			if _, ok := line["duration_ms"].(float64); !ok {
				t.Errorf("log duration_ms = %v, want a number", line["duration_ms"])
			}
		})
	}
}

func TestServeHTTPObserve(t *testing.T) {
	h, _ := newTestHandler(okService())
	var got []string
	h.Observe = func(o Outcome) { got = append(got, o.Operation+"/"+o.Code) }
	serve(h, newRequest(meterd.OpMeterUsage, `{"ProductCode":"p","Timestamp":1767323045,"UsageDimension":"d"}`))
	serve(h, newRequest("Nope", `{}`))
	want := []string{meterd.OpMeterUsage + "/", "/" + meterd.EUnknownOperation}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Observe calls = %v, want %v", got, want)
	}
}
