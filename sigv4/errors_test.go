package sigv4

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/meterd/meterd"
)

var errBroken = errors.New("database is on fire")

// TestVerifyErrors checks each rejection. Every case starts from a request
// the SDK signed correctly and breaks one thing.
func TestVerifyErrors(t *testing.T) {
	wrongSecret := &meterd.AccessKey{ID: sellerKey.ID, Secret: "wrong-secret"}
	unknown := &meterd.AccessKey{ID: "AKIDUNKNOWN", Secret: "whatever"}
	tests := []struct {
		name  string
		key   *meterd.AccessKey
		sign  func(r *http.Request) // after signing, before framing
		body  string                // body the server sees; meterBody when ""
		store *memStore
		code  string
		msg   string
	}{
		{name: "MissingAuthentication", sign: func(r *http.Request) { r.Header.Del("Authorization") },
			code: meterd.EMissingAuthToken, msg: "Missing Authentication Token"},
		{name: "Presigned", sign: func(r *http.Request) {
			r.Header.Del("Authorization")
			r.URL.RawQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=abc"
		}, code: meterd.EIncompleteSignature, msg: "Presigned"},
		{name: "Malformed", sign: setAuth("AWS4-HMAC-SHA256 Credential=AKIDSELLER/20261123/us-east-1"),
			code: meterd.EIncompleteSignature, msg: "requires 'Signature' parameter"},
		{name: "WrongAlgorithm", sign: replaceAuth("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512"),
			code: meterd.EIncompleteSignature, msg: "algorithm"},
		{name: "MissingDate", sign: func(r *http.Request) { r.Header.Del("X-Amz-Date") },
			code: meterd.EIncompleteSignature, msg: "'X-Amz-Date' or a 'Date' header"},
		{name: "BadDate", sign: func(r *http.Request) { r.Header.Set("X-Amz-Date", "2026-11-23T07:00:00Z") },
			code: meterd.EIncompleteSignature, msg: "ISO-8601"},
		{name: "HostNotSigned", sign: replaceAuth(";host;", ";"),
			code: meterd.EIncompleteSignature, msg: "'Host'"},
		{name: "UnknownKey", key: unknown,
			code: meterd.EUnrecognizedClient, msg: msgInvalidToken},
		{name: "MissingSessionToken", key: tempKey, sign: func(r *http.Request) { r.Header.Del("X-Amz-Security-Token") },
			code: meterd.EUnrecognizedClient, msg: msgInvalidToken},
		{name: "WrongSessionToken", key: tempKey, sign: func(r *http.Request) { r.Header.Set("X-Amz-Security-Token", "temp-tokeN") },
			code: meterd.EUnrecognizedClient, msg: msgInvalidToken},
		{name: "WrongSecret", key: wrongSecret,
			code: meterd.EInvalidSignature, msg: msgMismatch},
		{name: "BodyChanged", body: strings.Replace(meterBody, `"UsageQuantity":3`, `"UsageQuantity":4`, 1),
			code: meterd.EInvalidSignature, msg: msgMismatch},
		{name: "SignedHeaderChanged", sign: func(r *http.Request) { r.Header.Set("X-Amz-Target", "AWSMPMeteringService.BatchMeterUsage") },
			code: meterd.EInvalidSignature, msg: msgMismatch},
		{name: "SignatureCase", sign: func(r *http.Request) { r.Header.Set("Authorization", upperSignature(r.Header.Get("Authorization"))) },
			code: meterd.EInvalidSignature, msg: msgMismatch},
		{name: "BadPayloadHashHeader", sign: func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD") },
			code: meterd.EInvalidSignature, msg: "x-amz-content-sha256"},
		{name: "WrongService", sign: replaceAuth("/aws-marketplace/", "/execute-api/"),
			code: meterd.EInvalidSignature, msg: "Credential should be scoped to correct service: 'aws-marketplace'."},
		{name: "ScopeDateMismatch", sign: replaceAuth("/20261123/", "/20261122/"),
			code: meterd.EInvalidSignature, msg: "'20261122' != '20261123', from '20261123T070000Z'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := tt.key
			if key == nil {
				key = sellerKey
			}
			r := newClientRequest(t, "http://localhost:8080/", meterBody)
			sdkSign(t, r, meterBody, key, "us-east-1", signTime)
			if tt.sign != nil {
				tt.sign(r)
			}
			sr, body := toServer(t, r)
			if tt.body != "" {
				body = []byte(tt.body)
			}
			_, err := newVerifier(signTime).Verify(sr, body)
			wantCode(t, err, tt.code, tt.msg)
			if strings.Contains(err.Error(), key.Secret) || strings.Contains(err.Error(), "temp-token") {
				t.Errorf("Verify() error = %q, contains a secret", err)
			}
		})
	}
}

// TestVerifyStoreError checks that a failing store is reported as itself
// (internal), not as an unknown key.
func TestVerifyStoreError(t *testing.T) {
	r := newClientRequest(t, "http://localhost:8080/", meterBody)
	sdkSign(t, r, meterBody, sellerKey, "us-east-1", signTime)
	v := newVerifier(signTime)
	v.Credentials = &memStore{err: errBroken}
	_, err := v.Verify(r, []byte(meterBody))
	if !errors.Is(err, errBroken) || meterd.ErrorCode(err) != meterd.EInternal {
		t.Fatalf("Verify() error = %v, want wrapped %v (internal)", err, errBroken)
	}
}

// TestVerifyRefusesTokenOfLongTermKey checks that a session token sent with
// a key that has none is refused: a key without a token is a long-term key,
// and a request claiming temporary credentials for it is not its owner's.
func TestVerifyRefusesTokenOfLongTermKey(t *testing.T) {
	r := newClientRequest(t, "http://localhost:8080/", meterBody)
	withToken := *sellerKey
	withToken.SessionToken = "some-token" // the client thinks it has one
	sdkSign(t, r, meterBody, &withToken, "us-east-1", signTime)
	sr, body := toServer(t, r)
	_, err := newVerifier(signTime).Verify(sr, body)
	wantCode(t, err, meterd.EUnrecognizedClient, msgInvalidToken)
}

// TestVerifySignedHeadersAndScope checks the rules on what a signature must
// cover: host, the time header used, X-Amz-Target and X-Amz-Security-Token
// when the request carries them, each header once; and a region that is
// one by its syntax.
func TestVerifySignedHeadersAndScope(t *testing.T) {
	all := []string{"content-type", "host", "x-amz-date", "x-amz-target"}
	tests := []struct {
		name   string
		key    *meterd.AccessKey
		region string
		signed []string
		code   string
		msg    string
	}{
		{name: "OK", signed: all},
		{name: "OKToken", key: tempKey, signed: append([]string{"x-amz-security-token"}, all...)},
		{name: "OKGovCloud", region: "us-gov-west-1", signed: all},
		{name: "OKUnknownRegion", region: "xx-mars-1", signed: all},
		{name: "DateNotSigned", signed: []string{"content-type", "host", "x-amz-target"},
			code: meterd.EIncompleteSignature, msg: "'X-Amz-Date' must be a 'SignedHeader'"},
		{name: "TargetNotSigned", signed: []string{"content-type", "host", "x-amz-date"},
			code: meterd.EIncompleteSignature, msg: "'X-Amz-Target' must be a 'SignedHeader'"},
		{name: "TokenNotSigned", key: tempKey, signed: all,
			code: meterd.EIncompleteSignature, msg: "'X-Amz-Security-Token' must be a 'SignedHeader'"},
		{name: "DuplicateSignedHeader", signed: append([]string{"host"}, all...),
			code: meterd.EIncompleteSignature, msg: "more than once"},
		{name: "DuplicateSignedHeaderCase", signed: append([]string{"Host"}, all...),
			code: meterd.EIncompleteSignature, msg: "more than once"},
		{name: "RegionUpperCase", region: "US-EAST-1", signed: all,
			code: meterd.EInvalidSignature, msg: "Credential should be scoped to a valid region, not 'US-EAST-1'."},
		{name: "RegionMadeUp", region: "local", signed: all,
			code: meterd.EInvalidSignature, msg: "Credential should be scoped to a valid region, not 'local'."},
		{name: "RegionTrailing", region: "us-east-1x", signed: all,
			code: meterd.EInvalidSignature, msg: "valid region"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, region := tt.key, tt.region
			if key == nil {
				key = sellerKey
			}
			if region == "" {
				region = "us-east-1"
			}
			r := newClientRequest(t, "http://localhost:8080/", meterBody)
			r.Header.Set("X-Amz-Date", "20261123T070000Z")
			if key.SessionToken != "" {
				r.Header.Set("X-Amz-Security-Token", key.SessionToken)
			}
			handSign(t, r, meterBody, key, region, tt.signed...)
			sr, body := toServer(t, r)
			got, err := newVerifier(signTime).Verify(sr, body)
			if tt.code == "" {
				wantCaller(t, got, err, meterd.Caller{AccountID: key.AccountID, AccessKeyID: key.ID, Region: region})
				return
			}
			wantCode(t, err, tt.code, tt.msg)
		})
	}
}

func setAuth(v string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", v) }
}

func replaceAuth(old, new string) func(*http.Request) {
	return func(r *http.Request) {
		r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), old, new, 1))
	}
}

// upperSignature upper-cases the hex signature: SigV4 signatures are lowercase.
func upperSignature(h string) string {
	i := strings.Index(h, "Signature=") + len("Signature=")
	return h[:i] + strings.ToUpper(h[i:])
}
