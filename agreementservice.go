package meterd

import (
	"context"
	"time"
)

// The Agreement Service's operations meterd serves.
const (
	OpDescribeAgreement = "DescribeAgreement"
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

// AgreementService is the Agreement Service, reading the authenticated
// caller from the context. Errors are *Error values: EValidation,
// EAccessDenied, EResourceNotFound, EThrottling, or internal.
type AgreementService interface {
	DescribeAgreement(ctx context.Context, in *DescribeAgreementInput) (*DescribeAgreementOutput, error)
}
