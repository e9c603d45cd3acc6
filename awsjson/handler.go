// Package awsjson is the awsJson1_1 protocol adapter of the Metering API: it
// dispatches on X-Amz-Target, checks the content type and the 1 MiB body
// limit, authenticates, decodes the request strictly (exact member names,
// exact JSON types), calls the operation and encodes its output or error the
// way the AWS SDKs and CLIs expect.
package awsjson

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/meterd/meterd"
)

// MaxBodySize is the largest request body accepted, in bytes (spec §3.8 and
// §5.23: bodies over 1,048,576 bytes get ValidationException).
const MaxBodySize = 1 << 20

// targetPrefix is the service part of X-Amz-Target.
const targetPrefix = "AWSMPMeteringService."

const contentTypeAmzJSON = "application/x-amz-json-1.1"

// Handler serves the Metering API over awsJson1_1. Every request is a POST
// (to any path, since SDKs keep a custom endpoint's base path) naming its
// operation in X-Amz-Target. Every response, success or error, carries
// x-amzn-RequestId and Date.
type Handler struct {
	// Service runs the operations.
	Service meterd.MeteringService
	// Authenticate verifies the request (SigV4) after the body is read and
	// returns the caller, or a *meterd.Error that is written as is. It must
	// be set: a Handler without it refuses every request with a 500.
	Authenticate func(r *http.Request, body []byte) (*meterd.Caller, error)
	// Logger receives one Info line per request (request_id, operation,
	// account, access_key_id, outcome, status, duration_ms: never a secret,
	// a signature or a body), internal errors and recovered panics; nil
	// discards.
	Logger *slog.Logger
	// Observe, when set, is called once per request with the operation name
	// ("" if unknown), the error code ("" on success) and the duration.
	Observe func(op, code string, d time.Duration)
	// Admission bounds the requests taken on at once (admit.go); nil takes
	// on every request.
	Admission *Admission
}

// operation decodes a request body, runs one operation and encodes its output.
type operation struct {
	name string
	call func(ctx context.Context, svc meterd.MeteringService, body []byte) ([]byte, error)
}

// targets is the whole API surface: the one dispatch table, keyed by the full
// X-Amz-Target value (matched case-sensitively). It is never modified.
var targets = map[string]operation{
	targetPrefix + meterd.OpBatchMeterUsage: {meterd.OpBatchMeterUsage,
		bind(decodeBatchMeterUsage, meterd.MeteringService.BatchMeterUsage, encodeBatchMeterUsage)},
	targetPrefix + meterd.OpMeterUsage: {meterd.OpMeterUsage,
		bind(decodeMeterUsage, meterd.MeteringService.MeterUsage, encodeMeterUsage)},
	targetPrefix + meterd.OpRegisterUsage: {meterd.OpRegisterUsage,
		bind(decodeRegisterUsage, meterd.MeteringService.RegisterUsage, encodeRegisterUsage)},
	targetPrefix + meterd.OpResolveCustomer: {meterd.OpResolveCustomer,
		bind(decodeResolveCustomer, meterd.MeteringService.ResolveCustomer, encodeResolveCustomer)},
}

// bind joins a decoder, an operation of MeteringService and an encoder.
func bind[I, O any](
	decode func([]byte) (*I, error),
	op func(meterd.MeteringService, context.Context, *I) (*O, error),
	encode func(*O) ([]byte, error),
) func(context.Context, meterd.MeteringService, []byte) ([]byte, error) {
	return func(ctx context.Context, svc meterd.MeteringService, body []byte) ([]byte, error) {
		in, err := decode(body)
		if err != nil {
			return nil, err
		}
		out, err := op(svc, ctx, in)
		if err != nil {
			return nil, err
		}
		if out == nil {
			// A bug in the operation; answering with an empty output would
			// make the client believe it succeeded.
			return nil, errors.New("awsjson: operation returned neither output nor error")
		}
		return encode(out)
	}
}

// exchange is the state of one request, for logging and Observe.
type exchange struct {
	id     string
	op     string
	code   string
	start  time.Time
	caller *meterd.Caller
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x := &exchange{id: newRequestID(), start: time.Now()}
	setCommonHeaders(w.Header(), x.id)
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v) // a deliberate abort (dropped response), not a failure
			}
			h.logger().Error("awsjson: panic in operation", "request_id", x.id, "operation", x.op,
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			x.code = meterd.EInternal
			WriteError(w, errors.New("panic"))
		}
		d := time.Since(x.start)
		if h.Observe != nil {
			h.Observe(x.op, x.code, d)
		}
		h.logRequest(r, x, d)
	}()
	out, err := h.serve(w, r, x)
	if err != nil {
		h.fail(w, x, err)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", contentTypeAmzJSON)
	hd.Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(http.StatusOK)
	w.Write(out)
}

// serve runs the request up to the encoded output, in the order of spec
// §3.13 (1): framing, size, authentication, then decoding and the operation.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, x *exchange) ([]byte, error) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return nil, meterd.Errorf(meterd.EUnknownOperation, "Only POST requests are supported, not %s", clip(r.Method))
	}
	op, err := lookupTarget(r.Header.Values("X-Amz-Target"))
	if err != nil {
		return nil, err
	}
	x.op = op.name
	if err := checkContentType(r.Header.Get("Content-Type")); err != nil {
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
	caller, err := h.Authenticate(r, body)
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
	return op.call(meterd.NewContextWithCaller(r.Context(), caller), h.Service, body)
}

// fail records and writes an error; internal errors are logged with their
// detail, which the client never sees.
func (h *Handler) fail(w http.ResponseWriter, x *exchange, err error) {
	x.code = meterd.ErrorCode(err)
	if x.code == meterd.EInternal {
		h.logger().Error("awsjson: internal error", "request_id", x.id, "operation", x.op, "err", err)
	}
	WriteError(w, err)
}

// logRequest writes the request's log line. The caller is logged only once
// authenticated, by account and access key id (which is not a secret).
func (h *Handler) logRequest(r *http.Request, x *exchange, d time.Duration) {
	l := h.logger()
	if !l.Enabled(r.Context(), slog.LevelInfo) {
		return
	}
	outcome, account, key := "ok", "", ""
	if x.code != "" {
		outcome = x.code
	}
	if x.caller != nil {
		account, key = x.caller.AccountID, x.caller.AccessKeyID
	}
	l.LogAttrs(r.Context(), slog.LevelInfo, "request",
		slog.String("request_id", x.id),
		slog.String("operation", x.op),
		slog.String("account", account),
		slog.String("access_key_id", key),
		slog.String("outcome", outcome),
		slog.Int("status", statusOfOutcome(x.code)),
		slog.Float64("duration_ms", float64(d.Microseconds())/1000),
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

// lookupTarget finds the operation named by the X-Amz-Target header values.
func lookupTarget(values []string) (operation, error) {
	switch len(values) {
	case 0:
		return operation{}, meterd.Errorf(meterd.EUnknownOperation, "Missing X-Amz-Target header")
	case 1:
	default:
		return operation{}, meterd.Errorf(meterd.EUnknownOperation, "More than one X-Amz-Target header")
	}
	op, ok := targets[values[0]]
	if !ok {
		return operation{}, meterd.Errorf(meterd.EUnknownOperation, "Unknown operation %q", clip(values[0]))
	}
	return op, nil
}

// checkContentType accepts application/x-amz-json-1.1, which every SDK
// sends, and application/json, with or without parameters.
func checkContentType(ct string) error {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil && !errors.Is(err, mime.ErrInvalidMediaParameter) {
		mt = ""
	}
	if mt != contentTypeAmzJSON && mt != "application/json" {
		return meterd.Errorf(meterd.ESerialization,
			"Unsupported Content-Type %q: expected %s", clip(ct), contentTypeAmzJSON)
	}
	return nil
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
