package sigv4

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/meterd/meterd"
)

// TestVerifyUnsignedPayload checks X-Amz-Content-Sha256: UNSIGNED-PAYLOAD, as
// the Java SDK v2 sends it over HTTPS, signed by the Go SDK's own signer:
// accepted over TLS or with AllowUnsignedPayload, refused over plain HTTP.
func TestVerifyUnsignedPayload(t *testing.T) {
	tests := []struct {
		name          string
		tls           bool
		allowUnsigned bool
		signedHash    string // the payload hash the client signs
		body          string // body the server sees; meterBody when ""
		code, msg     string // wanted error; none when code is ""
	}{
		{name: "TLS", tls: true, signedHash: unsignedPayload},
		{name: "TLSBodyNotSigned", tls: true, signedHash: unsignedPayload,
			body: strings.Replace(meterBody, `"UsageQuantity":3`, `"UsageQuantity":4`, 1)},
		{name: "HTTPAllowed", allowUnsigned: true, signedHash: unsignedPayload},
		{name: "HTTPRefused", signedHash: unsignedPayload,
			code: meterd.EInvalidSignature, msg: "UNSIGNED-PAYLOAD is accepted only over HTTPS"},
		{name: "TLSSignedOverBodyHash", tls: true, signedHash: sha256Hex(meterBody),
			code: meterd.EInvalidSignature, msg: msgMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newClientRequest(t, "http://localhost:8080/", meterBody)
			r.Header.Set("X-Amz-Content-Sha256", unsignedPayload)
			creds := aws.Credentials{AccessKeyID: sellerKey.ID, SecretAccessKey: sellerKey.Secret}
			if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, tt.signedHash, DefaultService, "us-east-1", signTime); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(r.Header.Get("Authorization"), "x-amz-content-sha256") {
				t.Fatalf("Authorization = %q, does not sign x-amz-content-sha256", r.Header.Get("Authorization"))
			}
			sr, body := toServer(t, r)
			if tt.tls {
				sr.TLS = &tls.ConnectionState{}
			}
			if tt.body != "" {
				body = []byte(tt.body)
			}
			v := newVerifier(signTime)
			v.AllowUnsignedPayload = tt.allowUnsigned
			got, err := v.Verify(sr, body)
			if tt.code == "" {
				wantCaller(t, got, err, meterd.Caller{AccountID: sellerKey.AccountID, AccessKeyID: sellerKey.ID, Region: "us-east-1"})
				return
			}
			wantCode(t, err, tt.code, tt.msg)
		})
	}
}

// sha256Hex is the hex SHA-256 of s, a signed payload hash.
func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
