package main

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/catalog"
	"github.com/meterd/meterd/marketplace"
)

// TestNotifyCLI drives the notification nouns against a server with the
// demo catalog, whose queue marketplace-events is subscribed to both of
// the demo product's topics and to a rule taking every event.
func TestNotifyCLI(t *testing.T) {
	m := startServer(t, "")
	ctx := t.Context()
	cli := func(args ...string) (int, string, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		args = append(args, "--server", m.URL(), "--data", m.Config.Data)
		code := run(ctx, args, &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	queueURL := m.URL() + "/" + catalog.DemoSellerAccount + "/" + catalog.DemoQueue
	if code, out, errOut := cli("queues", "list"); code != exitOK || !strings.Contains(out, queueURL) {
		t.Fatalf("queues list = %d %s %s, want the demo queue %s", code, out, errOut, queueURL)
	}
	code, out, _ := cli("subscriptions", "list", "--output", "json")
	var subs []admin.Subscription
	if code != exitOK || json.Unmarshal([]byte(out), &subs) != nil || len(subs) != 2 {
		t.Fatalf("subscriptions list = %d %s, want the demo's two", code, out)
	}
	// They list in the demo's order, though made in one millisecond.
	for i, topic := range []string{"subscription", "entitlement"} {
		prefix := "arn:aws:sns:us-east-1:287250355862:aws-mp-" + topic + "-notification-demo-product:"
		if !strings.HasPrefix(subs[i].Arn, prefix) {
			t.Errorf("subscription %d arn = %q, want one on the %s topic (%s...)", i, subs[i].Arn, topic, prefix)
		}
	}
	if code, out, _ := cli("rules", "list"); code != exitOK || !strings.Contains(out, "aws.agreement-marketplace") {
		t.Errorf("rules list = %d %s, want the demo's rule", code, out)
	}
	client := adminClient(t, m)
	res, err := client.Accept(ctx, marketplace.AcceptInput{Buyer: "123456789012", OfferID: catalog.DemoUsageOffer})
	if err != nil {
		t.Fatal(err)
	}
	// The queue holds the demo's own events (its agreements were made after
	// the catalog's subscriptions) and the purchase's, which follow them.
	wants := []string{`\"action\":\"subscribe-success\",\"customer-identifier\":\"` + res.CustomerIdentifier,
		`"detail-type":"Purchase Agreement Created - Manufacturer","source":"aws.agreement-marketplace","account":"111122223333","time":"2026-11-23T07:30:00Z","region":"us-east-1","resources":["arn:aws:aws-marketplace::aws:agreement:` + res.Agreement.ID,
		`"detail-type":"License Updated - Manufacturer"`}
	var all strings.Builder
	missing := func() []string {
		var out []string
		for _, w := range wants {
			if !strings.Contains(all.String(), w) {
				out = append(out, w)
			}
		}
		return out
	}
	for i := 0; i < 20 && len(missing()) > 0; i++ {
		code, out, errOut := cli("queues", "receive", catalog.DemoQueue, "--wait", "5s", "--output", "json")
		if code != exitOK {
			t.Fatalf("queues receive = %d %s", code, errOut)
		}
		var msgs []struct{ Body string }
		if err := json.Unmarshal([]byte(out), &msgs); err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			all.WriteString(m.Body + "\n")
		}
	}
	if m := missing(); len(m) > 0 {
		t.Fatalf("received without %q:\n%s", m, all.String())
	}

	code, out, _ = cli("deliveries", "list", "--output", "json")
	var ds []meterd.Delivery
	if code != exitOK || json.Unmarshal([]byte(out), &ds) != nil || len(ds) == 0 {
		t.Fatalf("deliveries list = %d %s", code, out)
	}
	var last meterd.Delivery
	for _, d := range ds {
		if d.Event != nil && d.Event.CustomerIdentifier == res.CustomerIdentifier {
			last = d
		}
	}
	if last.ID == 0 {
		t.Fatalf("deliveries list has none of the purchase's events: %s", out)
	}
	if code, out, _ := cli("deliveries", "list", "--failed"); code != exitOK || strings.Count(out, "\n") != 1 {
		t.Errorf("deliveries list --failed = %d %q, want only the header", code, out)
	}
	if code, out, errOut := cli("deliveries", "retry", strconv.FormatInt(last.ID, 10)); code != exitOK || !strings.Contains(out, "pending") && !strings.Contains(out, "delivered") {
		t.Errorf("deliveries retry = %d %s %s", code, out, errOut)
	}

	for _, tt := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"ForeignQueue", []string{"subscriptions", "create", "--product", catalog.DemoProduct, "--topic", "subscription", "--protocol", "sqs",
			"--endpoint", "arn:aws:sqs:us-east-1:444455556666:theirs"}, exitError, "only the seller's own queues"},
		{"BadTopic", []string{"subscriptions", "create", "--product", catalog.DemoProduct, "--topic", "billing", "--protocol", "sqs", "--endpoint", "q"}, exitError, "not subscription or entitlement"},
		{"NoEndpoint", []string{"subscriptions", "create", "--product", catalog.DemoProduct, "--topic", "subscription", "--protocol", "sqs"}, exitUsage, "--endpoint is required"},
		{"BadRetryID", []string{"deliveries", "retry", "abc"}, exitUsage, "not a delivery id"},
		{"UnknownDelivery", []string{"deliveries", "retry", "999999"}, exitError, "not found"},
		{"BadHeader", []string{"rules", "create", "--account", catalog.DemoSellerAccount, "--protocol", "sqs", "--endpoint", "q", "--header", "nope"}, exitUsage, "NAME=VALUE"},
		{"BadQueue", []string{"queues", "create", "--account", catalog.DemoSellerAccount, "--name", "bad name"}, exitError, "alphanumeric"},
		{"NoQueue", []string{"queues", "receive", "nope"}, exitError, "no queue named nope"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := cli(tt.args...)
			if code != tt.code || !strings.Contains(out+errOut, tt.want) {
				t.Errorf("%v = %d %s %s, want %d and %q", tt.args, code, out, errOut, tt.code, tt.want)
			}
		})
	}
	// Subscribing the same endpoint again returns the same subscription.
	code, out, _ = cli("subscriptions", "create", "--product", catalog.DemoProduct, "--topic", "subscription", "--protocol", "sqs",
		"--endpoint", catalog.DemoQueue, "--output", "json")
	var again admin.Subscription
	if code != exitOK || json.Unmarshal([]byte(out), &again) != nil || again.ID != subs[0].ID && again.ID != subs[1].ID {
		t.Errorf("subscriptions create of the demo's subscription = %d %s, want the existing one", code, out)
	}
}
