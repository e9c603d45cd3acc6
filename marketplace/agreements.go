package marketplace

import (
	"context"
	"fmt"
	"math/big"
	"regexp"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/metering"
)

// AgreementRegion is the one region the Agreement Service exists in.
const AgreementRegion = "us-east-1"

// AgreementStore is what the Agreement Service reads; meterd.Ledger
// satisfies it.
type AgreementStore interface {
	// Product returns a product. ENotFound.
	Product(ctx context.Context, code string) (*meterd.Product, error)
	// Agreement returns an agreement by id. ENotFound.
	Agreement(ctx context.Context, id string) (*meterd.Agreement, error)
	// Agreements lists the agreements matching f ordered by acceptance
	// time, then id.
	Agreements(ctx context.Context, f meterd.AgreementFilter) ([]*meterd.Agreement, error)
	// AgreementEnds lists the id, product and end time of the agreements
	// matching f.
	AgreementEnds(ctx context.Context, f meterd.AgreementFilter) ([]meterd.AgreementEnd, error)
	// CustomerByAccount returns a product's customer by AWS account id. ENotFound.
	CustomerByAccount(ctx context.Context, productCode, awsAccountID string) (*meterd.Customer, error)
	// PutRegistrationToken stores a new registration token.
	PutRegistrationToken(ctx context.Context, t *meterd.RegistrationToken) error
	// Offer returns an offer by id. ENotFound.
	Offer(ctx context.Context, id string) (*meterd.Offer, error)
	// OfferByProposal returns the offer of an agreement proposal id. ENotFound.
	OfferByProposal(ctx context.Context, proposalID string) (*meterd.Offer, error)
	// PutAgreementRequest stores a new agreement request, or returns the
	// one stored with the buyer's ClientToken.
	PutAgreementRequest(ctx context.Context, r *meterd.AgreementRequest) (*meterd.AgreementRequest, error)
	// AgreementRequest returns an agreement request by id. ENotFound.
	AgreementRequest(ctx context.Context, id string) (*meterd.AgreementRequest, error)
}

// RegistrationTokenTTL is how long a registration token that
// GetAgreementEntitlements hands the acceptor stays valid, as AWS documents.
const RegistrationTokenTTL = 30 * time.Minute

// EntitlementType is the type of an agreement's entitlements: each is the
// agreement's license.
const EntitlementType = "License"

// Agreements is the Agreement Service's reads over the store, for the
// agreement's proposer (the seller) and acceptor (the buyer) only. It
// implements meterd.AgreementService.
type Agreements struct {
	Store AgreementStore
	Clock meterd.Clock
	// Market runs the transitions the buyer asks for (CancelAgreement,
	// AcceptAgreementRequest).
	Market *Service
	// TokenKey signs the nextTokens it issues, as Entitlements.TokenKey.
	TokenKey []byte
}

var _ meterd.AgreementService = (*Agreements)(nil)

// resourceID is the model's ResourceId pattern (1 to 64 characters).
var resourceID = regexp.MustCompile(`^[A-Za-z0-9_/-]{1,64}$`)

// DescribeAgreement returns an agreement the caller proposed or accepted.
func (s *Agreements) DescribeAgreement(ctx context.Context, in *meterd.DescribeAgreementInput) (*meterd.DescribeAgreementOutput, error) {
	caller, err := agreementCaller(ctx)
	if err != nil {
		return nil, err
	}
	a, err := s.readable(ctx, caller, "agreementId", in.AgreementID)
	if err != nil {
		return nil, err
	}
	p, err := s.Store.Product(ctx, a.ProductCode)
	if err != nil {
		return nil, fmt.Errorf("marketplace: product %s of agreement %s: %w", a.ProductCode, a.ID, err)
	}
	out := view(a, p)
	out.EstimatedCharges = estimatedCharges(a)
	return out, nil
}

// view is an agreement of product p as the Agreement Service shows it,
// without its estimated charges.
func view(a *meterd.Agreement, p *meterd.Product) *meterd.DescribeAgreementOutput {
	acceptance, start := a.AcceptanceTime, a.StartTime
	return &meterd.DescribeAgreementOutput{
		AgreementID:       a.ID,
		AcceptorAccountID: a.BuyerAccountID,
		ProposerAccountID: a.SellerAccountID,
		AcceptanceTime:    &acceptance,
		StartTime:         &start,
		EndTime:           a.EndTime,
		AgreementType:     meterd.AgreementType,
		OfferID:           a.OfferID,
		Resources:         []meterd.AgreementResource{{ID: p.ID, Type: ResourceType(p.Type)}},
		Status:            a.Status,
	}
}

// GetAgreementEntitlements returns the agreement's license as the
// acceptor is provisioned with it: PROVISIONED while the agreement is active
// and started (FAILED, ACCOUNT_SUSPENDED, for a suspended customer),
// SCHEDULED before its start, DEPROVISIONED once it ended. The acceptor of a
// provisioned agreement gets a fresh registration token, valid 30 minutes,
// that ResolveCustomer accepts. An agreement has one license, so there is
// never a second page: any nextToken is refused.
func (s *Agreements) GetAgreementEntitlements(ctx context.Context, in *meterd.GetAgreementEntitlementsInput) (*meterd.GetAgreementEntitlementsOutput, error) {
	caller, err := agreementCaller(ctx)
	if err != nil {
		return nil, err
	}
	if in.MaxResults != nil && (*in.MaxResults < 1 || *in.MaxResults > maxAgreementResults) {
		return nil, validation("INVALID_MAX_RESULTS", "maxResults", "maxResults must be between 1 and %d, got %d", maxAgreementResults, *in.MaxResults)
	}
	a, err := s.readable(ctx, caller, "agreementId", in.AgreementID)
	if err != nil {
		return nil, err
	}
	if in.NextToken != "" {
		return nil, validation("INVALID_NEXT_TOKEN", "nextToken", "The nextToken is not valid: agreement %s has no further entitlements", a.ID)
	}
	p, err := s.Store.Product(ctx, a.ProductCode)
	if err != nil {
		return nil, fmt.Errorf("marketplace: product %s of agreement %s: %w", a.ProductCode, a.ID, err)
	}
	now := s.Clock.Now()
	e := meterd.AgreementEntitlement{
		Resource:   meterd.AgreementResource{ID: p.ID, Type: ResourceType(p.Type)},
		Type:       EntitlementType,
		LicenseArn: a.LicenseArn,
	}
	switch {
	case a.Status != meterd.AgreementActive:
		e.Status, e.StatusReasonCode = meterd.AgreementEntitlementDeprovisioned, meterd.ReasonAgreementInactive
	case !a.Started(now):
		e.Status, e.StatusReasonCode = meterd.AgreementEntitlementScheduled, meterd.ReasonFutureStartDate
	default:
		e.Status, e.StatusReasonCode = meterd.AgreementEntitlementProvisioned, meterd.ReasonAgreementActive
		c, err := s.Store.CustomerByAccount(ctx, a.ProductCode, a.BuyerAccountID)
		if err != nil {
			return nil, fmt.Errorf("marketplace: customer of agreement %s: %w", a.ID, err)
		}
		if c.Status == meterd.StatusSuspended {
			e.Status, e.StatusReasonCode = meterd.AgreementEntitlementFailed, meterd.ReasonAccountSuspended
		} else if caller.AccountID == a.BuyerAccountID {
			tok := metering.NewRegistrationToken(a.ProductCode, a.CustomerIdentifier, a.LicenseArn, now, RegistrationTokenTTL)
			if err := s.Store.PutRegistrationToken(ctx, tok); err != nil {
				return nil, fmt.Errorf("marketplace: registration token of agreement %s: %w", a.ID, err)
			}
			e.RegistrationToken = tok.Token
		}
	}
	return &meterd.GetAgreementEntitlementsOutput{AgreementEntitlements: []meterd.AgreementEntitlement{e}}, nil
}

// CancelAgreement cancels an ACTIVE agreement for its acceptor, the buyer
// (the transition the CLI and the admin API run: CANCELLED, with its events
// in the outbox). ConflictException when it is not ACTIVE.
func (s *Agreements) CancelAgreement(ctx context.Context, in *meterd.CancelAgreementInput) (*meterd.CancelAgreementOutput, error) {
	caller, err := agreementCaller(ctx)
	if err != nil {
		return nil, err
	}
	a, err := s.readable(ctx, caller, "agreementId", in.AgreementID)
	if err != nil {
		return nil, err
	}
	if caller.AccountID != a.BuyerAccountID {
		return nil, meterd.Errorf(meterd.EAccessDenied, "Account %s is the proposer of agreement %s: only its acceptor (%s) may cancel it", caller.AccountID, a.ID, a.BuyerAccountID)
	}
	if _, err := s.Market.Cancel(ctx, a.ID); meterd.ErrorCode(err) == meterd.EConflict {
		return nil, meterd.Errorf(meterd.EConflictAPI, "Agreement %s is not ACTIVE: only an active agreement can be cancelled", a.ID)
	} else if err != nil {
		return nil, fmt.Errorf("marketplace: cancel agreement %s: %w", a.ID, err)
	}
	return &meterd.CancelAgreementOutput{}, nil
}

// GetAgreementTerms returns the agreement's accepted terms, each with its
// id (the offer's term id) and the buyer's configuration, in the offer's
// order, paginated (maxResults 1 to 50, default 50). A nextToken is bound
// to the caller and the agreement, and signed by the server.
func (s *Agreements) GetAgreementTerms(ctx context.Context, in *meterd.GetAgreementTermsInput) (*meterd.GetAgreementTermsOutput, error) {
	caller, err := agreementCaller(ctx)
	if err != nil {
		return nil, err
	}
	limit := maxAgreementResults
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > maxAgreementResults {
			return nil, validation("INVALID_MAX_RESULTS", "maxResults", "maxResults must be between 1 and %d, got %d", maxAgreementResults, *in.MaxResults)
		}
		limit = int(*in.MaxResults)
	}
	a, err := s.readable(ctx, caller, "agreementId", in.AgreementID)
	if err != nil {
		return nil, err
	}
	// The page cursor is the index of the next term, sealed as
	// GetEntitlements' tokens are, scoped to the caller and the agreement.
	tokens := &Entitlements{TokenKey: s.TokenKey}
	scope := tokenScope(caller.AccountID, "terms "+a.ID, nil)
	from := 0
	if in.NextToken != "" {
		n, ok := tokens.openIndex(in.NextToken, scope, len(a.Terms))
		if !ok {
			return nil, validation("INVALID_NEXT_TOKEN", "nextToken", "The nextToken is not valid: pass the nextToken of the previous GetAgreementTerms call for agreement %s", a.ID)
		}
		from = n
	}
	to := min(from+limit, len(a.Terms))
	out := &meterd.GetAgreementTermsOutput{AcceptedTerms: append([]meterd.Term{}, a.Terms[from:to]...)}
	if to < len(a.Terms) {
		out.NextToken = tokens.sealIndex(scope, to)
	}
	return out, nil
}

// maxAgreementResults is the model's MaxResults bound.
const maxAgreementResults = 50

// agreementCaller returns the authenticated caller, refusing a region
// other than us-east-1.
func agreementCaller(ctx context.Context) (*meterd.Caller, error) {
	caller := meterd.CallerFromContext(ctx)
	if caller == nil {
		return nil, fmt.Errorf("marketplace: an Agreement Service call without a caller")
	}
	if caller.Region != AgreementRegion {
		return nil, meterd.Errorf(meterd.EValidation, "The Agreement Service is available only in %s, not in %s", AgreementRegion, clipEcho(caller.Region))
	}
	return caller, nil
}

// readable returns the agreement id names, when the caller is its proposer
// or acceptor. member is the request's member holding the id.
func (s *Agreements) readable(ctx context.Context, caller *meterd.Caller, member, id string) (*meterd.Agreement, error) {
	if id == "" {
		return nil, validation("MISSING_AGREEMENT_ID", member, "%s is required", member)
	}
	if !resourceID.MatchString(id) {
		return nil, validation("INVALID_AGREEMENT_ID", member, "%s must be 1 to 64 letters, digits, '_', '/' or '-'", member)
	}
	a, err := s.Store.Agreement(ctx, id)
	if meterd.ErrorCode(err) == meterd.ENotFound {
		return nil, meterd.Errorf(meterd.EResourceNotFound, "Agreement %s does not exist", id)
	} else if err != nil {
		return nil, fmt.Errorf("marketplace: agreement %s: %w", id, err)
	}
	if caller.AccountID != a.SellerAccountID && caller.AccountID != a.BuyerAccountID {
		return nil, meterd.Errorf(meterd.EAccessDenied, "Account %s is neither the proposer nor the acceptor of agreement %s: only they may read it", caller.AccountID, id)
	}
	return a, nil
}

// ResourceType is the Agreement API's resource type of a product type.
func ResourceType(productType string) string {
	switch productType {
	case meterd.ProductAMI:
		return "AmiProduct"
	case meterd.ProductContainer:
		return "ContainerProduct"
	}
	return "SaaSProduct"
}

// estimatedCharges is a contract's price times its quantities for the
// chosen duration, in the term's currency (USD when unset); nil for an
// agreement without an upfront contract term.
func estimatedCharges(a *meterd.Agreement) *meterd.EstimatedCharges {
	t, ok := a.Term(meterd.TermConfigurableUpfrontPrice)
	if !ok || t.Configuration == nil {
		return nil
	}
	var card []meterd.RateCardItem
	for _, rc := range t.RateCards {
		if rc.Duration == t.Configuration.SelectorValue {
			card = rc.RateCard
		}
	}
	total := new(big.Rat)
	for _, d := range t.Configuration.Dimensions {
		for _, item := range card {
			price, ok := new(big.Rat).SetString(item.Price)
			if item.DimensionKey == d.DimensionKey && ok {
				total.Add(total, price.Mul(price, new(big.Rat).SetInt64(d.DimensionValue)))
			}
		}
	}
	return &meterd.EstimatedCharges{CurrencyCode: or(t.CurrencyCode, "USD"), AgreementValue: total.FloatString(2)}
}

// validation is a ValidationException with the model's reason, naming the
// member at fault.
func validation(reason, member, format string, args ...any) error {
	e := meterd.Errorf(meterd.EValidation, format, args...)
	e.Reason = reason
	e.Fields = []meterd.ErrorField{{Name: member, Message: e.Message}}
	return e
}
