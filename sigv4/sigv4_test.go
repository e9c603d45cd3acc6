package sigv4

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/meterd/meterd"
)

// TestVerifySDKSigner checks requests signed by the Go SDK's signer, which
// signs content-length and every other header present.
func TestVerifySDKSigner(t *testing.T) {
	tests := []struct {
		name   string
		url    string
		key    *meterd.AccessKey
		region string
		header http.Header // extra headers, signed too
	}{
		{name: "OK", url: "https://metering.marketplace.us-east-1.amazonaws.com/", key: sellerKey, region: "us-east-1"},
		{name: "HostWithPort", url: "http://127.0.0.1:8443/", key: sellerKey, region: "eu-west-1"},
		{name: "NoPath", url: "http://localhost:8080", key: sellerKey, region: "us-east-1"},
		{name: "BasePath", url: "http://localhost:8080/meter/v1", key: sellerKey, region: "us-east-1"},
		{name: "EscapedPath", url: "http://localhost:8080/base%20path/a+b", key: sellerKey, region: "us-east-1"},
		{name: "Query", url: "http://localhost:8080/?b=2&a=x%20y&a=1", key: sellerKey, region: "us-east-1"},
		{name: "SessionToken", url: "http://localhost:8080/", key: tempKey, region: "us-west-2"},
		{name: "MultiValueHeader", url: "http://localhost:8080/", key: sellerKey, region: "us-east-1",
			header: http.Header{"X-Custom": {"a  b ", " c"}, "Amz-Sdk-Request": {"attempt=1; max=3"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newClientRequest(t, tt.url, meterBody)
			for k, vs := range tt.header {
				r.Header[k] = vs
			}
			sdkSign(t, r, meterBody, tt.key, tt.region, signTime)
			sr, body := toServer(t, r)
			got, err := newVerifier(signTime).Verify(sr, body)
			wantCaller(t, got, err, meterd.Caller{AccountID: tt.key.AccountID, AccessKeyID: tt.key.ID, Region: tt.region})
		})
	}
}

// TestVerifyInProcess checks a request that never went through HTTP framing:
// Content-Length lives only in r.ContentLength.
func TestVerifyInProcess(t *testing.T) {
	r := newClientRequest(t, "http://localhost:8080/", meterBody)
	sdkSign(t, r, meterBody, sellerKey, "us-east-1", signTime)
	got, err := newVerifier(signTime).Verify(r, []byte(meterBody))
	wantCaller(t, got, err, meterd.Caller{AccountID: sellerKey.AccountID, AccessKeyID: sellerKey.ID, Region: "us-east-1"})
}

// TestVerifyBotocoreGolden checks raw requests captured from boto3 1.43.11
// (testdata/capture_botocore.py), which does not sign content-length.
func TestVerifyBotocoreGolden(t *testing.T) {
	tests := []struct {
		file string
		key  *meterd.AccessKey
	}{
		{"botocore-meterusage.http", botocoreKey},
		{"botocore-session-token.http", botocoreTempKey},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw, err := os.ReadFile("testdata/" + tt.file)
			if err != nil {
				t.Fatal(err)
			}
			r, body := readRaw(t, raw)
			at, err := time.Parse(amzDateFormat, r.Header.Get("X-Amz-Date"))
			if err != nil {
				t.Fatal(err)
			}
			v := newVerifier(at.Add(time.Minute))
			got, err := v.Verify(r, body)
			wantCaller(t, got, err, meterd.Caller{AccountID: tt.key.AccountID, AccessKeyID: tt.key.ID, Region: "us-west-2"})

			body[len(body)-2] = 'X' // tamper with the ClientToken
			_, err = v.Verify(r, body)
			wantCode(t, err, meterd.EInvalidSignature, msgMismatch)
		})
	}
}

// TestVerifyHandSigned checks the botocore and JS SDK signed-header sets and
// the Date header fallback, signed by independent test code.
func TestVerifyHandSigned(t *testing.T) {
	bodySum := sha256.Sum256([]byte(meterBody))
	tests := []struct {
		name   string
		header map[string]string
		signed []string
	}{
		{name: "Botocore", header: map[string]string{"X-Amz-Date": "20261123T070000Z"},
			signed: []string{"content-type", "host", "x-amz-date", "x-amz-target"}},
		{name: "JS", header: map[string]string{"X-Amz-Date": "20261123T070000Z",
			"X-Amz-Content-Sha256": hex.EncodeToString(bodySum[:]), "X-Amz-User-Agent": "aws-sdk-js/3.1138.0  ua/2.1"},
			signed: []string{"content-type", "host", "x-amz-content-sha256", "x-amz-date", "x-amz-target", "x-amz-user-agent"}},
		{name: "DateHeader", header: map[string]string{"Date": "Mon, 23 Nov 2026 07:00:00 GMT"},
			signed: []string{"content-type", "date", "host", "x-amz-target"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newClientRequest(t, "http://meterd.test:9000/", meterBody)
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			if r.Header.Get("X-Amz-Date") == "" {
				r.Header.Set("X-Amz-Date", "20261123T070000Z") // handSign reads it, then it goes
				handSign(t, r, meterBody, sellerKey, "ap-southeast-2", tt.signed...)
				r.Header.Del("X-Amz-Date")
			} else {
				handSign(t, r, meterBody, sellerKey, "ap-southeast-2", tt.signed...)
			}
			sr, body := toServer(t, r)
			got, err := newVerifier(signTime).Verify(sr, body)
			wantCaller(t, got, err, meterd.Caller{AccountID: sellerKey.AccountID, AccessKeyID: sellerKey.ID, Region: "ap-southeast-2"})
		})
	}
}

// TestVerifySkew checks the ±MaxSkew window at its boundaries.
func TestVerifySkew(t *testing.T) {
	tests := []struct {
		name string
		now  time.Time
		msg  string // "" for success
	}{
		{name: "OK", now: signTime},
		{name: "OldestAccepted", now: signTime.Add(5 * time.Minute)},
		{name: "NewestAccepted", now: signTime.Add(-5 * time.Minute)},
		{name: "Expired", now: signTime.Add(5*time.Minute + time.Second),
			msg: "Signature expired: 20261123T070000Z is now earlier than 20261123T070001Z (20261123T070501Z - 5 min.)"},
		{name: "NotYetCurrent", now: signTime.Add(-5*time.Minute - time.Second),
			msg: "Signature not yet current: 20261123T070000Z is still later than 20261123T065959Z (20261123T065459Z + 5 min.)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newClientRequest(t, "http://localhost:8080/", meterBody)
			sdkSign(t, r, meterBody, sellerKey, "us-east-1", signTime)
			sr, body := toServer(t, r)
			got, err := newVerifier(tt.now).Verify(sr, body)
			if tt.msg == "" {
				wantCaller(t, got, err, meterd.Caller{AccountID: sellerKey.AccountID, AccessKeyID: sellerKey.ID, Region: "us-east-1"})
				return
			}
			wantCode(t, err, meterd.EInvalidSignature, tt.msg)
		})
	}
}

// TestVerifyCustomSkew checks that MaxSkew replaces the default window.
func TestVerifyCustomSkew(t *testing.T) {
	r := newClientRequest(t, "http://localhost:8080/", meterBody)
	sdkSign(t, r, meterBody, sellerKey, "us-east-1", signTime)
	sr, body := toServer(t, r)
	v := newVerifier(signTime.Add(2 * time.Minute))
	v.MaxSkew = time.Minute
	_, err := v.Verify(sr, body)
	wantCode(t, err, meterd.EInvalidSignature, "(20261123T070200Z - 1 min.)")
}

// TestVerifyInsecure checks --auth none: any signature, caller from the key.
func TestVerifyInsecure(t *testing.T) {
	wrong := &meterd.AccessKey{ID: sellerKey.ID, Secret: "not-the-secret"}
	unknown := &meterd.AccessKey{ID: "AKIDUNKNOWN", Secret: "whatever"}
	tests := []struct {
		name string
		sign func(r *http.Request)
		want meterd.Caller
	}{
		{name: "WrongSecret", sign: func(r *http.Request) { sdkSign(t, r, meterBody, wrong, "eu-central-1", signTime) },
			want: meterd.Caller{AccountID: sellerKey.AccountID, AccessKeyID: sellerKey.ID, Region: "eu-central-1"}},
		{name: "UnknownKey", sign: func(r *http.Request) { sdkSign(t, r, meterBody, unknown, "eu-central-1", signTime) },
			want: meterd.Caller{AccountID: "999999999999", AccessKeyID: "AKIDUNKNOWN", Region: "eu-central-1"}},
		{name: "Expired", sign: func(r *http.Request) { sdkSign(t, r, meterBody, sellerKey, "us-west-2", signTime.Add(-time.Hour)) },
			want: meterd.Caller{AccountID: sellerKey.AccountID, AccessKeyID: sellerKey.ID, Region: "us-west-2"}},
		{name: "NoAuthorization", sign: func(r *http.Request) {},
			want: meterd.Caller{AccountID: "999999999999", Region: "us-east-1"}},
		{name: "Garbage", sign: func(r *http.Request) { r.Header.Set("Authorization", "Bearer xyz") },
			want: meterd.Caller{AccountID: "999999999999", Region: "us-east-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newClientRequest(t, "http://localhost:8080/", meterBody)
			tt.sign(r)
			sr, _ := toServer(t, r)
			v := newVerifier(signTime)
			v.Insecure, v.DefaultAccountID = true, "999999999999"
			got, err := v.Verify(sr, []byte("a different body"))
			wantCaller(t, got, err, tt.want)
		})
	}
}

// TestVerifyInsecureStoreError checks that a broken store is not mistaken
// for an unknown key.
func TestVerifyInsecureStoreError(t *testing.T) {
	r := newClientRequest(t, "http://localhost:8080/", meterBody)
	sdkSign(t, r, meterBody, sellerKey, "us-east-1", signTime)
	v := &Verifier{Credentials: &memStore{err: errBroken}, Insecure: true, DefaultAccountID: "999999999999"}
	_, err := v.Verify(r, []byte(meterBody))
	if meterd.ErrorCode(err) != meterd.EInternal {
		t.Fatalf("Verify() error = %v, want internal", err)
	}
}
