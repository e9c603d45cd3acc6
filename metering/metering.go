// Package metering implements the four operations of the AWS Marketplace
// Metering Service (BatchMeterUsage, MeterUsage, RegisterUsage,
// ResolveCustomer) as plain functions over a meterd.Ledger and a clock:
// validation, time windows, hour buckets, duplicate rules and subscription
// statuses. It knows nothing of HTTP or SQL.
package metering

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"time"

	"github.com/meterd/meterd"
)

// Default time limits of usage timestamps (README, Differences from AWS).
const (
	DefaultPastWindow = 6 * time.Hour
	DefaultFutureSkew = 5 * time.Minute
)

// Service implements meterd.MeteringService. The caller of each operation is
// read from the context (meterd.CallerFromContext).
type Service struct {
	Ledger meterd.Ledger
	Clock  meterd.Clock
	// PastWindow is how old a usage timestamp may be: a record is refused
	// when now - timestamp >= PastWindow, measured on the raw timestamp.
	// Zero means DefaultPastWindow.
	PastWindow time.Duration
	// FutureSkew is how far ahead a usage timestamp may be: a record is
	// refused when timestamp > now + FutureSkew. Zero means DefaultFutureSkew.
	FutureSkew time.Duration
}

var _ meterd.MeteringService = (*Service)(nil)

// caller returns the authenticated caller; a missing one is a wiring bug of
// the server, never the client's fault.
func caller(ctx context.Context) (*meterd.Caller, error) {
	c := meterd.CallerFromContext(ctx)
	if c == nil {
		return nil, meterd.Errorf(meterd.EInternal, "no authenticated caller in the request context")
	}
	return c, nil
}

// window returns the configured past window and future skew.
func (s *Service) window() (past, skew time.Duration) {
	past, skew = s.PastWindow, s.FutureSkew
	if past == 0 {
		past = DefaultPastWindow
	}
	if skew == 0 {
		skew = DefaultFutureSkew
	}
	return past, skew
}

// checkWindow returns the TimestampOutOfBoundsException of both metering
// operations when a usage timestamp is not acceptable at now: it must be
// less than the past window old and at most the future skew ahead.
func (s *Service) checkWindow(ts, now time.Time) error {
	past, skew := s.window()
	if now.Sub(ts) < past && !ts.After(now.Add(skew)) {
		return nil
	}
	return meterd.Errorf(meterd.ETimestampOutOfBounds,
		"Timestamp %s is outside the allowed window for usage records: it must be less than %s old and at most %s ahead of the server time %s.",
		ts.UTC().Format(time.RFC3339), past, skew, now.UTC().Format(time.RFC3339))
}

// product returns the product with the given code, or nil when it does not
// exist.
func (s *Service) product(ctx context.Context, code string) (*meterd.Product, error) {
	p, err := s.Ledger.Product(ctx, code)
	if meterd.ErrorCode(err) == meterd.ENotFound {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("metering: product %q: %w", code, err)
	}
	return p, nil
}

// buyerProduct returns the product a buyer operation names and the caller's
// subscription to it: InvalidProductCodeException when the product does not
// exist, CustomerNotEntitledException when the caller's account is not one
// of its customers.
func (s *Service) buyerProduct(ctx context.Context, code string, c *meterd.Caller) (*meterd.Product, *meterd.Customer, error) {
	p, err := s.product(ctx, code)
	if err != nil {
		return nil, nil, err
	} else if p == nil {
		return nil, nil, meterd.Errorf(meterd.EInvalidProductCode, "Product code %s does not exist.", code)
	}
	cust, err := s.Ledger.CustomerByAccount(ctx, p.Code, c.AccountID)
	if meterd.ErrorCode(err) == meterd.ENotFound {
		return nil, nil, meterd.Errorf(meterd.ECustomerNotEntitled,
			"Account %s is not a customer of product %s.", c.AccountID, p.Code)
	} else if err != nil {
		return nil, nil, fmt.Errorf("metering: customer of %q by account: %w", p.Code, err)
	}
	return p, cust, nil
}

// NewRecordID returns a new random 128-bit MeteringRecordId, formatted like
// a UUID (8-4-4-4-12 hexadecimal digits).
func NewRecordID() string {
	var b [16]byte
	rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// NewRegistrationToken returns a new ResolveCustomer token for a customer of
// a product, bound to the license of one of its agreements ("" for none:
// the customer's newest), valid from now for ttl. The token is 32 random
// bytes in base64url, so it cannot be guessed.
func NewRegistrationToken(productCode, customerIdentifier, licenseArn string, now time.Time, ttl time.Duration) *meterd.RegistrationToken {
	var b [32]byte
	rand.Read(b[:])
	return &meterd.RegistrationToken{
		Token:              base64.RawURLEncoding.EncodeToString(b[:]),
		ProductCode:        productCode,
		CustomerIdentifier: customerIdentifier,
		LicenseArn:         licenseArn,
		ExpiresAt:          now.Add(ttl).UTC(),
		CreatedAt:          now.UTC(),
	}
}

// NewPublicKey generates version version of a product's RegisterUsage
// signing key: an RSA-2048 pair whose private half is kept as PKCS#8 DER and
// whose public half is published as a PEM SubjectPublicKeyInfo.
func NewPublicKey(productCode string, version int64, now time.Time) (*meterd.PublicKey, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("metering: generate RSA key: %w", err)
	}
	priv, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("metering: marshal private key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("metering: marshal public key: %w", err)
	}
	return &meterd.PublicKey{
		ProductCode:  productCode,
		Version:      version,
		PrivateKey:   priv,
		PublicKeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})),
		CreatedAt:    now.UTC(),
	}, nil
}
