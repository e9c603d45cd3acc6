package events

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strings"
	"time"

	"github.com/meterd/meterd"
)

// SubscriptionSpec is a subscription to one of a product's SNS topics as
// the catalog file, the CLI and the admin API give it.
type SubscriptionSpec struct {
	Product            string `json:"product"`
	Topic              string `json:"topic"`    // subscription | entitlement
	Protocol           string `json:"protocol"` // sqs | http | https
	Endpoint           string `json:"endpoint"` // a queue name (or ARN or URL) of the seller, or a URL
	Raw                bool   `json:"raw,omitempty"`
	SignatureVersion   int    `json:"signature_version,omitempty"` // 1 (default) or 2
	InsecureSkipVerify bool   `json:"insecure_skip_verify,omitempty"`
}

// RuleSpec is an EventBridge-style rule on aws.agreement-marketplace
// events: DetailTypes (exact, or a prefix ending in "*"; none: every
// detail-type) or a whole Pattern, and a target.
type RuleSpec struct {
	Account            string   `json:"account"`
	DetailTypes        []string `json:"detail_types,omitempty"`
	Pattern            string   `json:"pattern,omitempty"`
	Protocol           string   `json:"protocol"`
	Endpoint           string   `json:"endpoint"`
	HeaderName         string   `json:"header_name,omitempty"`
	HeaderValue        string   `json:"header_value,omitempty"`
	InsecureSkipVerify bool     `json:"insecure_skip_verify,omitempty"`
}

// Products finds a product (for its seller); meterd.Ledger is one.
type Products interface {
	Product(ctx context.Context, code string) (*meterd.Product, error)
}

// Notifications manages the notification targets (subscriptions, rules)
// and queues for the admin API and the catalog, over the store.
type Notifications struct {
	Store    Store
	Products Products
	Queues   *Queues
	// Dispatcher, when set, is woken after a retry and sends the
	// confirmation of new http(s) subscriptions.
	Dispatcher *Dispatcher
	// BaseURL is meterd's URL, for queue URLs.
	BaseURL string
	Now     func() time.Time // wall time; nil is time.Now
}

func (n *Notifications) now() time.Time {
	if n.Now != nil {
		return n.Now()
	}
	return time.Now().UTC()
}

func invalid(field, format string, args ...any) error {
	return meterd.Errorf(meterd.EInvalid, field+": "+format, args...)
}

// derivedID is a stable id for a rule's spec, so that declaring the same
// rule twice (a catalog applied at every start, a CLI retried) makes one.
func derivedID(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:16])
}

// checkEndpoint checks a target's protocol and endpoint; a queue must be
// owner's, so that no account receives another's events.
func checkEndpoint(protocol, endpoint, owner string) error {
	switch protocol {
	case meterd.ProtocolSQS:
		account, name := QueueOf(owner, endpoint)
		if account != owner {
			return invalid("endpoint", "queue %s belongs to account %s; only the seller's own queues (%s) receive its events", endpoint, account, owner)
		}
		if !validName(name) {
			return invalid("endpoint", "%q is not a queue name (1 to 80 letters, digits, - and _), SQS ARN or queue URL", endpoint)
		}
	case meterd.ProtocolHTTP, meterd.ProtocolHTTPS:
		u, err := url.Parse(endpoint)
		if err != nil || u.Scheme != protocol || u.Host == "" {
			return invalid("endpoint", "%q is not an %s:// URL", endpoint, protocol)
		}
	default:
		return invalid("protocol", "%q is not sqs, http or https", protocol)
	}
	return nil
}

// Check reports what is wrong with a subscription of a product whose
// seller is seller, as EInvalid "field: problem".
func (spec SubscriptionSpec) Check(seller string) error {
	if spec.Topic != meterd.TopicSubscription && spec.Topic != meterd.TopicEntitlement {
		return invalid("topic", "%q is not subscription or entitlement", spec.Topic)
	}
	if spec.SignatureVersion != 0 && spec.SignatureVersion != 1 && spec.SignatureVersion != 2 {
		return invalid("signature_version", "%d is not 1 (SHA1withRSA) or 2 (SHA256withRSA)", spec.SignatureVersion)
	}
	return checkEndpoint(spec.Protocol, spec.Endpoint, seller)
}

// Check reports what is wrong with a rule, as EInvalid "field: problem".
func (spec RuleSpec) Check() error {
	if !meterd.ValidAccountID(spec.Account) {
		return invalid("account", "%q is not a 12-digit account id", spec.Account)
	}
	if spec.Pattern != "" && len(spec.DetailTypes) > 0 {
		return invalid("pattern", "give detail_types or a pattern, not both")
	}
	if _, err := ParsePattern(spec.pattern()); err != nil {
		return meterd.Errorf(meterd.EInvalid, "%v", err)
	}
	if err := checkEndpoint(spec.Protocol, spec.Endpoint, spec.Account); err != nil {
		return err
	}
	if (spec.HeaderName == "") != (spec.HeaderValue == "") || strings.ContainsAny(spec.HeaderName, " :\r\n") || strings.ContainsAny(spec.HeaderValue, "\r\n") {
		return invalid("header", "want a header name and value (NAME=VALUE), without spaces or colons in the name")
	}
	return nil
}

func (spec RuleSpec) pattern() string {
	if spec.Pattern != "" {
		return spec.Pattern
	}
	return DetailTypePattern(spec.DetailTypes)
}

// Subscribe makes a subscription, or returns the one of the same spec
// that exists (as SNS's Subscribe does). An sqs subscription is confirmed
// at once and gets the events committed from now on; an http(s) one gets
// a SubscriptionConfirmation first.
func (n *Notifications) Subscribe(ctx context.Context, spec SubscriptionSpec) (*meterd.Subscription, error) {
	p, err := n.Products.Product(ctx, spec.Product)
	if meterd.ErrorCode(err) == meterd.ENotFound {
		return nil, invalid("product", "no product %q", spec.Product)
	} else if err != nil {
		return nil, err
	}
	if err := spec.Check(p.SellerAccountID); err != nil {
		return nil, err
	}
	if spec.SignatureVersion == 0 {
		spec.SignatureVersion = 1
	}
	existing, err := n.Store.Subscriptions(ctx, spec.Product)
	if err != nil {
		return nil, err
	}
	for _, old := range existing {
		if old.Topic == spec.Topic && old.Protocol == spec.Protocol && old.Endpoint == spec.Endpoint {
			if !old.Confirmed && n.Dispatcher != nil {
				n.Dispatcher.Reconfirm(old.ID) // as SNS resends a pending subscription's confirmation
			}
			return old, nil
		}
	}
	// A random id, as SNS's: the UnsubscribeURL, which needs no token,
	// names it, so it must not be guessable.
	id := newMessageID()
	last, err := n.Store.LastEventSeq(ctx)
	if err != nil {
		return nil, err
	}
	sub := &meterd.Subscription{ID: id, ProductCode: spec.Product, AccountID: p.SellerAccountID, Topic: spec.Topic,
		Protocol: spec.Protocol, Endpoint: spec.Endpoint, Raw: spec.Raw, SignatureVersion: spec.SignatureVersion,
		InsecureSkipVerify: spec.InsecureSkipVerify, Confirmed: spec.Protocol == meterd.ProtocolSQS, AfterSeq: last,
		CreatedAt: n.now()}
	if !sub.Confirmed {
		var b [32]byte
		rand.Read(b[:])
		sub.Token = hex.EncodeToString(b[:])
	}
	if err := n.Store.CreateSubscription(ctx, sub); err != nil {
		return nil, err
	}
	if n.Dispatcher != nil && !sub.Confirmed {
		n.Dispatcher.Wake()
	}
	return sub, nil
}

// AddRule makes a rule, or returns the one of the same spec that exists.
func (n *Notifications) AddRule(ctx context.Context, spec RuleSpec) (*meterd.Rule, error) {
	if err := spec.Check(); err != nil {
		return nil, err
	}
	pattern := spec.pattern()
	id := "rule-" + derivedID(spec.Account, pattern, spec.Protocol, spec.Endpoint, spec.HeaderName)[:20]
	for _, r := range n.rules(ctx) {
		if r.ID == id {
			return r, nil
		}
	}
	last, err := n.Store.LastEventSeq(ctx)
	if err != nil {
		return nil, err
	}
	r := &meterd.Rule{ID: id, AccountID: spec.Account, Pattern: pattern, Protocol: spec.Protocol, Endpoint: spec.Endpoint,
		HeaderName: spec.HeaderName, HeaderValue: spec.HeaderValue, InsecureSkipVerify: spec.InsecureSkipVerify,
		AfterSeq: last, CreatedAt: n.now()}
	if err := n.Store.CreateRule(ctx, r); err != nil && meterd.ErrorCode(err) != meterd.EConflict {
		return nil, err
	}
	return r, nil
}

func (n *Notifications) rules(ctx context.Context) []*meterd.Rule {
	rules, _ := n.Store.Rules(ctx)
	return rules
}

// Retry makes a delivery pending again and wakes the dispatcher.
func (n *Notifications) Retry(ctx context.Context, id int64) (*meterd.Delivery, error) {
	d, err := n.Store.RetryDelivery(ctx, id, n.now())
	if err != nil {
		return nil, err
	}
	if n.Dispatcher != nil {
		n.Dispatcher.Wake()
	}
	return d, nil
}

// as is ctx with account as the caller, for the queue operations, which
// act for the queue's owner.
func as(ctx context.Context, account string) context.Context {
	return meterd.NewContextWithCaller(ctx, &meterd.Caller{AccountID: account, Region: "us-east-1"})
}

// CreateQueue makes a queue of account (idempotent, as SQS's CreateQueue)
// and returns its URL.
func (n *Notifications) CreateQueue(ctx context.Context, account, name string) (string, error) {
	if !meterd.ValidAccountID(account) {
		return "", invalid("account", "%q is not a 12-digit account id", account)
	}
	out, err := n.Queues.CreateQueue(as(ctx, account), &CreateQueueInput{QueueName: name, Endpoint: n.BaseURL})
	if err != nil {
		return "", err
	}
	return out.QueueUrl, nil
}

// FindQueue returns the account of the queue named name: account when
// given, else the one account that has a queue of that name.
func (n *Notifications) FindQueue(ctx context.Context, account, name string) (string, error) {
	if account != "" {
		return account, nil
	}
	qs, err := n.Store.Queues(ctx, "", name)
	if err != nil {
		return "", err
	}
	var owners []string
	for _, q := range qs {
		if q.Name == name {
			owners = append(owners, q.AccountID)
		}
	}
	switch len(owners) {
	case 0:
		return "", meterd.Errorf(meterd.ENotFound, "no queue named %s", name)
	case 1:
		return owners[0], nil
	}
	return "", invalid("account", "queue %s exists in accounts %s: name one", name, strings.Join(owners, ", "))
}

// Receive long-polls the queue for up to wait and returns the messages
// received (they stay in the queue, invisible for its visibility timeout).
func (n *Notifications) Receive(ctx context.Context, account, name string, wait time.Duration) ([]Message, error) {
	w, max := int(wait/time.Second), 10
	if w < 0 || w > 20 {
		return nil, invalid("wait", "%s is not between 0s and 20s", wait)
	}
	out, err := n.Queues.ReceiveMessage(as(ctx, account), &ReceiveMessageInput{QueueUrl: QueueURL(n.BaseURL, account, name),
		WaitTimeSeconds: &w, MaxNumberOfMessages: &max, MessageSystemAttributeNames: []string{"All"}})
	if err != nil {
		return nil, err
	}
	return out.Messages, nil
}

// Purge deletes every message of the queue.
func (n *Notifications) Purge(ctx context.Context, account, name string) error {
	_, err := n.Queues.PurgeQueue(as(ctx, account), &QueueUrlInput{QueueUrl: QueueURL(n.BaseURL, account, name)})
	return err
}
