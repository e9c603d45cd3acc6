package admin

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/meterd/meterd"
)

// TestAdminTokens creates, lists and revokes admin tokens through the
// client: the token is shown once, the list never shows it, and a revoked
// token is refused from the next request on.
func TestAdminTokens(t *testing.T) {
	f := newFixture(t)
	created, err := f.c.CreateAdminToken(f.ctx, AdminTokenInput{Name: "ops", Role: meterd.RoleAdmin})
	must(t, "CreateAdminToken(ops)", err)
	if len(created.Token) != 64 || created.Name != "ops" || created.Role != meterd.RoleAdmin || !created.CreatedAt.Equal(t0) {
		t.Fatalf("CreateAdminToken = %+v, want ops, admin, created at %v, a 64-character token", created, t0)
	}
	ops := NewClient(f.url, created.Token)
	if _, err := ops.Accounts(f.ctx); err != nil {
		t.Fatalf("Accounts with the new token = %v, want nil", err)
	}
	_, err = f.c.CreateAdminToken(f.ctx, AdminTokenInput{Name: "ops", Role: meterd.RoleReadOnly})
	wantError(t, "CreateAdminToken(ops again)", err, 409, meterd.EConflict)
	for _, in := range []AdminTokenInput{{Name: "", Role: meterd.RoleAdmin}, {Name: "a b", Role: meterd.RoleAdmin}, {Name: "x", Role: "root"}} {
		_, err = f.c.CreateAdminToken(f.ctx, in)
		wantError(t, "CreateAdminToken("+in.Name+", "+in.Role+")", err, 422, meterd.EInvalid)
	}

	list, err := ops.AdminTokens(f.ctx)
	must(t, "AdminTokens", err)
	if len(list) != 2 || list[0].Name != meterd.DefaultAdminToken || list[1].Name != "ops" || list[1].Role != meterd.RoleAdmin {
		t.Fatalf("AdminTokens = %+v, want default and ops", list)
	}
	status, body := f.raw(t, "GET", "/admin/v1/admin-tokens", "Bearer "+testToken, "")
	if status != 200 || strings.Contains(body, created.Token) || strings.Contains(body, testToken) || strings.Contains(body, meterd.HashAdminToken(created.Token)) {
		t.Errorf("GET admin-tokens = %d %s, want 200 without any token or hash", status, body)
	}

	// Rotation: the new token revokes the old one, which stops working.
	must(t, "RevokeAdminToken(default)", ops.RevokeAdminToken(f.ctx, meterd.DefaultAdminToken))
	_, err = f.c.Accounts(f.ctx)
	wantError(t, "Accounts with the revoked token", err, 401, CodeUnauthorized)
	wantError(t, "RevokeAdminToken(default again)", ops.RevokeAdminToken(f.ctx, meterd.DefaultAdminToken), 404, meterd.ENotFound)
	if _, err := ops.Accounts(f.ctx); err != nil {
		t.Errorf("Accounts with the new token after the rotation = %v, want nil", err)
	}
}

// TestReadOnlyToken sends every route with a read-only token: each write
// (any method but GET) and the admin tokens answer 403 with the admin API's
// JSON error and change nothing; every other read is let through.
func TestReadOnlyToken(t *testing.T) {
	f := newFixture(t)
	ro, err := f.c.CreateAdminToken(f.ctx, AdminTokenInput{Name: "dashboard", Role: meterd.RoleReadOnly})
	must(t, "CreateAdminToken(dashboard)", err)
	accounts, err := f.c.Accounts(f.ctx)
	must(t, "Accounts", err)
	for _, rt := range f.server.routes() {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			status, body := f.raw(t, rt.method, examplePath(rt.path), "Bearer "+ro.Token, `{"name": "x", "role": "admin", "id": "123456789012"}`)
			forbidden := rt.method != "GET" || strings.HasPrefix(rt.path, "/admin/v1/admin-tokens")
			if !forbidden {
				if status == http.StatusForbidden || status == http.StatusUnauthorized {
					t.Errorf("status = %d %s, want the read let through", status, body)
				}
				return
			}
			var e errorBody
			if status != http.StatusForbidden || json.Unmarshal([]byte(body), &e) != nil || e.Error.Code != CodeForbidden || !strings.Contains(e.Error.Message, "read-only") {
				t.Errorf("status = %d %s, want 403 Forbidden saying the token is read-only", status, body)
			}
		})
	}
	after, err := f.c.Accounts(f.ctx)
	must(t, "Accounts", err)
	tokens, err := f.c.AdminTokens(f.ctx)
	must(t, "AdminTokens", err)
	clock, err := f.c.Clock(f.ctx)
	must(t, "Clock", err)
	if len(after) != len(accounts) || len(tokens) != 2 || !clock.Now.Equal(t0) {
		t.Errorf("after the refused writes: %d accounts (want %d), %d admin tokens (want 2), clock %v (want %v)", len(after), len(accounts), len(tokens), clock.Now, t0)
	}
}
