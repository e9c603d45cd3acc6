package meterd

import "time"

// Agreement statuses, as the Agreement API names them. meterd produces
// ACTIVE, CANCELLED, EXPIRED, RENEWED, REPLACED and TERMINATED; ARCHIVED,
// ROLLED_BACK and SUPERSEDED are valid in answers and filters only.
const (
	AgreementActive     = "ACTIVE"
	AgreementArchived   = "ARCHIVED"
	AgreementCancelled  = "CANCELLED"
	AgreementExpired    = "EXPIRED"
	AgreementRenewed    = "RENEWED"
	AgreementReplaced   = "REPLACED"
	AgreementRolledBack = "ROLLED_BACK"
	AgreementSuperseded = "SUPERSEDED"
	AgreementTerminated = "TERMINATED"
)

// ValidAgreementStatus reports whether s is an Agreement API status.
func ValidAgreementStatus(s string) bool {
	switch s {
	case AgreementActive, AgreementArchived, AgreementCancelled, AgreementExpired, AgreementRenewed,
		AgreementReplaced, AgreementRolledBack, AgreementSuperseded, AgreementTerminated:
		return true
	}
	return false
}

// Agreement intents.
const (
	IntentNew     = "NEW"
	IntentRenew   = "RENEW"
	IntentReplace = "REPLACE"
	IntentAmend   = "AMEND"
)

// AgreementType is the only agreement type meterd makes.
const AgreementType = "PurchaseAgreement"

// Agreement is a buyer's acceptance of an offer. Terms are the offer's
// terms as accepted, with the buyer's configuration; Duration, Dimensions,
// AutoRenew and Trial repeat that configuration for the rules.
type Agreement struct {
	ID                  string     `json:"id"` // agmt- + 25 letters/digits
	Status              string     `json:"status"`
	Intent              string     `json:"intent"`
	ProductCode         string     `json:"product_code"`
	ProductID           string     `json:"product_id"`
	OfferID             string     `json:"offer_id"`
	BuyerAccountID      string     `json:"buyer"`
	SellerAccountID     string     `json:"seller"`
	CustomerIdentifier  string     `json:"customer_identifier"`
	LicenseArn          string     `json:"license_arn"`
	AcceptanceTime      time.Time  `json:"acceptance_time"`
	StartTime           time.Time  `json:"start_time"`
	EndTime             *time.Time `json:"end_time"` // nil for pay-as-you-go
	PreviousAgreementID string     `json:"previous_agreement_id"`
	Terms               []Term     `json:"terms"`

	Duration   string               `json:"duration,omitempty"` // the chosen contract duration, such as P12M
	Dimensions []AgreementDimension `json:"dimensions"`         // what it entitles to: the contract quantities or the trial's grants
	AutoRenew  bool                 `json:"auto_renew"`
	Trial      bool                 `json:"trial"` // the agreement holds a free trial's terms

	// RequestKey identifies the acceptance that made the agreement (a
	// catalog entry, an agreement request, a client token), unique per
	// product, so that the same acceptance never makes two agreements;
	// empty for none.
	RequestKey string    `json:"-"`
	Version    int64     `json:"version"` // incremented by every update: the optimistic check
	EndedAt    time.Time `json:"ended_at,omitzero"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Term returns the agreement's first term of the given type.
func (a *Agreement) Term(typ string) (*Term, bool) { return findTerm(a.Terms, typ) }

// Started reports whether the agreement has started by now.
func (a *Agreement) Started(now time.Time) bool { return !now.Before(a.StartTime) }

// License is one LicenseArn of a customer: the license of an agreement
// lineage (AMEND, RENEW and REPLACE keep their source's license; NEW issues
// a new one). It is active from StartTime (its first agreement's start)
// until DeprovisionedAt plus the final-metering hour.
type License struct {
	Arn                  string     `json:"arn"`
	ProductCode          string     `json:"product_code"`
	CustomerIdentifier   string     `json:"customer_identifier"`
	CustomerAWSAccountID string     `json:"customer_aws_account_id"`
	AgreementID          string     `json:"agreement_id"` // the lineage's current agreement
	StartTime            time.Time  `json:"start_time"`
	DeprovisionedAt      *time.Time `json:"deprovisioned_at"` // nil while provisioned
	CreatedAt            time.Time  `json:"created_at"`
}

// ActiveAt reports whether usage timestamped t may be metered against the
// license: from the start of the hour it started in until one hour
// (UnsubscribeGrace) after it was deprovisioned. The hour, not the instant:
// a usage record stands for its hour, and an hourly job stamps the hour's
// start (or whole seconds, as botocore sends), so usage of the hour a buyer
// subscribed in would otherwise be refused.
func (l *License) ActiveAt(t time.Time) bool {
	if t.Before(Hour(l.StartTime)) {
		return false
	}
	return l.DeprovisionedAt == nil || t.Before(l.DeprovisionedAt.Add(UnsubscribeGrace))
}

// Entitlement is what a customer may use of a contract dimension: one per
// contract dimension of an ACTIVE, started agreement, with exactly one of
// IntegerValue (the purchased quantity) and BooleanValue (a dimension of
// value_type boolean: true for a quantity of 1 or more), expiring at the
// agreement's end.
type Entitlement struct {
	ProductCode          string     `json:"product_code"`
	Dimension            string     `json:"dimension"`
	CustomerIdentifier   string     `json:"customer_identifier"`
	CustomerAWSAccountID string     `json:"customer_aws_account_id"`
	LicenseArn           string     `json:"license_arn"`
	AgreementID          string     `json:"agreement_id"`
	IntegerValue         *int64     `json:"integer_value,omitempty"`
	BooleanValue         *bool      `json:"boolean_value,omitempty"`
	ExpirationDate       *time.Time `json:"expiration_date,omitempty"`
}

// EntitlementFilter selects a product's entitlements at a time. Values are
// OR'd within a field and the fields AND'd; an empty field matches
// everything. After is a cursor: only entitlements ordered after it.
type EntitlementFilter struct {
	ProductCode         string
	CustomerIdentifiers []string
	AWSAccountIDs       []string
	Dimensions          []string
	LicenseArns         []string
	At                  time.Time // the agreements ACTIVE and started at this time
	After               *EntitlementKey
	Limit               int // 0: no limit
}

// EntitlementKey is an entitlement's place in the order of Entitlements:
// customer, then dimension, then license.
type EntitlementKey struct {
	CustomerIdentifier string
	Dimension          string
	LicenseArn         string
}

// Key returns e's place in the order of Entitlements.
func (e *Entitlement) Key() EntitlementKey {
	return EntitlementKey{CustomerIdentifier: e.CustomerIdentifier, Dimension: e.Dimension, LicenseArn: e.LicenseArn}
}

// AgreementEnd is an agreement's id, product and end time (nil for
// pay-as-you-go): what a search sorts and filters on before it reads the
// agreements of one page.
type AgreementEnd struct {
	ID          string
	ProductCode string
	EndTime     *time.Time
}

// AgreementFilter selects agreements; zero fields match everything.
type AgreementFilter struct {
	ProductCode        string
	BuyerAccountID     string
	SellerAccountID    string
	CustomerIdentifier string
	OfferID            string
	Status             string
	LicenseArn         string
}

// Event channels: where an outbox row goes.
const (
	ChannelSubscription = "sns-subscription" // the product's SNS subscription topic
	ChannelEntitlement  = "sns-entitlement"  // the product's SNS entitlement topic
	ChannelEventBridge  = "eventbridge"      // aws.agreement-marketplace events
)

// Event is one row of the outbox: a lifecycle notification written in the
// transaction of the change it tells of. Type is the SNS action (such as
// subscribe-success) or the EventBridge detail-type; Payload is the exact
// JSON delivered: the SNS message (the envelope's Message) or the whole
// EventBridge event. Seq orders the outbox; CreatedAt is by the server
// clock.
type Event struct {
	Seq                int64     `json:"seq"`
	ID                 string    `json:"id"`
	Channel            string    `json:"channel"`
	Type               string    `json:"type"`
	ProductCode        string    `json:"product_code"`
	CustomerIdentifier string    `json:"customer_identifier"`
	AgreementID        string    `json:"agreement_id,omitempty"`
	Payload            string    `json:"payload"`
	CreatedAt          time.Time `json:"created_at"`
}

// EventFilter selects outbox rows; zero fields match everything.
type EventFilter struct {
	ProductCode string
	Type        string
	AfterSeq    int64
	Limit       int // 0: no limit
}

// Kinds of time-driven transitions (Due.Kind).
const (
	DueStart = "start" // a future-dated agreement starts (Ref: the agreement id)
	DueEnd   = "end"   // an agreement reaches its end time (Ref: the agreement id)
	DueGrace = "grace" // a customer's final-metering hour ends (Ref: product code + "/" + customer identifier)
)

// Due is a time-driven transition waiting for the server clock to reach At.
// The stores keep them (Ledger.DueTransitions), so they survive restarts.
type Due struct {
	Kind        string
	Ref         string
	ProductCode string
	At          time.Time
}

// AgreementUpdate replaces a stored agreement provided its stored Version
// is still ExpectVersion; the store then increments the version.
type AgreementUpdate struct {
	Agreement     *Agreement
	ExpectVersion int64
}

// MarketChange is everything one marketplace transition writes, applied by
// Ledger.ApplyMarketChange in one transaction: offers, new and updated
// agreements, licenses, customers (their derived status), the outbox's
// events, and the time-driven transitions added and done.
type MarketChange struct {
	Offers     []*Offer
	Insert     []*Agreement
	Update     []AgreementUpdate
	Licenses   []*License  // created or replaced, by Arn
	Customers  []*Customer // created or updated, as PutCustomer
	Events     []*Event
	Schedule   []Due // created or moved, by (Kind, Ref)
	Unschedule []Due // must exist (by Kind, Ref): the optimistic check of a time-driven transition
	Drop       []Due // removed when present (by Kind, Ref)
	// Accepted are agreement requests the change accepts, stored with
	// their AgreementID provided no change accepted them before.
	Accepted []*AgreementRequest
}

// AgreementDimension is a contract dimension an agreement entitles its
// customer to: the purchased (or granted) quantity and the dimension's
// value type, from which its Entitlement is derived.
type AgreementDimension struct {
	Name      string `json:"name"`
	Quantity  int64  `json:"quantity"`
	ValueType string `json:"value_type,omitempty"` // ValueInteger (default) or ValueBoolean
}

// Entitlement returns the entitlement the dimension gives: an IntegerValue
// of the quantity, or for a boolean dimension a BooleanValue true for a
// quantity of 1 or more.
func (d AgreementDimension) Entitlement() (integer *int64, boolean *bool) {
	if d.ValueType == ValueBoolean {
		v := d.Quantity >= 1
		return nil, &v
	}
	v := d.Quantity
	return &v, nil
}

// RoundTimes rounds the agreement's times to the millisecond, in UTC: the
// precision the stores keep.
func (a *Agreement) RoundTimes() {
	a.AcceptanceTime, a.StartTime = roundMS(a.AcceptanceTime), roundMS(a.StartTime)
	a.EndedAt, a.UpdatedAt = roundMS(a.EndedAt), roundMS(a.UpdatedAt)
	if a.EndTime != nil {
		t := roundMS(*a.EndTime)
		a.EndTime = &t
	}
}

// RoundTimes rounds the license's times to the millisecond, in UTC.
func (l *License) RoundTimes() {
	l.StartTime, l.CreatedAt = roundMS(l.StartTime), roundMS(l.CreatedAt)
	if l.DeprovisionedAt != nil {
		t := roundMS(*l.DeprovisionedAt)
		l.DeprovisionedAt = &t
	}
}

func roundMS(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Millisecond)
}
