package admin

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/meterd/meterd"
)

// The JSON shapes of the admin API, shared by the server and the client.
// Times are RFC 3339 in UTC; durations are Go duration strings.

// Account is an AWS account known to meterd.
type Account struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// AccountInput creates an account.
type AccountInput struct {
	ID   string `json:"id"` // 12 digits
	Name string `json:"name,omitempty"`
}

// AccessKey is an access key of an account. Secret and SessionToken are set
// only in the answer to the request that created the key; lists never
// carry them.
type AccessKey struct {
	ID              string    `json:"id"`
	AccountID       string    `json:"account_id"`
	CreatedAt       time.Time `json:"created_at"`
	HasSessionToken bool      `json:"has_session_token"`
	Secret          string    `json:"secret,omitempty"`
	SessionToken    string    `json:"session_token,omitempty"`
}

// AccessKeyInput creates an access key. Empty ID and Secret are generated;
// an empty SessionToken means the key needs none.
type AccessKeyInput struct {
	ID           string `json:"id,omitempty"`
	Secret       string `json:"secret,omitempty"`
	SessionToken string `json:"session_token,omitempty"`
}

// AdminToken is a bearer token of the admin API. Token is set only in the
// answer to the request that created it: the server keeps its hash alone.
type AdminToken struct {
	Name      string    `json:"name"`
	Role      string    `json:"role"` // admin or read-only
	CreatedAt time.Time `json:"created_at"`
	Token     string    `json:"token,omitempty"`
}

// AdminTokenInput creates an admin token.
type AdminTokenInput struct {
	Name string `json:"name"`
	Role string `json:"role"` // admin or read-only
}

// Dimension is a pricing dimension of a product. Price is a decimal per
// unit, empty when unpriced.
type Dimension struct {
	Name  string `json:"name"`
	Unit  string `json:"unit,omitempty"`
	Price string `json:"price,omitempty"`
	// Contract marks a dimension sold by quantity in contract offers.
	Contract  bool   `json:"contract,omitempty"`
	ValueType string `json:"value_type,omitempty"` // integer (default) or boolean
}

// Product is a Marketplace product.
type Product struct {
	Code           string      `json:"code"`
	Seller         string      `json:"seller"`
	Type           string      `json:"type"`
	Regions        []string    `json:"regions,omitempty"` // empty: every region
	FulfillmentURL string      `json:"fulfillment_url,omitempty"`
	Dimensions     []Dimension `json:"dimensions"`
	CreatedAt      time.Time   `json:"created_at"`
}

// ProductInput creates a product.
type ProductInput struct {
	Code              string      `json:"code"`
	Seller            string      `json:"seller"`
	Type              string      `json:"type"` // saas, ami or container
	Regions           []string    `json:"regions,omitempty"`
	FulfillmentURL    string      `json:"fulfillment_url,omitempty"`
	Dimensions        []Dimension `json:"dimensions"`
	PublicKeyVersions int64       `json:"public_key_versions,omitempty"` // 0: 1
}

// Customer is a buyer's subscription to a product. Status is the effective
// status at the server clock's now.
type Customer struct {
	ProductCode        string    `json:"product_code"`
	CustomerIdentifier string    `json:"customer_identifier"`
	AWSAccountID       string    `json:"aws_account_id"`
	LicenseArn         string    `json:"license_arn"`
	Status             string    `json:"status"`
	Platform           string    `json:"platform"`
	StatusChangedAt    time.Time `json:"status_changed_at"`
	CreatedAt          time.Time `json:"created_at"`
}

// SubscribeInput subscribes a customer to a product; empty values are
// generated. Subscribing an existing customer resubscribes it.
type SubscribeInput struct {
	AWSAccountID       string `json:"aws_account_id,omitempty"`
	CustomerIdentifier string `json:"customer_identifier,omitempty"`
	LicenseArn         string `json:"license_arn,omitempty"`
	Platform           string `json:"platform,omitempty"`
}

// CustomerPatch changes a customer's status.
type CustomerPatch struct {
	Status string `json:"status"`
}

// TokenInput mints a registration token for ResolveCustomer.
type TokenInput struct {
	Customer string `json:"customer"`      // customer identifier
	TTL      string `json:"ttl,omitempty"` // Go duration; default 4h
	// Agreement binds the token to one of the customer's agreements:
	// ResolveCustomer answers its license rather than the newest.
	Agreement string `json:"agreement,omitempty"`
}

// Token is a registration token.
type Token struct {
	Token              string    `json:"token"`
	ProductCode        string    `json:"product_code"`
	CustomerIdentifier string    `json:"customer_identifier"`
	ExpiresAt          time.Time `json:"expires_at"`
}

// PublicKey is one version of a product's RegisterUsage signing key.
type PublicKey struct {
	Version      int64      `json:"version"`
	PublicKeyPEM string     `json:"public_key_pem"`
	CreatedAt    time.Time  `json:"created_at"`
	RotatedAt    *time.Time `json:"rotated_at,omitempty"`
}

// Tag is a key-value pair of a usage allocation.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Allocation is the part of a record's quantity assigned to a tag set.
type Allocation struct {
	Quantity int64 `json:"quantity"`
	Tags     []Tag `json:"tags"`
}

// UsageRecord is a record of the usage ledger.
type UsageRecord struct {
	ID                   string       `json:"id"`
	Operation            string       `json:"operation"`
	ProductCode          string       `json:"product_code"`
	CustomerIdentifier   string       `json:"customer_identifier"`
	CustomerAWSAccountID string       `json:"customer_aws_account_id"`
	LicenseArn           string       `json:"license_arn"`
	Dimension            string       `json:"dimension"`
	Hour                 time.Time    `json:"hour"`
	Timestamp            time.Time    `json:"timestamp"`
	Quantity             int64        `json:"quantity"`
	Allocations          []Allocation `json:"allocations"`
	CallerAccountID      string       `json:"caller_account_id"`
	ReceivedAt           time.Time    `json:"received_at"`
	Seq                  int64        `json:"seq"`
}

// UsagePage is one page of GET /admin/v1/usage. NextCursor, given as the
// next query's After, continues the listing; it is empty on the last page.
type UsagePage struct {
	Records    []UsageRecord `json:"records"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

// SummaryRow is one group of a usage summary. On the wire the group is
// named after the grouping (By): {"dimension": "requests", ...}. Amount is
// a decimal, set only when a dimension of the group has a price. Rows by
// customer are one per customer and dimension, since quantities of
// different dimensions have different units: Dimension is set for them
// alone, and follows the group on the wire.
type SummaryRow struct {
	By        string // customer, dimension, hour or tag
	Group     string
	Dimension string // by customer only
	Quantity  int64
	Records   int64
	Amount    string
}

// summaryRowWire is SummaryRow without its group.
type summaryRowWire struct {
	Quantity int64  `json:"quantity"`
	Records  int64  `json:"records"`
	Amount   string `json:"amount,omitempty"`
}

// fieldsSet lists the members of w that a row carries: quantity, records
// and, when set, amount.
func (w summaryRowWire) fieldsSet() []string {
	if w.Amount != "" {
		return []string{"quantity", "records", "amount"}
	}
	return []string{"quantity", "records"}
}

// MarshalJSON writes the group first, under the grouping's name, then the
// fields of summaryRowWire.
func (r SummaryRow) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 64+len(r.By)+len(r.Group)+len(r.Amount))
	b = append(b, '{')
	b = appendJSONString(b, r.By)
	b = append(b, ':')
	b = appendJSONString(b, r.Group)
	if r.Dimension != "" {
		b = append(b, `,"dimension":`...)
		b = appendJSONString(b, r.Dimension)
	}
	b = append(b, `,"quantity":`...)
	b = strconv.AppendInt(b, r.Quantity, 10)
	b = append(b, `,"records":`...)
	b = strconv.AppendInt(b, r.Records, 10)
	if r.Amount != "" {
		b = append(b, `,"amount":`...)
		b = appendJSONString(b, r.Amount)
	}
	return append(b, '}'), nil
}

// UnmarshalJSON reads a row; the one member other than quantity, records
// and amount is the group, and dimension beside another group is the row's
// Dimension.
func (r *SummaryRow) UnmarshalJSON(b []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return err
	}
	var w summaryRowWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*r = SummaryRow{Quantity: w.Quantity, Records: w.Records, Amount: w.Amount}
	if _, ok := fields["dimension"]; ok && len(fields) > len(w.fieldsSet())+1 {
		if err := json.Unmarshal(fields["dimension"], &r.Dimension); err != nil {
			return fmt.Errorf("summary row dimension: %w", err)
		}
		delete(fields, "dimension")
	}
	for k, v := range fields {
		switch k {
		case "quantity", "records", "amount":
			continue
		}
		r.By = k
		if err := json.Unmarshal(v, &r.Group); err != nil {
			return fmt.Errorf("summary row %s: %w", k, err)
		}
	}
	return nil
}

// ClockState is the server clock.
type ClockState = meterd.ClockState

// ClockInput moves the server clock: exactly one of Set, Advance (a Go
// duration) or Reset.
type ClockInput = meterd.ClockChange

// Conversions from the domain.

func accountJSON(a *meterd.Account) Account {
	return Account{ID: a.ID, Name: a.Name, CreatedAt: a.CreatedAt.UTC()}
}

func accessKeyJSON(k *meterd.AccessKey) AccessKey {
	return AccessKey{ID: k.ID, AccountID: k.AccountID, CreatedAt: k.CreatedAt.UTC(), HasSessionToken: k.SessionToken != ""}
}

func productJSON(p *meterd.Product) Product {
	out := Product{
		Code: p.Code, Seller: p.SellerAccountID, Type: p.Type, Regions: p.Regions,
		FulfillmentURL: p.FulfillmentURL, Dimensions: []Dimension{}, CreatedAt: p.CreatedAt.UTC(),
	}
	for _, d := range p.Dimensions {
		out.Dimensions = append(out.Dimensions, Dimension(d))
	}
	return out
}

// customerJSON shows the status in effect at now: an unsubscribe-pending
// customer whose grace hour has passed is unsubscribed since its end.
func customerJSON(c *meterd.Customer, now time.Time) Customer {
	out := Customer{
		ProductCode: c.ProductCode, CustomerIdentifier: c.CustomerIdentifier, AWSAccountID: c.CustomerAWSAccountID,
		LicenseArn: c.LicenseArn, Status: c.EffectiveStatus(now), Platform: c.Platform,
		StatusChangedAt: c.StatusChangedAt.UTC(), CreatedAt: c.CreatedAt.UTC(),
	}
	if out.Status != c.Status {
		out.StatusChangedAt = out.StatusChangedAt.Add(meterd.UnsubscribeGrace)
	}
	return out
}

func publicKeyJSON(k *meterd.PublicKey) PublicKey {
	out := PublicKey{Version: k.Version, PublicKeyPEM: k.PublicKeyPEM, CreatedAt: k.CreatedAt.UTC()}
	if k.RotatedAt != nil {
		t := k.RotatedAt.UTC()
		out.RotatedAt = &t
	}
	return out
}

func usageRecordJSON(r *meterd.MeteringRecord) UsageRecord {
	out := UsageRecord{
		ID: r.ID, Operation: r.Operation, ProductCode: r.ProductCode, CustomerIdentifier: r.CustomerIdentifier,
		CustomerAWSAccountID: r.CustomerAWSAccountID, LicenseArn: r.LicenseArn, Dimension: r.Dimension,
		Hour: r.Hour.UTC(), Timestamp: r.Timestamp.UTC(), Quantity: r.Quantity, Allocations: []Allocation{},
		CallerAccountID: r.CallerAccountID, ReceivedAt: r.ReceivedAt.UTC(), Seq: r.Seq,
	}
	for _, a := range r.Allocations {
		al := Allocation{Tags: []Tag{}}
		if a.AllocatedUsageQuantity != nil {
			al.Quantity = *a.AllocatedUsageQuantity
		}
		for _, t := range a.Tags {
			al.Tags = append(al.Tags, Tag(t))
		}
		out.Allocations = append(out.Allocations, al)
	}
	return out
}

// TopCustomer is a customer with its records and their quantity in a
// month, summed over its dimensions.
type TopCustomer struct {
	Product  string `json:"product"`
	Customer string `json:"customer"`
	Records  int64  `json:"records"`
	Quantity int64  `json:"quantity"`
}

// Rollups is how far the rollups trail the ledger: every record up to
// Watermark (a seq) is in them, and the Behind records after it (about
// LastSeq - Watermark) are read from the ledger itself by each summary,
// unless its TailLimit bounds them.
type Rollups struct {
	Watermark int64 `json:"watermark"`
	LastSeq   int64 `json:"last_seq"`
	Behind    int64 `json:"behind"`
}
