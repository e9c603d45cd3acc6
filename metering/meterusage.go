package metering

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/meterd/meterd"
)

// MeterUsage records one usage record of the calling buyer's instance, task
// or pod (the caller's access key stands for it). Outside AgentCore the
// timestamp is bucketed to its hour and one record is kept per product,
// resource, dimension and hour; an AgentCore caller's records are keyed by
// ClientToken and the exact timestamp instead. A ClientToken
// reused with other parameters is an IdempotencyConflictException.
//
// Errors: ValidationException, InvalidTagException,
// InvalidUsageAllocationsException, InvalidProductCodeException,
// CustomerNotEntitledException, InvalidEndpointRegionException,
// InvalidUsageDimensionException, TimestampOutOfBoundsException,
// DuplicateRequestException, IdempotencyConflictException, and
// DryRunOperation when DryRun is set and the call would have succeeded.
func (s *Service) MeterUsage(ctx context.Context, in *meterd.MeterUsageInput) (*meterd.MeterUsageOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := validateMeterUsage(in); err != nil {
		return nil, err
	}
	p, cust, err := s.buyerProduct(ctx, in.ProductCode, c)
	if err != nil {
		return nil, err
	}
	if !p.RegionEnabled(c.Region) {
		return nil, meterd.Errorf(meterd.EInvalidEndpointRegion,
			"Product %s cannot be metered in region %s.", p.Code, c.Region)
	}
	now := s.Clock.Now()
	if !cust.CanMeter(now) {
		return nil, meterd.Errorf(meterd.ECustomerNotEntitled,
			"Account %s has no active subscription to product %s.", c.AccountID, p.Code)
	}
	if _, ok := p.Dimension(in.UsageDimension); !ok {
		return nil, meterd.Errorf(meterd.EInvalidUsageDimension,
			"Dimension %s is not defined for product %s.", in.UsageDimension, p.Code)
	}
	if err := s.checkWindow(*in.Timestamp, now); err != nil {
		return nil, err
	}
	if in.DryRun {
		return nil, meterd.Errorf(meterd.EDryRunOperation, "Request would have succeeded, but DryRun flag is set.")
	}
	rec := meterRecord(in, c, cust, now)
	res, err := s.Ledger.Commit(ctx, []*meterd.MeteringRecord{rec})
	if err != nil {
		return nil, fmt.Errorf("metering: commit usage: %w", err)
	}
	if len(res) != 1 {
		return nil, fmt.Errorf("metering: commit usage: %d results for 1 record", len(res))
	}
	switch res[0].Status {
	case meterd.Committed:
		return &meterd.MeterUsageOutput{MeteringRecordID: res[0].ID}, nil
	case meterd.Duplicate:
		return nil, meterd.Errorf(meterd.EDuplicateRequest,
			"A record with a different quantity was already sent for dimension %s in this hour.", in.UsageDimension)
	case meterd.IdempotencyConflict:
		return nil, meterd.Errorf(meterd.EIdempotencyConflict,
			"ClientToken %s was already used with different parameters.", in.ClientToken)
	}
	return nil, fmt.Errorf("metering: commit usage: unexpected status %d", res[0].Status)
}

// meterRecord builds the ledger record of a MeterUsage request.
func meterRecord(in *meterd.MeterUsageInput, c *meterd.Caller, cust *meterd.Customer, now time.Time) *meterd.MeteringRecord {
	var q int64
	if in.UsageQuantity != nil {
		q = *in.UsageQuantity
	}
	ts := in.Timestamp.UTC().Truncate(time.Millisecond)
	resource, hour := c.AccessKeyID, meterd.Hour(ts)
	if cust.Platform == meterd.PlatformAgentCore {
		// AgentCore records are not rounded and not limited to one per
		// hour: each ClientToken is its own resource, in the scope of the
		// caller's account as the token itself is, so that one buyer's token
		// never names (or blocks) another buyer's record.
		resource, hour = clientTokenResource(c.AccountID, in.ClientToken), ts
		if in.ClientToken == "" {
			resource = NewRecordID()
		}
	}
	return &meterd.MeteringRecord{
		ID:                   NewRecordID(),
		Operation:            meterd.OpMeterUsage,
		ProductCode:          in.ProductCode,
		CustomerIdentifier:   cust.CustomerIdentifier,
		CustomerAWSAccountID: cust.CustomerAWSAccountID,
		LicenseArn:           cust.LicenseArn,
		Resource:             resource,
		Dimension:            in.UsageDimension,
		Hour:                 hour,
		Timestamp:            ts,
		Quantity:             q,
		Allocations:          in.UsageAllocations,
		CallerAccountID:      c.AccountID,
		CallerAccessKeyID:    c.AccessKeyID,
		ClientToken:          in.ClientToken,
		RequestHash:          requestHash(in),
		ReceivedAt:           now,
	}
}

// clientTokenResource is the record key's resource of an AgentCore record
// sent with a ClientToken: "clienttoken:<caller account>:<token>". Account
// ids are 12 digits, so no two (account, token) pairs share a resource.
// Migrations sqlite/0005 and postgres/0006 rewrote the older
// "clienttoken:<token>" resources into this form.
func clientTokenResource(account, token string) string {
	return "clienttoken:" + account + ":" + token
}

// requestHash digests every member of a MeterUsage request but ClientToken
// (and DryRun, which never reaches the ledger), with the timestamp exact to
// the millisecond and the allocations in canonical form.
func requestHash(in *meterd.MeterUsageInput) string {
	var q int64
	if in.UsageQuantity != nil {
		q = *in.UsageQuantity
	}
	b, _ := json.Marshal(struct {
		ProductCode    string
		Timestamp      int64
		UsageDimension string
		UsageQuantity  int64
		Allocations    string
	}{in.ProductCode, in.Timestamp.UnixMilli(), in.UsageDimension, q, meterd.CanonicalAllocations(in.UsageAllocations)})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
