package meterd

import (
	"context"
	"time"
)

// SNS topics of a product (Subscription.Topic): the subscription topic
// every product has, and the entitlement topic of products with contracts.
const (
	TopicSubscription = "subscription"
	TopicEntitlement  = "entitlement"
)

// Protocols of a notification target.
const (
	ProtocolSQS   = "sqs"
	ProtocolHTTP  = "http"
	ProtocolHTTPS = "https"
)

// Subscription is a subscription to one of a product's SNS topics: where
// the topic's messages go. An sqs subscription is confirmed when made; an
// http(s) one after its endpoint confirms it (SNS's handshake).
type Subscription struct {
	ID          string `json:"id"`
	ProductCode string `json:"product_code"`
	// AccountID is the product's seller, who owns the queue of an sqs
	// subscription.
	AccountID string `json:"account"`
	Topic     string `json:"topic"`    // TopicSubscription or TopicEntitlement
	Protocol  string `json:"protocol"` // ProtocolSQS, ProtocolHTTP or ProtocolHTTPS
	// Endpoint is the URL of an http(s) subscription, or the name (or
	// ARN, or URL) of the seller's queue of an sqs one.
	Endpoint           string `json:"endpoint"`
	Raw                bool   `json:"raw,omitempty"`                  // raw message delivery: the bare message, no envelope
	SignatureVersion   int    `json:"signature_version"`              // 1 (SHA1withRSA) or 2 (SHA256withRSA)
	InsecureSkipVerify bool   `json:"insecure_skip_verify,omitempty"` // https: accept any certificate
	Confirmed          bool   `json:"confirmed"`
	// Token is the confirmation token of an http(s) subscription.
	Token string `json:"-"`
	// AfterSeq is the last outbox Seq before the subscription was
	// confirmed: only later events are delivered to it.
	AfterSeq  int64     `json:"after_seq"`
	CreatedAt time.Time `json:"created_at"`
}

// Rule is an EventBridge-style rule of a seller account: the
// aws.agreement-marketplace events matching Pattern go to its target.
type Rule struct {
	ID        string `json:"id"`
	AccountID string `json:"account"`
	// Pattern is an EventBridge event pattern (JSON) over source and
	// detail-type: exact strings and {"prefix": ...}.
	Pattern  string `json:"pattern"`
	Protocol string `json:"protocol"` // ProtocolSQS, ProtocolHTTP or ProtocolHTTPS
	Endpoint string `json:"endpoint"`
	// HeaderName and HeaderValue are a static header sent to an http(s)
	// target (a shared secret); the value is never shown.
	HeaderName         string    `json:"header_name,omitempty"`
	HeaderValue        string    `json:"-"`
	InsecureSkipVerify bool      `json:"insecure_skip_verify,omitempty"`
	AfterSeq           int64     `json:"after_seq"`
	CreatedAt          time.Time `json:"created_at"`
}

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// Delivery is one outbox event on its way to one target (a Subscription or
// a Rule, by id): its attempts, outcome and last error. Deliveries of one
// (Target, CustomerIdentifier) are made in event order.
type Delivery struct {
	ID                 int64     `json:"id"`
	EventSeq           int64     `json:"event_seq"`
	Target             string    `json:"target"`
	CustomerIdentifier string    `json:"customer_identifier"`
	Status             string    `json:"status"`
	Attempts           int       `json:"attempts"`
	LastError          string    `json:"last_error,omitempty"`
	NextAttemptAt      time.Time `json:"next_attempt_at"`
	CreatedAt          time.Time `json:"created_at"`
	UpdatedAt          time.Time `json:"updated_at"`
	// Event is the outbox row delivered, filled in by the store's reads.
	Event *Event `json:"event,omitempty"`
}

// DeliveryFilter selects deliveries; zero fields match everything.
type DeliveryFilter struct {
	Status   string
	Target   string
	EventSeq int64
	Limit    int  // 0: no limit
	Newest   bool // newest (highest id) first: with Limit, a bounded read of the last ones
}

// NotifyStore keeps the notification targets and the deliveries of the
// outbox's events to them. Every method is one store transaction. Delivery
// times are wall time (retries do not follow the server clock).
type NotifyStore interface {
	// CreateSubscription stores a new subscription. EConflict when its id
	// exists.
	CreateSubscription(ctx context.Context, s *Subscription) error
	// Subscription returns a subscription by id. ENotFound.
	Subscription(ctx context.Context, id string) (*Subscription, error)
	// Subscriptions lists a product's subscriptions ("" for every
	// product's) in the order they were made, whatever their CreatedAt.
	Subscriptions(ctx context.Context, productCode string) ([]*Subscription, error)
	// ConfirmSubscription confirms the subscription if token is its token,
	// delivering it the events after afterSeq. ENotFound when there is no
	// such subscription or the token is not its.
	ConfirmSubscription(ctx context.Context, id, token string, afterSeq int64) error
	// DeleteSubscription deletes a subscription and its pending
	// deliveries. ENotFound.
	DeleteSubscription(ctx context.Context, id string) error

	// CreateRule stores a new rule. EConflict when its id exists.
	CreateRule(ctx context.Context, r *Rule) error
	// Rules lists the rules in the order they were made, whatever their
	// CreatedAt.
	Rules(ctx context.Context) ([]*Rule, error)
	// DeleteRule deletes a rule and its pending deliveries. ENotFound.
	DeleteRule(ctx context.Context, id string) error

	// LastEventSeq returns the Seq of the newest outbox event (0 when
	// there is none).
	LastEventSeq(ctx context.Context) (int64, error)
	// UndispatchedEvents returns up to limit outbox events not dispatched
	// yet, in Seq order.
	UndispatchedEvents(ctx context.Context, limit int) ([]*Event, error)
	// AddDeliveries marks the events of seqs dispatched and stores their
	// deliveries, all or nothing: EConflict, with nothing written, when one
	// of them was already dispatched (by another process).
	AddDeliveries(ctx context.Context, seqs []int64, ds []*Delivery) error
	// LeaseDeliveries takes up to limit pending deliveries due at now that
	// no one holds, each the earliest pending one of its (Target,
	// CustomerIdentifier), in event order, and holds them for owner until
	// now+lease: processes sharing a store never hold one delivery at
	// once, and never two of one (Target, CustomerIdentifier).
	LeaseDeliveries(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]*Delivery, error)
	// FinishDeliveries stores the outcome of leased deliveries (Status,
	// Attempts, LastError, NextAttemptAt, UpdatedAt) and releases them;
	// those no longer held by owner are left alone.
	FinishDeliveries(ctx context.Context, owner string, ds []*Delivery) error
	// Deliveries lists the deliveries matching f in id (creation) order,
	// or the reverse with f.Newest.
	Deliveries(ctx context.Context, f DeliveryFilter) ([]*Delivery, error)
	// RetryDelivery makes a delivery pending again, due at now, with its
	// attempts counted from zero. ENotFound.
	RetryDelivery(ctx context.Context, id int64, now time.Time) (*Delivery, error)
}
