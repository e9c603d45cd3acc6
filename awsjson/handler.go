// Package awsjson serves meterd's AWS APIs: Handler is their one front door,
// which routes each request to its service's operation table (by
// X-Amz-Target, or by path for Smithy RPC v2), checks the 1 MiB body limit,
// authenticates with the service's SigV4 name, logs and observes it, and
// leaves framing to the service's Protocol. This package is also the
// awsJson1_0 and awsJson1_1 protocol (JSON10, JSON11) and the Metering API's
// codec: it decodes requests strictly (exact member names, exact JSON
// types) and encodes outputs and errors the way the AWS SDKs and CLIs
// expect.
package awsjson

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/meterd/meterd"
)

// MaxBodySize is the largest request body accepted, in bytes (bodies over
// 1,048,576 bytes get ValidationException, README, Differences from AWS).
const MaxBodySize = 1 << 20

// Handler serves the AWS APIs of its Services on one listener: awsJson1_0
// and awsJson1_1 requests (a POST to any path, since SDKs keep a custom
// endpoint's base path) name their operation in X-Amz-Target; Smithy RPC v2
// requests in the last four segments of the path. Framing, size limit,
// authentication (with each service's signing name), logging and Observe are
// the same for every service; only the Protocol's framing differs. Every
// response, success or error, carries x-amzn-RequestId and Date.
type Handler struct {
	// Services are the services served; none may share a Name with another
	// of the same routing (X-Amz-Target or path).
	Services []*Service
	// Authenticate verifies the request (SigV4) after the body is read,
	// expecting the scope's service to be signingName, and returns the
	// caller, or a *meterd.Error that is written as is. It must be set: a
	// Handler without it refuses every request with a 500.
	Authenticate func(r *http.Request, body []byte, signingName string) (*meterd.Caller, error)
	// Logger receives one Info line per request (request_id, operation,
	// account, access_key_id, outcome, status, duration_ms: never a secret,
	// a signature or a body), internal errors and recovered panics; nil
	// discards.
	Logger *slog.Logger
	// Observe, when set, is called once per request with its outcome
	// (metrics, the console's live tail); it must not block.
	Observe func(Outcome)
	// Admission bounds the requests taken on at once (admit.go); nil takes
	// on every request.
	Admission *Admission

	once   sync.Once
	routes routes
}

// Outcome is one answered request, as the log line and Observe have it:
// never a secret, a signature or a body.
type Outcome struct {
	RequestID   string
	Service     string // the service's Name; "" when the route is unknown
	Operation   string // "" when unknown
	Code        string // the error code; "" on success
	Status      int
	AccountID   string // the authenticated caller's; "" when not authenticated
	AccessKeyID string
	Start       time.Time
	Duration    time.Duration
}

// exchange is the state of one request, for logging and Observe.
type exchange struct {
	id      string
	service string
	op      string
	code    string
	start   time.Time
	caller  *meterd.Caller
	proto   Protocol // writes the answer; awsJson1_1 until the route is known

	internal string // the service's InternalError, once the route is known
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x := &exchange{id: newRequestID(), start: time.Now(), proto: JSON11}
	setCommonHeaders(w.Header(), x.id)
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v) // a deliberate abort (dropped response), not a failure
			}
			h.logger().Error("awsjson: panic in operation", "request_id", x.id, "operation", x.op,
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			x.code = meterd.EInternal
			x.proto.WriteError(w, errors.New("panic"))
		}
		o := x.outcome(time.Since(x.start))
		if h.Observe != nil {
			h.Observe(o)
		}
		h.logRequest(r, o)
	}()
	out, err := h.serve(w, r, x)
	if err != nil {
		h.fail(w, x, err)
		return
	}
	x.proto.WriteOutput(w, out)
}

// serve runs the request up to the encoded output, in the check order of
// README's Differences from AWS: framing, size, authentication, then decoding and the operation.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, x *exchange) ([]byte, error) {
	rt, err := h.route(r)
	x.proto = rt.protocol
	if r.Method != http.MethodPost && !rt.rest {
		w.Header().Set("Allow", http.MethodPost)
		return nil, meterd.Errorf(meterd.EUnknownOperation, "Only POST requests are supported, not %s", clip(r.Method))
	}
	if err != nil {
		return nil, err
	}
	x.service, x.op, x.internal = rt.service.Name, rt.name, rt.service.InternalError
	if err := rt.protocol.CheckRequest(r); err != nil {
		return nil, err
	}
	// Read and verify before taking a slot of --max-inflight (admit.go).
	release, err := h.Admission.reading(r)
	if err != nil {
		w.Header().Set("Connection", "close") // the body is not read
		return nil, err
	}
	defer release()
	body, err := h.Admission.readBody(w, r)
	if err != nil {
		w.Header().Set("Connection", "close")
		return nil, err
	}
	if h.Authenticate == nil {
		return nil, errors.New("awsjson: Handler.Authenticate is not set")
	}
	caller, err := h.Authenticate(r, body, rt.service.SigningName)
	release()
	if err != nil {
		return nil, err
	}
	if caller == nil {
		return nil, errors.New("awsjson: Authenticate returned neither caller nor error")
	}
	x.caller = caller
	done, err := h.Admission.serving()
	if err != nil {
		return nil, err
	}
	defer done()
	ctx := meterd.NewContextWithCaller(r.Context(), caller)
	if rt.rest {
		ctx = context.WithValue(ctx, queryKey{}, r.URL.Query())
	}
	return rt.call(ctx, body)
}

// fail records and writes an error; internal errors are logged with their
// detail, which the client never sees.
func (h *Handler) fail(w http.ResponseWriter, x *exchange, err error) {
	x.code = meterd.ErrorCode(err)
	var injected interface{ FaultRule() string }
	switch {
	case errors.As(err, &injected):
		// What a test asked for (faults.InjectedError), not a failure.
		h.logger().Info("awsjson: injected fault", "request_id", x.id, "operation", x.op, "code", x.code, "rule", injected.FaultRule())
	case x.code == meterd.EInternal:
		h.logger().Error("awsjson: internal error", "request_id", x.id, "operation", x.op, "err", err)
	}
	if x.code == meterd.EInternal && x.internal != "" {
		x.code, err = x.internal, meterd.Errorf(x.internal, "%s", meterd.ErrorMessage(errors.New("")))
	}
	x.proto.WriteError(w, err)
}

// outcome is the exchange as answered after d. The caller is known only
// once authenticated, by account and access key id (which is not a secret).
func (x *exchange) outcome(d time.Duration) Outcome {
	o := Outcome{RequestID: x.id, Service: x.service, Operation: x.op, Code: x.code, Status: statusOfOutcome(x.code), Start: x.start, Duration: d}
	if x.caller != nil {
		o.AccountID, o.AccessKeyID = x.caller.AccountID, x.caller.AccessKeyID
	}
	return o
}

// logRequest writes the request's log line.
func (h *Handler) logRequest(r *http.Request, o Outcome) {
	l := h.logger()
	if !l.Enabled(r.Context(), slog.LevelInfo) {
		return
	}
	outcome := "ok"
	if o.Code != "" {
		outcome = o.Code
	}
	l.LogAttrs(r.Context(), slog.LevelInfo, "request",
		slog.String("request_id", o.RequestID),
		slog.String("operation", o.Operation),
		slog.String("account", o.AccountID),
		slog.String("access_key_id", o.AccessKeyID),
		slog.String("outcome", outcome),
		slog.Int("status", o.Status),
		slog.Float64("duration_ms", float64(o.Duration.Microseconds())/1000),
		slog.String("remote", r.RemoteAddr),
	)
}

// statusOfOutcome is the HTTP status answered for an error code ("" is 200).
func statusOfOutcome(code string) int {
	if code == "" {
		return http.StatusOK
	}
	return StatusOf(code)
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Logger
}

// readBody reads at most MaxBodySize bytes. A declared length over the limit
// is refused before anything is read; a chunked body is cut at the limit. A
// body cut by a read deadline is reported as not received within timeout.
func readBody(w http.ResponseWriter, r *http.Request, timeout time.Duration) ([]byte, error) {
	tooLarge := meterd.Errorf(meterd.EValidation, "Request body exceeds %d bytes", MaxBodySize)
	if r.ContentLength > MaxBodySize {
		return nil, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodySize))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, tooLarge
		}
		if errors.Is(err, os.ErrDeadlineExceeded) && timeout > 0 {
			return nil, meterd.Errorf(meterd.ESerialization, "Request body not received within %s", timeout)
		}
		return nil, meterd.Errorf(meterd.ESerialization, "Could not read the request body")
	}
	return body, nil
}

// setCommonHeaders sets the headers every response carries, keeping those
// already set. An empty id generates a new one.
func setCommonHeaders(h http.Header, id string) {
	if h.Get("X-Amzn-RequestId") == "" {
		if id == "" {
			id = newRequestID()
		}
		h.Set("X-Amzn-RequestId", id)
	}
	if h.Get("Date") == "" {
		// Wall time, not the metering clock: the Go SDK corrects its
		// signing skew from this header.
		h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	}
}

// newRequestID returns a random UUID version 4.
func newRequestID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails; it panics if the system has no randomness
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// clip shortens client-supplied text echoed in messages.
func clip(s string) string {
	const max = 128
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
