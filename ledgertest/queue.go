package ledgertest

import (
	"context"
	"testing"
	"time"

	"github.com/meterd/meterd"
)

// RunQueues runs the queue contract (meterd.QueueStore) against stores made
// by open.
func RunQueues(t *testing.T, open func(t *testing.T) meterd.QueueStore) {
	t.Run("Queues", func(t *testing.T) { testQueues(t, open) })
	t.Run("QueueMessages", func(t *testing.T) { testQueueMessages(t, open) })
	t.Run("Reset", func(t *testing.T) { testQueueReset(t, open) })
}

// testQueueReset checks that a store's Reset (meterd reset) removes queues
// and their messages with the rest of the catalog.
func testQueueReset(t *testing.T, open func(t *testing.T) meterd.QueueStore) {
	ctx := t.Context()
	s := open(t)
	r, ok := s.(interface{ Reset(context.Context) error })
	if !ok {
		t.Fatalf("%T has no Reset", s)
	}
	must(t, "CreateQueue", s.CreateQueue(ctx, &meterd.Queue{AccountID: seller, Name: "q", CreatedAt: h0}))
	must(t, "SendMessages", s.SendMessages(ctx, seller, "q", []*meterd.QueueMessage{{MessageID: "m", Body: "b", MessageAttributes: "{}", SentAt: h0, VisibleAt: h0}}))
	must(t, "Reset", r.Reset(ctx))
	qs, err := s.Queues(ctx, "", "")
	must(t, "Queues", err)
	if len(qs) != 0 {
		t.Errorf("Queues after Reset = %d, want 0", len(qs))
	}
	must(t, "CreateQueue after Reset", s.CreateQueue(ctx, &meterd.Queue{AccountID: seller, Name: "q", CreatedAt: h0}))
	if got, _ := s.ReceiveMessages(ctx, seller, "q", h1, 10, time.Minute); len(got) != 0 {
		t.Errorf("messages after Reset = %d, want 0", len(got))
	}
}

func testQueues(t *testing.T, open func(t *testing.T) meterd.QueueStore) {
	ctx := t.Context()
	s := open(t)
	q := &meterd.Queue{AccountID: seller, Name: "events", Attributes: map[string]string{"VisibilityTimeout": "30"}, CreatedAt: h0}
	must(t, "CreateQueue", s.CreateQueue(ctx, q))
	checkCode(t, "CreateQueue again", s.CreateQueue(ctx, q), meterd.EConflict)
	must(t, "CreateQueue other account", s.CreateQueue(ctx, &meterd.Queue{AccountID: buyer1, Name: "events", CreatedAt: h0}))
	must(t, "CreateQueue second", s.CreateQueue(ctx, &meterd.Queue{AccountID: seller, Name: "other", CreatedAt: h1}))

	got, err := s.Queue(ctx, seller, "events")
	must(t, "Queue", err)
	if got.Attributes["VisibilityTimeout"] != "30" {
		t.Errorf("Queue attributes = %v, want VisibilityTimeout 30", got.Attributes)
	}
	checkTime(t, "Queue CreatedAt", got.CreatedAt, h0)
	_, err = s.Queue(ctx, "999999999999", "events")
	checkCode(t, "Queue of another account", err, meterd.ENotFound)

	for _, tc := range []struct {
		name, account, prefix string
		want                  int
	}{
		{"Seller", seller, "", 2},
		{"Prefix", seller, "ev", 1},
		{"Buyer", buyer1, "", 1},
		{"Every", "", "", 3},
		{"None", seller, "zz", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			qs, err := s.Queues(ctx, tc.account, tc.prefix)
			must(t, "Queues", err)
			if len(qs) != tc.want {
				t.Errorf("Queues(%q, %q) = %d queues, want %d", tc.account, tc.prefix, len(qs), tc.want)
			}
		})
	}

	must(t, "SetQueueAttributes", s.SetQueueAttributes(ctx, seller, "events", map[string]string{"DelaySeconds": "5"}))
	got, _ = s.Queue(ctx, seller, "events")
	if got.Attributes["VisibilityTimeout"] != "30" || got.Attributes["DelaySeconds"] != "5" {
		t.Errorf("attributes after Set = %v, want both kept", got.Attributes)
	}
	checkCode(t, "SetQueueAttributes missing", s.SetQueueAttributes(ctx, seller, "nope", nil), meterd.ENotFound)

	must(t, "DeleteQueue", s.DeleteQueue(ctx, seller, "events"))
	checkCode(t, "DeleteQueue again", s.DeleteQueue(ctx, seller, "events"), meterd.ENotFound)
	if _, err := s.Queue(ctx, buyer1, "events"); err != nil {
		t.Errorf("other account's queue after delete: %v", err)
	}
}

func testQueueMessages(t *testing.T, open func(t *testing.T) meterd.QueueStore) {
	ctx := t.Context()
	s := open(t)
	must(t, "CreateQueue", s.CreateQueue(ctx, &meterd.Queue{AccountID: seller, Name: "q", CreatedAt: h0}))
	send := func(id string, visible time.Time) *meterd.QueueMessage {
		return &meterd.QueueMessage{MessageID: id, Body: "body-" + id, MessageAttributes: "{}", SentAt: h0, VisibleAt: visible}
	}
	must(t, "SendMessages", s.SendMessages(ctx, seller, "q", []*meterd.QueueMessage{send("m1", h0), send("m2", h0), send("m3", h0.Add(10*time.Second))}))
	checkCode(t, "SendMessages duplicate id", s.SendMessages(ctx, seller, "q", []*meterd.QueueMessage{send("m4", h0), send("m1", h0)}), meterd.EConflict)
	checkCode(t, "SendMessages no queue", s.SendMessages(ctx, buyer1, "q", []*meterd.QueueMessage{send("x", h0)}), meterd.ENotFound)

	vis, fl, err := s.QueueCounts(ctx, seller, "q", h0)
	must(t, "QueueCounts", err)
	if vis != 2 || fl != 1 {
		t.Errorf("QueueCounts at h0 = %d, %d; want 2, 1 (m3 delayed, m4 rolled back)", vis, fl)
	}

	t0 := h0.Add(time.Second)
	got, err := s.ReceiveMessages(ctx, seller, "q", t0, 1, 30*time.Second)
	must(t, "ReceiveMessages", err)
	if len(got) != 1 || got[0].MessageID != "m1" || got[0].Body != "body-m1" || got[0].ReceiveCount != 1 {
		t.Fatalf("first receive = %+v, want m1 with count 1", got)
	}
	checkTime(t, "FirstReceivedAt", got[0].FirstReceivedAt, t0)
	checkTime(t, "VisibleAt", got[0].VisibleAt, t0.Add(30*time.Second))
	checkTime(t, "SentAt", got[0].SentAt, h0)

	got, _ = s.ReceiveMessages(ctx, seller, "q", t0, 10, 30*time.Second)
	if len(got) != 1 || got[0].MessageID != "m2" {
		t.Fatalf("second receive = %+v, want m2 alone (m1 in flight, m3 delayed)", got)
	}
	// After m1's timeout it comes back with a new count; the old receipt
	// no longer deletes it.
	t1 := t0.Add(31 * time.Second)
	got, _ = s.ReceiveMessages(ctx, seller, "q", t1, 10, 30*time.Second)
	if len(got) != 3 || got[0].MessageID != "m1" || got[0].ReceiveCount != 2 {
		t.Fatalf("receive after timeout = %+v, want m1 (count 2), m2, m3", got)
	}
	checkTime(t, "FirstReceivedAt kept", got[0].FirstReceivedAt, t0)
	must(t, "DeleteMessage stale", s.DeleteMessage(ctx, seller, "q", "m1", 1))
	if _, fl, _ := s.QueueCounts(ctx, seller, "q", t1); fl != 3 {
		t.Errorf("in flight after stale delete = %d, want 3", fl)
	}
	must(t, "DeleteMessage", s.DeleteMessage(ctx, seller, "q", "m1", 2))
	must(t, "DeleteMessage gone", s.DeleteMessage(ctx, seller, "q", "m1", 2))
	checkCode(t, "DeleteMessage no queue", s.DeleteMessage(ctx, seller, "nope", "m1", 2), meterd.ENotFound)

	// ChangeMessageVisibility to now makes m2 receivable again at once.
	must(t, "ChangeMessageVisibility", s.ChangeMessageVisibility(ctx, seller, "q", "m2", 2, t1, t1))
	checkCode(t, "ChangeMessageVisibility not in flight", s.ChangeMessageVisibility(ctx, seller, "q", "m2", 2, t1, t1.Add(time.Minute)), meterd.EConflict)
	checkCode(t, "ChangeMessageVisibility stale", s.ChangeMessageVisibility(ctx, seller, "q", "m3", 9, t1, t1), meterd.ENotFound)
	got, _ = s.ReceiveMessages(ctx, seller, "q", t1, 10, time.Minute)
	if len(got) != 1 || got[0].MessageID != "m2" || got[0].ReceiveCount != 3 {
		t.Fatalf("receive after visibility change = %+v, want m2 (count 3)", got)
	}

	must(t, "PurgeQueue", s.PurgeQueue(ctx, seller, "q"))
	if vis, fl, _ := s.QueueCounts(ctx, seller, "q", t1.Add(time.Hour)); vis+fl != 0 {
		t.Errorf("counts after purge = %d, %d; want 0, 0", vis, fl)
	}
	checkCode(t, "PurgeQueue missing", s.PurgeQueue(ctx, seller, "nope"), meterd.ENotFound)
	_, err = s.ReceiveMessages(ctx, buyer1, "q", t1, 1, time.Minute)
	checkCode(t, "ReceiveMessages of another account", err, meterd.ENotFound)
}
