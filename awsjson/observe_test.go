package awsjson

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

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
	h.Observe = func(op, code string, d time.Duration) { got = append(got, op+"/"+code) }
	serve(h, newRequest(meterd.OpMeterUsage, `{"ProductCode":"p","Timestamp":1767323045,"UsageDimension":"d"}`))
	serve(h, newRequest("Nope", `{}`))
	want := []string{meterd.OpMeterUsage + "/", "/" + meterd.EUnknownOperation}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Observe calls = %v, want %v", got, want)
	}
}

// blockingHandler holds each request until release is closed.
type blockingHandler struct {
	entered chan struct{}
	release chan struct{}
}

func (b *blockingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.entered <- struct{}{}
	<-b.release
	w.WriteHeader(http.StatusOK)
}

func TestLimitInFlight(t *testing.T) {
	const n = 3
	b := &blockingHandler{entered: make(chan struct{}, n), release: make(chan struct{})}
	rejected := 0
	var rejectedOp string
	h := LimitInFlight(b, n, func(op string) { rejected++; rejectedOp = op })
	var wg sync.WaitGroup
	codes := make([]int, n)
	for i := range n {
		wg.Go(func() { codes[i] = serve(h, newRequest(meterd.OpMeterUsage, `{}`)).Code })
	}
	for range n {
		<-b.entered
	}
	w := serve(h, newRequest(meterd.OpMeterUsage, `{}`))
	assertError(t, w, http.StatusBadRequest, meterd.EThrottling)
	if rejected != 1 || rejectedOp != meterd.OpMeterUsage {
		t.Errorf("rejected calls = %d for %q, want 1 for %q", rejected, rejectedOp, meterd.OpMeterUsage)
	}
	close(b.release)
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusOK {
			t.Errorf("request %d within the bound = %d, want 200", i, c)
		}
	}
	// The slots are free again.
	b.entered = make(chan struct{}, 1)
	if got := serve(h, newRequest(meterd.OpMeterUsage, `{}`)).Code; got != http.StatusOK {
		t.Errorf("after release = %d, want 200", got)
	}
}
