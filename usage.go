package meterd

import (
	"cmp"
	"encoding/json"
	"slices"
	"time"
)

// Operation names, as in X-Amz-Target (AWSMPMeteringService.<Operation>).
const (
	OpBatchMeterUsage = "BatchMeterUsage"
	OpMeterUsage      = "MeterUsage"
	OpRegisterUsage   = "RegisterUsage"
	OpResolveCustomer = "ResolveCustomer"
)

// Per-record statuses of BatchMeterUsage (UsageRecordResultStatus).
const (
	StatusSuccess               = "Success"
	StatusCustomerNotSubscribed = "CustomerNotSubscribed"
	StatusDuplicateRecord       = "DuplicateRecord"
)

// Tag is a key-value pair of a usage allocation.
type Tag struct {
	Key   string
	Value string
}

// UsageAllocation assigns part of a record's quantity to a tag set. Tags is
// empty for the untagged bucket.
type UsageAllocation struct {
	AllocatedUsageQuantity *int64
	Tags                   []Tag
}

// UsageRecord is one record of a BatchMeterUsage request, as the client sent
// it; results echo it unchanged. Pointers are nil when the member was absent.
type UsageRecord struct {
	Timestamp            *time.Time
	CustomerIdentifier   string
	CustomerAWSAccountID string
	LicenseArn           string
	Dimension            string
	Quantity             *int64
	UsageAllocations     []UsageAllocation
}

// UsageRecordResult is the outcome of one BatchMeterUsage record.
type UsageRecordResult struct {
	UsageRecord      UsageRecord
	MeteringRecordID string // only for Success
	Status           string
}

// MeteringRecord is a record stored in the ledger. Its duplicate key is
// (ProductCode, Resource, Dimension, Hour): Resource is the customer
// identifier for BatchMeterUsage and the caller's access key id for
// MeterUsage (for AgentCore callers, the ClientToken, with Hour the exact
// timestamp).
type MeteringRecord struct {
	ID                   string // MeteringRecordId: random, 128-bit
	Operation            string
	ProductCode          string
	CustomerIdentifier   string
	CustomerAWSAccountID string
	LicenseArn           string
	Resource             string
	Dimension            string
	Hour                 time.Time
	Timestamp            time.Time // as sent, millisecond precision
	Quantity             int64
	Allocations          []UsageAllocation
	CallerAccountID      string
	CallerAccessKeyID    string
	ClientToken          string // MeterUsage idempotency token, scoped to CallerAccountID
	RequestHash          string // digest of every MeterUsage member but ClientToken
	ReceivedAt           time.Time
	Seq                  int64 // commit order, assigned by the store; the usage cursor
}

// SameUsage reports whether o carries the same usage as r for the same key:
// equal quantity and equal allocations. An identical retry is SameUsage.
func (r *MeteringRecord) SameUsage(o *MeteringRecord) bool {
	return r.Quantity == o.Quantity && CanonicalAllocations(r.Allocations) == CanonicalAllocations(o.Allocations)
}

// CanonicalAllocations returns a canonical JSON text of allocations, equal for
// equal allocation sets whatever their order or the order of their tags. The
// stores keep allocations in this form.
func CanonicalAllocations(allocs []UsageAllocation) string {
	if len(allocs) == 0 {
		return ""
	}
	type tag struct {
		K string `json:"k"`
		V string `json:"v"`
	}
	type alloc struct {
		Q    int64 `json:"q"`
		Tags []tag `json:"t,omitempty"`
	}
	out := make([]alloc, len(allocs))
	for i, a := range allocs {
		var q int64
		if a.AllocatedUsageQuantity != nil {
			q = *a.AllocatedUsageQuantity
		}
		tags := make([]tag, len(a.Tags))
		for j, t := range a.Tags {
			tags[j] = tag{t.Key, t.Value}
		}
		slices.SortFunc(tags, func(a, b tag) int { return cmp.Or(cmp.Compare(a.K, b.K), cmp.Compare(a.V, b.V)) })
		out[i] = alloc{q, tags}
	}
	slices.SortFunc(out, func(a, b alloc) int {
		ka, _ := json.Marshal(a.Tags)
		kb, _ := json.Marshal(b.Tags)
		return cmp.Or(cmp.Compare(string(ka), string(kb)), cmp.Compare(a.Q, b.Q))
	})
	b, _ := json.Marshal(out)
	return string(b)
}

// ParseCanonicalAllocations is the inverse of CanonicalAllocations.
func ParseCanonicalAllocations(s string) ([]UsageAllocation, error) {
	if s == "" {
		return nil, nil
	}
	var in []struct {
		Q    int64 `json:"q"`
		Tags []struct {
			K string `json:"k"`
			V string `json:"v"`
		} `json:"t"`
	}
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return nil, err
	}
	out := make([]UsageAllocation, len(in))
	for i, a := range in {
		q := a.Q
		out[i].AllocatedUsageQuantity = &q
		for _, t := range a.Tags {
			out[i].Tags = append(out[i].Tags, Tag{Key: t.K, Value: t.V})
		}
	}
	return out, nil
}

// CommitStatus is what the ledger did with one MeteringRecord.
type CommitStatus int

const (
	// Committed: the record is stored, or an identical one already was (an
	// identical retry); Result.ID is the stored MeteringRecordId.
	Committed CommitStatus = iota
	// Duplicate: another record with the same key but other usage is stored;
	// it is kept and nothing changes.
	Duplicate
	// IdempotencyConflict: the ClientToken was used before by the same
	// account with other parameters.
	IdempotencyConflict
)

// CommitResult is the outcome of one MeteringRecord given to Ledger.Commit.
type CommitResult struct {
	Status CommitStatus
	ID     string // the stored MeteringRecordId when Status is Committed
}
