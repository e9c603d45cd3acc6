package catalog

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/events"
)

// Notifications are the catalog's queues, SNS subscriptions and
// EventBridge-style rules (spec/marketplace.md §4), created before the
// products' agreements so that the events of those agreements reach them.
type Notifications struct {
	Queues        []Queue        `yaml:"queues"`
	Subscriptions []Subscription `yaml:"subscriptions"`
	Rules         []Rule         `yaml:"rules"`
}

// Queue is an SQS-compatible queue of an account.
type Queue struct {
	Account string `yaml:"account"`
	Name    string `yaml:"name"`
	line    int
}

// Subscription subscribes a queue or an http(s) endpoint to a product's
// topic (subscription or entitlement).
type Subscription struct {
	Product            string `yaml:"product"`
	Topic              string `yaml:"topic"`
	Protocol           string `yaml:"protocol"`
	Endpoint           string `yaml:"endpoint"`
	Raw                bool   `yaml:"raw"`
	SignatureVersion   int    `yaml:"signature_version"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
	line               int
}

// Rule routes the aws.agreement-marketplace events of an account whose
// detail-type is one of DetailTypes (a trailing * makes a prefix; none:
// every event) to a target.
type Rule struct {
	Account     string     `yaml:"account"`
	DetailTypes []string   `yaml:"detail_types"`
	Pattern     string     `yaml:"pattern"`
	Target      RuleTarget `yaml:"target"`
	line        int
}

// RuleTarget is where a rule's events go, with an optional static header
// for an http(s) target.
type RuleTarget struct {
	Protocol           string  `yaml:"protocol"`
	Endpoint           string  `yaml:"endpoint"`
	Header             *Header `yaml:"header"`
	InsecureSkipVerify bool    `yaml:"insecure_skip_verify"`
}

// Header is a static HTTP header.
type Header struct {
	Name  string `yaml:"name"`
	Value string `yaml:"value"`
}

func (s *Subscription) spec() events.SubscriptionSpec {
	return events.SubscriptionSpec{Product: s.Product, Topic: s.Topic, Protocol: s.Protocol, Endpoint: s.Endpoint, Raw: s.Raw,
		SignatureVersion: s.SignatureVersion, InsecureSkipVerify: s.InsecureSkipVerify}
}

func (r *Rule) spec() events.RuleSpec {
	spec := events.RuleSpec{Account: r.Account, DetailTypes: r.DetailTypes, Pattern: r.Pattern, Protocol: r.Target.Protocol,
		Endpoint: r.Target.Endpoint, InsecureSkipVerify: r.Target.InsecureSkipVerify}
	if r.Target.Header != nil {
		spec.HeaderName, spec.HeaderValue = r.Target.Header.Name, r.Target.Header.Value
	}
	return spec
}

// fieldOf turns a notification check's "field: problem" into a catalog
// error at the element's line.
func fieldOf(line int, at string, err error) error {
	field, msg, ok := strings.Cut(meterd.ErrorMessage(err), ": ")
	if !ok {
		return fieldError(line, at, "%s", meterd.ErrorMessage(err))
	}
	if field == "header" || field == "protocol" || field == "endpoint" {
		if strings.HasPrefix(at, "notifications.rules") {
			field = "target." + field
		}
	}
	return fieldError(line, at+"."+field, "%s", msg)
}

// validate checks the notifications against the file's accounts and
// products (sellers).
func (n *Notifications) validate(accounts map[string]bool, sellers map[string]string) error {
	var errs []error
	for i, q := range n.Queues {
		at := fmt.Sprintf("notifications.queues[%d]", i)
		if !accounts[q.Account] {
			errs = append(errs, fieldError(q.line, at+".account", "account %q is not in accounts", q.Account))
		}
		if q.Name == "" || len(q.Name) > 80 || strings.Trim(q.Name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "" {
			errs = append(errs, fieldError(q.line, at+".name", "%q is not a queue name (1 to 80 letters, digits, - and _)", q.Name))
		}
	}
	for i := range n.Subscriptions {
		s := &n.Subscriptions[i]
		at := fmt.Sprintf("notifications.subscriptions[%d]", i)
		seller, ok := sellers[s.Product]
		if !ok {
			errs = append(errs, fieldError(s.line, at+".product", "product %q is not in products", s.Product))
			continue
		}
		if err := s.spec().Check(seller); err != nil {
			errs = append(errs, fieldOf(s.line, at, err))
		}
	}
	for i := range n.Rules {
		r := &n.Rules[i]
		at := fmt.Sprintf("notifications.rules[%d]", i)
		if err := r.spec().Check(); err != nil {
			errs = append(errs, fieldOf(r.line, at, err))
		}
	}
	return errors.Join(errs...)
}

// fileProducts finds a product among those the file declares (the
// notifications are applied before the products are written), then in
// the store.
type fileProducts struct {
	file  *File
	store events.Products
}

func (p fileProducts) Product(ctx context.Context, code string) (*meterd.Product, error) {
	for i := range p.file.Products {
		if p.file.Products[i].Code == code {
			return &meterd.Product{Code: code, SellerAccountID: p.file.Products[i].Seller}, nil
		}
	}
	return p.store.Product(ctx, code)
}

// applyNotifications creates the file's queues, subscriptions and rules
// that do not exist yet.
func applyNotifications(ctx context.Context, l meterd.Ledger, f *File, now time.Time) error {
	n := f.Notifications
	if n == nil || len(n.Queues)+len(n.Subscriptions)+len(n.Rules) == 0 {
		return nil
	}
	st, ok := l.(events.Store)
	if !ok {
		return errors.New("catalog: notifications: this store keeps no queues or subscriptions")
	}
	notes := &events.Notifications{Store: st, Products: fileProducts{f, l}, Queues: &events.Queues{Store: st},
		Now: func() time.Time { return now }}
	for _, q := range n.Queues {
		if _, err := notes.CreateQueue(ctx, q.Account, q.Name); err != nil {
			return fmt.Errorf("catalog: queue %s: %w", q.Name, err)
		}
	}
	for i := range n.Subscriptions {
		if _, err := notes.Subscribe(ctx, n.Subscriptions[i].spec()); err != nil {
			return fmt.Errorf("catalog: subscription of %s to %s: %w", n.Subscriptions[i].Product, n.Subscriptions[i].Endpoint, err)
		}
	}
	for i := range n.Rules {
		if _, err := notes.AddRule(ctx, n.Rules[i].spec()); err != nil {
			return fmt.Errorf("catalog: rule to %s: %w", n.Rules[i].Target.Endpoint, err)
		}
	}
	return nil
}
