package main

// The notification nouns: queues, subscriptions, rules and deliveries.

import (
	"context"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/events"
)

// runQueues runs meterd queues: the SQS-compatible queues the server
// serves, which subscriptions and rules deliver to.
func runQueues(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runNoun(ctx, noun{
		name:    "queues",
		summary: "the SQS-compatible queues (AWS_ENDPOINT_URL_SQS) that notifications go to",
		verbs: []verb{
			{"list", "[--account A]", "list the queues with their URLs and message counts", queuesList},
			{"create", "--account A --name N", "create a queue of an account (idempotent)", queuesCreate},
			{"receive", "N [--account A] [--wait 20s]", "receive up to 10 messages (they stay in the queue, invisible for its visibility timeout)", queuesReceive},
			{"purge", "N [--account A]", "delete every message of a queue", queuesPurge},
		},
	}, args, stdout, stderr)
}

func queuesList(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Lists the queues, with their URLs and how many messages are visible and in flight.")
	account := fs.String("account", "", "only this account's queues")
	client, err := c.connect(fs, args)
	if err != nil {
		return err
	}
	qs, err := client.Queues(ctx, *account)
	if err != nil {
		return err
	}
	t := &table{header: []string{"account", "name", "url", "visible", "in_flight"}}
	for _, q := range qs {
		t.add(q.Account, q.Name, q.URL, strconv.Itoa(q.Visible), strconv.Itoa(q.InFlight))
	}
	return c.print(qs, t)
}

func queuesCreate(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Creates a queue owned by --account (a seller account), or returns the one that exists.")
	var in admin.QueueInput
	fs.StringVar(&in.Account, "account", "", "owner account, 12 digits (required)")
	fs.StringVar(&in.Name, "name", "", "queue name: 1 to 80 letters, digits, - and _ (required)")
	client, err := c.connect(fs, args, "account", "name")
	if err != nil {
		return err
	}
	q, err := client.CreateQueue(ctx, in)
	if err != nil {
		return err
	}
	t := &table{header: []string{"account", "name", "url"}}
	t.add(q.Account, q.Name, q.URL)
	return c.print(q, t)
}

func queuesReceive(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Receives up to 10 messages of queue N, waiting up to --wait for one. The messages stay\n" +
		"in the queue, invisible for its visibility timeout, as after an SQS ReceiveMessage.")
	account := fs.String("account", "", "the queue's account, when several accounts have a queue named N")
	wait := fs.Duration("wait", 0, "long poll: wait up to this long (at most 20s) for a message")
	pos, err := c.parse(fs, args, 1)
	if err != nil {
		return err
	}
	client, err := c.client()
	if err != nil {
		return err
	}
	msgs, err := client.ReceiveQueue(ctx, *account, pos[0], *wait)
	if err != nil {
		return err
	}
	t := &table{header: []string{"message_id", "receive_count", "body"}}
	for _, m := range msgs {
		t.add(m.MessageId, m.Attributes["ApproximateReceiveCount"], m.Body)
	}
	return c.print(msgs, t)
}

func queuesPurge(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Deletes every message of queue N.")
	account := fs.String("account", "", "the queue's account, when several accounts have a queue named N")
	pos, err := c.parse(fs, args, 1)
	if err != nil {
		return err
	}
	client, err := c.client()
	if err != nil {
		return err
	}
	return client.PurgeQueue(ctx, *account, pos[0])
}

// runSubscriptions runs meterd subscriptions: subscriptions to the
// products' SNS topics.
func runSubscriptions(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runNoun(ctx, noun{
		name:    "subscriptions",
		summary: "subscriptions to the products' SNS topics (subscription, entitlement)",
		verbs: []verb{
			{"list", "[--product C]", "list the subscriptions", subscriptionsList},
			{"create", "--product C --topic subscription|entitlement --protocol http|https|sqs --endpoint E [--raw] " +
				"[--signature-version 1|2] [--insecure-skip-verify]", "subscribe a queue or an http(s) endpoint", subscriptionsCreate},
			{"delete", "ID", "unsubscribe", subscriptionsDelete},
		},
	}, args, stdout, stderr)
}

func subscriptionTable(subs ...admin.Subscription) *table {
	t := &table{header: []string{"id", "product", "topic", "protocol", "endpoint", "raw", "signature_version", "confirmed"}}
	for _, s := range subs {
		t.add(s.ID, s.ProductCode, s.Topic, s.Protocol, s.Endpoint, strconv.FormatBool(s.Raw), strconv.Itoa(s.SignatureVersion),
			strconv.FormatBool(s.Confirmed))
	}
	return t
}

func subscriptionsList(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Lists the subscriptions to the products' SNS topics.")
	product := fs.String("product", "", "only this product's")
	client, err := c.connect(fs, args)
	if err != nil {
		return err
	}
	subs, err := client.Subscriptions(ctx, *product)
	if err != nil {
		return err
	}
	return c.print(subs, subscriptionTable(subs...))
}

const subscriptionsCreateHelp = `Subscribes --endpoint to a product's SNS topic: the subscription topic
(subscribe-success, subscribe-fail, unsubscribe-pending, unsubscribe-success) or
the entitlement topic (entitlement-updated). An sqs endpoint is a queue of the
product's seller (its name, ARN or URL) and gets the SNS envelope, or the bare
message with --raw. An http(s) endpoint first gets a SubscriptionConfirmation
and receives messages once it has confirmed. Subscribing the same endpoint
again returns the existing subscription, as SNS does.`

func subscriptionsCreate(ctx context.Context, c *cli, args []string) error {
	fs := c.flags(subscriptionsCreateHelp)
	var in events.SubscriptionSpec
	fs.StringVar(&in.Product, "product", "", "product code (required)")
	fs.StringVar(&in.Topic, "topic", "", "subscription or entitlement (required)")
	fs.StringVar(&in.Protocol, "protocol", "", "sqs, http or https (required)")
	fs.StringVar(&in.Endpoint, "endpoint", "", "queue name, SQS ARN or queue URL; or the http(s) URL (required)")
	fs.BoolVar(&in.Raw, "raw", false, "raw message delivery: the bare message, without the SNS envelope")
	fs.IntVar(&in.SignatureVersion, "signature-version", 1, "1 (SHA1withRSA) or 2 (SHA256withRSA)")
	fs.BoolVar(&in.InsecureSkipVerify, "insecure-skip-verify", false, "https: accept any certificate (self-signed test receivers)")
	client, err := c.connect(fs, args, "product", "topic", "protocol", "endpoint")
	if err != nil {
		return err
	}
	s, err := client.CreateSubscription(ctx, in)
	if err != nil {
		return err
	}
	return c.print(s, subscriptionTable(*s))
}

func subscriptionsDelete(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Deletes the subscription ID (its pending deliveries are dropped).")
	client, id, err := c.connectID(fs, args)
	if err != nil {
		return err
	}
	return client.DeleteSubscription(ctx, id)
}

// runRules runs meterd rules: EventBridge-style rules on the
// aws.agreement-marketplace events.
func runRules(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runNoun(ctx, noun{
		name:    "rules",
		summary: "EventBridge-style rules on aws.agreement-marketplace events",
		verbs: []verb{
			{"list", "", "list the rules", rulesList},
			{"create", "--account A --detail-type T... --protocol http|https|sqs --endpoint E [--header NAME=VALUE]",
				"route an account's Marketplace events to a queue or an http(s) endpoint", rulesCreate},
			{"delete", "ID", "delete a rule", rulesDelete},
		},
	}, args, stdout, stderr)
}

func ruleTable(rules ...meterd.Rule) *table {
	t := &table{header: []string{"id", "account", "pattern", "protocol", "endpoint", "header"}}
	for _, r := range rules {
		t.add(r.ID, r.AccountID, r.Pattern, r.Protocol, r.Endpoint, r.HeaderName)
	}
	return t
}

func rulesList(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Lists the rules (header values are not shown).")
	client, err := c.connect(fs, args)
	if err != nil {
		return err
	}
	rules, err := client.Rules(ctx)
	if err != nil {
		return err
	}
	return c.print(rules, ruleTable(rules...))
}

// repeated is a flag that may be given several times.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

const rulesCreateHelp = `Routes the aws.agreement-marketplace events of --account (the seller) whose
detail-type is one of --detail-type (repeat it; a trailing * matches a prefix,
as "Purchase Agreement*"; none: every event) to --endpoint: a queue of the
account, or an http(s) URL that gets a POST of the event JSON, with --header
NAME=VALUE on each request when given.`

func rulesCreate(ctx context.Context, c *cli, args []string) error {
	fs := c.flags(rulesCreateHelp)
	var in events.RuleSpec
	var types repeated
	var header string
	fs.StringVar(&in.Account, "account", "", "the seller account whose events the rule takes (required)")
	fs.Var(&types, "detail-type", "a detail-type, such as \"Purchase Agreement Created - Manufacturer\" (repeatable; * at the end: prefix)")
	fs.StringVar(&in.Protocol, "protocol", "", "sqs, http or https (required)")
	fs.StringVar(&in.Endpoint, "endpoint", "", "queue name, SQS ARN or queue URL; or the http(s) URL (required)")
	fs.StringVar(&header, "header", "", "NAME=VALUE, a header sent to an http(s) endpoint (a shared secret)")
	fs.BoolVar(&in.InsecureSkipVerify, "insecure-skip-verify", false, "https: accept any certificate")
	client, err := c.connect(fs, args, "account", "protocol", "endpoint")
	if err != nil {
		return err
	}
	in.DetailTypes = types
	if header != "" {
		var ok bool
		if in.HeaderName, in.HeaderValue, ok = strings.Cut(header, "="); !ok {
			return c.usagef("--header: want NAME=VALUE, got %q", header)
		}
	}
	r, err := client.CreateRule(ctx, in)
	if err != nil {
		return err
	}
	return c.print(r, ruleTable(*r))
}

func rulesDelete(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Deletes the rule ID (its pending deliveries are dropped).")
	client, id, err := c.connectID(fs, args)
	if err != nil {
		return err
	}
	return client.DeleteRule(ctx, id)
}

// runDeliveries runs meterd deliveries: the events' deliveries to
// subscriptions and rules, their attempts and outcomes.
func runDeliveries(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runNoun(ctx, noun{
		name:    "deliveries",
		summary: "deliveries of lifecycle events to subscriptions and rules: attempts, outcome, last error",
		verbs: []verb{
			{"list", "[--failed]", "list the deliveries, oldest first", deliveriesList},
			{"retry", "ID", "send a delivery again", deliveriesRetry},
		},
	}, args, stdout, stderr)
}

func deliveryTable(ds ...meterd.Delivery) *table {
	t := &table{header: []string{"id", "event_seq", "type", "target", "customer", "status", "attempts", "updated_at", "last_error"}}
	for _, d := range ds {
		typ := ""
		if d.Event != nil {
			typ = d.Event.Type
		}
		t.add(strconv.FormatInt(d.ID, 10), strconv.FormatInt(d.EventSeq, 10), typ, d.Target, d.CustomerIdentifier, d.Status,
			strconv.Itoa(d.Attempts), d.UpdatedAt.Format(time.RFC3339), d.LastError)
	}
	return t
}

func deliveriesList(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Lists the deliveries of events to subscriptions and rules, oldest first: pending ones\n" +
		"(retried with SNS's backoff), delivered ones and failed ones (given up after 50 attempts).")
	failed := fs.Bool("failed", false, "only the failed ones")
	status := fs.String("status", "", "only those of this status: pending, delivered or failed")
	target := fs.String("target", "", "only those to this subscription or rule id")
	client, err := c.connect(fs, args)
	if err != nil {
		return err
	}
	if *failed {
		*status = meterd.DeliveryFailed
	}
	ds, err := client.Deliveries(ctx, *status, *target)
	if err != nil {
		return err
	}
	return c.print(ds, deliveryTable(ds...))
}

func deliveriesRetry(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Sends delivery ID again: it becomes pending, due now, with its attempts counted from zero.")
	pos, err := c.parse(fs, args, 1)
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil {
		return c.usagef("ID: %q is not a delivery id (a number, as \"meterd deliveries list\" shows)", pos[0])
	}
	client, err := c.client()
	if err != nil {
		return err
	}
	d, err := client.RetryDelivery(ctx, id)
	if err != nil {
		return err
	}
	return c.print(d, deliveryTable(*d))
}
