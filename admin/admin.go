// Package admin is the admin API of meterd (/admin/v1, JSON, bearer token)
// and its Go client, the CLI's only way in.
//
// The server is one static route table (routes) behind one authentication
// check; handlers return errors, and one function maps them to statuses.
package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/events"
	"github.com/meterd/meterd/faults"
	"github.com/meterd/meterd/marketplace"
)

// Error codes of the admin API that meterd's domain does not have.
const (
	CodeBadRequest       = "BadRequest"
	CodeUnauthorized     = "Unauthorized"
	CodeForbidden        = "Forbidden"
	CodeMethodNotAllowed = "MethodNotAllowed"
	CodeInternal         = "Internal"
)

// statusByCode maps error codes to HTTP statuses; anything else is a 500.
// It is a lookup table, never changed.
var statusByCode = map[string]int{
	meterd.ENotFound:     http.StatusNotFound,
	meterd.EConflict:     http.StatusConflict,
	meterd.EInvalid:      http.StatusUnprocessableEntity,
	meterd.EAccessDenied: http.StatusForbidden,
	CodeBadRequest:       http.StatusBadRequest,
	CodeUnauthorized:     http.StatusUnauthorized,
	CodeForbidden:        http.StatusForbidden,
	CodeMethodNotAllowed: http.StatusMethodNotAllowed,
}

// maxBody bounds a request body: admin requests are small.
const maxBody = 1 << 20

// Server is the admin API. Its fields are set before Handler is called.
type Server struct {
	Ledger meterd.Ledger
	Clock  *meterd.ServerClock
	// Reseed re-applies the catalog (or the demo) after a reset; nil skips it.
	Reseed func(ctx context.Context) error
	// Faults are the fault rules of this process; nil answers NotFound.
	Faults *faults.Rules
	Logger *slog.Logger
	// Market runs the offers' and agreements' transitions; nil makes one
	// over Ledger and Clock.
	Market *marketplace.Service
	// BackupDir is where a backup is copied before it is sent (the data
	// directory, so that it has the ledger's room); "" is the system's
	// temporary directory.
	BackupDir string
	// Notify manages subscriptions, rules, deliveries and queues; nil
	// answers NotFound on their routes.
	Notify *events.Notifications

	// mu serializes the read-modify-write updates of this process (adding a
	// dimension, rotating a key), which the Ledger cannot do in one call.
	mu sync.Mutex
}

// route is one entry of the route table: a method and a path pattern as
// net/http.ServeMux and the OpenAPI document write them.
type route struct {
	method, path string
	handle       func(w http.ResponseWriter, r *http.Request) error
}

// routes is the whole admin API surface.
func (s *Server) routes() []route {
	return []route{
		{"GET", "/admin/v1/accounts", s.listAccounts},
		{"POST", "/admin/v1/accounts", s.createAccount},
		{"GET", "/admin/v1/accounts/{id}", s.getAccount},
		{"GET", "/admin/v1/accounts/{id}/keys", s.listAccountKeys},
		{"POST", "/admin/v1/accounts/{id}/keys", s.createKey},
		{"GET", "/admin/v1/keys", s.listKeys},
		{"DELETE", "/admin/v1/keys/{id}", s.deleteKey},

		{"GET", "/admin/v1/products", s.listProducts},
		{"POST", "/admin/v1/products", s.createProduct},
		{"GET", "/admin/v1/products/{code}", s.getProduct},
		{"GET", "/admin/v1/products/{code}/dimensions", s.listDimensions},
		{"POST", "/admin/v1/products/{code}/dimensions", s.addDimension},
		{"GET", "/admin/v1/products/{code}/customers", s.listCustomers},
		{"POST", "/admin/v1/products/{code}/customers", s.subscribe},
		{"GET", "/admin/v1/products/{code}/customers/{id}", s.getCustomer},
		{"PATCH", "/admin/v1/products/{code}/customers/{id}", s.patchCustomer},
		{"POST", "/admin/v1/products/{code}/tokens", s.createToken},
		{"GET", "/admin/v1/products/{code}/publickeys", s.listPublicKeys},
		{"POST", "/admin/v1/products/{code}/publickeys", s.rotatePublicKey},

		{"GET", "/admin/v1/usage", s.usage},
		{"GET", "/admin/v1/usage/summary", s.usageSummary},
		{"GET", "/admin/v1/usage/top", s.topCustomers},
		{"GET", "/admin/v1/usage/rollups", s.rollups},

		{"GET", "/admin/v1/faults", s.listFaults},
		{"POST", "/admin/v1/faults", s.addFault},
		{"DELETE", "/admin/v1/faults", s.clearFaults},
		{"DELETE", "/admin/v1/faults/{id}", s.deleteFault},

		{"GET", "/admin/v1/admin-tokens", s.listAdminTokens},
		{"POST", "/admin/v1/admin-tokens", s.createAdminToken},
		{"DELETE", "/admin/v1/admin-tokens/{name}", s.revokeAdminToken},

		{"GET", "/admin/v1/offers", s.listOffers},
		{"POST", "/admin/v1/offers", s.createOffer},
		{"GET", "/admin/v1/offers/{id}", s.getOffer},
		{"GET", "/admin/v1/agreements", s.listAgreements},
		{"POST", "/admin/v1/agreements", s.acceptOffer},
		{"GET", "/admin/v1/agreements/{id}", s.getAgreement},
		{"GET", "/admin/v1/agreements/{id}/terms", s.agreementTerms},
		{"POST", "/admin/v1/agreements/{id}/amend", s.amendAgreement},
		{"POST", "/admin/v1/agreements/{id}/replace", s.replaceAgreement},
		{"POST", "/admin/v1/agreements/{id}/cancel", s.cancelAgreement},
		{"POST", "/admin/v1/agreements/{id}/terminate", s.terminateAgreement},
		{"GET", "/admin/v1/entitlements", s.listEntitlements},
		{"GET", "/admin/v1/events", s.listEvents},

		{"GET", "/admin/v1/queues", s.listQueues},
		{"POST", "/admin/v1/queues", s.createQueue},
		{"POST", "/admin/v1/queues/{name}/receive", s.receiveQueue},
		{"POST", "/admin/v1/queues/{name}/purge", s.purgeQueue},
		{"GET", "/admin/v1/subscriptions", s.listSubscriptions},
		{"POST", "/admin/v1/subscriptions", s.createSubscription},
		{"GET", "/admin/v1/subscriptions/{id}", s.getSubscription},
		{"DELETE", "/admin/v1/subscriptions/{id}", s.deleteSubscription},
		{"GET", "/admin/v1/rules", s.listRules},
		{"POST", "/admin/v1/rules", s.createRule},
		{"DELETE", "/admin/v1/rules/{id}", s.deleteRule},
		{"GET", "/admin/v1/deliveries", s.listDeliveries},
		{"POST", "/admin/v1/deliveries/{id}/retry", s.retryDelivery},

		{"GET", "/admin/v1/clock", s.getClock},
		{"POST", "/admin/v1/clock", s.setClock},
		{"POST", "/admin/v1/reset", s.reset},
		{"POST", "/admin/v1/backup", s.backup},
		{"GET", "/admin/v1/openapi.json", s.openAPI},
	}
}

// Handler returns the admin API. Every request under /admin/v1/, known
// route or not, must carry the admin token.
func (s *Server) Handler() http.Handler {
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.Market == nil {
		s.Market = &marketplace.Service{Ledger: s.Ledger, Clock: s.Clock}
	}
	mux := http.NewServeMux()
	for _, rt := range s.routes() {
		mux.Handle(rt.method+" "+rt.path, s.serve(rt.handle))
	}
	// The catch-all answers unknown paths and methods in JSON rather than
	// with ServeMux's plain-text 404 and 405.
	mux.Handle("/admin/v1/", s.serve(func(w http.ResponseWriter, r *http.Request) error {
		if allow := allowed(mux, r); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			return meterd.Errorf(CodeMethodNotAllowed, "method %s is not allowed on %s", r.Method, r.URL.Path)
		}
		return meterd.Errorf(meterd.ENotFound, "no such admin route: %s", r.URL.Path)
	}))
	return s.authenticate(mux)
}

// allowed returns the methods of the route table that serve r's path.
func allowed(mux *http.ServeMux, r *http.Request) []string {
	var methods []string
	for _, m := range []string{"GET", "POST", "PATCH", "DELETE"} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "/admin/v1/" && pattern != "" {
			methods = append(methods, m)
		}
	}
	return methods
}

// authenticate lets through only requests bearing an admin token, and of a
// read-only token only the reads. The tokens are read per request, so that
// a token created or revoked by another node sharing the store takes effect
// at once; each stored hash is compared in constant time.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokens, err := s.Ledger.AdminTokens(r.Context())
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		t := meterd.MatchAdminToken(tokens, bearer(r))
		if t == nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="meterd admin"`)
			s.writeError(w, r, meterd.Errorf(CodeUnauthorized, "a valid admin token is required (Authorization: Bearer <token>)"))
			return
		}
		if err := authorize(t, r); err != nil {
			s.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// authorize returns Forbidden when the role of t does not allow r: a
// read-only token may read (GET, HEAD) anything but the admin tokens.
func authorize(t *meterd.AdminToken, r *http.Request) error {
	if t.Role == meterd.RoleAdmin {
		return nil
	}
	read := r.Method == http.MethodGet || r.Method == http.MethodHead
	if !read || strings.HasPrefix(r.URL.Path, "/admin/v1/admin-tokens") {
		return meterd.Errorf(CodeForbidden, "admin token %s is read-only: %s %s needs an admin token", t.Name, r.Method, r.URL.Path)
	}
	return nil
}

// bearer returns the token of an "Authorization: Bearer" header, or "".
func bearer(r *http.Request) string {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// serve adapts a handler that returns an error.
func (s *Server) serve(h func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// errorBody is the JSON of every admin API error.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// writeError is the one place errors become responses. Codes outside
// statusByCode are internal: the client sees a generic message, the log the
// detail.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var body errorBody
	code := meterd.ErrorCode(err)
	status, ok := statusByCode[code]
	if ok {
		body.Error.Code, body.Error.Message = code, meterd.ErrorMessage(err)
	} else {
		status = http.StatusInternalServerError
		body.Error.Code, body.Error.Message = CodeInternal, "An internal error has occurred."
		s.Logger.Error("admin", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, status, &body)
}

// writeJSON writes v as the response with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	// Encoded before the status is written, so that a value that cannot
	// be encoded is an error answer, never a 200 with an error after it.
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("admin: encode answer: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, err := w.Write(b.Bytes())
	return err
}

// readJSON decodes the request body into v: 400 when it is not JSON of the
// expected shape. Unknown fields are ignored, as newer clients may send them.
func readJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return meterd.Errorf(CodeBadRequest, "a JSON request body is required")
		}
		return meterd.Errorf(CodeBadRequest, "invalid JSON body: %v", err)
	}
	if dec.More() {
		return meterd.Errorf(CodeBadRequest, "invalid JSON body: more than one value")
	}
	return nil
}
