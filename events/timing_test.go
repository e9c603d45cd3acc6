package events_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/catalog"
	"github.com/meterd/meterd/marketplace"
)

// snsDelivery is what a test reads of one SNS envelope in a queue.
type snsDelivery struct {
	Action, Customer string
	Timestamp        time.Time
}

// snsDeliveries drains the dispatcher and returns the envelopes the queue
// got, in the order they were sent to it.
func (r *notifyRig) snsDeliveries(t *testing.T, queue string) []snsDelivery {
	t.Helper()
	r.drain(t)
	var out []snsDelivery
	for _, b := range r.receiveAll(t, queue) {
		var env map[string]string
		var msg map[string]string
		if err := json.Unmarshal([]byte(b), &env); err != nil {
			t.Fatalf("envelope %s: %v", b, err)
		}
		if err := json.Unmarshal([]byte(env["Message"]), &msg); err != nil {
			t.Fatalf("message %s: %v", env["Message"], err)
		}
		at, err := time.Parse(time.RFC3339Nano, env["Timestamp"])
		if err != nil {
			t.Fatalf("Timestamp %q: %v", env["Timestamp"], err)
		}
		out = append(out, snsDelivery{Action: msg["action"], Customer: msg["customer-identifier"], Timestamp: at})
	}
	return out
}

// TestDispatchFutureStart: an agreement that starts later by the server
// clock sends its subscribe-success when the clock reaches its start, and
// is delivered then, not when it is made.
func TestDispatchFutureStart(t *testing.T) {
	r := newNotifyRig(t)
	ctx := t.Context()
	if err := r.store.CreateQueue(ctx, &meterd.Queue{AccountID: catalog.DemoSellerAccount, Name: "q", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	r.subscribe(t, "sub", meterd.TopicSubscription, "q", false, 2)
	start := r.clock.Now().Add(2 * time.Hour)
	res, err := r.market.Accept(ctx, marketplace.AcceptInput{Buyer: "100000000021", OfferID: catalog.DemoUsageOffer, Start: &start})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.snsDeliveries(t, "q"); len(got) != 0 {
		t.Fatalf("at the acceptance the queue got %+v, want nothing before the start", got)
	}
	r.clock.Advance(2*time.Hour - time.Minute)
	r.market.ApplyDue(ctx)
	if got := r.snsDeliveries(t, "q"); len(got) != 0 {
		t.Fatalf("a minute before the start the queue got %+v, want nothing yet", got)
	}
	r.clock.Advance(time.Minute)
	r.market.ApplyDue(ctx)
	got := r.snsDeliveries(t, "q")
	if len(got) != 1 || got[0].Action != "subscribe-success" || got[0].Customer != res.Agreement.CustomerIdentifier || !got[0].Timestamp.Equal(start) {
		t.Errorf("at the start the queue got %+v, want subscribe-success for %s at %v", got, res.Agreement.CustomerIdentifier, start)
	}
}

// TestDispatchTriggersInTimeOrder: one clock advance past several
// customers' triggers (a contract's end for C at +20 min and its grace
// hour at +80, a future start for B at +40, the grace hour of A's cancel at
// +60) sends and delivers their notifications in the order of their times,
// stamped with them, whatever the order they were made in.
func TestDispatchTriggersInTimeOrder(t *testing.T) {
	r := newNotifyRig(t)
	ctx := t.Context()
	if err := r.store.CreateQueue(ctx, &meterd.Queue{AccountID: catalog.DemoSellerAccount, Name: "q", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	r.subscribe(t, "sub", meterd.TopicSubscription, "q", false, 1)
	r.subscribe(t, "ent", meterd.TopicEntitlement, "q", false, 1)
	t0 := r.clock.Now()
	a, err := r.market.Accept(ctx, marketplace.AcceptInput{Buyer: "100000000031", OfferID: catalog.DemoUsageOffer})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.market.Cancel(ctx, a.Agreement.ID); err != nil {
		t.Fatal(err)
	}
	bStart := t0.Add(40 * time.Minute)
	b, err := r.market.Accept(ctx, marketplace.AcceptInput{Buyer: "100000000032", OfferID: catalog.DemoUsageOffer, Start: &bStart})
	if err != nil {
		t.Fatal(err)
	}
	// A year's contract that started a year before +20 min ends then.
	cStart, no := t0.Add(20*time.Minute).AddDate(-1, 0, 0), false
	c, err := r.market.Accept(ctx, marketplace.AcceptInput{Buyer: "100000000033", OfferID: catalog.DemoContractOffer, Duration: "P12M",
		Quantities: map[string]int64{"seats": 1}, AutoRenew: &no, Start: &cStart})
	if err != nil {
		t.Fatal(err)
	}
	before := r.snsDeliveries(t, "q") // what the acceptances and the cancel sent at once
	for _, d := range before {
		if d.Customer == b.Agreement.CustomerIdentifier {
			t.Errorf("before its start B got %+v", d)
		}
	}

	r.clock.Advance(2 * time.Hour)
	if _, err := r.market.ApplyDue(ctx); err != nil {
		t.Fatal(err)
	}
	got := r.snsDeliveries(t, "q")
	name := map[string]string{a.Agreement.CustomerIdentifier: "A", b.Agreement.CustomerIdentifier: "B", c.Agreement.CustomerIdentifier: "C"}
	var seen []string
	for i, d := range got {
		seen = append(seen, fmt.Sprintf("%s:%s@%s", name[d.Customer], d.Action, d.Timestamp.Sub(t0)))
		if i > 0 && d.Timestamp.Before(got[i-1].Timestamp) {
			t.Errorf("delivery %d (%s) is older than the one before it", i, seen[i])
		}
	}
	// C's end (and its grace hour an hour later, also passed), B's start,
	// A's grace hour, each at its own time.
	want := "C:unsubscribe-pending@20m0s,B:subscribe-success@40m0s,A:unsubscribe-success@1h0m0s,C:unsubscribe-success@1h20m0s"
	if strings.Join(seen, ",") != want {
		t.Errorf("after one advance the queue got %v, want %s", seen, want)
	}
}
