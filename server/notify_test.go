package server_test

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"strings"
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
