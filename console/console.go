// Package console is meterd's web console: server-rendered pages under
// /console/ on the server's one listener. It logs in with an admin token
// once, keeps a session cookie, and renders every page from the admin API
// client the CLI uses (admin.Client), served in process by the admin API's
// own handler: the console has no query layer of its own, and a read-only
// token's writes are refused by the admin API exactly as they are for the
// CLI.
package console

import (
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/meterd/meterd/admin"
)

//go:embed assets templates
var files embed.FS

// pages are the parsed templates, one per page, each with the layout.
var pages = parsePages()

// Cookie names.
const (
	sessionCookie = "meterd_session"
	loginCookie   = "meterd_login" // the login form's CSRF token, before a session exists
)

// DefaultSessionTTL is how long a session lasts after login.
const DefaultSessionTTL = 12 * time.Hour

// maxSessions bounds the sessions kept in memory; the oldest goes first.
const maxSessions = 1000

// Console serves the console. Set Admin before the first request.
type Console struct {
	// Admin is the admin API's handler (the one serving /admin/v1/).
	Admin http.Handler
	// Secure marks the cookies Secure: the server listens with TLS.
	Secure bool
	// Now is the real time, for session expiry (not the server clock,
	// which a user advances); time.Now when nil.
	Now func() time.Time
	// SessionTTL is a session's lifetime; DefaultSessionTTL when zero.
	SessionTTL time.Duration
	// TailLimit is how many of the records after the rollups' watermark a
	// page reads from the ledger; DefaultTailLimit when zero.
	TailLimit int64
	Logger    *slog.Logger

	mu       sync.Mutex
	sessions map[string]*session
	requests requestLog // the AWS API requests answered, for the live tail and the dashboard
}

// session is a logged-in browser. The admin token stays on the server;
// the cookie holds only the session's random id.
type session struct {
	token    string
	csrf     string
	readOnly bool
	expires  time.Time
	created  time.Time
}

func (c *Console) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// client is the admin API client of a session: the CLI's client, whose
// requests go straight to the admin handler in this process.
func (c *Console) client(s *session) *admin.Client {
	return &admin.Client{BaseURL: "http://console.internal", Token: s.token, HTTPClient: &http.Client{Transport: inProcess{c.Admin}}}
}

// inProcess is a RoundTripper that serves requests with a handler in this
// process rather than over the network.
type inProcess struct{ h http.Handler }

func (t inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

// newSecret returns 32 random bytes in hex.
func newSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// startSession stores a session for token and returns its id.
func (c *Console) startSession(token string, readOnly bool) (string, *session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sessions == nil {
		c.sessions = map[string]*session{}
	}
	now := c.now()
	var oldestID string
	var oldest *session
	for id, s := range c.sessions {
		if !now.Before(s.expires) {
			delete(c.sessions, id)
		} else if oldest == nil || s.created.Before(oldest.created) {
			oldestID, oldest = id, s
		}
	}
	if len(c.sessions) >= maxSessions {
		delete(c.sessions, oldestID)
	}
	ttl := c.SessionTTL
	if ttl == 0 {
		ttl = DefaultSessionTTL
	}
	s := &session{token: token, csrf: newSecret(), readOnly: readOnly, created: now, expires: now.Add(ttl)}
	id := newSecret()
	c.sessions[id] = s
	return id, s
}

// session returns the request's live session, or nil.
func (c *Console) session(r *http.Request) *session {
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.sessions[ck.Value]
	if s == nil {
		return nil
	}
	if !c.now().Before(s.expires) {
		delete(c.sessions, ck.Value)
		return nil
	}
	return s
}

// endSession forgets the request's session.
func (c *Console) endSession(r *http.Request) {
	if ck, err := r.Cookie(sessionCookie); err == nil {
		c.mu.Lock()
		delete(c.sessions, ck.Value)
		c.mu.Unlock()
	}
}

// setCookie sets a console cookie: HttpOnly, SameSite=Strict, Path=/ (the
// buyer pages share it), Secure under TLS. maxAge < 0 deletes it.
func (c *Console) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: c.Secure,
	})
}

// validCSRF tells whether the form's csrf field is want, in constant time.
func validCSRF(r *http.Request, want string) bool {
	got := r.PostFormValue("csrf")
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// errForbiddenCSRF is the answer to a form without the right CSRF token.
var errForbiddenCSRF = errors.New("the form's CSRF token is missing or wrong: reload the page and try again")

// parsePages parses each page template with the layout.
func parsePages() map[string]*template.Template {
	funcs := template.FuncMap{
		"rfc3339": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"list":    func(v ...string) []string { return v },
	}
	out := map[string]*template.Template{}
	for _, name := range []string{"login", "dashboard", "products", "usage", "usagetags", "faults", "clock", "tail", "token", "notifications", "error"} {
		out[name] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/"+name+".html"))
	}
	for _, name := range buyerPageNames {
		out[name] = template.Must(template.New("buyer_layout.html").Funcs(funcs).ParseFS(files, "templates/buyer_layout.html", "templates/"+name+".html"))
	}
	return out
}
