package admin

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/metering"
)

// licenseArnPattern is a loose LicenseArn check; the Metering API applies
// the model's full pattern to what callers send. It is never changed.
var licenseArnPattern = regexp.MustCompile(`^arn:aws[a-zA-Z-]*:[A-Za-z0-9:_/+=,@.-]+$`)

// Registration token lifetimes.
const (
	defaultTokenTTL = 4 * time.Hour
	maxTokenTTL     = 366 * 24 * time.Hour
)

func (s *Server) listCustomers(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p, err := s.product(ctx, r)
	if err != nil {
		return err
	}
	customers, err := s.Ledger.Customers(ctx, p.Code)
	if err != nil {
		return err
	}
	now := s.Clock.Now()
	out := []Customer{}
	for _, c := range customers {
		out = append(out, customerJSON(c, now))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) getCustomer(w http.ResponseWriter, r *http.Request) error {
	c, err := s.Ledger.Customer(r.Context(), r.PathValue("code"), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, customerJSON(c, s.Clock.Now()))
}

// subscribe subscribes a customer to a product, generating what the input
// leaves out. An existing customer (found by identifier, else by AWS
// account id) is subscribed again: a resubscribe, which also ends a pending
// unsubscribe. It answers 201 for a new customer and 200 otherwise.
func (s *Server) subscribe(w http.ResponseWriter, r *http.Request) error {
	var in SubscribeInput
	if err := readJSON(r, &in); err != nil {
		return err
	}
	if err := validateSubscribe(&in); err != nil {
		return err
	}
	ctx := r.Context()
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.product(ctx, r)
	if err != nil {
		return err
	}
	now := s.Clock.Now()
	c, err := s.existingCustomer(ctx, p.Code, &in)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if c == nil {
		status = http.StatusCreated
		c = newCustomer(p, &in, now)
	} else if err := resubscribe(c, &in, now); err != nil {
		return err
	}
	// The customer is agreement-backed: subscribing accepts the product's
	// default offer unless an agreement is active.
	if c, err = s.Market.Subscribe(ctx, c); err != nil {
		return err
	}
	return writeJSON(w, status, customerJSON(c, s.Clock.Now()))
}

// validateSubscribe checks the values given (EInvalid).
func validateSubscribe(in *SubscribeInput) error {
	if in.AWSAccountID != "" && !meterd.ValidAccountID(in.AWSAccountID) {
		return meterd.Errorf(meterd.EInvalid, "aws_account_id: an account id is 12 digits, not %q", in.AWSAccountID)
	}
	if id := in.CustomerIdentifier; id != "" && (len(id) > 255 || strings.ContainsFunc(id, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) })) {
		return meterd.Errorf(meterd.EInvalid, "customer_identifier: 1 to 255 printable characters without spaces, not %q", id)
	}
	if in.LicenseArn != "" && (len(in.LicenseArn) > 2048 || !licenseArnPattern.MatchString(in.LicenseArn)) {
		return meterd.Errorf(meterd.EInvalid, "license_arn: %q is not a license ARN", in.LicenseArn)
	}
	if in.Platform != "" && !meterd.ValidPlatform(in.Platform) {
		return meterd.Errorf(meterd.EInvalid, "platform: %q is not ec2, ecs, eks, fargate, agentcore or other", in.Platform)
	}
	return nil
}

// existingCustomer returns the customer the input names, or nil for a new
// one. EConflict when the identifier and the account id name two
// different customers.
func (s *Server) existingCustomer(ctx context.Context, code string, in *SubscribeInput) (*meterd.Customer, error) {
	var byID, byAccount *meterd.Customer
	var err error
	if in.CustomerIdentifier != "" {
		if byID, err = s.Ledger.Customer(ctx, code, in.CustomerIdentifier); meterd.ErrorCode(err) == meterd.ENotFound {
			byID = nil
		} else if err != nil {
			return nil, err
		}
	}
	if in.AWSAccountID != "" {
		if byAccount, err = s.Ledger.CustomerByAccount(ctx, code, in.AWSAccountID); meterd.ErrorCode(err) == meterd.ENotFound {
			byAccount = nil
		} else if err != nil {
			return nil, err
		}
	}
	switch {
	case byID != nil && byAccount != nil && byID.CustomerIdentifier != byAccount.CustomerIdentifier,
		byID == nil && byAccount != nil && in.CustomerIdentifier != "":
		return nil, meterd.Errorf(meterd.EConflict, "AWS account %s is already customer %s of product %s", in.AWSAccountID, byAccount.CustomerIdentifier, code)
	case byID != nil:
		return byID, nil
	}
	return byAccount, nil
}

// newCustomer builds a subscribed customer, generating missing values.
func newCustomer(p *meterd.Product, in *SubscribeInput, now time.Time) *meterd.Customer {
	c := &meterd.Customer{
		ProductCode:          p.Code,
		CustomerIdentifier:   in.CustomerIdentifier,
		CustomerAWSAccountID: in.AWSAccountID,
		LicenseArn:           in.LicenseArn,
		Status:               meterd.StatusSubscribed,
		Platform:             in.Platform,
		StatusChangedAt:      now,
		CreatedAt:            now,
	}
	if c.CustomerIdentifier == "" {
		c.CustomerIdentifier = "cust-" + randomString(alnum, 12)
	}
	if c.CustomerAWSAccountID == "" {
		// A leading non-zero digit keeps the id 12 digits wherever it is
		// read as a number.
		c.CustomerAWSAccountID = randomString("123456789", 1) + randomString(digits, 11)
	}
	if c.LicenseArn == "" {
		c.LicenseArn = fmt.Sprintf("arn:aws:license-manager::%s:license:l-%s", p.SellerAccountID, strings.ToLower(randomString(upperAlnum, 32)))
	}
	if c.Platform == "" {
		c.Platform = meterd.DefaultPlatform(p.Type)
	}
	return c
}

// resubscribe makes an existing customer subscribed again. Values given
// must match the customer's, except the platform, which may change.
func resubscribe(c *meterd.Customer, in *SubscribeInput, now time.Time) error {
	if in.AWSAccountID != "" && in.AWSAccountID != c.CustomerAWSAccountID {
		return meterd.Errorf(meterd.EConflict, "customer %s has AWS account %s, not %s", c.CustomerIdentifier, c.CustomerAWSAccountID, in.AWSAccountID)
	}
	if in.LicenseArn != "" && in.LicenseArn != c.LicenseArn {
		return meterd.Errorf(meterd.EConflict, "customer %s has license %s, not %s", c.CustomerIdentifier, c.LicenseArn, in.LicenseArn)
	}
	if in.Platform != "" {
		c.Platform = in.Platform
	}
	if c.EffectiveStatus(now) != meterd.StatusSubscribed {
		c.Status, c.StatusChangedAt = meterd.StatusSubscribed, now
	}
	return nil
}

// patchCustomer sets a customer's status, any valid one. Setting
// unsubscribe-pending starts the grace hour by the server clock; setting
// the status already in effect changes nothing.
func (s *Server) patchCustomer(w http.ResponseWriter, r *http.Request) error {
	var in CustomerPatch
	if err := readJSON(r, &in); err != nil {
		return err
	}
	if !meterd.ValidStatus(in.Status) {
		return meterd.Errorf(meterd.EInvalid, "status: %q is not subscribed, unsubscribe-pending, unsubscribed, subscribe-failed or suspended", in.Status)
	}
	ctx := r.Context()
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.Ledger.Customer(ctx, r.PathValue("code"), r.PathValue("id"))
	if err != nil {
		return err
	}
	if c.EffectiveStatus(s.Clock.Now()) != in.Status {
		if c, err = s.Market.SetStatus(ctx, c, in.Status); err != nil {
			return err
		}
	}
	return writeJSON(w, http.StatusOK, customerJSON(c, s.Clock.Now()))
}

// createToken mints a registration token that ResolveCustomer exchanges
// for the customer until it expires (by the server clock).
func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	var in TokenInput
	if err := readJSON(r, &in); err != nil {
		return err
	}
	ttl := defaultTokenTTL
	if in.TTL != "" {
		d, err := time.ParseDuration(in.TTL)
		if err != nil || d <= 0 || d > maxTokenTTL {
			return meterd.Errorf(meterd.EInvalid, "ttl: %q is not a positive duration of at most %s, such as 4h", in.TTL, maxTokenTTL)
		}
		ttl = d
	}
	if in.Customer == "" {
		return meterd.Errorf(meterd.EInvalid, "customer: the customer identifier is required")
	}
	ctx := r.Context()
	p, err := s.product(ctx, r)
	if err != nil {
		return err
	}
	if _, err := s.Ledger.Customer(ctx, p.Code, in.Customer); meterd.ErrorCode(err) == meterd.ENotFound {
		return meterd.Errorf(meterd.EInvalid, "customer: %s is not a customer of product %s", in.Customer, p.Code)
	} else if err != nil {
		return err
	}
	license := ""
	if in.Agreement != "" {
		a, err := s.Ledger.Agreement(ctx, in.Agreement)
		if meterd.ErrorCode(err) == meterd.ENotFound || err == nil && (a.ProductCode != p.Code || a.CustomerIdentifier != in.Customer) {
			return meterd.Errorf(meterd.EInvalid, "agreement: %s is not an agreement of customer %s of product %s", in.Agreement, in.Customer, p.Code)
		} else if err != nil {
			return err
		}
		license = a.LicenseArn
	}
	t := metering.NewRegistrationToken(p.Code, in.Customer, license, s.Clock.Now(), ttl)
	if err := s.Ledger.PutRegistrationToken(ctx, t); err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, Token{
		Token: t.Token, ProductCode: t.ProductCode, CustomerIdentifier: t.CustomerIdentifier, ExpiresAt: t.ExpiresAt.UTC(),
	})
}
