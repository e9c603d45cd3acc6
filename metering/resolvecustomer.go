package metering

import (
	"context"
	"fmt"

	"github.com/meterd/meterd"
)

// ResolveCustomer exchanges a registration token, posted by the buyer's
// browser to the seller's fulfillment URL, for the customer it names. Only
// the seller of the token's product may resolve it; repeated resolves within
// the token's lifetime return the same answer (README, Differences from AWS).
//
// Errors: ValidationException, InvalidTokenException, DisabledApiException,
// ExpiredTokenException.
func (s *Service) ResolveCustomer(ctx context.Context, in *meterd.ResolveCustomerInput) (*meterd.ResolveCustomerOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := validateResolveCustomer(in); err != nil {
		return nil, err
	}
	invalid := meterd.Errorf(meterd.EInvalidToken, "The registration token is invalid.")
	tok, err := s.Ledger.RegistrationToken(ctx, in.RegistrationToken)
	if meterd.ErrorCode(err) == meterd.ENotFound {
		return nil, invalid
	} else if err != nil {
		return nil, fmt.Errorf("metering: registration token: %w", err)
	}
	p, err := s.product(ctx, tok.ProductCode)
	if err != nil {
		return nil, err
	}
	// A token of another seller's product is as good as unknown, so that
	// tokens cannot be probed across sellers.
	if p == nil || p.SellerAccountID != c.AccountID {
		return nil, invalid
	}
	if !p.RegionEnabled(c.Region) {
		return nil, meterd.Errorf(meterd.EDisabledAPI, "The API is not enabled for product %s in region %s.", p.Code, c.Region)
	}
	if !s.Clock.Now().Before(tok.ExpiresAt) {
		return nil, meterd.Errorf(meterd.EExpiredToken, "The registration token has expired.")
	}
	cust, err := s.Ledger.Customer(ctx, p.Code, tok.CustomerIdentifier)
	if meterd.ErrorCode(err) == meterd.ENotFound {
		return nil, invalid
	} else if err != nil {
		return nil, fmt.Errorf("metering: customer of registration token: %w", err)
	}
	license := cust.LicenseArn
	if tok.LicenseArn != "" {
		license = tok.LicenseArn // the token's agreement's, of a customer holding several
	}
	return &meterd.ResolveCustomerOutput{
		CustomerIdentifier:   cust.CustomerIdentifier,
		CustomerAWSAccountID: cust.CustomerAWSAccountID,
		ProductCode:          cust.ProductCode,
		LicenseArn:           license,
	}, nil
}
