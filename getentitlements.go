package meterd

import "context"

// The Entitlement Service's operation and its filter names.
const (
	OpGetEntitlements = "GetEntitlements"

	FilterCustomerIdentifier   = "CUSTOMER_IDENTIFIER"
	FilterCustomerAWSAccountID = "CUSTOMER_AWS_ACCOUNT_ID"
	FilterDimension            = "DIMENSION"
	FilterLicenseArn           = "LICENSE_ARN"
)

// GetEntitlementsInput is the request of GetEntitlements.
type GetEntitlementsInput struct {
	ProductCode string
	// Filter maps a filter name to the values it accepts: values OR'd
	// within a name, names AND'd. Nil when absent.
	Filter     map[string][]string
	NextToken  string
	MaxResults *int64
}

// GetEntitlementsOutput is the response of GetEntitlements. Entitlements is
// never nil; NextToken is set only when more follow.
type GetEntitlementsOutput struct {
	Entitlements []*Entitlement
	NextToken    string
}

// EntitlementService is the Entitlement Service, reading the authenticated
// caller from the context. Errors are *Error values: EInvalidParameter,
// EThrottling, or internal.
type EntitlementService interface {
	GetEntitlements(ctx context.Context, in *GetEntitlementsInput) (*GetEntitlementsOutput, error)
}
