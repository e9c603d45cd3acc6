package ledgertest

import (
	"fmt"
	"testing"

	"github.com/meterd/meterd"
)

// testAdminTokens checks the admin tokens: create refuses a taken name, put
// replaces, the list is ordered by name with times in UTC, delete removes
// one and refuses an unknown name, and Reset keeps them.
func testAdminTokens(t *testing.T, open Open) {
	l := open(t)
	ctx := t.Context()
	if got, err := l.AdminTokens(ctx); err != nil || len(got) != 0 {
		t.Fatalf("AdminTokens(empty store) = %v, %v; want none", got, err)
	}
	ops := &meterd.AdminToken{Name: "ops", Role: meterd.RoleAdmin, Hash: meterd.HashAdminToken("t-ops"), CreatedAt: h0}
	dash := &meterd.AdminToken{Name: "dashboard", Role: meterd.RoleReadOnly, Hash: meterd.HashAdminToken("t-dash"), CreatedAt: h1}
	must(t, "CreateAdminToken(ops)", l.CreateAdminToken(ctx, ops))
	must(t, "CreateAdminToken(dashboard)", l.CreateAdminToken(ctx, dash))
	again := *ops
	again.Hash = meterd.HashAdminToken("other")
	checkCode(t, "CreateAdminToken(ops again)", l.CreateAdminToken(ctx, &again), meterd.EConflict)

	got, err := l.AdminTokens(ctx)
	must(t, "AdminTokens", err)
	if want := fmt.Sprint([]meterd.AdminToken{*dash, *ops}); fmt.Sprint(deref(got)) != want {
		t.Fatalf("AdminTokens = %v, want %v (the refused create must not replace ops)", deref(got), want)
	}
	checkTime(t, "AdminTokens[0].CreatedAt", got[0].CreatedAt, h1)

	def := &meterd.AdminToken{Name: meterd.DefaultAdminToken, Role: meterd.RoleAdmin, Hash: meterd.HashAdminToken("d1"), CreatedAt: h0}
	must(t, "PutAdminToken(default)", l.PutAdminToken(ctx, def))
	def = &meterd.AdminToken{Name: meterd.DefaultAdminToken, Role: meterd.RoleAdmin, Hash: meterd.HashAdminToken("d2"), CreatedAt: h2}
	must(t, "PutAdminToken(default, replace)", l.PutAdminToken(ctx, def))
	must(t, "DeleteAdminToken(dashboard)", l.DeleteAdminToken(ctx, "dashboard"))
	checkCode(t, "DeleteAdminToken(dashboard again)", l.DeleteAdminToken(ctx, "dashboard"), meterd.ENotFound)
	must(t, "Reset", l.Reset(ctx))

	got, err = l.AdminTokens(ctx)
	must(t, "AdminTokens", err)
	if want := fmt.Sprint([]meterd.AdminToken{*def, *ops}); fmt.Sprint(deref(got)) != want {
		t.Errorf("AdminTokens after put, delete and Reset = %v, want %v", deref(got), want)
	}
	if m := meterd.MatchAdminToken(got, "d2"); m == nil || m.Name != meterd.DefaultAdminToken {
		t.Errorf("MatchAdminToken(d2) = %v, want the default token", m)
	}
	if m := meterd.MatchAdminToken(got, "d1"); m != nil {
		t.Errorf("MatchAdminToken(replaced d1) = %v, want nil", m)
	}
}

// deref returns the values of ts, for printing.
func deref(ts []*meterd.AdminToken) []meterd.AdminToken {
	out := make([]meterd.AdminToken, len(ts))
	for i, t := range ts {
		out[i] = *t
	}
	return out
}
