package console

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/internal/httpjson"
)

// Handler serves /console/.
func (c *Console) Handler() http.Handler {
	mux := http.NewServeMux()
	assets, _ := fs.Sub(files, "assets")
	mux.Handle("GET /console/assets/", http.StripPrefix("/console/assets/", assetServer(assets)))
	mux.HandleFunc("GET /console/login", c.loginPage)
	mux.HandleFunc("POST /console/login", c.login)
	mux.Handle("POST /console/logout", c.authed(c.logout))
	mux.Handle("GET /console/{$}", c.authed(c.dashboard))
	mux.Handle("GET /console/products", c.authed(c.products))
	mux.Handle("POST /console/products/accept", c.authed(c.acceptOffer))
	mux.Handle("POST /console/products/{code}/tokens", c.authed(c.mintToken))
	mux.Handle("POST /console/agreements/{id}/cancel", c.authed(c.cancelAgreement))
	mux.Handle("GET /console/usage", c.authed(c.usage))
	mux.Handle("GET /console/usage.csv", c.authed(c.usageCSV))
	mux.Handle("GET /console/usage/tags", c.authed(c.usageTags))
	mux.Handle("GET /console/faults", c.authed(c.faults))
	mux.Handle("POST /console/faults", c.authed(c.addFault))
	mux.Handle("POST /console/faults/clear", c.authed(c.clearFaults))
	mux.Handle("POST /console/faults/delete", c.authed(c.deleteFault))
	mux.Handle("GET /console/clock", c.authed(c.clock))
	mux.Handle("POST /console/clock", c.authed(c.moveClock))
	c.buyerRoutes(mux)
	mux.Handle("GET /console/notifications", c.authed(c.notifications))
	mux.Handle("POST /console/deliveries/{id}/retry", c.authed(c.retryDelivery))
	mux.Handle("GET /console/tail", c.authed(c.tail))
	mux.Handle("GET /console/tail/events", c.authed(c.tailEvents))
	mux.HandleFunc("GET /console", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console/", http.StatusSeeOther)
	})
	return securityHeaders(mux)
}

// securityHeaders forbids framing, inline scripts and other origins.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// uPlot sizes its elements with style attributes: hence
		// 'unsafe-inline' for styles alone.
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// assetServer serves the embedded assets: vendored libraries, the style
// sheet and the chart script, none of which holds data.
func assetServer(assets fs.FS) http.Handler {
	fileServer := http.FileServerFS(assets)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") || r.URL.Path == "" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "private, max-age=3600")
		fileServer.ServeHTTP(w, r)
	})
}

// page is what every page template gets.
type page struct {
	Title    string
	Nav      string // the page's name, to mark its link
	CSRF     string
	ReadOnly bool
	Flash    string // the outcome of the last action
	Error    string
	Lag      *lag // set when the page leaves out records the rollups do not hold yet
	Data     any
}

// authedFunc is a handler of a logged-in request.
type authedFunc func(w http.ResponseWriter, r *http.Request, s *session) error

// authed lets through requests with a live session (and, for POSTs, the
// session's CSRF token); others go to the login page. An admin API
// answer 401 (the token was revoked) ends the session.
func (c *Console) authed(h authedFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := c.session(r)
		if s == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/console/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			c.render(w, http.StatusUnauthorized, "error", page{Title: "Not logged in", Error: "your session has ended: log in again"})
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			if !validCSRF(r, s.csrf) {
				c.render(w, http.StatusForbidden, "error", page{Title: "Refused", Nav: "error", Error: errForbiddenCSRF.Error(), CSRF: s.csrf, ReadOnly: s.readOnly})
				return
			}
		}
		err := h(w, r, s)
		if err == nil {
			return
		}
		var ae *admin.Error
		if errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
			c.endSession(r)
			c.setCookie(w, sessionCookie, "", -1)
			http.Redirect(w, r, "/console/login", http.StatusSeeOther)
			return
		}
		status := http.StatusInternalServerError
		var fe *formError
		if errors.As(err, &fe) {
			status = http.StatusBadRequest
		} else if errors.As(err, &ae) {
			status = ae.Status
		}
		c.render(w, status, "error", page{Title: "Error", Nav: "error", Error: errorText(err), CSRF: s.csrf, ReadOnly: s.readOnly})
	})
}

// errorText is what a page says about err: the admin API's message.
func errorText(err error) string {
	var ae *httpjson.Error
	if errors.As(err, &ae) && ae.Message != "" {
		return ae.Message
	}
	return err.Error()
}

// render writes a page; a template error becomes a plain 500.
func (c *Console) render(w http.ResponseWriter, status int, name string, p page) {
	var b bytes.Buffer
	if err := pages[name].Execute(&b, p); err != nil {
		if c.Logger != nil {
			c.Logger.Error("console", "page", name, "err", err)
		}
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// loginPage asks for an admin token. Its form carries a CSRF token kept in
// a cookie of its own, since no session exists yet.
func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	c.renderLogin(w, r, http.StatusOK, "")
}

func (c *Console) renderLogin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	csrf := newSecret()
	c.setCookie(w, loginCookie, csrf, 600)
	c.render(w, status, "login", page{Title: "Log in", CSRF: csrf, Error: msg, Data: safeNext(r.FormValue("next"))})
}

// safeNext is a console or buyer page's path to go to after login, or
// the dashboard.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/console/") && !strings.HasPrefix(next, "/marketplace/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/console/"
	}
	// Clean keeps the trailing slash of a directory page (/marketplace/),
	// which a later login form must still accept.
	clean := path.Clean(next)
	if strings.HasSuffix(next, "/") {
		clean += "/"
	}
	return clean
}

// login checks the token against the admin API and starts a session.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	ck, err := r.Cookie(loginCookie)
	if err != nil || !validCSRF(r, ck.Value) {
		c.renderLogin(w, r, http.StatusForbidden, errForbiddenCSRF.Error())
		return
	}
	token := strings.TrimSpace(r.PostFormValue("token"))
	probe := c.client(&session{token: token})
	if _, err := probe.Clock(r.Context()); err != nil {
		var ae *admin.Error
		if errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
			c.renderLogin(w, r, http.StatusUnauthorized, "that is not an admin token of this server")
			return
		}
		c.renderLogin(w, r, http.StatusInternalServerError, errorText(err))
		return
	}
	readOnly := isReadOnly(r.Context(), probe)
	id, _ := c.startSession(token, readOnly)
	c.setCookie(w, loginCookie, "", -1)
	c.setCookie(w, sessionCookie, id, 0)
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

// isReadOnly tells a read-only token by the admin API's refusal to list
// the admin tokens, which it answers an admin token alone.
func isReadOnly(ctx context.Context, cl *admin.Client) bool {
	_, err := cl.AdminTokens(ctx)
	var ae *admin.Error
	return errors.As(err, &ae) && ae.Status == http.StatusForbidden
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, s *session) error {
	c.endSession(r)
	c.setCookie(w, sessionCookie, "", -1)
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
	return nil
}

// serverNow is the server clock's time, which the metering rules use.
func serverNow(ctx context.Context, cl *admin.Client) (time.Time, error) {
	st, err := cl.Clock(ctx)
	if err != nil {
		return time.Time{}, err
	}
	return st.Now.UTC(), nil
}

// redirectFlash goes back to a page with a message of what was done.
func redirectFlash(w http.ResponseWriter, r *http.Request, to, flash string) {
	http.Redirect(w, r, to+"?done="+url.QueryEscape(flash), http.StatusSeeOther)
}
