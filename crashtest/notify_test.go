package crashtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/events"
	"github.com/meterd/meterd/internal/meterdtest"
	"github.com/meterd/meterd/marketplace"
	"github.com/meterd/meterd/pgtest"
)

const offer = "offer-demousage0001"

// buyerOf is the i-th test buyer's account.
func buyerOf(i int) string { return fmt.Sprintf("5555%08d", i) }

// TestNotifyCrash: events committed (their purchases acknowledged) just
// before a SIGKILL, whose queue did not even exist yet, are delivered
// after the restart: the dispatcher keeps nothing in memory that the
// store does not.
func TestNotifyCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the meterd binary")
	}
	const token = "crash-admin-token"
	srv := meterdtest.Serve(t, meterdtest.Build(t), "--admin-token", token)
	ctx := context.Background()
	ac := admin.NewClient(srv.URL, token)
	if _, err := ac.CreateSubscription(ctx, events.SubscriptionSpec{Product: product, Topic: meterd.TopicSubscription,
		Protocol: meterd.ProtocolSQS, Endpoint: "late", Raw: true}); err != nil {
		t.Fatal(err)
	}
	const n = 20
	customers := map[string]bool{}
	for i := range n {
		out, err := ac.Accept(ctx, marketplace.AcceptInput{Buyer: buyerOf(i), OfferID: offer})
		if err != nil {
			t.Fatal(err)
		}
		customers[out.CustomerIdentifier] = true
	}
	srv.Kill() // right after the last acknowledgement
	srv.Restart()
	ac = admin.NewClient(srv.URL, token)
	if _, err := ac.CreateQueue(ctx, admin.QueueInput{Account: "111122223333", Name: "late"}); err != nil {
		t.Fatal(err)
	}
	// The deliveries the killed process held come back when its lease ends.
	got := map[string]int{}
	for deadline := time.Now().Add(60 * time.Second); len(got) < n && time.Now().Before(deadline); {
		msgs, err := ac.ReceiveQueue(ctx, "", "late", 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			var msg map[string]string
			if err := json.Unmarshal([]byte(m.Body), &msg); err != nil {
				t.Fatalf("raw message %q: %v", m.Body, err)
			}
			if msg["action"] == "subscribe-success" && customers[msg["customer-identifier"]] {
				got[msg["customer-identifier"]]++
			}
		}
	}
	if len(got) != n {
		t.Fatalf("after the restart the queue got the subscribe-success of %d of the %d customers acknowledged before the SIGKILL", len(got), n)
	}
}

// TestNotifySharedPostgres: two meterd processes on one PostgreSQL
// database, both dispatching, deliver each event to an http subscriber
// once (the row lease), whichever process took the purchase.
func TestNotifySharedPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two meterd binaries on PostgreSQL")
	}
	const token = "shared-admin-token"
	store := pgtest.Start(t).NewDatabase(t)
	bin := meterdtest.Build(t)
	a := meterdtest.Serve(t, bin, "--store", store, "--admin-token", token)
	b := meterdtest.Serve(t, bin, "--store", store, "--admin-token", token)
	ctx := context.Background()
	aa, ab := admin.NewClient(a.URL, token), admin.NewClient(b.URL, token)

	var mu sync.Mutex
	byID := map[string]int{}
	confirmations := 0
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]string
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			w.WriteHeader(400)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if m["Type"] == "SubscriptionConfirmation" {
			confirmations++
			go http.Get(m["SubscribeURL"])
			return
		}
		if strings.Contains(m["Message"], "subscribe-success") {
			byID[m["MessageId"]]++
		}
	}))
	defer rcv.Close()
	sub, err := aa.CreateSubscription(ctx, events.SubscriptionSpec{Product: product, Topic: meterd.TopicSubscription,
		Protocol: meterd.ProtocolHTTP, Endpoint: rcv.URL})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		subs, err := ab.Subscriptions(ctx, product)
		if err != nil {
			t.Fatal(err)
		}
		confirmed := false
		for _, s := range subs {
			confirmed = confirmed || s.ID == sub.ID && s.Confirmed
		}
		if confirmed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("subscription not confirmed within 20 s")
		}
		time.Sleep(50 * time.Millisecond) // waiting for the receiver's confirmation GET
	}
	const n = 40
	for i := range n {
		c := aa
		if i%2 == 1 {
			c = ab
		}
		if _, err := c.Accept(ctx, marketplace.AcceptInput{Buyer: buyerOf(i), OfferID: offer}); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(60 * time.Second); ; {
		pending, err := aa.Deliveries(ctx, meterd.DeliveryPending, sub.ID)
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		got := len(byID)
		mu.Unlock()
		if len(pending) == 0 && got >= n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60 s: %d distinct subscribe-success received of %d, %d deliveries pending", got, n, len(pending))
		}
		time.Sleep(50 * time.Millisecond) // waiting for the two dispatchers
	}
	mu.Lock()
	defer mu.Unlock()
	for id, c := range byID {
		if c != 1 {
			t.Errorf("message %s delivered %d times, want once", id, c)
		}
	}
	if len(byID) != n {
		t.Errorf("received %d distinct subscribe-success, want %d", len(byID), n)
	}
	ds, _ := aa.Deliveries(ctx, meterd.DeliveryDelivered, sub.ID)
	for _, d := range ds {
		if d.Attempts != 1 {
			t.Errorf("delivery %d took %d attempts, want 1", d.ID, d.Attempts)
		}
	}
}
