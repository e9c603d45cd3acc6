package sigv4

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd"
)

// TestSigningKeyCache runs requests one after another through one Verifier,
// whose cache of signing keys fills on the first: every later request is
// still judged by its own secret, scope and date.
func TestSigningKeyCache(t *testing.T) {
	key := &meterd.AccessKey{ID: "AKIDROTATE", Secret: "first-secret", AccountID: "555555555555"}
	store := &memStore{keys: map[string]*meterd.AccessKey{key.ID: key}}
	now := signTime
	v := &Verifier{Credentials: store, Now: func() time.Time { return now }}
	nextDay := signTime.Add(24 * time.Hour)
	ok := meterd.Caller{AccountID: key.AccountID, AccessKeyID: key.ID, Region: "us-east-1"}

	steps := []struct {
		name   string
		before func()                                     // changes the store or clock
		req    func(t *testing.T) (*http.Request, []byte) // the request
		code   string                                     // "" for success
	}{
		{name: "first request", req: signed("first-secret", "us-east-1", signTime)},
		{name: "same key again", req: signed("first-secret", "us-east-1", signTime)},
		{name: "wrong secret", req: signed("wrong-secret", "us-east-1", signTime), code: meterd.EInvalidSignature},
		{name: "other region", req: signed("first-secret", "eu-west-1", signTime)},
		{name: "old date's key for a new date", before: func() { now = nextDay },
			req: signedWithKeyOf("first-secret", signTime, nextDay), code: meterd.EInvalidSignature},
		{name: "new date", req: signed("first-secret", "us-east-1", nextDay)},
		{name: "rotated: old secret", before: func() {
			store.keys[key.ID] = &meterd.AccessKey{ID: key.ID, Secret: "second-secret", AccountID: key.AccountID}
		}, req: signed("first-secret", "us-east-1", nextDay), code: meterd.EInvalidSignature},
		{name: "rotated: new secret", req: signed("second-secret", "us-east-1", nextDay)},
		{name: "deleted", before: func() { delete(store.keys, key.ID) },
			req: signed("second-secret", "us-east-1", nextDay), code: meterd.EUnrecognizedClient},
	}
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		r, body := s.req(t)
		got, err := v.Verify(r, body)
		switch {
		case s.code == "" && err != nil:
			t.Fatalf("%s: Verify() error = %v, want success", s.name, err)
		case s.code == "":
			want := ok
			want.Region = strings.Split(r.Header.Get("Authorization"), "/")[2] // Credential=ID/date/region/...
			if *got != want {
				t.Fatalf("%s: Verify() = %+v, want %+v", s.name, *got, want)
			}
		default:
			var gotCode string
			if err != nil {
				gotCode = meterd.ErrorCode(err)
			}
			if gotCode != s.code {
				t.Fatalf("%s: Verify() error = %v, want %s", s.name, err, s.code)
			}
		}
	}
}

// signed returns a request for AKIDROTATE signed by the SDK with secret.
func signed(secret, region string, at time.Time) func(t *testing.T) (*http.Request, []byte) {
	return func(t *testing.T) (*http.Request, []byte) {
		t.Helper()
		r := newClientRequest(t, "http://localhost:8080/", meterBody)
		sdkSign(t, r, meterBody, &meterd.AccessKey{ID: "AKIDROTATE", Secret: secret}, region, at)
		return toServer(t, r)
	}
}

// signedWithKeyOf returns a request signed at at, but with the signing key
// derived for keyDate: what a cache keyed without the date would accept.
func signedWithKeyOf(secret string, keyDate, at time.Time) func(t *testing.T) (*http.Request, []byte) {
	return func(t *testing.T) (*http.Request, []byte) {
		t.Helper()
		r, body := signed(secret, "us-east-1", at)(t)
		auth, err := parseAuthorization(r.Header.Get("Authorization"))
		if err != nil {
			t.Fatal(err)
		}
		hash, err := payloadHash(r, body, false)
		if err != nil {
			t.Fatal(err)
		}
		old := deriveSigningKey(signingScope{secret: secret, date: keyDate.Format("20060102"), region: auth.Region, service: auth.Service})
		sig := signWithKey(old, auth, at, canonicalRequest(r, auth.SignedHeaders, hash))
		h := r.Header.Get("Authorization")
		r.Header.Set("Authorization", h[:strings.Index(h, "Signature=")]+"Signature="+sig)
		return r, body
	}
}
