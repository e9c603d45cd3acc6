// Package exampleseller runs the example SaaS seller of examples/saas-seller
// (Python with boto3) for tests: its fulfillment app as a separate process,
// its worker and metering job as commands, against a meterd of the test.
package exampleseller

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/events"
)

// Dir is the directory of the example's scripts.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "examples", "saas-seller")
}

// FreeURL returns the base URL of a loopback port free a moment ago: a
// catalog names the fulfillment URL before the app starts.
func FreeURL(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return "http://" + ln.Addr().String()
}

// Config says where the seller runs and what it sells.
type Config struct {
	URL     string // the app's base URL (FreeURL); its fulfillment URL is URL + "/register"
	Meterd  string // meterd's URL: every AWS endpoint
	Product string // SELLER_PRODUCT_CODE
	Queue   string // SELLER_QUEUE, created by Start
	// Signer is meterd's SNS signer (server.Main.Notify.Signer), which
	// Deliver signs its envelopes with; only tests that call Deliver need it.
	Signer *events.Signer
}

// Seller is the running example seller.
type Seller struct {
	t      testing.TB
	URL    string
	env    []string
	meterd string
	signer *events.Signer
}

// operatorToken is the app's SELLER_ADMIN_TOKEN, which /customers.json asks for.
const operatorToken = "example-seller-operator-token"

// Start creates the seller's queue (unless it exists) and starts its fulfillment app, which
// it stops when the test ends.
func Start(t testing.TB, cfg Config) *Seller {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Fatal("the example seller needs python3 with boto3 (.ci/run installs it)")
	}
	s := &Seller{t: t, URL: cfg.URL, meterd: cfg.Meterd, signer: cfg.Signer}
	u, err := url.Parse(cfg.Meterd)
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			s.env = append(s.env, kv)
		}
	}
	s.env = append(s.env, "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_ENDPOINT_URL="+cfg.Meterd,
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "PYTHONDONTWRITEBYTECODE=1",
		"SELLER_PRODUCT_CODE="+cfg.Product, "SELLER_DB="+filepath.Join(t.TempDir(), "seller.db"), "SELLER_QUEUE="+cfg.Queue,
		"SELLER_SNS_CERT_HOST="+u.Host, "SELLER_ADMIN_TOKEN="+operatorToken)
	s.Python("import seller; seller.client('sqs').create_queue(QueueName=%q)", cfg.Queue)

	cmd := s.command("fulfillment.py", "--listen", strings.TrimPrefix(cfg.URL, "http://"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if !strings.Contains(line, "listening on "+cfg.URL) {
		t.Fatalf("the fulfillment app said %q, %v; want it listening on %s", line, err, cfg.URL)
	}
	go io.Copy(io.Discard, out)
	return s
}

func (s *Seller) command(script string, args ...string) *exec.Cmd {
	cmd := exec.Command("python3", append([]string{script}, args...)...)
	cmd.Dir = Dir()
	cmd.Env = s.env
	cmd.Stderr = testWriter{s.t}
	return cmd
}

// StartWorker starts the notification worker as its own process, long
// polling 1 s at a time, until the test ends.
func (s *Seller) StartWorker() {
	s.t.Helper()
	cmd := s.command("worker.py", "--wait", "1")
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
}

// WaitStatus waits until the app's customer id has status (the worker
// applies notifications as they come), and fails the test after 20 s.
func (s *Seller) WaitStatus(id, status string) Customer {
	s.t.Helper()
	var c Customer
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		for _, c = range s.Customers() {
			if c.CustomerIdentifier == id && c.Status == status {
				return c
			}
		}
	}
	s.t.Fatalf("the app's customer %s is not %s after 20 s: %+v", id, status, s.Customers())
	return c
}

// RecordUse records one unit of dimension used by customer at the time
// at in the app's database, bypassing the app's own checks: usage as a
// careless seller would send it.
func (s *Seller) RecordUse(customer, dimension string, at time.Time) {
	s.t.Helper()
	at = at.UTC()
	s.Python(`import seller
seller.db().execute("INSERT INTO usage (customer_identifier, dimension, hour, quantity, last_at) VALUES (?, ?, ?, 1, ?)", (%q, %q, %q, %q))`,
		customer, dimension, at.Truncate(time.Hour).Format("2006-01-02T15:04:05+00:00"), at.Format("2006-01-02T15:04:05.000000+00:00"))
}

// Run runs one of the example's scripts to its end and returns its stdout.
func (s *Seller) Run(script string, args ...string) string {
	s.t.Helper()
	out, err := s.command(script, args...).Output()
	if err != nil {
		s.t.Fatalf("%s %v: %v", script, args, err)
	}
	return string(out)
}

// Python runs a snippet with the example's modules importable.
func (s *Seller) Python(format string, args ...any) string {
	s.t.Helper()
	return s.Run("-c", fmt.Sprintf(format, args...))
}

// testWriter sends a process's stderr to the test log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// Customer is a row of the app's /customers.json.
type Customer struct {
	CustomerIdentifier string            `json:"customer_identifier"`
	AWSAccountID       string            `json:"aws_account_id"`
	LicenseArn         string            `json:"license_arn"`
	Status             string            `json:"status"`
	OfferID            string            `json:"offer_id"`
	FreeTrial          int               `json:"free_trial"`
	Email              string            `json:"email"`
	Entitlements       map[string]string `json:"entitlements"`
}

// Customers returns the app's customers.
func (s *Seller) Customers() []Customer {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.URL+"/customers.json", nil)
	req.Header.Set("Authorization", "Bearer "+operatorToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		s.t.Fatalf("GET /customers.json = %s", resp.Status)
	}
	var all []Customer
	if err := json.NewDecoder(resp.Body).Decode(&all); err != nil {
		s.t.Fatal(err)
	}
	return all
}

// Customer returns the app's customer id; the test fails when it has none.
func (s *Seller) Customer(id string) Customer {
	s.t.Helper()
	all := s.Customers()
	for _, c := range all {
		if c.CustomerIdentifier == id {
			return c
		}
	}
	s.t.Fatalf("the app has no customer %s: %+v", id, all)
	return Customer{}
}

// Deliver puts the SNS messages among events (the outbox's
// sns-subscription and sns-entitlement rows) on the seller's queue as SNS
// delivers them to SQS: the envelope meterd's dispatcher would send, signed
// with its key, SignatureVersion 1 and 2 in turn. Tests of the worker use it
// to deliver exactly what they want, duplicates included (a catalog's
// notifications: have meterd's dispatcher deliver instead); it returns how
// many it put.
func (s *Seller) Deliver(queue string, evs []meterd.Event) int {
	s.t.Helper()
	var bodies []string
	for _, e := range evs {
		topic := map[string]string{meterd.ChannelSubscription: meterd.TopicSubscription, meterd.ChannelEntitlement: meterd.TopicEntitlement}[e.Channel]
		if topic == "" {
			continue
		}
		bodies = append(bodies, string(s.Sign(e, len(bodies)%2+1)))
	}
	s.Send(queue, bodies...)
	return len(bodies)
}

// Sign returns the SNS envelope of e as meterd's dispatcher sends it to a
// queue subscribed to e's topic, signed with SignatureVersion version.
func (s *Seller) Sign(e meterd.Event, version int) []byte {
	s.t.Helper()
	if s.signer == nil {
		s.t.Fatal("Sign needs Config.Signer")
	}
	topic := map[string]string{meterd.ChannelSubscription: meterd.TopicSubscription, meterd.ChannelEntitlement: meterd.TopicEntitlement}[e.Channel]
	sub := &meterd.Subscription{ID: "example-seller", ProductCode: e.ProductCode, Topic: topic, SignatureVersion: version}
	return s.signer.Notification(s.meterd, sub, &e)
}

// Send puts bodies on the seller's queue as they are.
func (s *Seller) Send(queue string, bodies ...string) {
	s.t.Helper()
	if len(bodies) > 0 {
		list, _ := json.Marshal(bodies)
		s.Python(`import json, seller
sqs = seller.client('sqs'); url = sqs.get_queue_url(QueueName=%q)['QueueUrl']
for body in json.loads(%q): sqs.send_message(QueueUrl=url, MessageBody=body)`, queue, string(list))
	}
}
