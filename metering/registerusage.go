package metering

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/meterd/meterd"
)

// RegisterUsage registers the calling buyer's container task or pod and
// returns a PS256 JWT, signed with the requested version of the product's
// key, that echoes ProductCode, PublicKeyVersion and Nonce.
// The entitlement and platform checks apply only to the first successful
// call from a task or pod (its access key): later ones succeed even after
// the buyer unsubscribed.
//
// Errors: ValidationException, InvalidProductCodeException,
// CustomerNotEntitledException, InvalidRegionException,
// PlatformNotSupportedException, InvalidPublicKeyVersionException.
func (s *Service) RegisterUsage(ctx context.Context, in *meterd.RegisterUsageInput) (*meterd.RegisterUsageOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := validateRegisterUsage(in); err != nil {
		return nil, err
	}
	p, cust, err := s.buyerProduct(ctx, in.ProductCode, c)
	if err != nil {
		return nil, err
	}
	if !p.RegionEnabled(c.Region) {
		return nil, meterd.Errorf(meterd.EInvalidRegion, "Product %s cannot be registered in region %s.", p.Code, c.Region)
	}
	now := s.Clock.Now()
	setting := "registered:" + p.Code + ":" + c.AccessKeyID
	registered, err := s.registered(ctx, setting)
	if err != nil {
		return nil, err
	}
	if !registered {
		if err := checkEntitlement(cust, now); err != nil {
			return nil, err
		}
	}
	key, err := s.publicKey(ctx, p.Code, *in.PublicKeyVersion)
	if err != nil {
		return nil, err
	}
	sig, err := sign(key, in, now)
	if err != nil {
		return nil, err
	}
	if !registered {
		if err := s.Ledger.PutSetting(ctx, setting, now.Format(time.RFC3339Nano)); err != nil {
			return nil, fmt.Errorf("metering: remember registration: %w", err)
		}
	}
	return &meterd.RegisterUsageOutput{Signature: sig, PublicKeyRotationTimestamp: key.RotatedAt}, nil
}

// registered reports whether the task or pod behind a setting name has
// registered before.
func (s *Service) registered(ctx context.Context, setting string) (bool, error) {
	_, err := s.Ledger.Setting(ctx, setting)
	switch meterd.ErrorCode(err) {
	case "":
		return true, nil
	case meterd.ENotFound:
		return false, nil
	}
	return false, fmt.Errorf("metering: registration setting: %w", err)
}

// checkEntitlement applies the first-call checks: an active subscription,
// then a container platform.
func checkEntitlement(cust *meterd.Customer, now time.Time) error {
	if !cust.CanMeter(now) {
		return meterd.Errorf(meterd.ECustomerNotEntitled,
			"Account %s has no active subscription to product %s.", cust.CustomerAWSAccountID, cust.ProductCode)
	}
	switch cust.Platform {
	case meterd.PlatformECS, meterd.PlatformEKS, meterd.PlatformFargate:
		return nil
	}
	return meterd.Errorf(meterd.EPlatformNotSupported,
		"RegisterUsage is supported only on Amazon ECS, Amazon EKS and AWS Fargate, not on platform %q.", cust.Platform)
}

// publicKey returns a version of a product's signing key.
func (s *Service) publicKey(ctx context.Context, code string, version int64) (*meterd.PublicKey, error) {
	keys, err := s.Ledger.PublicKeys(ctx, code)
	if err != nil {
		return nil, fmt.Errorf("metering: public keys of %q: %w", code, err)
	}
	for _, k := range keys {
		if k.Version == version {
			return k, nil
		}
	}
	return nil, meterd.Errorf(meterd.EInvalidPublicKeyVersion,
		"Public key version %d does not exist for product %s.", version, code)
}

// sign returns the RegisterUsage JWT: header alg PS256, typ JWT; claims
// ProductCode, PublicKeyVersion, Nonce and iat in epoch seconds.
func sign(key *meterd.PublicKey, in *meterd.RegisterUsageInput, now time.Time) (string, error) {
	parsed, err := x509.ParsePKCS8PrivateKey(key.PrivateKey)
	if err != nil {
		return "", fmt.Errorf("metering: private key %s v%d: %w", key.ProductCode, key.Version, err)
	}
	priv, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return "", fmt.Errorf("metering: private key %s v%d is a %T, not RSA", key.ProductCode, key.Version, parsed)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodPS256, jwt.MapClaims{
		"ProductCode":      in.ProductCode,
		"PublicKeyVersion": *in.PublicKeyVersion,
		"Nonce":            in.Nonce,
		"iat":              now.Unix(),
	})
	sig, err := tok.SignedString(priv)
	if err != nil {
		return "", fmt.Errorf("metering: sign registration: %w", err)
	}
	return sig, nil
}
