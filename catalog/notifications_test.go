package catalog_test

import (
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/catalog"
)

const notifyCatalog = `accounts:
  - id: "111122223333"
products:
  - code: p1
    seller: "111122223333"
    type: saas
    dimensions: [{name: requests}]
    customers:
      - aws_account_id: "444455556666"
notifications:
  queues:
    - {account: "111122223333", name: events}
  subscriptions:
    - {product: p1, topic: subscription, protocol: sqs, endpoint: events}
    - {product: p1, topic: entitlement, protocol: sqs, endpoint: events, raw: true, signature_version: 2}
  rules:
    - {account: "111122223333", detail_types: ["Purchase Agreement Created - Manufacturer"], target: {protocol: sqs, endpoint: events}}
`

// TestApplyNotifications: the file's queue, subscriptions and rule exist
// before its customers' agreements, so the queue gets their events; a
// second apply makes nothing twice.
func TestApplyNotifications(t *testing.T) {
	f, err := catalog.Parse([]byte(notifyCatalog))
	if err != nil {
		t.Fatal(err)
	}
	s := openStore(t)
	ctx := t.Context()
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	for range 2 {
		if err := catalog.Apply(ctx, s, f, now); err != nil {
			t.Fatal(err)
		}
	}
	qs, _ := s.Queues(ctx, "", "")
	subs, _ := s.Subscriptions(ctx, "")
	rules, _ := s.Rules(ctx)
	if len(qs) != 1 || len(subs) != 2 || len(rules) != 1 {
		t.Fatalf("after two applies: %d queues, %d subscriptions, %d rules; want 1, 2, 1", len(qs), len(subs), len(rules))
	}
	for _, sub := range subs {
		if sub.AfterSeq != 0 || !sub.Confirmed {
			t.Errorf("subscription = %+v, want confirmed and made before any event", sub)
		}
	}
	// They list in the file's order, though made at one clock instant.
	if subs[0].Raw || !subs[1].Raw || subs[1].SignatureVersion != 2 {
		t.Errorf("subscriptions = %+v, %+v, want the second raw with signature version 2", subs[0], subs[1])
	}
	events, _ := s.Events(ctx, meterd.EventFilter{ProductCode: "p1"})
	if len(events) == 0 || events[0].Seq <= rules[0].AfterSeq {
		t.Errorf("the customer's %d events are not after the rule (after_seq %d)", len(events), rules[0].AfterSeq)
	}
}

func TestNotificationErrors(t *testing.T) {
	bad := strings.NewReplacer(
		`name: events}`, `name: "bad name"}`,
		`{product: p1, topic: subscription`, `{product: nope, topic: subscription`,
		`topic: entitlement`, `topic: billing`,
		`detail_types: ["Purchase Agreement Created - Manufacturer"], target: {protocol: sqs, endpoint: events}`,
		`detail_types: ["x"], target: {protocol: sqs, endpoint: "arn:aws:sqs:us-east-1:444455556666:theirs"}`,
	).Replace(notifyCatalog)
	_, err := catalog.Parse([]byte(bad))
	if err == nil {
		t.Fatal("Parse accepted a catalog with bad notifications")
	}
	for _, want := range []string{
		"12: notifications.queues[0].name: \"bad name\" is not a queue name",
		"14: notifications.subscriptions[0].product: product \"nope\" is not in products",
		"15: notifications.subscriptions[1].topic: \"billing\" is not subscription or entitlement",
		"17: notifications.rules[0].target.endpoint: queue arn:aws:sqs:us-east-1:444455556666:theirs belongs to account 444455556666",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Parse error lacks %q:\n%v", want, err)
		}
	}
	if _, err := catalog.Parse([]byte(strings.Replace(notifyCatalog, "  rules:", "  rulez:", 1))); err == nil || !strings.Contains(err.Error(), `unknown field "rulez"`) {
		t.Errorf("unknown key: %v", err)
	}
}
