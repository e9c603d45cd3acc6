package meterd

import (
	"context"
	"time"
)

// BatchMeterUsageInput is the request of BatchMeterUsage.
type BatchMeterUsageInput struct {
	ProductCode  string
	UsageRecords []UsageRecord
}

// BatchMeterUsageOutput is the response of BatchMeterUsage.
type BatchMeterUsageOutput struct {
	Results            []UsageRecordResult
	UnprocessedRecords []UsageRecord
}

// MeterUsageInput is the request of MeterUsage.
type MeterUsageInput struct {
	ProductCode      string
	Timestamp        *time.Time
	UsageDimension   string
	UsageQuantity    *int64
	DryRun           bool
	UsageAllocations []UsageAllocation
	ClientToken      string
}

// MeterUsageOutput is the response of MeterUsage.
type MeterUsageOutput struct {
	MeteringRecordID string
}

// RegisterUsageInput is the request of RegisterUsage.
type RegisterUsageInput struct {
	ProductCode      string
	PublicKeyVersion *int64
	Nonce            string
}

// RegisterUsageOutput is the response of RegisterUsage.
// PublicKeyRotationTimestamp is set only when the version given has expired.
type RegisterUsageOutput struct {
	Signature                  string
	PublicKeyRotationTimestamp *time.Time
}

// ResolveCustomerInput is the request of ResolveCustomer.
type ResolveCustomerInput struct {
	RegistrationToken string
}

// ResolveCustomerOutput is the response of ResolveCustomer.
type ResolveCustomerOutput struct {
	CustomerIdentifier   string
	CustomerAWSAccountID string
	ProductCode          string
	LicenseArn           string
}

// MeteringService is the Metering API: the four operations, each reading the
// authenticated caller from the context (see NewContextWithCaller). Errors
// are *Error values whose codes are AWS exception names.
type MeteringService interface {
	BatchMeterUsage(ctx context.Context, in *BatchMeterUsageInput) (*BatchMeterUsageOutput, error)
	MeterUsage(ctx context.Context, in *MeterUsageInput) (*MeterUsageOutput, error)
	RegisterUsage(ctx context.Context, in *RegisterUsageInput) (*RegisterUsageOutput, error)
	ResolveCustomer(ctx context.Context, in *ResolveCustomerInput) (*ResolveCustomerOutput, error)
}

type callerKey struct{}

// NewContextWithCaller returns a context carrying the authenticated caller.
func NewContextWithCaller(ctx context.Context, c *Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFromContext returns the caller stored by NewContextWithCaller, or nil.
func CallerFromContext(ctx context.Context) *Caller {
	c, _ := ctx.Value(callerKey{}).(*Caller)
	return c
}
