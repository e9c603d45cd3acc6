package relay

import (
	"cmp"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/relay/wire"
)

// maxBody is the largest request body the relay reads (32 MiB); a body
// is read one event at a time (wire.Decode), at most wire.MaxEvents.
const maxBody = 32 << 20

// Handler returns the relay's HTTP API: POST /v1/events, GET /v1/status,
// GET /v1/report, GET and POST /admin/v1/clock, POST /admin/v1/requeue
// and POST /admin/v1/reset (all with the bearer token), and GET /healthz
// and /metrics without it.
func (r *Relay) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	mux.Handle("GET /metrics", r.metrics.handler())
	routes := []struct {
		pattern string
		h       func(http.ResponseWriter, *http.Request) error
	}{
		{"POST /v1/events", r.postEvents},
		{"GET /v1/status", r.getStatus},
		{"GET /v1/report", r.getReport},
		{"GET /admin/v1/clock", r.getClock},
		{"POST /admin/v1/clock", r.setClock},
		{"POST /admin/v1/requeue", r.postRequeue},
		{"POST /admin/v1/reset", r.postReset},
	}
	for _, rt := range routes {
		mux.HandleFunc(rt.pattern, r.authorized(rt.h))
	}
	return mux
}

// httpError is an error answer: {"error": {"code", "message"}}.
type httpError struct {
	Status  int
	Code    string
	Message string
}

func (e *httpError) Error() string { return e.Message }

func badRequest(format string, args ...any) error {
	return &httpError{http.StatusBadRequest, "BadRequest", fmt.Sprintf(format, args...)}
}

// authorized checks the bearer token and writes h's error, if any.
func (r *Relay) authorized(h func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		tok := bearer(req)
		var err error
		if tok == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(r.cfg.Token)) != 1 {
			err = &httpError{http.StatusUnauthorized, "Unauthorized", "a valid bearer token is required"}
		} else {
			err = h(w, req)
		}
		if err == nil {
			return
		}
		var he *httpError
		if !errors.As(err, &he) {
			r.log.Error("relay: request failed", "path", req.URL.Path, "err", err)
			he = &httpError{http.StatusInternalServerError, "InternalError", "internal error; see the relay's log"}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(he.Status)
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": he.Code, "message": he.Message}})
	}
}

// bearer returns the token of an "Authorization: Bearer" header, or "".
// The scheme is case-insensitive (RFC 9110), as in meterd's admin API.
func bearer(req *http.Request) string {
	scheme, tok, ok := strings.Cut(req.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

func writeJSON(w http.ResponseWriter, v any) error {
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(v)
}

// EventsResponse is the answer of POST /v1/events.
type EventsResponse struct {
	Results []Result `json:"results"`
}

// decodeEvents reads a POST /v1/events body (wire.Decode); a body that
// cannot be read as events is a 400.
func decodeEvents(body io.Reader) ([]wire.Decoded, error) {
	items, err := wire.Decode(body)
	var tooLarge *http.MaxBytesError
	var bodyErr *wire.BodyError
	switch {
	case errors.As(err, &tooLarge):
		return nil, badRequest("the body is larger than %d bytes; send at most %d events per request", tooLarge.Limit, wire.MaxEvents)
	case errors.As(err, &bodyErr):
		return nil, badRequest("%s", bodyErr.Msg)
	}
	return items, err
}

// postEvents stores a batch of events and answers one result per event.
func (r *Relay) postEvents(w http.ResponseWriter, req *http.Request) error {
	items, err := decodeEvents(http.MaxBytesReader(w, req.Body, maxBody))
	if err != nil {
		return err
	}
	now := r.clock.Now()
	results := make([]Result, len(items))
	var valid []Event
	var index []int
	for i := range items {
		e := &items[i].Event
		err := items[i].Err
		if err == nil {
			err = validateEvent(e, now, r.cfg.Window, r.cfg.FutureSkew, r.cfg.Products)
		}
		if err != nil {
			results[i] = Result{ID: e.ID, Status: StatusRejected, Error: err.Error()}
			continue
		}
		valid = append(valid, *e)
		index = append(index, i)
	}
	items = nil // the events are in valid now
	if len(valid) > 0 {
		stored, err := r.store.Ingest(req.Context(), valid, now, r.cfg.Late)
		if err != nil {
			return err
		}
		for j, res := range stored {
			results[index[j]] = res
		}
	}
	for _, res := range results {
		r.metrics.events.WithLabelValues(res.Status).Inc()
		if res.Late {
			r.metrics.events.WithLabelValues("late").Inc()
			r.log.Warn("relay: late event counted in the current hour", "id", res.ID)
		}
	}
	return writeJSON(w, EventsResponse{Results: results})
}

// getStatus answers the outbox's status.
func (r *Relay) getStatus(w http.ResponseWriter, req *http.Request) error {
	st, err := r.Status(req.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, st)
}

// Status returns the outbox's status with the relay clock's time.
func (r *Relay) Status(ctx context.Context) (*Status, error) {
	st, err := r.store.Status(ctx)
	if err != nil {
		return nil, err
	}
	st.Now = r.clock.Now()
	r.alertMu.Lock()
	if r.authAlert != nil {
		a := *r.authAlert
		st.UpstreamAuth = &a
	}
	r.alertMu.Unlock()
	return st, nil
}

// getReport answers the records of hours in [from, to) (default: the last
// 31 days by the relay clock).
func (r *Relay) getReport(w http.ResponseWriter, req *http.Request) error {
	to := r.clock.Now().Add(time.Hour)
	from := to.Add(-31 * 24 * time.Hour)
	for name, p := range map[string]*time.Time{"from": &from, "to": &to} {
		if s := req.URL.Query().Get(name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return badRequest("%s: %q is not RFC 3339", name, s)
			}
			*p = t
		}
	}
	recs, err := r.store.Records(req.Context(), from, to)
	if err != nil {
		return err
	}
	rows := make([]ReportRow, len(recs))
	for i, rec := range recs {
		rows[i] = reportRow(rec)
	}
	return writeJSON(w, rows)
}

// ClockState is the relay clock, as in meterd's admin API.
type ClockState = meterd.ClockState

// ClockInput moves the relay clock: exactly one of Set, Advance (a Go
// duration) or Reset, as in meterd's admin API.
type ClockInput = meterd.ClockChange

func (r *Relay) getClock(w http.ResponseWriter, req *http.Request) error {
	return writeJSON(w, r.clock.State())
}

// setClock moves the relay clock and wakes the submitter, so that a test
// closes hours without waiting for the next poll.
func (r *Relay) setClock(w http.ResponseWriter, req *http.Request) error {
	var in ClockInput
	if err := json.NewDecoder(http.MaxBytesReader(w, req.Body, 1<<16)).Decode(&in); err != nil {
		return badRequest("malformed JSON: %v", err)
	}
	if err := r.clock.Change(in); err != nil {
		return badRequest("%s", meterd.ErrorMessage(err))
	}
	r.log.Info("relay: clock changed", "now", r.clock.Now(), "frozen", r.clock.Frozen())
	r.Wake()
	return writeJSON(w, r.clock.State())
}

// RequeueInput selects the records POST /admin/v1/requeue sends again:
// those of outcome Outcome (default Failed) whose hour is in [From, To)
// (default: every hour).
type RequeueInput struct {
	Outcome string     `json:"outcome,omitempty"`
	From    *time.Time `json:"from,omitempty"`
	To      *time.Time `json:"to,omitempty"`
}

// RequeueOutput is the answer of POST /admin/v1/requeue.
type RequeueOutput struct {
	Requeued int64 `json:"requeued"`
}

func (r *Relay) postRequeue(w http.ResponseWriter, req *http.Request) error {
	var in RequeueInput
	if err := json.NewDecoder(http.MaxBytesReader(w, req.Body, 1<<16)).Decode(&in); err != nil && !errors.Is(err, io.EOF) {
		return badRequest("malformed JSON: %v", err)
	}
	outcome := cmp.Or(in.Outcome, OutcomeFailed)
	if !slices.Contains(requeueable, outcome) {
		return badRequest("outcome: %q cannot be requeued; give one of %s", outcome, strings.Join(requeueable, ", "))
	}
	from, to := time.Unix(0, 0), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	if in.From != nil {
		from = *in.From
	}
	if in.To != nil {
		to = *in.To
	}
	n, err := r.store.Requeue(req.Context(), outcome, from, to)
	if err != nil {
		return err
	}
	r.log.Info("relay: records requeued", "outcome", outcome, "from", from, "to", to, "records", n)
	r.Wake()
	return writeJSON(w, RequeueOutput{Requeued: n})
}

func (r *Relay) postReset(w http.ResponseWriter, req *http.Request) error {
	if err := r.store.Reset(req.Context()); err != nil {
		return err
	}
	r.log.Warn("relay: store reset: every event and record was deleted")
	return writeJSON(w, map[string]bool{"reset": true})
}
