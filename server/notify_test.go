package server_test

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/catalog"
	"github.com/meterd/meterd/events"
	"github.com/meterd/meterd/marketplace"
	"github.com/meterd/meterd/meterdtest"
)

// TestNotifyServed: a purchase on a running server reaches a queue
// subscribed to the product's topic by the server's own dispatcher, and
// the envelope's SigningCertURL serves the certificate that signed it,
// without the admin token.
func TestNotifyServed(t *testing.T) {
	srv := meterdtest.NewServer(t)
	ctx := t.Context()
	st := srv.Ledger.(events.Store)
	if err := st.CreateQueue(ctx, &meterd.Queue{AccountID: catalog.DemoSellerAccount, Name: "q", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	last, _ := st.LastEventSeq(ctx)
	if err := st.CreateSubscription(ctx, &meterd.Subscription{ID: "s1", ProductCode: catalog.DemoProduct, AccountID: catalog.DemoSellerAccount,
		Topic: meterd.TopicSubscription, Protocol: meterd.ProtocolSQS, Endpoint: "q", SignatureVersion: 1, Confirmed: true,
		AfterSeq: last, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Admin.Accept(ctx, marketplace.AcceptInput{Buyer: "123456789012", OfferID: catalog.DemoUsageOffer}); err != nil {
		t.Fatal(err)
	}
	var msgs []*meterd.QueueMessage
	for deadline := time.Now().Add(10 * time.Second); len(msgs) == 0 && time.Now().Before(deadline); {
		var err error
		if msgs, err = st.ReceiveMessages(ctx, catalog.DemoSellerAccount, "q", time.Now(), 10, time.Hour); err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			time.Sleep(20 * time.Millisecond) // polling the queue the dispatcher fills
		}
	}
	if len(msgs) != 1 {
		t.Fatalf("queue got %d messages within 10 s, want 1", len(msgs))
	}
	var env map[string]string
	if err := json.Unmarshal([]byte(msgs[0].Body), &env); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(env["SigningCertURL"], srv.URL+"/_meterd/sns/") || !strings.Contains(env["Message"], "subscribe-success") {
		t.Fatalf("envelope = %v, want subscribe-success signed with a certificate on %s", env, srv.URL)
	}
	resp, err := http.Get(env["SigningCertURL"])
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	block, _ := pem.Decode(body)
	if resp.StatusCode != 200 || block == nil {
		t.Fatalf("GET SigningCertURL = %d %q, want a PEM certificate", resp.StatusCode, body)
	}
	if _, err := x509.ParseCertificate(block.Bytes); err != nil {
		t.Fatal(err)
	}
}

// received is one request an HTTP(S) receiver got.
type received struct {
	header http.Header
	body   string
}

// receiver is an HTTP(S) endpoint that records what it gets; it answers
// 500 to the first fail notifications.
func receiver(t *testing.T, tlsServer bool, fail int) (*httptest.Server, chan received) {
	t.Helper()
	got := make(chan received, 100)
	var mu sync.Mutex
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		failNow := fail > 0 && r.Header.Get("x-amz-sns-message-type") == "Notification"
		if failNow {
			fail--
		}
		mu.Unlock()
		if failNow {
			w.WriteHeader(500)
			return
		}
		got <- received{r.Header.Clone(), string(b)}
	})
	var s *httptest.Server
	if tlsServer {
		s = httptest.NewTLSServer(h)
	} else {
		s = httptest.NewServer(h)
	}
	t.Cleanup(s.Close)
	return s, got
}

func next(t *testing.T, ch chan received, what string) received {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s within 10 s", what)
	}
	return received{}
}

// TestNotifyHTTP: http and https subscribers get SNS's handshake, then
// only the messages published after they confirmed, with SNS's headers,
// signed (SignatureVersion 1 and 2) as Python's cryptography verifies by
// AWS's documented algorithm; a 500 is retried; the UnsubscribeURL
// unsubscribes; a rule posts the EventBridge event with its header.
func TestNotifyHTTP(t *testing.T) {
	srv := meterdtest.NewServer(t)
	ctx := t.Context()
	plain, plainGot := receiver(t, false, 1)
	secure, secureGot := receiver(t, true, 0)
	ebSrv, ebGot := receiver(t, false, 0)
	subPlain, err := srv.Admin.CreateSubscription(ctx, events.SubscriptionSpec{Product: catalog.DemoProduct, Topic: meterd.TopicSubscription,
		Protocol: "http", Endpoint: plain.URL + "/sns", SignatureVersion: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Admin.CreateSubscription(ctx, events.SubscriptionSpec{Product: catalog.DemoProduct, Topic: meterd.TopicSubscription,
		Protocol: "https", Endpoint: secure.URL + "/sns", InsecureSkipVerify: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Admin.CreateRule(ctx, events.RuleSpec{Account: catalog.DemoSellerAccount, DetailTypes: []string{"Purchase Agreement Created - Manufacturer"},
		Protocol: "http", Endpoint: ebSrv.URL + "/eb", HeaderName: "X-Secret", HeaderValue: "s3cret"}); err != nil {
		t.Fatal(err)
	}
	var signed []string
	for _, ch := range []chan received{plainGot, secureGot} {
		c := next(t, ch, "SubscriptionConfirmation")
		if c.header.Get("x-amz-sns-message-type") != "SubscriptionConfirmation" || !strings.HasPrefix(c.header.Get("Content-Type"), "text/plain") {
			t.Fatalf("confirmation headers = %v", c.header)
		}
		signed = append(signed, c.body)
		if ch == plainGot {
			// A purchase before the confirmation is not delivered to it.
			if _, err := srv.Admin.Accept(ctx, marketplace.AcceptInput{Buyer: "123456789012", OfferID: catalog.DemoUsageOffer}); err != nil {
				t.Fatal(err)
			}
		}
		var m map[string]string
		json.Unmarshal([]byte(c.body), &m)
		resp, err := http.Get(m["SubscribeURL"])
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), "<SubscriptionArn>arn:aws:sns:us-east-1:287250355862:aws-mp-subscription-notification-demo-product:") {
			t.Fatalf("GET SubscribeURL = %d %s", resp.StatusCode, b)
		}
	}
	// The first purchase's Created - Manufacturer reached the rule (rules need no handshake).
	first := next(t, ebGot, "EventBridge event")
	res, err := srv.Admin.Accept(ctx, marketplace.AcceptInput{Buyer: "210987654321", OfferID: catalog.DemoUsageOffer})
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range []chan received{plainGot, secureGot} {
		n := next(t, ch, "Notification")
		if !strings.Contains(n.body, res.CustomerIdentifier) {
			t.Errorf("first notification after confirmation = %s, want the second purchase's (%s)", n.body, res.CustomerIdentifier)
		}
		if n.header.Get("x-amz-sns-message-type") != "Notification" || !strings.Contains(n.header.Get("x-amz-sns-subscription-arn"), ":aws-mp-subscription-notification-demo-product:") ||
			n.header.Get("x-amz-sns-topic-arn") == "" || n.header.Get("x-amz-sns-message-id") == "" {
			t.Errorf("notification headers = %v", n.header)
		}
		signed = append(signed, n.body)
	}
	second := next(t, ebGot, "EventBridge event")
	if first.header.Get("X-Secret") != "s3cret" || first.header.Get("Content-Type") != "application/json" ||
		!strings.Contains(second.body, `"detail-type":"Purchase Agreement Created - Manufacturer"`) || !strings.Contains(second.body, res.Agreement.ID) {
		t.Errorf("rule deliveries = %v %s, %s", first.header, first.body, second.body)
	}

	cmd := exec.Command("python3", filepath.Join("..", "conformance", "python", "sns_verify.py"))
	cmd.Stdin = strings.NewReader(strings.Join(signed, "\n"))
	out, err := cmd.CombinedOutput()
	if err != nil || strings.Count(string(out), "ok ") != 4 || !strings.Contains(string(out), "ok Notification 2") || !strings.Contains(string(out), "ok SubscriptionConfirmation 1") {
		t.Fatalf("sns_verify.py = %v\n%s", err, out)
	}

	// The plain receiver answered 500 once: that delivery took two attempts.
	ds, err := srv.Admin.Deliveries(ctx, "", subPlain.ID)
	if err != nil || len(ds) != 1 || ds[0].Status != meterd.DeliveryDelivered || ds[0].Attempts != 2 || ds[0].LastError != "" {
		t.Errorf("deliveries to the http subscription = %+v %v, want one delivered after 2 attempts", ds, err)
	}
	var env map[string]string
	json.Unmarshal([]byte(signed[2]), &env)
	resp, err := http.Get(env["UnsubscribeURL"])
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET UnsubscribeURL = %v %v", resp, err)
	}
	if _, err := st(srv).Subscription(ctx, subPlain.ID); meterd.ErrorCode(err) != meterd.ENotFound {
		t.Errorf("after UnsubscribeURL the subscription is %v, want ENotFound", err)
	}
	if resp, _ := http.Get(strings.Replace(env["UnsubscribeURL"], subPlain.ID, "00000000-0000-4000-8000-000000000000", 1)); resp == nil || resp.StatusCode != 404 {
		t.Errorf("UnsubscribeURL of an unknown subscription = %v, want 404", resp)
	}
}

func st(srv *meterdtest.Server) events.Store { return srv.Ledger.(events.Store) }
