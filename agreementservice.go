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
)

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

// AgreementService is the Agreement Service, reading the authenticated
// caller from the context. Errors are *Error values: EValidation,
// EAccessDenied, EResourceNotFound, EThrottling, or internal.
type AgreementService interface {
	DescribeAgreement(ctx context.Context, in *DescribeAgreementInput) (*DescribeAgreementOutput, error)
	GetAgreementEntitlements(ctx context.Context, in *GetAgreementEntitlementsInput) (*GetAgreementEntitlementsOutput, error)
	CancelAgreement(ctx context.Context, in *CancelAgreementInput) (*CancelAgreementOutput, error)
	GetAgreementTerms(ctx context.Context, in *GetAgreementTermsInput) (*GetAgreementTermsOutput, error)
	SearchAgreements(ctx context.Context, in *SearchAgreementsInput) (*SearchAgreementsOutput, error)
}
