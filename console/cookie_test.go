package console

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestCookieAttributes: every console cookie is HttpOnly, SameSite=Strict,
// Path=/, and Secure exactly when the server listens with TLS.
func TestCookieAttributes(t *testing.T) {
	for _, secure := range []bool{false, true} {
		rec := httptest.NewRecorder()
		(&Console{Secure: secure}).setCookie(rec, sessionCookie, "id", 0)
		cks := rec.Result().Cookies()
		if len(cks) != 1 {
			t.Fatalf("cookies = %v", cks)
		}
		ck := cks[0]
		if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" || ck.Secure != secure {
			t.Errorf("Secure %v: cookie = %+v, want HttpOnly, SameSite=Strict, Path=/, Secure %v", secure, ck, secure)
		}
	}
}
