// Package sigv4 verifies AWS Signature Version 4 on Metering API requests.
//
// The canonical request is rebuilt from the headers the client lists in
// SignedHeaders, because the SDKs sign different sets (the Go SDK signs
// content-length, botocore does not). The payload hash is computed from the
// body, except that X-Amz-Content-Sha256: UNSIGNED-PAYLOAD (what recent SDKs
// send over HTTPS) is signed as that literal, as AWS does, over TLS or when
// AllowUnsignedPayload is set.
package sigv4

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"

	"github.com/meterd/meterd"
)

// DefaultService is the SigV4 signing name of the Metering API.
const DefaultService = "aws-marketplace"

// DefaultMaxSkew is how far a request's signing time may be from the wall
// clock, as AWS allows.
const DefaultMaxSkew = 5 * time.Minute

// DefaultRegion is the caller's region in Insecure mode when the request has
// no usable credential scope.
const DefaultRegion = "us-east-1"

// Messages AWS sends for these failures; clients and people grep for them.
const (
	msgInvalidToken = "The security token included in the request is invalid."
	msgMismatch     = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method."
)

// CredentialStore looks up access keys; meterd.Ledger satisfies it.
type CredentialStore interface {
	// AccessKey returns the key with the given id. ENotFound.
	AccessKey(ctx context.Context, id string) (*meterd.AccessKey, error)
}

// Verifier authenticates SigV4-signed requests. The zero value with
// Credentials set verifies aws-marketplace requests within ±5 minutes.
type Verifier struct {
	Credentials CredentialStore
	Service     string           // signing name; DefaultService when empty
	MaxSkew     time.Duration    // DefaultMaxSkew when zero
	Now         func() time.Time // wall clock; time.Now when nil

	// Insecure (--auth none) accepts any signature. The Authorization
	// header, when parseable, still names the access key and region: a
	// known key maps to its account, any other request to DefaultAccountID.
	Insecure         bool
	DefaultAccountID string

	// AllowUnsignedPayload (--allow-unsigned-payload) accepts UNSIGNED-PAYLOAD
	// over plain HTTP too, for a server behind a TLS-terminating proxy.
	AllowUnsignedPayload bool

	keys signingKeys // derived signing keys, by secret and scope
}

// Verify authenticates r, whose body the caller has already read, and returns
// the caller. Errors are *meterd.Error with codes EMissingAuthToken,
// EIncompleteSignature, EInvalidSignature or EUnrecognizedClient; a failing
// credential store yields its own error, wrapped.
func (v *Verifier) Verify(r *http.Request, body []byte) (*meterd.Caller, error) {
	if v.Insecure {
		return v.verifyInsecure(r)
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		if r.URL.Query().Has("X-Amz-Signature") {
			return nil, incomplete("Presigned requests are not supported; sign the Authorization header.")
		}
		return nil, meterd.Errorf(meterd.EMissingAuthToken, "Missing Authentication Token")
	}
	auth, err := parseAuthorization(h)
	if err != nil {
		return nil, err
	}
	if err := checkSignedHeaders(r, auth.SignedHeaders); err != nil {
		return nil, err
	}
	t, err := v.checkTime(r, auth)
	if err != nil {
		return nil, err
	}
	payloadHash, err := payloadHash(r, body, v.AllowUnsignedPayload)
	if err != nil {
		return nil, err
	}
	key, err := v.accessKey(r.Context(), auth.AccessKeyID)
	if err != nil {
		return nil, err
	}
	if err := checkSessionToken(r, key); err != nil {
		return nil, err
	}
	signingKey := v.keys.get(signingScope{secret: key.Secret, date: auth.Date, region: auth.Region, service: auth.Service})
	want := signWithKey(signingKey, auth, t, canonicalRequest(r, auth.SignedHeaders, payloadHash))
	if !hmac.Equal([]byte(want), []byte(auth.Signature)) {
		return nil, meterd.Errorf(meterd.EInvalidSignature, msgMismatch)
	}
	return &meterd.Caller{AccountID: key.AccountID, AccessKeyID: auth.AccessKeyID, Region: auth.Region}, nil
}

// KnownKey reports whether r's Authorization header names an access key
// the store holds, without reading the body or checking the signature: the
// server bounds apart the requests that do not (awsjson.Admission). A store
// that fails to answer counts the key as known, so that an outage of the
// store does not squeeze every client into that bound.
func (v *Verifier) KnownKey(r *http.Request) bool {
	auth, err := parseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		return false
	}
	_, err = v.Credentials.AccessKey(r.Context(), auth.AccessKeyID)
	return meterd.ErrorCode(err) != meterd.ENotFound
}

// checkTime returns the signing time after checking the scope's service, the
// scope's date and the clock skew.
func (v *Verifier) checkTime(r *http.Request, auth *authorization) (time.Time, error) {
	if auth.Service != v.service() {
		return time.Time{}, meterd.Errorf(meterd.EInvalidSignature,
			"Credential should be scoped to correct service: '%s'.", v.service())
	}
	if !meterd.ValidRegion(auth.Region) {
		return time.Time{}, meterd.Errorf(meterd.EInvalidSignature,
			"Credential should be scoped to a valid region, not '%s'.", clip(auth.Region))
	}
	t, err := requestTime(r)
	if err != nil {
		return time.Time{}, err
	}
	if err := checkSkew(t, v.now(), v.maxSkew()); err != nil {
		return time.Time{}, err
	}
	if day := t.Format("20060102"); auth.Date != day {
		return time.Time{}, meterd.Errorf(meterd.EInvalidSignature,
			"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.",
			auth.Date, day, t.Format(amzDateFormat))
	}
	return t, nil
}

// checkSkew rejects a signing time more than max away from now, in AWS's words.
func checkSkew(t, now time.Time, max time.Duration) error {
	f := func(t time.Time) string { return t.UTC().Format(amzDateFormat) }
	skew := max.String()
	if max%time.Minute == 0 {
		skew = fmt.Sprintf("%d min", max/time.Minute)
	}
	if early := now.Add(-max); t.Before(early) {
		return meterd.Errorf(meterd.EInvalidSignature, "Signature expired: %s is now earlier than %s (%s - %s.)",
			f(t), f(early), f(now), skew)
	}
	if late := now.Add(max); t.After(late) {
		return meterd.Errorf(meterd.EInvalidSignature, "Signature not yet current: %s is still later than %s (%s + %s.)",
			f(t), f(late), f(now), skew)
	}
	return nil
}

// unsignedPayload is the X-Amz-Content-Sha256 value of a request whose body
// is not part of the signature; the canonical request then ends with it.
const unsignedPayload = "UNSIGNED-PAYLOAD"

// payloadHash returns the hex SHA-256 of body, which X-Amz-Content-Sha256
// must equal when the client sent it, or UNSIGNED-PAYLOAD when the client
// sent that over TLS (or over HTTP with allowUnsigned): TLS protects the body.
func payloadHash(r *http.Request, body []byte, allowUnsigned bool) (string, error) {
	got := r.Header.Get("X-Amz-Content-Sha256")
	if got == unsignedPayload {
		if r.TLS == nil && !allowUnsigned {
			return "", meterd.Errorf(meterd.EInvalidSignature,
				"The provided 'x-amz-content-sha256' header UNSIGNED-PAYLOAD is accepted only over HTTPS "+
					"(or when meterd serve runs with --allow-unsigned-payload).")
		}
		return unsignedPayload, nil
	}
	sum := sha256.Sum256(body)
	h := hex.EncodeToString(sum[:])
	if got != "" && got != h {
		return "", meterd.Errorf(meterd.EInvalidSignature,
			"The provided 'x-amz-content-sha256' header does not match what was computed.")
	}
	return h, nil
}

// accessKey looks up a key, turning ENotFound into EUnrecognizedClient.
func (v *Verifier) accessKey(ctx context.Context, id string) (*meterd.AccessKey, error) {
	key, err := v.Credentials.AccessKey(ctx, id)
	if meterd.ErrorCode(err) == meterd.ENotFound {
		return nil, meterd.Errorf(meterd.EUnrecognizedClient, msgInvalidToken)
	} else if err != nil {
		return nil, fmt.Errorf("sigv4: look up access key: %w", err)
	}
	return key, nil
}

// checkSessionToken requires a key with a session token (temporary
// credentials) to present it, and a long-term key (without one) to present
// none: a token claims credentials the key does not have.
func checkSessionToken(r *http.Request, key *meterd.AccessKey) error {
	got := r.Header.Get("X-Amz-Security-Token")
	if key.SessionToken == "" {
		if _, present := r.Header["X-Amz-Security-Token"]; present {
			return meterd.Errorf(meterd.EUnrecognizedClient, msgInvalidToken)
		}
		return nil
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(key.SessionToken)) != 1 {
		return meterd.Errorf(meterd.EUnrecognizedClient, msgInvalidToken)
	}
	return nil
}

// verifyInsecure identifies the caller without checking any signature.
func (v *Verifier) verifyInsecure(r *http.Request) (*meterd.Caller, error) {
	c := &meterd.Caller{AccountID: v.DefaultAccountID, Region: DefaultRegion}
	auth, err := parseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		return c, nil
	}
	c.AccessKeyID = auth.AccessKeyID
	if meterd.ValidRegion(auth.Region) {
		c.Region = auth.Region // else DefaultRegion: quotas bucket by a region, not any string
	}
	if v.Credentials == nil {
		return c, nil
	}
	key, err := v.Credentials.AccessKey(r.Context(), auth.AccessKeyID)
	switch {
	case err == nil:
		c.AccountID = key.AccountID
	case meterd.ErrorCode(err) != meterd.ENotFound:
		return nil, fmt.Errorf("sigv4: look up access key: %w", err)
	}
	return c, nil
}

func (v *Verifier) service() string {
	if v.Service == "" {
		return DefaultService
	}
	return v.Service
}

func (v *Verifier) maxSkew() time.Duration {
	if v.MaxSkew <= 0 {
		return DefaultMaxSkew
	}
	return v.MaxSkew
}

func (v *Verifier) now() time.Time {
	if v.Now == nil {
		return time.Now()
	}
	return v.Now()
}

// clip shortens client-supplied text echoed in messages.
func clip(s string) string {
	const max = 64
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
