// Package saasseller_test runs the example SaaS seller (Python, boto3)
// against a real meterd: its fulfillment app, notification worker and
// metering job, each as a separate process.
package saasseller_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/internal/exampleseller"
	"github.com/meterd/meterd/marketplace"
	"github.com/meterd/meterd/server"
)

const (
	adminToken = "saas-seller-test-token"
	product    = "saas-product"
	buyer      = "555566667777"
	contract   = "offer-saascontract1"
	queue      = "marketplace-events"
)

const catalogYAML = `
accounts:
  - {id: "111122223333", name: SaaS Seller, access_keys: [{id: test, secret: test}]}
  - {id: "555566667777", name: Fresh Buyer}
products:
  - code: saas-product
    seller: "111122223333"
    type: saas
    fulfillment_url: %s
    dimensions:
      - {name: requests, unit: Requests, price: "0.001"}
      - {name: storage_gb, unit: GB-Hours}
      - {name: seats, unit: Users, contract: true}
      - {name: premium, unit: Units, contract: true, value_type: boolean}
    offers:
      - {id: offer-saasusage0001, name: Pay as you go, pricing: usage}
      - id: offer-saascontract1
        name: Annual contract
        pricing: contract
        durations:
          P12M: {seats: "120", premium: "1000"}
        auto_renew: false
`

// start starts a meterd with the catalog and the example seller against it.
func start(t *testing.T) (*admin.Client, *exampleseller.Seller) {
	t.Helper()
	dir := t.TempDir()
	app := exampleseller.FreeURL(t)
	catalogFile := filepath.Join(dir, "catalog.yaml")
	if err := os.WriteFile(catalogFile, []byte(fmt.Sprintf(catalogYAML, app+"/register")), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := server.DefaultConfig()
	cfg.Listen, cfg.Data, cfg.Store, cfg.AdminToken, cfg.Catalog = "127.0.0.1:0", filepath.Join(dir, "data"), "sqlite", adminToken, catalogFile
	m := &server.Main{Config: cfg, Clock: &meterd.ServerClock{}}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return admin.NewClient(m.URL(), adminToken), exampleseller.Start(t, exampleseller.Config{URL: app, Meterd: m.URL(), Product: product, Queue: queue, Signer: m.Notify.Signer})
}

// deliver puts the product's SNS messages since after on the seller's
// queue and returns the last event's sequence number.
func deliver(t *testing.T, cl *admin.Client, s *exampleseller.Seller, after int64) int64 {
	t.Helper()
	events, err := cl.Events(context.Background(), admin.EventQuery{Product: product, After: after})
	if err != nil {
		t.Fatal(err)
	}
	if s.Deliver(queue, events) == 0 {
		t.Fatalf("no SNS message among the events after %d: %+v", after, events)
	}
	return events[len(events)-1].Seq
}

func TestSellerLifecycle(t *testing.T) {
	cl, s := start(t)
	ctx := context.Background()
	res, err := cl.Accept(ctx, marketplace.AcceptInput{Buyer: buyer, OfferID: contract, Duration: "P12M", Quantities: map[string]int64{"seats": 5, "premium": 1}})
	if err != nil {
		t.Fatal(err)
	}
	cust := res.CustomerIdentifier
	tok, err := cl.CreateToken(ctx, product, cust, marketplace.RegistrationTokenTTL)
	if err != nil {
		t.Fatal(err)
	}

	// The buyer's browser POSTs the token; the app resolves it and signs
	// the buyer in.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	resp, err := browser.PostForm(s.URL+"/register", url.Values{"x-amzn-marketplace-token": {tok.Token}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/signup" || !strings.Contains(string(body), cust) {
		t.Fatalf("register = %d at %s, want the signup page naming %s: %s", resp.StatusCode, resp.Request.URL, cust, body)
	}
	c := s.Customer(cust)
	if c.Status != "pending" || c.AWSAccountID != buyer || c.LicenseArn != res.Agreement.LicenseArn || c.Entitlements["seats"] != "5" || c.Entitlements["premium"] != "true" {
		t.Errorf("customer after register = %+v, want pending, account %s, its license, 5 seats and premium", c, buyer)
	}
	// A forged token is refused with ResolveCustomer's error.
	resp, err = http.PostForm(s.URL+"/register", url.Values{"x-amzn-marketplace-token": {"forged"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "InvalidTokenException") {
		t.Errorf("register with a forged token = %d %s, want 400 InvalidTokenException", resp.StatusCode, body)
	}

	// The customers' list is the operators': not without their token.
	resp, err = http.Get(s.URL + "/customers.json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("/customers.json without the operators' token = %d, want 404", resp.StatusCode)
	}

	// Pending: no use yet.
	if resp, _ := browser.PostForm(s.URL+"/use", url.Values{"feature": {"basic"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("use while pending = %d, want 403", resp.StatusCode)
	}
	// The worker acts only on messages SNS signed: a subscribe-success
	// whose Message, or signature, was changed, one whose certificate
	// would come from another host, and a bare message (raw delivery) are
	// refused and deleted, and the customer stays pending.
	forged := forgeries(t, cl, s)
	s.Send(queue, forged...)
	s.Run("worker.py", "--once", "--wait", "1")
	if c := s.Customer(cust); c.Status != "pending" {
		t.Fatalf("customer after forged subscribe-success messages = %s, want pending", c.Status)
	}
	if n := s.Python("import seller, json; sqs = seller.client('sqs'); url = sqs.get_queue_url(QueueName=%q)['QueueUrl']\nprint(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=['All'])['Attributes']['ApproximateNumberOfMessagesNotVisible'])", queue); strings.TrimSpace(n) != "0" {
		t.Errorf("forged messages left on the queue: %s, want all %d deleted", n, len(forged))
	}

	// subscribe-success activates it, once however often it comes;
	// entitlement-updated reads the entitlements again.
	seq := deliver(t, cl, s, 0)
	deliver(t, cl, s, 0)
	s.Run("worker.py", "--once", "--wait", "1")
	if c := s.Customer(cust); c.Status != "active" || c.OfferID != contract || c.Entitlements["seats"] != "5" {
		t.Fatalf("customer after subscribe-success = %+v, want active on %s", c, contract)
	}
	for range 3 {
		resp, err := browser.PostForm(s.URL+"/use", url.Values{"feature": {"basic"}})
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("use = %v, %v", resp, err)
		}
		resp.Body.Close()
	}

	// The metering job sends the hour's 3 requests as one record.
	if out := s.Run("metering.py", "--once", "--include-current-hour"); !strings.Contains(out, "Success 1") {
		t.Errorf("metering = %q, want one Success", out)
	}
	page, err := cl.Usage(ctx, admin.UsageQuery{Product: product, Customer: cust})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Records) != 1 || page.Records[0].Quantity != 3 || page.Records[0].Dimension != "requests" {
		t.Errorf("meterd's records of %s = %+v, want one of 3 requests", cust, page.Records)
	}
	if out := s.Run("metering.py", "--once", "--include-current-hour"); !strings.Contains(out, "sent nothing") {
		t.Errorf("metering again = %q, want nothing sent", out)
	}
	// A record from before the license began fails its call: it is marked
	// with the error, not sent again forever.
	s.RecordUse(cust, "storage_gb", time.Now().Add(-70*time.Minute))
	if out := s.Run("metering.py", "--once"); !strings.Contains(out, "InvalidLicenseException 1") {
		t.Errorf("metering a record from before the license = %q, want InvalidLicenseException", out)
	}
	if out := s.Run("metering.py", "--once"); !strings.Contains(out, "sent nothing") {
		t.Errorf("metering after the refused record = %q, want nothing sent again", out)
	}

	// Cancelled: unsubscribe-pending, then after the grace hour
	// unsubscribe-success; a record after it is refused.
	if _, err := cl.CancelAgreement(ctx, res.Agreement.ID); err != nil {
		t.Fatal(err)
	}
	seq = deliver(t, cl, s, seq)
	s.Run("worker.py", "--once", "--wait", "1")
	if c := s.Customer(cust); c.Status != "unsubscribe-pending" {
		t.Errorf("customer after unsubscribe-pending = %s", c.Status)
	}
	if _, err := cl.AdvanceClock(ctx, time.Hour+time.Minute); err != nil {
		t.Fatal(err)
	}
	deliver(t, cl, s, seq)
	s.Run("worker.py", "--once", "--wait", "1")
	if c := s.Customer(cust); c.Status != "inactive" {
		t.Errorf("customer after unsubscribe-success = %s, want inactive", c.Status)
	}
	if resp, _ := browser.PostForm(s.URL+"/use", url.Values{"feature": {"basic"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("use after unsubscribe-success = %d, want 403", resp.StatusCode)
	}
	// Use recorded after unsubscribe-success is refused by meterd.
	s.RecordUse(cust, "storage_gb", time.Now())
	if out := s.Run("metering.py", "--once", "--include-current-hour"); !strings.Contains(out, "CustomerNotSubscribed 1") {
		t.Errorf("metering after the grace hour = %q, want CustomerNotSubscribed", out)
	}
}

// forgeries returns queue bodies that must not activate the customer: meterd's
// signed subscribe-success envelope (SignatureVersion 1 and 2) with its
// Message's offer changed, its Signature of another message, its
// SigningCertURL on another host, an unknown SignatureVersion, and the bare
// message.
func forgeries(t *testing.T, cl *admin.Client, s *exampleseller.Seller) []string {
	t.Helper()
	evs, err := cl.Events(context.Background(), admin.EventQuery{Product: product})
	if err != nil {
		t.Fatal(err)
	}
	var e meterd.Event
	for _, e = range evs {
		if e.Channel == meterd.ChannelSubscription && strings.Contains(e.Payload, "subscribe-success") {
			break
		}
	}
	var out []string
	for _, version := range []int{1, 2} {
		signed := s.Sign(e, version)
		change := func(f func(env map[string]any)) {
			var env map[string]any
			if err := json.Unmarshal(signed, &env); err != nil {
				t.Fatal(err)
			}
			f(env)
			b, _ := json.Marshal(env)
			out = append(out, string(b))
		}
		change(func(env map[string]any) {
			env["Message"] = strings.Replace(env["Message"].(string), contract, "offer-saasusage0001", 1)
		})
		other := s.Sign(meterd.Event{ID: "other", Channel: e.Channel, ProductCode: e.ProductCode, Payload: e.Payload + " ", CreatedAt: e.CreatedAt}, version)
		change(func(env map[string]any) {
			var o map[string]any
			json.Unmarshal(other, &o)
			env["Signature"] = o["Signature"]
		})
		change(func(env map[string]any) {
			env["SigningCertURL"] = "http://127.0.0.2:1/_meterd/sns/SimpleNotificationService-x.pem"
		})
		if version == 1 {
			change(func(env map[string]any) { env["SignatureVersion"] = "3" })
			out = append(out, e.Payload)
		}
	}
	return out
}
