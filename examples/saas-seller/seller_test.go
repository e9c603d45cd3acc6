// Package saasseller_test runs the example SaaS seller (Python, boto3)
// against a real meterd: its fulfillment app, notification worker and
// metering job, each as a separate process.
package saasseller_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/admin"
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

// seller is the example app run against a meterd of the test.
type seller struct {
	t      *testing.T
	meterd *server.Main
	admin  *admin.Client
	env    []string
	app    string // the fulfillment app's base URL
}

// freePort returns a loopback port free a moment ago: the catalog names
// the fulfillment URL before the app starts.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func start(t *testing.T) *seller {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Fatal("the example seller needs python3 with boto3 (.ci/run installs it)")
	}
	dir := t.TempDir()
	app := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
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
	s := &seller{t: t, meterd: m, admin: admin.NewClient(m.URL(), adminToken), app: app}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			s.env = append(s.env, kv)
		}
	}
	s.env = append(s.env, "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_ENDPOINT_URL="+m.URL(),
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "PYTHONDONTWRITEBYTECODE=1",
		"SELLER_PRODUCT_CODE="+product, "SELLER_DB="+filepath.Join(dir, "seller.db"), "SELLER_QUEUE="+queue)
	s.python("import seller; seller.client('sqs').create_queue(QueueName=%q)", queue)

	// The fulfillment app, a separate process on the catalog's port.
	cmd := s.command("fulfillment.py", "--listen", strings.TrimPrefix(app, "http://"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if !strings.Contains(line, "listening on "+app) {
		t.Fatalf("fulfillment app said %q, %v; want it listening on %s", line, err, app)
	}
	go io.Copy(io.Discard, out)
	return s
}

func (s *seller) command(script string, args ...string) *exec.Cmd {
	cmd := exec.Command("python3", append([]string{script}, args...)...)
	cmd.Env = s.env
	cmd.Stderr = testWriter{s.t}
	return cmd
}

// run runs one of the example's scripts to its end and returns its stdout.
func (s *seller) run(script string, args ...string) string {
	s.t.Helper()
	out, err := s.command(script, args...).Output()
	if err != nil {
		s.t.Fatalf("%s %v: %v", script, args, err)
	}
	return string(out)
}

// python runs a snippet with the example's modules importable.
func (s *seller) python(format string, args ...any) string {
	s.t.Helper()
	return s.run("-c", fmt.Sprintf(format, args...))
}

// testWriter sends a process's stderr to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// customer is a row of the app's /customers.json.
type customer struct {
	CustomerIdentifier string            `json:"customer_identifier"`
	AWSAccountID       string            `json:"aws_account_id"`
	LicenseArn         string            `json:"license_arn"`
	Status             string            `json:"status"`
	OfferID            string            `json:"offer_id"`
	FreeTrial          int               `json:"free_trial"`
	Email              string            `json:"email"`
	Entitlements       map[string]string `json:"entitlements"`
}

func (s *seller) customer(id string) customer {
	s.t.Helper()
	resp, err := http.Get(s.app + "/customers.json")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var all []customer
	if err := json.NewDecoder(resp.Body).Decode(&all); err != nil {
		s.t.Fatal(err)
	}
	for _, c := range all {
		if c.CustomerIdentifier == id {
			return c
		}
	}
	s.t.Fatalf("the app has no customer %s: %+v", id, all)
	return customer{}
}

// notify puts a subscription notification, as SNS delivers it to SQS, on
// the seller's queue.
func (s *seller) notify(messageID, action, customer string) {
	s.t.Helper()
	msg, _ := json.Marshal(map[string]string{"action": action, "customer-identifier": customer, "product-code": product,
		"offer-identifier": contract, "isFreeTrialTermPresent": "false"})
	env, _ := json.Marshal(map[string]string{"Type": "Notification", "MessageId": messageID,
		"TopicArn": "arn:aws:sns:us-east-1:287250355862:aws-mp-subscription-notification-" + product, "Message": string(msg)})
	s.python("import seller; sqs = seller.client('sqs'); sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName=%q)['QueueUrl'], MessageBody=%q)", queue, env)
}

func TestSellerLifecycle(t *testing.T) {
	s := start(t)
	ctx := context.Background()
	res, err := s.admin.Accept(ctx, marketplace.AcceptInput{Buyer: buyer, OfferID: contract, Duration: "P12M", Quantities: map[string]int64{"seats": 5, "premium": 1}})
	if err != nil {
		t.Fatal(err)
	}
	cust := res.CustomerIdentifier
	tok, err := s.admin.CreateToken(ctx, product, cust, marketplace.RegistrationTokenTTL)
	if err != nil {
		t.Fatal(err)
	}

	// The buyer's browser POSTs the token; the app resolves it and signs
	// the buyer in.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	resp, err := browser.PostForm(s.app+"/register", url.Values{"x-amzn-marketplace-token": {tok.Token}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/signup" || !strings.Contains(string(body), cust) {
		t.Fatalf("register = %d at %s, want the signup page naming %s: %s", resp.StatusCode, resp.Request.URL, cust, body)
	}
	c := s.customer(cust)
	if c.Status != "pending" || c.AWSAccountID != buyer || c.LicenseArn != res.Agreement.LicenseArn || c.Entitlements["seats"] != "5" || c.Entitlements["premium"] != "true" {
		t.Errorf("customer after register = %+v, want pending, account %s, its license, 5 seats and premium", c, buyer)
	}
	// A forged token is refused with ResolveCustomer's error.
	resp, err = http.PostForm(s.app+"/register", url.Values{"x-amzn-marketplace-token": {"forged"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "InvalidTokenException") {
		t.Errorf("register with a forged token = %d %s, want 400 InvalidTokenException", resp.StatusCode, body)
	}

	// Pending: no use yet.
	if resp, _ := browser.PostForm(s.app+"/use", url.Values{"feature": {"basic"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("use while pending = %d, want 403", resp.StatusCode)
	}
	// subscribe-success activates it, once however often it comes.
	s.notify("msg-1", "subscribe-success", cust)
	s.notify("msg-1", "subscribe-success", cust)
	s.run("worker.py", "--once", "--wait", "1")
	if c := s.customer(cust); c.Status != "active" || c.OfferID != contract {
		t.Fatalf("customer after subscribe-success = %+v, want active on %s", c, contract)
	}
	for range 3 {
		resp, err := browser.PostForm(s.app+"/use", url.Values{"feature": {"basic"}})
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("use = %v, %v", resp, err)
		}
		resp.Body.Close()
	}

	// The metering job sends the hour's 3 requests as one record.
	if out := s.run("metering.py", "--once", "--include-current-hour"); !strings.Contains(out, "Success 1") {
		t.Errorf("metering = %q, want one Success", out)
	}
	page, err := s.admin.Usage(ctx, admin.UsageQuery{Product: product, Customer: cust})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Records) != 1 || page.Records[0].Quantity != 3 || page.Records[0].Dimension != "requests" {
		t.Errorf("meterd's records of %s = %+v, want one of 3 requests", cust, page.Records)
	}
	if out := s.run("metering.py", "--once", "--include-current-hour"); !strings.Contains(out, "sent nothing") {
		t.Errorf("metering again = %q, want nothing sent", out)
	}

	// Cancelled: unsubscribe-pending, then after the grace hour
	// unsubscribe-success; a record after it is refused.
	if _, err := s.admin.CancelAgreement(ctx, res.Agreement.ID); err != nil {
		t.Fatal(err)
	}
	s.notify("msg-2", "unsubscribe-pending", cust)
	s.run("worker.py", "--once", "--wait", "1")
	if c := s.customer(cust); c.Status != "unsubscribe-pending" {
		t.Errorf("customer after unsubscribe-pending = %s", c.Status)
	}
	if _, err := s.admin.AdvanceClock(ctx, time.Hour+time.Minute); err != nil {
		t.Fatal(err)
	}
	s.notify("msg-3", "unsubscribe-success", cust)
	s.run("worker.py", "--once", "--wait", "1")
	if c := s.customer(cust); c.Status != "inactive" {
		t.Errorf("customer after unsubscribe-success = %s, want inactive", c.Status)
	}
	if resp, _ := browser.PostForm(s.app+"/use", url.Values{"feature": {"basic"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("use after unsubscribe-success = %d, want 403", resp.StatusCode)
	}
	// Usage the app held back from the last hour is refused by meterd now.
	s.python(`import datetime, seller
conn = seller.db(); t = seller.now() - datetime.timedelta(minutes=70)
conn.execute("INSERT INTO usage (customer_identifier, dimension, hour, quantity, last_at) VALUES (?, 'requests', ?, 1, ?)", (%q, t.replace(minute=0, second=0, microsecond=0).isoformat(), t.isoformat()))`, cust)
	if out := s.run("metering.py", "--once"); !strings.Contains(out, "CustomerNotSubscribed 1") {
		t.Errorf("metering after the grace hour = %q, want CustomerNotSubscribed", out)
	}
}
