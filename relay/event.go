package relay

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/relay/wire"
)

// Event is one raw usage event, as POST /v1/events takes it (see package
// wire, which decodes them).
type Event = wire.Event

// Event statuses of a Result.
const (
	StatusAccepted  = "accepted"
	StatusDuplicate = "duplicate"
	StatusRejected  = "rejected"
)

// Result is the outcome of one event, in request order. Late is set for an
// event whose key-hour was already submitted and which was counted in the
// current hour instead (--late current-hour).
type Result struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
	Late   bool   `json:"late,omitempty"`
}

// Late policies (--late).
const (
	LateCurrentHour = "current-hour"
	LateRefuse      = "refuse"
)

// AWS limits of usage allocations.
const (
	maxTagsPerAllocation = wire.MaxTags
	maxTagKeys           = 5 // distinct keys across one record's allocations
	maxAllocations       = 2500
	maxTagKeyLen         = 128
	maxTagValueLen       = 256
	maxIDLen             = 256
	maxDimensionLen      = 255
)

// customerKey is the customer part of an event's aggregate's key.
func customerKey(e *Event) string {
	if e.CustomerIdentifier != "" {
		return e.CustomerIdentifier
	}
	return e.CustomerAWSAccountID
}

// validate checks one event against the rules that need no store: fields,
// tag limits, the products served and the window [now-window, now+skew).
func validateEvent(e *Event, now time.Time, window, skew time.Duration, products []string) error {
	switch {
	case e.ID == "":
		return fmt.Errorf("id: required")
	case len(e.ID) > maxIDLen:
		return fmt.Errorf("id: longer than %d characters", maxIDLen)
	case e.ProductCode == "":
		return fmt.Errorf("product_code: required")
	case len(products) > 0 && !slices.Contains(products, e.ProductCode):
		return fmt.Errorf("product_code: %q is not served by this relay", e.ProductCode)
	case (e.CustomerIdentifier == "") == (e.CustomerAWSAccountID == ""):
		return fmt.Errorf("give exactly one of customer_identifier and customer_aws_account_id")
	case e.CustomerAWSAccountID != "" && !isAccountID(e.CustomerAWSAccountID):
		return fmt.Errorf("customer_aws_account_id: %q is not 12 digits", e.CustomerAWSAccountID)
	case e.Dimension == "":
		return fmt.Errorf("dimension: required")
	case len(e.Dimension) > maxDimensionLen:
		return fmt.Errorf("dimension: longer than %d characters", maxDimensionLen)
	case e.Quantity == nil:
		return fmt.Errorf("quantity: required")
	case *e.Quantity < 0:
		return fmt.Errorf("quantity: %d is negative", *e.Quantity)
	case *e.Quantity > maxQuantity:
		return fmt.Errorf("quantity: %d is more than %d, the most AWS accepts in one record", *e.Quantity, maxQuantity)
	case e.Timestamp.IsZero():
		return fmt.Errorf("timestamp: required (RFC 3339)")
	case now.Sub(e.Timestamp) >= window:
		return fmt.Errorf("timestamp: %s is %s or more before the relay time %s", e.Timestamp.UTC().Format(time.RFC3339), window, now.Format(time.RFC3339))
	case e.Timestamp.Sub(now) > skew:
		return fmt.Errorf("timestamp: %s is more than %s after the relay time %s", e.Timestamp.UTC().Format(time.RFC3339), skew, now.Format(time.RFC3339))
	case len(e.Tags) > maxTagsPerAllocation:
		return fmt.Errorf("tags: %d tags, at most %d", len(e.Tags), maxTagsPerAllocation)
	}
	for k, v := range e.Tags {
		switch {
		case k == "" || len(k) > maxTagKeyLen:
			return fmt.Errorf("tags: key %q must have 1 to %d characters", k, maxTagKeyLen)
		case v == "" || len(v) > maxTagValueLen:
			return fmt.Errorf("tags: value of %q must have 1 to %d characters", k, maxTagValueLen)
		case !tagText(k) || !tagText(v):
			return fmt.Errorf("tags: %q=%q: only letters, digits and + - = . _ : \\ / @ are allowed", k, v)
		}
	}
	return nil
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// tagText reports whether s has only the characters AWS allows in tags.
func tagText(s string) bool {
	for _, c := range s {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(" +-=._:\\/@", c)
		if !ok {
			return false
		}
	}
	return true
}

// canonicalTags returns the stored form of a tag set: a JSON object with
// sorted keys, or "" for no tags, so that equal sets compare equal.
func canonicalTags(tags map[string]string) string {
	if len(tags) == 0 {
		return ""
	}
	b, _ := json.Marshal(tags) // maps marshal with sorted keys
	return string(b)
}

// parseTags is the inverse of canonicalTags, as sorted meterd tags.
func parseTags(s string) ([]meterd.Tag, error) {
	if s == "" {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, err
	}
	tags := make([]meterd.Tag, 0, len(m))
	for k, v := range m {
		tags = append(tags, meterd.Tag{Key: k, Value: v})
	}
	slices.SortFunc(tags, func(a, b meterd.Tag) int { return strings.Compare(a.Key, b.Key) })
	return tags, nil
}
