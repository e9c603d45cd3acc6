package admin

import (
	"regexp"
	"strings"
	"testing"

	"github.com/meterd/meterd/catalog"
)

func TestAccounts(t *testing.T) {
	f := newFixture(t)
	a, err := f.c.CreateAccount(f.ctx, AccountInput{ID: "123456789012", Name: "New Seller"})
	must(t, "CreateAccount", err)
	if a.ID != "123456789012" || a.Name != "New Seller" || !a.CreatedAt.Equal(t0) {
		t.Errorf("CreateAccount = %+v, want id 123456789012, name New Seller, created %s", a, t0)
	}
	got, err := f.c.Account(f.ctx, "123456789012")
	must(t, "Account", err)
	if *got != *a {
		t.Errorf("Account = %+v, want %+v", got, a)
	}
	all, err := f.c.Accounts(f.ctx)
	must(t, "Accounts", err)
	var ids []string
	for _, a := range all {
		ids = append(ids, a.ID)
	}
	if want := "111122223333,123456789012,444455556666,777788889999"; strings.Join(ids, ",") != want {
		t.Errorf("Accounts = %v, want %s", ids, want)
	}

	tests := []struct {
		name   string
		in     AccountInput
		status int
		code   string
	}{
		{"Conflict", AccountInput{ID: "123456789012"}, 409, "Conflict"},
		{"ShortID", AccountInput{ID: "12345"}, 422, "Invalid"},
		{"LettersID", AccountInput{ID: "12345678901a"}, 422, "Invalid"},
		{"NoID", AccountInput{Name: "x"}, 422, "Invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.c.CreateAccount(f.ctx, tt.in)
			wantError(t, "CreateAccount", err, tt.status, tt.code)
		})
	}
	_, err = f.c.Account(f.ctx, "999999999999")
	wantError(t, "Account(unknown)", err, 404, "NotFound")
}

func TestKeys(t *testing.T) {
	f := newFixture(t)
	const account = catalog.DemoBuyerAccount2

	gen, err := f.c.CreateKey(f.ctx, account, AccessKeyInput{})
	must(t, "CreateKey(generated)", err)
	if !regexp.MustCompile(`^AKIA[A-Z0-9]{16}$`).MatchString(gen.ID) {
		t.Errorf("generated id = %q, want AKIA and 16 upper-case letters or digits", gen.ID)
	}
	if len(gen.Secret) != 40 || gen.AccountID != account || gen.HasSessionToken {
		t.Errorf("generated key = %+v, want a 40-character secret, account %s, no session token", gen, account)
	}
	stored, err := f.ledger.AccessKey(f.ctx, gen.ID)
	must(t, "ledger AccessKey", err)
	if stored.Secret != gen.Secret {
		t.Errorf("stored secret differs from the one shown at creation")
	}

	given, err := f.c.CreateKey(f.ctx, account, AccessKeyInput{ID: "rolekey", Secret: "rolesecret", SessionToken: "session"})
	must(t, "CreateKey(given)", err)
	if given.ID != "rolekey" || given.Secret != "rolesecret" || given.SessionToken != "session" || !given.HasSessionToken {
		t.Errorf("CreateKey(given) = %+v, want rolekey/rolesecret with session token", given)
	}

	// Lists never show secrets.
	_, body := f.raw(t, "GET", "/admin/v1/accounts/"+account+"/keys", "Bearer "+testToken, "")
	for _, secret := range []string{gen.Secret, "rolesecret", `"session"`} {
		if strings.Contains(body, secret) {
			t.Errorf("key list %s shows a secret", body)
		}
	}
	keys, err := f.c.AccountKeys(f.ctx, account)
	must(t, "AccountKeys", err)
	if len(keys) != 2 || keys[0].ID != gen.ID || keys[1].ID != "rolekey" || !keys[1].HasSessionToken || keys[1].Secret != "" {
		t.Errorf("AccountKeys = %+v, want %s and rolekey (with session token), without secrets", keys, gen.ID)
	}
	all, err := f.c.Keys(f.ctx)
	must(t, "Keys", err)
	if len(all) != 4 { // the demo's test and buyer, and the two above
		t.Errorf("Keys = %d keys, want 4", len(all))
	}

	must(t, "DeleteKey", f.c.DeleteKey(f.ctx, "rolekey"))
	_, err = f.ledger.AccessKey(f.ctx, "rolekey")
	if err == nil {
		t.Errorf("rolekey still stored after DeleteKey")
	}

	tests := []struct {
		name    string
		account string
		in      AccessKeyInput
		status  int
		code    string
	}{
		{"UnknownAccount", "999999999999", AccessKeyInput{}, 404, "NotFound"},
		{"Conflict", account, AccessKeyInput{ID: "test"}, 409, "Conflict"},
		{"AdminTokenAsSecret", account, AccessKeyInput{Secret: testToken}, 422, "Invalid"},
		{"AdminTokenAsID", account, AccessKeyInput{ID: testToken}, 422, "Invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.c.CreateKey(f.ctx, tt.account, tt.in)
			wantError(t, "CreateKey", err, tt.status, tt.code)
		})
	}
	wantError(t, "DeleteKey(deleted)", f.c.DeleteKey(f.ctx, "rolekey"), 404, "NotFound")
	_, err = f.c.AccountKeys(f.ctx, "999999999999")
	wantError(t, "AccountKeys(unknown)", err, 404, "NotFound")
}
