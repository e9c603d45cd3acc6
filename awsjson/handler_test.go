package awsjson

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/meterd/meterd"
)

func TestServeHTTPTargets(t *testing.T) {
	tests := []struct {
		name    string
		targets []string
		wantOp  string // "" when the target must be refused
	}{
		{"BatchMeterUsage", []string{"AWSMPMeteringService.BatchMeterUsage"}, "BatchMeterUsage"},
		{"MeterUsage", []string{"AWSMPMeteringService.MeterUsage"}, "MeterUsage"},
		{"RegisterUsage", []string{"AWSMPMeteringService.RegisterUsage"}, "RegisterUsage"},
		{"ResolveCustomer", []string{"AWSMPMeteringService.ResolveCustomer"}, "ResolveCustomer"},
		{"Missing", nil, ""},
		{"Empty", []string{""}, ""},
		{"Unknown", []string{"AWSMPMeteringService.GetEntitlements"}, ""},
		{"OtherService", []string{"AWSMPEntitlementService.BatchMeterUsage"}, ""},
		{"NoPrefix", []string{"BatchMeterUsage"}, ""},
		{"PrefixOnly", []string{"AWSMPMeteringService."}, ""},
		{"WrongCase", []string{"awsmpmeteringservice.batchmeterusage"}, ""},
		{"TrailingSpace", []string{"AWSMPMeteringService.MeterUsage "}, ""},
		{"TwoDots", []string{"AWSMPMeteringService..MeterUsage"}, ""},
		{"Repeated", []string{"AWSMPMeteringService.MeterUsage", "AWSMPMeteringService.MeterUsage"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := okService()
			h, _ := newTestHandler(svc)
			var gotOp, gotCode string
			var got Outcome
			h.Observe = func(o Outcome) { gotOp, gotCode, got = o.Operation, o.Code, o }
			r := newRequest("", "{}")
			for _, v := range tt.targets {
				r.Header.Add("X-Amz-Target", v)
			}
			w := serve(h, r)
			if tt.wantOp == "" {
				assertError(t, w, 400, meterd.EUnknownOperation)
				if svc.calls != 0 {
					t.Errorf("service called %d times, want 0", svc.calls)
				}
				if gotOp != "" || gotCode != meterd.EUnknownOperation {
					t.Errorf("Observe(%q, %q), want (\"\", %q)", gotOp, gotCode, meterd.EUnknownOperation)
				}
				return
			}
			if w.Code != 200 {
				t.Fatalf("status = %d, want 200 (body %s)", w.Code, w.Body)
			}
			assertCommonHeaders(t, w)
			if got := w.Header().Get("Content-Type"); got != JSON11.ContentType() {
				t.Errorf("Content-Type = %q, want %q", got, JSON11.ContentType())
			}
			if got := w.Header().Get("X-Amzn-ErrorType"); got != "" {
				t.Errorf("X-Amzn-ErrorType = %q on success, want none", got)
			}
			if svc.calls != 1 {
				t.Errorf("service called %d times, want 1", svc.calls)
			}
			if gotOp != tt.wantOp || gotCode != "" {
				t.Errorf("Observe(%q, %q), want (%q, \"\")", gotOp, gotCode, tt.wantOp)
			}
			if got.Service != "AWSMPMeteringService" || got.Status != 200 || got.RequestID != w.Header().Get("x-amzn-RequestId") || got.AccountID == "" {
				t.Errorf("Observe got %+v, want the service, status 200, the answered request id and the caller's account", got)
			}
		})
	}
}

func TestServeHTTPMethods(t *testing.T) {
	for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodHead, http.MethodDelete, http.MethodOptions} {
		t.Run(method, func(t *testing.T) {
			svc := okService()
			h, _ := newTestHandler(svc)
			r := newRequest(meterd.OpMeterUsage, "{}")
			r.Method = method
			w := serve(h, r)
			assertError(t, w, 400, meterd.EUnknownOperation)
			if got := w.Header().Get("Allow"); got != http.MethodPost {
				t.Errorf("Allow = %q, want POST", got)
			}
			if svc.calls != 0 {
				t.Errorf("service called %d times, want 0", svc.calls)
			}
		})
	}
}

func TestServeHTTPAnyPath(t *testing.T) {
	h, _ := newTestHandler(okService())
	r := newRequest(meterd.OpMeterUsage, "{}")
	r.URL.Path = "/custom/base/path"
	if w := serve(h, r); w.Code != 200 {
		t.Errorf("POST /custom/base/path: status = %d, want 200", w.Code)
	}
}

func TestServeHTTPContentType(t *testing.T) {
	tests := []struct {
		name string
		ct   string
		ok   bool
	}{
		{"AmzJSON", "application/x-amz-json-1.1", true},
		{"AmzJSONCharset", "application/x-amz-json-1.1; charset=utf-8", true},
		{"AmzJSONUpper", "Application/X-Amz-JSON-1.1", true},
		{"JSON", "application/json", true},
		{"BadParameter", "application/x-amz-json-1.1; charset", true},
		{"Missing", "", false},
		{"JSON10", "application/x-amz-json-1.0", false},
		{"Text", "text/plain", false},
		{"Form", "application/x-www-form-urlencoded", false},
		{"Garbage", ";;;", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := newTestHandler(okService())
			r := newRequest(meterd.OpMeterUsage, "{}")
			r.Header.Set("Content-Type", tt.ct)
			w := serve(h, r)
			if tt.ok {
				if w.Code != 200 {
					t.Errorf("Content-Type %q: status = %d, want 200 (body %s)", tt.ct, w.Code, w.Body)
				}
				return
			}
			assertError(t, w, 400, meterd.ESerialization)
		})
	}
}

func TestServeHTTPBodyLimit(t *testing.T) {
	// A valid body of exactly n bytes: {} padded with spaces.
	body := func(n int) string { return "{" + strings.Repeat(" ", n-2) + "}" }
	tests := []struct {
		name    string
		size    int
		chunked bool
		ok      bool
	}{
		{"AtLimit", MaxBodySize, false, true},
		{"AtLimitChunked", MaxBodySize, true, true},
		{"OverLimit", MaxBodySize + 1, false, false},
		{"OverLimitChunked", MaxBodySize + 1, true, false},
		{"FarOverLimitChunked", 3 * MaxBodySize, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := okService()
			h, _ := newTestHandler(svc)
			src := &countingReader{r: strings.NewReader(body(tt.size))}
			r := newRequest(meterd.OpMeterUsage, "")
			r.Body = io.NopCloser(src)
			r.ContentLength = int64(tt.size)
			if tt.chunked {
				r.ContentLength = -1
			}
			w := serve(h, r)
			if tt.ok {
				if w.Code != 200 {
					t.Errorf("status = %d, want 200 (body %s)", w.Code, w.Body)
				}
				return
			}
			assertError(t, w, 400, meterd.EValidation)
			if msg := decodeErrorBody(t, w.Body.Bytes()).Message; !strings.Contains(msg, "1048576") {
				t.Errorf("message = %q, want it to name the 1048576-byte limit", msg)
			}
			if svc.calls != 0 {
				t.Errorf("service called %d times, want 0", svc.calls)
			}
			if !tt.chunked && src.n != 0 {
				t.Errorf("read %d bytes of a body declared too large, want 0", src.n)
			}
			if src.n > MaxBodySize+64*1024 {
				t.Errorf("read %d bytes, want at most about the limit", src.n)
			}
		})
	}
}

// TestServeHTTPBodyLimitServer sends an oversized chunked body over a real
// connection.
func TestServeHTTPBodyLimitServer(t *testing.T) {
	svc := okService()
	h, _ := newTestHandler(svc)
	srv := httptest.NewServer(h)
	defer srv.Close()
	big := io.MultiReader(strings.NewReader("{"), strings.NewReader(strings.Repeat(" ", 2*MaxBodySize)), strings.NewReader("}"))
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/", big) // unknown length: chunked
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", JSON11.ContentType())
	req.Header.Set("X-Amz-Target", MeteringTarget+"."+meterd.OpMeterUsage)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-ErrorType") != meterd.EValidation {
		t.Errorf("status, error type = %d, %q, want 400, %q (body %s)", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), meterd.EValidation, b)
	}
	if svc.calls != 0 {
		t.Errorf("service called %d times, want 0", svc.calls)
	}
}

func TestServeHTTPAuthenticate(t *testing.T) {
	t.Run("CallerAndBody", func(t *testing.T) {
		svc := okService()
		h, _ := newTestHandler(svc)
		var gotBody []byte
		h.Authenticate = func(r *http.Request, body []byte, _ string) (*meterd.Caller, error) {
			gotBody = body
			return &meterd.Caller{AccountID: "444455556666"}, nil
		}
		const body = `{"RegistrationToken":"tok"}`
		if w := serve(h, newRequest(meterd.OpResolveCustomer, body)); w.Code != 200 {
			t.Fatalf("status = %d, want 200", w.Code)
		}
		if string(gotBody) != body {
			t.Errorf("Authenticate body = %q, want %q", gotBody, body)
		}
		if svc.caller == nil || svc.caller.AccountID != "444455556666" {
			t.Errorf("operation caller = %+v, want account 444455556666", svc.caller)
		}
	})
	for _, code := range []string{meterd.EInvalidSignature, meterd.EUnrecognizedClient, meterd.EIncompleteSignature,
		meterd.EMissingAuthToken, meterd.EExpiredToken, meterd.EThrottling} {
		t.Run(code, func(t *testing.T) {
			svc := okService()
			h, _ := newTestHandler(svc)
			h.Authenticate = func(*http.Request, []byte, string) (*meterd.Caller, error) {
				return nil, meterd.Errorf(code, "signature mismatch")
			}
			w := serve(h, newRequest(meterd.OpMeterUsage, "{}"))
			assertError(t, w, StatusOf(code), code)
			if got := decodeErrorBody(t, w.Body.Bytes()).Message; got != "signature mismatch" {
				t.Errorf("message = %q, want %q", got, "signature mismatch")
			}
			if svc.calls != 0 {
				t.Errorf("service called %d times, want 0", svc.calls)
			}
		})
	}
	t.Run("NilCaller", func(t *testing.T) {
		svc := okService()
		h, _ := newTestHandler(svc)
		h.Authenticate = func(*http.Request, []byte, string) (*meterd.Caller, error) { return nil, nil }
		assertError(t, serve(h, newRequest(meterd.OpMeterUsage, "{}")), 500, meterd.EInternal)
		if svc.calls != 0 {
			t.Errorf("service called %d times, want 0", svc.calls)
		}
	})
	t.Run("NotSet", func(t *testing.T) {
		svc := okService()
		h, _ := newTestHandler(svc)
		h.Authenticate = nil
		assertError(t, serve(h, newRequest(meterd.OpMeterUsage, "{}")), 500, meterd.EInternal)
		if svc.calls != 0 {
			t.Errorf("service called %d times, want 0", svc.calls)
		}
	})
}

func TestServeHTTPOperationErrors(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		code    string
		message string
	}{
		{"Validation", meterd.Errorf(meterd.EValidation, "1 validation error detected"), meterd.EValidation, "1 validation error detected"},
		{"Wrapped", errors.Join(errors.New("ctx"), meterd.Errorf(meterd.EInvalidTag, "bad tag")), meterd.EInvalidTag, "bad tag"},
		{"IdempotencyConflict", meterd.Errorf(meterd.EIdempotencyConflict, "token reused"), meterd.EIdempotencyConflict, "token reused"},
		{"DryRun", meterd.Errorf(meterd.EDryRunOperation, "Request would have succeeded"), meterd.EDryRunOperation, "Request would have succeeded"},
		{"Internal", errBoom, meterd.EInternal, internalMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := okService()
			svc.err = tt.err
			h, log := newTestHandler(svc)
			var gotCode string
			h.Observe = func(o Outcome) { gotCode = o.Code }
			w := serve(h, newRequest(meterd.OpMeterUsage, "{}"))
			assertError(t, w, StatusOf(tt.code), tt.code)
			if got := decodeErrorBody(t, w.Body.Bytes()).Message; got != tt.message {
				t.Errorf("message = %q, want %q", got, tt.message)
			}
			if gotCode != tt.code {
				t.Errorf("Observe code = %q, want %q", gotCode, tt.code)
			}
			logged := strings.Contains(log.String(), errBoom.Error())
			if logged != (tt.code == meterd.EInternal) {
				t.Errorf("detail logged = %v, want %v (log %s)", logged, tt.code == meterd.EInternal, log)
			}
			if tt.code == meterd.EInternal {
				id := w.Header().Get("X-Amzn-RequestId")
				if !strings.Contains(log.String(), id) || strings.Contains(w.Body.String(), "database") {
					t.Errorf("log %q must name request id %s; body %s must not leak the detail", log, id, w.Body)
				}
			}
		})
	}
}

func TestServeHTTPNilOutput(t *testing.T) {
	h, _ := newTestHandler(&fakeService{}) // every operation returns nil, nil
	for _, op := range []string{meterd.OpBatchMeterUsage, meterd.OpMeterUsage, meterd.OpRegisterUsage, meterd.OpResolveCustomer} {
		t.Run(op, func(t *testing.T) {
			assertError(t, serve(h, newRequest(op, "{}")), 500, meterd.EInternal)
		})
	}
}

func TestServeHTTPPanic(t *testing.T) {
	svc := okService()
	svc.panicV = "index out of range"
	h, log := newTestHandler(svc)
	var gotOp, gotCode string
	h.Observe = func(o Outcome) { gotOp, gotCode = o.Operation, o.Code }
	w := serve(h, newRequest(meterd.OpBatchMeterUsage, `{"UsageRecords":[]}`))
	assertError(t, w, 500, meterd.EInternal)
	if !strings.Contains(log.String(), "index out of range") {
		t.Errorf("log = %q, want the panic value", log)
	}
	if strings.Contains(w.Body.String(), "index") {
		t.Errorf("body %s leaks the panic", w.Body)
	}
	if gotOp != meterd.OpBatchMeterUsage || gotCode != meterd.EInternal {
		t.Errorf("Observe(%q, %q), want (%q, %q)", gotOp, gotCode, meterd.OpBatchMeterUsage, meterd.EInternal)
	}
}

func TestServeHTTPAbortHandlerPropagates(t *testing.T) {
	svc := okService()
	svc.panicV = http.ErrAbortHandler
	h, _ := newTestHandler(svc)
	defer func() {
		if v := recover(); v != http.ErrAbortHandler {
			t.Errorf("recovered %v, want http.ErrAbortHandler re-panicked", v)
		}
	}()
	serve(h, newRequest(meterd.OpMeterUsage, "{}"))
}

func TestServeHTTPRequestIDsDiffer(t *testing.T) {
	h, _ := newTestHandler(okService())
	a := serve(h, newRequest(meterd.OpMeterUsage, "{}")).Header().Get("X-Amzn-RequestId")
	b := serve(h, newRequest("Nope", "{}")).Header().Get("X-Amzn-RequestId")
	if a == b || !isUUIDv4(a) || !isUUIDv4(b) {
		t.Errorf("request ids %q, %q: want two distinct UUIDs", a, b)
	}
}

func TestServeHTTPSerializationError(t *testing.T) {
	svc := okService()
	h, _ := newTestHandler(svc)
	w := serve(h, newRequest(meterd.OpMeterUsage, `{"UsageQuantity":"3"}`))
	assertError(t, w, 400, meterd.ESerialization)
	if got := decodeErrorBody(t, w.Body.Bytes()).Message; !strings.Contains(got, "UsageQuantity") {
		t.Errorf("message = %q, want it to name UsageQuantity", got)
	}
	if svc.calls != 0 {
		t.Errorf("service called %d times, want 0", svc.calls)
	}
}

func TestNewRequestID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := newRequestID()
		if !isUUIDv4(id) || seen[id] {
			t.Fatalf("newRequestID() = %q: want a fresh UUID v4", id)
		}
		seen[id] = true
	}
}
