package awsjson

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd"
)

// fakeService is a protocol fixture: it records the decoded input and the
// caller, and returns canned outputs or errors, or panics.
type fakeService struct {
	calls  int
	input  any
	caller *meterd.Caller

	batch    *meterd.BatchMeterUsageOutput
	meter    *meterd.MeterUsageOutput
	register *meterd.RegisterUsageOutput
	resolve  *meterd.ResolveCustomerOutput
	err      error
	panicV   any
	// echo makes BatchMeterUsage answer Success for every input record.
	echo bool
}

func (s *fakeService) record(ctx context.Context, in any) {
	s.calls++
	s.input = in
	s.caller = meterd.CallerFromContext(ctx)
	if s.panicV != nil {
		panic(s.panicV)
	}
}

func (s *fakeService) BatchMeterUsage(ctx context.Context, in *meterd.BatchMeterUsageInput) (*meterd.BatchMeterUsageOutput, error) {
	s.record(ctx, in)
	if s.echo {
		out := &meterd.BatchMeterUsageOutput{}
		for i, r := range in.UsageRecords {
			out.Results = append(out.Results, meterd.UsageRecordResult{
				UsageRecord: r, MeteringRecordID: fmt.Sprintf("mr-%d", i), Status: meterd.StatusSuccess})
		}
		return out, nil
	}
	return s.batch, s.err
}

func (s *fakeService) MeterUsage(ctx context.Context, in *meterd.MeterUsageInput) (*meterd.MeterUsageOutput, error) {
	s.record(ctx, in)
	return s.meter, s.err
}

func (s *fakeService) RegisterUsage(ctx context.Context, in *meterd.RegisterUsageInput) (*meterd.RegisterUsageOutput, error) {
	s.record(ctx, in)
	return s.register, s.err
}

func (s *fakeService) ResolveCustomer(ctx context.Context, in *meterd.ResolveCustomerInput) (*meterd.ResolveCustomerOutput, error) {
	s.record(ctx, in)
	return s.resolve, s.err
}

// okService answers every operation with a small successful output.
func okService() *fakeService {
	return &fakeService{
		batch:    &meterd.BatchMeterUsageOutput{},
		meter:    &meterd.MeterUsageOutput{MeteringRecordID: "mr-1"},
		register: &meterd.RegisterUsageOutput{Signature: "a.b.c"},
		resolve:  &meterd.ResolveCustomerOutput{CustomerIdentifier: "cust-1"},
	}
}

var testCaller = meterd.Caller{AccountID: "111122223333", AccessKeyID: "test", Region: "us-east-1"}

// newTestHandler returns a Handler over svc whose Authenticate accepts every
// request as testCaller, and a buffer holding its log.
func newTestHandler(svc meterd.MeteringService) (*Handler, *bytes.Buffer) {
	var log bytes.Buffer
	return &Handler{
		Services: []*Service{Metering(svc)},
		Authenticate: func(*http.Request, []byte, string) (*meterd.Caller, error) {
			c := testCaller
			return &c, nil
		},
		Logger: slog.New(slog.NewTextHandler(&log, nil)),
	}, &log
}

// newRequest builds a request the way the SDKs send it.
func newRequest(op, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	r.Header.Set("Content-Type", JSON11.ContentType())
	if op != "" {
		r.Header.Set("X-Amz-Target", MeteringTarget+"."+op)
	}
	return r
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// assertError checks an AWS-shaped error response.
func assertError(t *testing.T, w *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	if w.Code != status {
		t.Errorf("status = %d, want %d (body %s)", w.Code, status, w.Body)
	}
	if got := w.Header().Get("X-Amzn-ErrorType"); got != code {
		t.Errorf("X-Amzn-ErrorType = %q, want %q", got, code)
	}
	if got := w.Header().Get("Content-Type"); got != JSON11.ContentType() {
		t.Errorf("Content-Type = %q, want %q", got, JSON11.ContentType())
	}
	body := decodeErrorBody(t, w.Body.Bytes())
	if body.Type != code {
		t.Errorf("__type = %q, want %q", body.Type, code)
	}
	if body.Message == "" {
		t.Errorf("message is empty, want a description")
	}
	assertCommonHeaders(t, w)
}

func decodeErrorBody(t *testing.T, b []byte) errorBody {
	t.Helper()
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("error body %s: %v", b, err)
	}
	for k := range m {
		if k != "__type" && k != "message" {
			t.Errorf("error body has member %q, want only __type and message", k)
		}
	}
	return errorBody{Type: m["__type"], Message: m["message"]}
}

// assertCommonHeaders checks the headers every response carries.
func assertCommonHeaders(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	if id := w.Header().Get("X-Amzn-RequestId"); !isUUIDv4(id) {
		t.Errorf("x-amzn-RequestId = %q, want a UUID v4", id)
	}
	if _, err := http.ParseTime(w.Header().Get("Date")); err != nil {
		t.Errorf("Date = %q: %v", w.Header().Get("Date"), err)
	}
}

func isUUIDv4(s string) bool {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return false
	}
	for i, c := range s {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			continue
		}
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return s[14] == '4' && strings.ContainsRune("89ab", rune(s[19]))
}

// countingReader counts the bytes read from it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func ptr[T any](v T) *T { return &v }

func ms(sec, milli int64) time.Time { return time.UnixMilli(sec*1000 + milli).UTC() }

var errBoom = errors.New("boom: database on fire")
