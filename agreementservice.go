package meterd

import (
	"context"
	"time"
)

// The Agreement Service's operations meterd serves.
const (
	OpDescribeAgreement        = "DescribeAgreement"
	OpGetAgreementEntitlements = "GetAgreementEntitlements"
	OpCancelAgreement          = "CancelAgreement"
	OpGetAgreementTerms        = "GetAgreementTerms"
	OpSearchAgreements         = "SearchAgreements"
	OpCreateAgreementRequest   = "CreateAgreementRequest"
	OpAcceptAgreementRequest   = "AcceptAgreementRequest"
)

// AgreementOperations are the Agreement Service's operations meterd
// serves, which fault rules and quotas may name.
func AgreementOperations() []string {
	return []string{OpDescribeAgreement, OpGetAgreementTerms, OpGetAgreementEntitlements, OpSearchAgreements,
		OpCreateAgreementRequest, OpAcceptAgreementRequest, OpCancelAgreement}
}

// Agreement entitlement statuses and reason codes meterd answers.
const (
	AgreementEntitlementProvisioned   = "PROVISIONED"
	AgreementEntitlementScheduled     = "SCHEDULED"
	AgreementEntitlementFailed        = "FAILED"
	AgreementEntitlementDeprovisioned = "DEPROVISIONED"

	ReasonAgreementActive   = "AGREEMENT_ACTIVE"
	ReasonFutureStartDate   = "FUTURE_START_DATE"
	ReasonAccountSuspended  = "ACCOUNT_SUSPENDED"
	ReasonAgreementInactive = "AGREEMENT_INACTIVE"
)

// AgreementUnsupportedOperations are the Agreement Service model's
// operations meterd does not serve (payment requests, billing adjustments,
// invoices, charges, cancellation requests, purchase orders): each answers
// ValidationException "not supported by meterd".
func AgreementUnsupportedOperations() []string {
	return []string{
		"AcceptAgreementCancellationRequest", "AcceptAgreementPaymentRequest",
		"BatchCreateBillingAdjustmentRequest", "CancelAgreementCancellationRequest",
		"CancelAgreementPaymentRequest", "GetAgreementCancellationRequest",
		"GetAgreementPaymentRequest", "GetBillingAdjustmentRequest",
		"ListAgreementCancellationRequests", "ListAgreementCharges",
		"ListAgreementInvoiceLineItems", "ListAgreementPaymentRequests",
		"ListBillingAdjustmentRequests", "RejectAgreementCancellationRequest",
		"RejectAgreementPaymentRequest", "SendAgreementCancellationRequest",
		"SendAgreementPaymentRequest", "UpdatePurchaseOrders",
	}
}

// Error codes of the Agreement Service beyond the shared ones.
const (
	EResourceNotFound = "ResourceNotFoundException"
	EConflictAPI      = "ConflictException"
	// EInternalServer is the Agreement Service's name for an unexpected
	// failure (HTTP 500), which the other services call EInternal.
	EInternalServer = "InternalServerException"
)

// DescribeAgreementInput is the request of DescribeAgreement.
type DescribeAgreementInput struct {
	AgreementID string
}

// AgreementResource is a resource of an agreement's proposal: the
// product's catalog id and type (SaaSProduct, AmiProduct, ContainerProduct).
type AgreementResource struct {
	ID   string
	Type string
}

// EstimatedCharges is an agreement's estimated value: the contract's price
// times its quantities, as a decimal string.
type EstimatedCharges struct {
	CurrencyCode   string
	AgreementValue string
}

// DescribeAgreementOutput is the response of DescribeAgreement.
type DescribeAgreementOutput struct {
	AgreementID       string
	AcceptorAccountID string
	ProposerAccountID string
	AcceptanceTime    *time.Time
	StartTime         *time.Time
	EndTime           *time.Time // nil for pay-as-you-go
	AgreementType     string
	EstimatedCharges  *EstimatedCharges
	OfferID           string
	Resources         []AgreementResource
	Status            string
}

// GetAgreementEntitlementsInput is the request of GetAgreementEntitlements.
type GetAgreementEntitlementsInput struct {
	AgreementID string
	MaxResults  *int64
	NextToken   string
}

// AgreementEntitlement is an agreement's license as the acceptor's account
// is provisioned with it. RegistrationToken is set for the acceptor of a
// provisioned purchase only.
type AgreementEntitlement struct {
	Resource          AgreementResource
	Type              string
	RegistrationToken string
	Status            string
	StatusReasonCode  string
	LicenseArn        string
}

// GetAgreementEntitlementsOutput is the response of
// GetAgreementEntitlements. AgreementEntitlements is never nil.
type GetAgreementEntitlementsOutput struct {
	AgreementEntitlements []AgreementEntitlement
	NextToken             string
}

// CancelAgreementInput is the request of CancelAgreement.
type CancelAgreementInput struct {
	AgreementID string
}

// CancelAgreementOutput is the (empty) response of CancelAgreement.
type CancelAgreementOutput struct{}

// GetAgreementTermsInput is the request of GetAgreementTerms.
type GetAgreementTermsInput struct {
	AgreementID string
	MaxResults  *int64
	NextToken   string
}

// GetAgreementTermsOutput is the response of GetAgreementTerms: the
// agreement's accepted terms with the buyer's configuration. AcceptedTerms
// is never nil; NextToken is set only when more follow.
type GetAgreementTermsOutput struct {
	AcceptedTerms []Term
	NextToken     string
}

// SearchAgreementsInput is the request of SearchAgreements.
type SearchAgreementsInput struct {
	Catalog    string
	Filters    []AgreementSearchFilter
	Sort       *AgreementSort
	MaxResults *int64
	NextToken  string
}

// AgreementSearchFilter is one of SearchAgreements' filters: a name (such as
// PartyType, Status, BeforeEndTime) and its values (the model allows one).
type AgreementSearchFilter struct {
	Name   string
	Values []string
}

// AgreementSort is SearchAgreements' order: SortBy EndTime (the only one
// served), SortOrder ASCENDING or DESCENDING.
type AgreementSort struct {
	SortBy    string
	SortOrder string
}

// AgreementViewSummary is an agreement as SearchAgreements lists it:
// DescribeAgreement's members but EstimatedCharges, which stays nil.
type AgreementViewSummary = DescribeAgreementOutput

// SearchAgreementsOutput is the response of SearchAgreements.
// AgreementViewSummaries is never nil; NextToken is set only when more
// follow.
type SearchAgreementsOutput struct {
	AgreementViewSummaries []AgreementViewSummary
	NextToken              string
}

// CreateAgreementRequestInput is the request of CreateAgreementRequest.
type CreateAgreementRequestInput struct {
	ClientToken                 string
	Intent                      string // NEW, AMEND, REPLACE
	AgreementProposalIdentifier string // the offer's ap- id (NEW, REPLACE)
	SourceAgreementIdentifier   string // AMEND, REPLACE
	RequestedTerms              []RequestedTerm
}

// RequestedTerm is a term the buyer accepts, by its id, with its
// configuration when the term takes one.
type RequestedTerm struct {
	ID            string
	Configuration *RequestedTermConfiguration
}

// RequestedTermConfiguration is the model's RequestedTermConfiguration
// union: Member names the one member set
// (configurableUpfrontPricingTermConfiguration: SelectorValue and
// Dimensions; renewalTermConfiguration: EnableAutoRenew;
// variablePaymentTermConfiguration, which no meterd offer takes).
type RequestedTermConfiguration struct {
	Member          string
	SelectorValue   string
	Dimensions      []DimensionValue
	EnableAutoRenew *bool
}

// The members of RequestedTermConfiguration.
const (
	ConfigUpfront         = "configurableUpfrontPricingTermConfiguration"
	ConfigRenewal         = "renewalTermConfiguration"
	ConfigVariablePayment = "variablePaymentTermConfiguration"
)

// ChargeSummary is what accepting an agreement request would charge, from
// the offer's prices: the agreement's new value, the change per contract
// dimension, and the charges expected.
type ChargeSummary struct {
	CurrencyCode      string
	NewAgreementValue string
	ItemizedCharges   []ItemizedCharge
	ExpectedCharges   []ExpectedCharge
}

// ItemizedCharge is the change of one contract dimension's quantity and
// its price.
type ItemizedCharge struct {
	DimensionKey            string
	NewQuantity             int64
	OldQuantity             int64
	IncrementalChargeAmount string
}

// ExpectedCharge is a charge accepting the request incurs: Timing
// ON_ACCEPTANCE with its Amount (a contract), or BILLING_PERIOD without one
// (usage).
type ExpectedCharge struct {
	ID     string
	Amount string
	Timing string
}

// CreateAgreementRequestOutput is the response of CreateAgreementRequest.
type CreateAgreementRequestOutput struct {
	AgreementRequestID string
	ChargeSummary      *ChargeSummary
}

// AcceptAgreementRequestInput is the request of AcceptAgreementRequest.
// Purchase orders are accepted and not kept: meterd bills nothing.
type AcceptAgreementRequestInput struct {
	AgreementRequestID string
}

// AcceptAgreementRequestOutput is the response of AcceptAgreementRequest.
type AcceptAgreementRequestOutput struct {
	AgreementID string
}

// AgreementService is the Agreement Service, reading the authenticated
// caller from the context. Errors are *Error values: EValidation,
// EAccessDenied, EResourceNotFound, EConflictAPI, EThrottling, or internal.
type AgreementService interface {
	DescribeAgreement(ctx context.Context, in *DescribeAgreementInput) (*DescribeAgreementOutput, error)
	GetAgreementEntitlements(ctx context.Context, in *GetAgreementEntitlementsInput) (*GetAgreementEntitlementsOutput, error)
	CancelAgreement(ctx context.Context, in *CancelAgreementInput) (*CancelAgreementOutput, error)
	GetAgreementTerms(ctx context.Context, in *GetAgreementTermsInput) (*GetAgreementTermsOutput, error)
	SearchAgreements(ctx context.Context, in *SearchAgreementsInput) (*SearchAgreementsOutput, error)
	CreateAgreementRequest(ctx context.Context, in *CreateAgreementRequestInput) (*CreateAgreementRequestOutput, error)
	AcceptAgreementRequest(ctx context.Context, in *AcceptAgreementRequestInput) (*AcceptAgreementRequestOutput, error)
}
