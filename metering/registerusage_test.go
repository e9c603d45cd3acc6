package metering

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/meterd/meterd"
)

// rotatedAt is when version 1 of the fixture's keys was replaced.
var rotatedAt = t0.Add(-24 * time.Hour)

// withKeys adds two key versions to product, version 1 rotated; it returns
// their public PEMs by version.
func (f *fixture) withKeys(t *testing.T) map[int64]string {
	t.Helper()
	pems := make(map[int64]string)
	for v := int64(1); v <= 2; v++ {
		k, err := NewPublicKey(product, v, t0)
		must(t, "NewPublicKey", err)
		if v == 1 {
			k.RotatedAt = &rotatedAt
		}
		must(t, "PutPublicKey", f.ledger.PutPublicKey(t.Context(), k))
		pems[v] = k.PublicKeyPEM
	}
	return pems
}

// register calls RegisterUsage as account with access key key.
func (f *fixture) register(t *testing.T, account, key string, version int64, nonce string) (*meterd.RegisterUsageOutput, error) {
	t.Helper()
	return f.svc.RegisterUsage(as(t, account, key, region),
		&meterd.RegisterUsageInput{ProductCode: product, PublicKeyVersion: ptr(version), Nonce: nonce})
}

// parsePublicKey parses a PEM SubjectPublicKeyInfo RSA key.
func parsePublicKey(t *testing.T, pemText string) *rsa.PublicKey {
	t.Helper()
	block, _ := pem.Decode([]byte(pemText))
	if block == nil || block.Type != "PUBLIC KEY" {
		t.Fatalf("public key PEM = %q, want a PUBLIC KEY block", pemText)
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	must(t, "ParsePKIXPublicKey", err)
	pub, ok := k.(*rsa.PublicKey)
	if !ok || pub.N.BitLen() != 2048 {
		t.Fatalf("public key = %T, want a 2048-bit RSA key", k)
	}
	return pub
}

// verifySignature checks a RegisterUsage JWT with only the public PEM: the
// raw RSA-PSS signature (SHA-256, 32-byte salt, as AWS's Java sample
// verifies), then the claims through jwt with PS256 pinned.
func verifySignature(t *testing.T, sig, pemText string, version int64, nonce string) {
	t.Helper()
	pub := parsePublicKey(t, pemText)
	parts := strings.Split(sig, ".")
	if len(parts) != 3 {
		t.Fatalf("Signature = %q, want three dot-separated parts", sig)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[2])
	must(t, "decode signature", err)
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPSS(pub, crypto.SHA256, digest[:], raw, &rsa.PSSOptions{SaltLength: 32}); err != nil {
		t.Fatalf("VerifyPSS(signature) = %v, want nil", err)
	}
	var header map[string]any
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	must(t, "decode header", err)
	must(t, "unmarshal header", json.Unmarshal(hb, &header))
	if header["alg"] != "PS256" || header["typ"] != "JWT" {
		t.Errorf("JWT header = %v, want alg PS256, typ JWT", header)
	}
	claims := jwt.MapClaims{}
	_, err = jwt.ParseWithClaims(sig, claims, func(*jwt.Token) (any, error) { return pub, nil },
		jwt.WithValidMethods([]string{"PS256"}))
	must(t, "jwt.Parse", err)
	if claims["ProductCode"] != product || claims["PublicKeyVersion"] != float64(version) ||
		claims["Nonce"] != nonce || claims["iat"] != float64(t0.Unix()) {
		t.Errorf("JWT claims = %v, want ProductCode %s, PublicKeyVersion %d, Nonce %q, iat %d", claims, product, version, nonce, t0.Unix())
	}
}

func TestRegisterUsage(t *testing.T) {
	f := newFixture(t)
	pems := f.withKeys(t)
	out, err := f.register(t, acct1, "task-1", 2, "nonce-123")
	must(t, "RegisterUsage(v2)", err)
	verifySignature(t, out.Signature, pems[2], 2, "nonce-123")
	if out.PublicKeyRotationTimestamp != nil {
		t.Errorf("RegisterUsage(v2).PublicKeyRotationTimestamp = %v, want nil for the current version", out.PublicKeyRotationTimestamp)
	}

	// A rotated version still signs, and says when it was rotated.
	out, err = f.register(t, acct1, "task-1", 1, "")
	must(t, "RegisterUsage(v1)", err)
	verifySignature(t, out.Signature, pems[1], 1, "")
	if out.PublicKeyRotationTimestamp == nil || !out.PublicKeyRotationTimestamp.Equal(rotatedAt) {
		t.Errorf("RegisterUsage(v1).PublicKeyRotationTimestamp = %v, want %v", out.PublicKeyRotationTimestamp, rotatedAt)
	}
	// The other version's key does not verify it.
	pub := parsePublicKey(t, pems[2])
	if _, err := jwt.Parse(out.Signature, func(*jwt.Token) (any, error) { return pub, nil }, jwt.WithValidMethods([]string{"PS256"})); err == nil {
		t.Errorf("jwt.Parse(v1 signature, v2 key) = nil error, want a verification failure")
	}
}

func TestRegisterUsageErrors(t *testing.T) {
	tests := []struct {
		name    string
		account string
		region  string
		in      meterd.RegisterUsageInput
		code    string
	}{
		{"ErrValidation", acct1, region, meterd.RegisterUsageInput{ProductCode: product}, meterd.EValidation},
		{"ErrInvalidProductCode", acct1, region, meterd.RegisterUsageInput{ProductCode: "nope", PublicKeyVersion: ptr(int64(1))}, meterd.EInvalidProductCode},
		{"ErrInvalidProductCodeBeforeRegion", acct1, offRegion, meterd.RegisterUsageInput{ProductCode: "nope", PublicKeyVersion: ptr(int64(1))}, meterd.EInvalidProductCode},
		{"ErrCustomerNotEntitledNotACustomer", unknownAcct, region, meterd.RegisterUsageInput{ProductCode: product, PublicKeyVersion: ptr(int64(1))}, meterd.ECustomerNotEntitled},
		{"ErrCustomerNotEntitledBeforeRegion", unknownAcct, offRegion, meterd.RegisterUsageInput{ProductCode: product, PublicKeyVersion: ptr(int64(1))}, meterd.ECustomerNotEntitled},
		{"ErrInvalidRegion", acct1, offRegion, meterd.RegisterUsageInput{ProductCode: product, PublicKeyVersion: ptr(int64(1))}, meterd.EInvalidRegion},
		{"ErrInvalidRegionBeforeUnsubscribed", acctGone, offRegion, meterd.RegisterUsageInput{ProductCode: product, PublicKeyVersion: ptr(int64(1))}, meterd.EInvalidRegion},
		{"ErrCustomerNotEntitledUnsubscribed", acctGone, region, meterd.RegisterUsageInput{ProductCode: product, PublicKeyVersion: ptr(int64(1))}, meterd.ECustomerNotEntitled},
		{"ErrCustomerNotEntitledBeforeVersion", acctGone, region, meterd.RegisterUsageInput{ProductCode: product, PublicKeyVersion: ptr(int64(9))}, meterd.ECustomerNotEntitled},
		{"ErrPlatformNotSupported", acct2, region, meterd.RegisterUsageInput{ProductCode: product, PublicKeyVersion: ptr(int64(1))}, meterd.EPlatformNotSupported},
		{"ErrPlatformNotSupportedBeforeVersion", acct2, region, meterd.RegisterUsageInput{ProductCode: product, PublicKeyVersion: ptr(int64(9))}, meterd.EPlatformNotSupported},
		{"ErrInvalidPublicKeyVersion", acct1, region, meterd.RegisterUsageInput{ProductCode: product, PublicKeyVersion: ptr(int64(3))}, meterd.EInvalidPublicKeyVersion},
	}
	f := newFixture(t)
	f.withKeys(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.RegisterUsage(as(t, tt.account, "task-"+tt.name, tt.region), &tt.in)
			wantError(t, "RegisterUsage", err, tt.code)
		})
	}
}

func TestRegisterUsageFirstCallOnly(t *testing.T) {
	f := newFixture(t)
	f.withKeys(t)
	// A failed call does not register the task.
	_, err := f.register(t, acct1, "task-1", 7, "")
	wantError(t, "RegisterUsage(unknown version)", err, meterd.EInvalidPublicKeyVersion)
	_, err = f.register(t, acct1, "task-1", 2, "")
	must(t, "RegisterUsage(first call)", err)

	c, err := f.ledger.Customer(t.Context(), product, cust1)
	must(t, "Customer", err)
	c.Status, c.StatusChangedAt = meterd.StatusUnsubscribed, t0
	must(t, "PutCustomer", f.ledger.PutCustomer(t.Context(), c))

	// The registered task goes on; a new task of the same buyer is refused.
	_, err = f.register(t, acct1, "task-1", 2, "")
	must(t, "RegisterUsage(registered task after unsubscribe)", err)
	_, err = f.register(t, acct1, "task-2", 2, "")
	wantError(t, "RegisterUsage(new task after unsubscribe)", err, meterd.ECustomerNotEntitled)
	// Validation and version errors still apply to the registered task.
	_, err = f.register(t, acct1, "task-1", 5, "")
	wantError(t, "RegisterUsage(registered task, unknown version)", err, meterd.EInvalidPublicKeyVersion)
	_, err = f.register(t, acct1, "task-1", 2, strings.Repeat("n", 256))
	wantError(t, "RegisterUsage(registered task, long nonce)", err, meterd.EValidation)
}

func TestNewPublicKey(t *testing.T) {
	k, err := NewPublicKey(product, 3, t0)
	must(t, "NewPublicKey", err)
	pub := parsePublicKey(t, k.PublicKeyPEM)
	priv, err := x509.ParsePKCS8PrivateKey(k.PrivateKey)
	must(t, "ParsePKCS8PrivateKey", err)
	rk, ok := priv.(*rsa.PrivateKey)
	if !ok || !rk.PublicKey.Equal(pub) {
		t.Errorf("NewPublicKey private key = %T, want the RSA key of the public PEM", priv)
	}
	if k.ProductCode != product || k.Version != 3 || !k.CreatedAt.Equal(t0) || k.RotatedAt != nil {
		t.Errorf("NewPublicKey = {%s v%d created %v rotated %v}, want {%s v3 created %v rotated nil}",
			k.ProductCode, k.Version, k.CreatedAt, k.RotatedAt, product, t0)
	}
}
