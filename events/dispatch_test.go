package events_test

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/catalog"
	"github.com/meterd/meterd/events"
	"github.com/meterd/meterd/faults"
	"github.com/meterd/meterd/marketplace"
	"github.com/meterd/meterd/sqlite"
)

// notifyRig is a store with the demo catalog, a clock, the marketplace
// over them and a dispatcher.
type notifyRig struct {
	store  *sqlite.Store
	clock  *meterd.ServerClock
	market *marketplace.Service
	disp   *events.Dispatcher
	signer *events.Signer
}

func newNotifyRig(t *testing.T) *notifyRig {
	t.Helper()
	ctx := t.Context()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "meterd.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	clock := &meterd.ServerClock{}
	clock.Set(time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC))
	demo := catalog.Demo()
	demo.Notifications = nil // the tests make their own
	if err := catalog.Apply(ctx, s, demo, clock.Now()); err != nil {
		t.Fatal(err)
	}
	signer, err := events.NewSigner(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	return &notifyRig{store: s, clock: clock, market: &marketplace.Service{Ledger: s, Clock: clock},
		disp:   &events.Dispatcher{Store: s, Signer: signer, BaseURL: "http://127.0.0.1:4579"},
		signer: signer}
}

// drain runs the dispatcher until it has nothing left to do now.
func (r *notifyRig) drain(t *testing.T) {
	t.Helper()
	for range 100 {
		n, err := r.disp.RunOnce(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
	t.Fatal("dispatcher still busy after 100 rounds")
}

// receiveAll takes every visible message of the seller's queue.
func (r *notifyRig) receiveAll(t *testing.T, queue string) []string {
	t.Helper()
	var bodies []string
	for {
		// Far ahead: tests that move the dispatcher's clock send "later".
		ms, err := r.store.ReceiveMessages(t.Context(), catalog.DemoSellerAccount, queue, time.Now().Add(48*time.Hour), 10, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) == 0 {
			return bodies
		}
		for _, m := range ms {
			bodies = append(bodies, m.Body)
		}
	}
}

func (r *notifyRig) subscribe(t *testing.T, id, topic, queue string, raw bool, version int) {
	t.Helper()
	last, err := r.store.LastEventSeq(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	err = r.store.CreateSubscription(t.Context(), &meterd.Subscription{ID: id, ProductCode: catalog.DemoProduct,
		AccountID: catalog.DemoSellerAccount, Topic: topic, Protocol: meterd.ProtocolSQS, Endpoint: queue, Raw: raw,
		SignatureVersion: version, Confirmed: true, AfterSeq: last, CreatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
}

// verifySNS checks an envelope's signature with the certificate, building
// the string to sign from SNS's documentation independently of meterd's
// code.
func verifySNS(t *testing.T, cert []byte, env map[string]string) {
	t.Helper()
	block, _ := pem.Decode(cert)
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	var s string
	for _, k := range []string{"Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"} {
		if v, ok := env[k]; ok {
			s += k + "\n" + v + "\n"
		}
	}
	sig, err := base64.StdEncoding.DecodeString(env["Signature"])
	if err != nil {
		t.Fatal(err)
	}
	pub := c.PublicKey.(*rsa.PublicKey)
	if env["SignatureVersion"] == "2" {
		sum := sha256.Sum256([]byte(s))
		err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig)
	} else {
		sum := sha1.Sum([]byte(s))
		err = rsa.VerifyPKCS1v15(pub, crypto.SHA1, sum[:], sig)
	}
	if err != nil {
		t.Errorf("signature (version %s) does not verify: %v", env["SignatureVersion"], err)
	}
}

func TestDispatchToQueues(t *testing.T) {
	r := newNotifyRig(t)
	ctx := t.Context()
	for _, q := range []string{"sns", "raw", "bridge"} {
		if err := r.store.CreateQueue(ctx, &meterd.Queue{AccountID: catalog.DemoSellerAccount, Name: q, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	r.subscribe(t, "sub-sns", meterd.TopicSubscription, "sns", false, 2)
	r.subscribe(t, "sub-raw", meterd.TopicEntitlement, "arn:aws:sqs:us-east-1:111122223333:raw", true, 1)
	last, _ := r.store.LastEventSeq(ctx)
	if err := r.store.CreateRule(ctx, &meterd.Rule{ID: "rule-created", AccountID: catalog.DemoSellerAccount, AfterSeq: last,
		Pattern:  events.DetailTypePattern([]string{"Purchase Agreement Created*"}),
		Protocol: meterd.ProtocolSQS, Endpoint: "bridge", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	r.drain(t) // the demo's own events came before the subscriptions: none is delivered
	if got := r.receiveAll(t, "sns"); len(got) != 0 {
		t.Fatalf("queue holds %d messages before any purchase, want 0 (events before a subscription are not delivered)", len(got))
	}

	res, err := r.market.Accept(ctx, marketplace.AcceptInput{Buyer: "123456789012", OfferID: catalog.DemoContractOffer,
		Duration: "P1M", Quantities: map[string]int64{"seats": 3}})
	if err != nil {
		t.Fatal(err)
	}
	customer := res.Agreement.CustomerIdentifier
	r.drain(t)

	sns := r.receiveAll(t, "sns")
	if len(sns) != 1 {
		t.Fatalf("subscription queue got %d messages, want 1 subscribe-success", len(sns))
	}
	var env map[string]string
	if err := json.Unmarshal([]byte(sns[0]), &env); err != nil {
		t.Fatalf("envelope is not a JSON object of strings: %v\n%s", err, sns[0])
	}
	if env["Type"] != "Notification" || env["TopicArn"] != "arn:aws:sns:us-east-1:287250355862:aws-mp-subscription-notification-demo-product" ||
		env["SignatureVersion"] != "2" || !strings.HasPrefix(env["SigningCertURL"], "http://127.0.0.1:4579/_meterd/sns/SimpleNotificationService-") ||
		!strings.HasSuffix(env["SigningCertURL"], ".pem") || !strings.Contains(env["UnsubscribeURL"], "SubscriptionArn=") {
		t.Errorf("envelope = %v", env)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000Z", env["Timestamp"]); err != nil {
		t.Errorf("Timestamp %q: %v", env["Timestamp"], err)
	}
	verifySNS(t, r.signer.Certificate(), env)
	var msg map[string]string
	if err := json.Unmarshal([]byte(env["Message"]), &msg); err != nil {
		t.Fatal(err)
	}
	if msg["action"] != "subscribe-success" || msg["customer-identifier"] != customer || msg["offer-identifier"] != catalog.DemoContractOffer ||
		msg["isFreeTrialTermPresent"] != "false" {
		t.Errorf("Message = %v", msg)
	}

	raw := r.receiveAll(t, "raw")
	if len(raw) != 1 || !strings.Contains(raw[0], `"action":"entitlement-updated"`) || strings.Contains(raw[0], "TopicArn") {
		t.Errorf("raw entitlement queue = %q, want the bare entitlement-updated message", raw)
	}

	bridge := r.receiveAll(t, "bridge")
	var types []string
	for _, b := range bridge {
		var ev map[string]any
		if err := json.Unmarshal([]byte(b), &ev); err != nil {
			t.Fatal(err)
		}
		types = append(types, ev["detail-type"].(string))
		if ev["source"] != "aws.agreement-marketplace" || ev["account"] != catalog.DemoSellerAccount {
			t.Errorf("EventBridge event = %v", ev)
		}
	}
	if strings.Join(types, ",") != "Purchase Agreement Created - Proposer,Purchase Agreement Created - Manufacturer" {
		t.Errorf("rule queue detail-types = %v, want the two Created events in order (the prefix matches no License event)", types)
	}
	ds, err := r.store.Deliveries(ctx, meterd.DeliveryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.Status != meterd.DeliveryDelivered || d.Attempts != 1 {
			t.Errorf("delivery %d to %s: %s after %d attempts, want delivered after 1", d.ID, d.Target, d.Status, d.Attempts)
		}
	}
	if len(ds) != 4 {
		t.Errorf("deliveries = %d, want 4", len(ds))
	}
}

func TestDispatchRetriesInOrder(t *testing.T) {
	r := newNotifyRig(t)
	ctx := t.Context()
	r.subscribe(t, "sub-missing", meterd.TopicSubscription, "late-queue", true, 1)
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	r.disp.Now = func() time.Time { return now }
	res, err := r.market.Accept(ctx, marketplace.AcceptInput{Buyer: "123456789012", OfferID: catalog.DemoUsageOffer})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.market.Cancel(ctx, res.Agreement.ID); err != nil {
		t.Fatal(err)
	}
	// Three immediate tries, then the backoff.
	r.drain(t)
	ds, _ := r.store.Deliveries(ctx, meterd.DeliveryFilter{})
	if len(ds) != 2 {
		t.Fatalf("deliveries = %d, want subscribe-success and unsubscribe-pending", len(ds))
	}
	first, second := ds[0], ds[1]
	if first.Status != meterd.DeliveryPending || first.Attempts != 3 || !strings.Contains(first.LastError, "late-queue") {
		t.Errorf("first delivery = %s, %d attempts, %q; want pending after 3 immediate attempts naming the queue", first.Status, first.Attempts, first.LastError)
	}
	if second.Attempts != 0 {
		t.Errorf("second delivery made %d attempts while the first of its customer was pending, want 0", second.Attempts)
	}
	if !first.NextAttemptAt.After(now) {
		t.Errorf("after 3 failures the next attempt is at %v, want after %v", first.NextAttemptAt, now)
	}
	if err := r.store.CreateQueue(ctx, &meterd.Queue{AccountID: catalog.DemoSellerAccount, Name: "late-queue", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute)
	r.drain(t)
	got := r.receiveAll(t, "late-queue")
	if len(got) != 2 || !strings.Contains(got[0], "subscribe-success") || !strings.Contains(got[1], "unsubscribe-pending") {
		t.Errorf("queue = %q, want subscribe-success then unsubscribe-pending", got)
	}
}

// TestDispatchFaults: fault rules of operation Notify duplicate a
// delivery (one MessageId, twice), drop one (failed, sent on retry), and
// delay one (another customer's overtakes it; it follows when due).
func TestDispatchFaults(t *testing.T) {
	r := newNotifyRig(t)
	ctx := t.Context()
	if err := r.store.CreateQueue(ctx, &meterd.Queue{AccountID: catalog.DemoSellerAccount, Name: "q", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	r.subscribe(t, "sub", meterd.TopicSubscription, "q", false, 1)
	rules := faults.NewRules(1)
	r.disp.Faults = rules
	now := time.Now()
	r.disp.Now = func() time.Time { return now }
	buy := func(buyer string) string {
		t.Helper()
		res, err := r.market.Accept(ctx, marketplace.AcceptInput{Buyer: buyer, OfferID: catalog.DemoUsageOffer})
		if err != nil {
			t.Fatal(err)
		}
		return res.Agreement.CustomerIdentifier
	}
	customers := func() []string {
		var out []string
		for _, b := range r.receiveAll(t, "q") {
			var env map[string]string
			json.Unmarshal([]byte(b), &env)
			var m map[string]string
			json.Unmarshal([]byte(env["Message"]), &m)
			out = append(out, m["customer-identifier"]+"/"+env["MessageId"])
		}
		return out
	}

	if _, err := rules.Add(faults.Spec{Operation: events.OpNotify, Duplicate: true, Count: 1}); err != nil {
		t.Fatal(err)
	}
	c1 := buy("100000000001")
	r.drain(t)
	got := customers()
	if len(got) != 2 || got[0] != got[1] || !strings.HasPrefix(got[0], c1+"/") {
		t.Errorf("duplicated delivery = %v, want %s twice with one MessageId", got, c1)
	}

	drop, err := rules.Add(faults.Spec{Operation: events.OpNotify, DropResponse: true, Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	buy("100000000002")
	r.drain(t)
	if got := customers(); len(got) != 0 {
		t.Errorf("dropped delivery reached the queue: %v", got)
	}
	failed, _ := r.store.Deliveries(ctx, meterd.DeliveryFilter{Status: meterd.DeliveryFailed})
	if len(failed) != 1 || failed[0].LastError != "dropped by fault rule "+drop.ID {
		t.Fatalf("failed deliveries = %+v, want the dropped one naming its rule", failed)
	}
	if _, err := r.store.RetryDelivery(ctx, failed[0].ID, now); err != nil {
		t.Fatal(err)
	}
	r.drain(t)
	if got := customers(); len(got) != 1 {
		t.Errorf("retried delivery = %v, want it once", got)
	}

	slow := buy("100000000003")
	if _, err := rules.Add(faults.Spec{Operation: events.OpNotify, Customer: slow, Latency: "1h"}); err != nil {
		t.Fatal(err)
	}
	fast := buy("100000000004")
	r.drain(t)
	if got := customers(); len(got) != 1 || !strings.HasPrefix(got[0], fast+"/") {
		t.Errorf("with %s delayed, the queue got %v, want only %s's", slow, got, fast)
	}
	now = now.Add(time.Hour + time.Second)
	r.drain(t)
	if got := customers(); len(got) != 1 || !strings.HasPrefix(got[0], slow+"/") {
		t.Errorf("after the delay the queue got %v, want %s's (once: the delay applies before the first attempt only)", got, slow)
	}
}

// TestDispatchTiming: the lifecycle follows the server clock: a cancel
// sends unsubscribe-pending, and unsubscribe-success comes when the clock
// passes the grace hour, not before.
func TestDispatchTiming(t *testing.T) {
	r := newNotifyRig(t)
	ctx := t.Context()
	if err := r.store.CreateQueue(ctx, &meterd.Queue{AccountID: catalog.DemoSellerAccount, Name: "q", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	r.subscribe(t, "sub", meterd.TopicSubscription, "q", true, 1)
	res, err := r.market.Accept(ctx, marketplace.AcceptInput{Buyer: "100000000009", OfferID: catalog.DemoUsageOffer})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.market.Cancel(ctx, res.Agreement.ID); err != nil {
		t.Fatal(err)
	}
	actions := func() []string {
		r.drain(t)
		var out []string
		for _, b := range r.receiveAll(t, "q") {
			var m map[string]string
			json.Unmarshal([]byte(b), &m)
			out = append(out, m["action"])
		}
		return out
	}
	if got := strings.Join(actions(), ","); got != "subscribe-success,unsubscribe-pending" {
		t.Fatalf("after the cancel the queue got %s, want subscribe-success,unsubscribe-pending", got)
	}
	r.clock.Advance(59 * time.Minute)
	r.market.ApplyDue(ctx)
	if got := actions(); len(got) != 0 {
		t.Errorf("59 minutes after the cancel the queue got %v, want nothing yet", got)
	}
	r.clock.Advance(2 * time.Minute)
	r.market.ApplyDue(ctx)
	if got := strings.Join(actions(), ","); got != "unsubscribe-success" {
		t.Errorf("61 minutes after the cancel the queue got %q, want unsubscribe-success", got)
	}
}
