package events_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/catalog"
	"github.com/meterd/meterd/marketplace"
)

// TestDispatchOneSignaturePerTopic: the subscriptions of one topic get one
// published message, as from SNS: one MessageId, and, signed once per
// signature version, one Signature; each envelope keeps its own
// UnsubscribeURL (not signed) and verifies.
func TestDispatchOneSignaturePerTopic(t *testing.T) {
	r := newNotifyRig(t)
	ctx := t.Context()
	subs := []struct {
		queue   string
		version int
	}{{"v1-a", 1}, {"v1-b", 1}, {"v2", 2}}
	for _, s := range subs {
		if err := r.store.CreateQueue(ctx, &meterd.Queue{AccountID: catalog.DemoSellerAccount, Name: s.queue, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		r.subscribe(t, "sub-"+s.queue, meterd.TopicSubscription, s.queue, false, s.version)
	}
	if _, err := r.market.Accept(ctx, marketplace.AcceptInput{Buyer: "100000000041", OfferID: catalog.DemoUsageOffer}); err != nil {
		t.Fatal(err)
	}
	r.drain(t)
	envs := map[string]map[string]string{}
	for _, s := range subs {
		got := r.receiveAll(t, s.queue)
		if len(got) != 1 {
			t.Fatalf("queue %s got %d messages, want the subscribe-success", s.queue, len(got))
		}
		var env map[string]string
		if err := json.Unmarshal([]byte(got[0]), &env); err != nil {
			t.Fatal(err)
		}
		verifySNS(t, r.signer.Certificate(), env)
		envs[s.queue] = env
	}
	a, b, v2 := envs["v1-a"], envs["v1-b"], envs["v2"]
	if a["MessageId"] != b["MessageId"] || a["MessageId"] != v2["MessageId"] {
		t.Errorf("MessageIds %s, %s, %s; want one for the published message", a["MessageId"], b["MessageId"], v2["MessageId"])
	}
	if a["Signature"] != b["Signature"] || a["Signature"] == v2["Signature"] || v2["SignatureVersion"] != "2" {
		t.Errorf("signatures v1 %.12s, v1 %.12s, v2 %.12s (version %s); want the two v1 alike and v2 its own", a["Signature"], b["Signature"], v2["Signature"], v2["SignatureVersion"])
	}
	if a["UnsubscribeURL"] == b["UnsubscribeURL"] {
		t.Errorf("both subscriptions got UnsubscribeURL %s, want each its own", a["UnsubscribeURL"])
	}
}
