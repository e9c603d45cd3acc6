package ledgertest

import (
	"slices"
	"testing"
	"time"

	"github.com/meterd/meterd"
)

// NotifyStore is what the notification contract needs of a store: the
// ledger (for the outbox) and meterd.NotifyStore.
type NotifyStore interface {
	meterd.Ledger
	meterd.NotifyStore
}

// RunNotify runs the notification contract (meterd.NotifyStore) against
// stores made by open.
func RunNotify(t *testing.T, open func(t *testing.T) NotifyStore) {
	t.Run("Subscriptions", func(t *testing.T) { testSubscriptions(t, open) })
	t.Run("Rules", func(t *testing.T) { testRules(t, open) })
	t.Run("CreationOrder", func(t *testing.T) { testCreationOrder(t, open) })
	t.Run("Dispatch", func(t *testing.T) { testDispatch(t, open) })
	t.Run("Lease", func(t *testing.T) { testLease(t, open) })
	t.Run("Retry", func(t *testing.T) { testRetryDelivery(t, open) })
	t.Run("Reset", func(t *testing.T) { testNotifyReset(t, open) })
}

func testSubscriptions(t *testing.T, open func(t *testing.T) NotifyStore) {
	ctx := t.Context()
	s := open(t)
	sub := &meterd.Subscription{ID: "s1", ProductCode: product1, AccountID: seller, Topic: meterd.TopicSubscription,
		Protocol: meterd.ProtocolHTTPS, Endpoint: "https://seller.test/sns", SignatureVersion: 2, InsecureSkipVerify: true,
		Token: "tok", AfterSeq: 7, CreatedAt: h0}
	must(t, "CreateSubscription", s.CreateSubscription(ctx, sub))
	checkCode(t, "CreateSubscription again", s.CreateSubscription(ctx, sub), meterd.EConflict)
	must(t, "CreateSubscription s2", s.CreateSubscription(ctx, &meterd.Subscription{ID: "s2", ProductCode: product2, AccountID: seller,
		Topic: meterd.TopicEntitlement, Protocol: meterd.ProtocolSQS, Endpoint: "q", Raw: true, SignatureVersion: 1, Confirmed: true, CreatedAt: h1}))
	got, err := s.Subscription(ctx, "s1")
	must(t, "Subscription", err)
	if got.Endpoint != sub.Endpoint || got.SignatureVersion != 2 || !got.InsecureSkipVerify || got.Confirmed || got.Token != "tok" || got.AfterSeq != 7 {
		t.Errorf("Subscription(s1) = %+v, want %+v", got, sub)
	}
	checkTime(t, "Subscription.CreatedAt", got.CreatedAt, h0)
	_, err = s.Subscription(ctx, "nope")
	checkCode(t, "Subscription(nope)", err, meterd.ENotFound)

	all, err := s.Subscriptions(ctx, "")
	must(t, "Subscriptions", err)
	if len(all) != 2 || all[0].ID != "s1" || all[1].ID != "s2" || !all[1].Raw || !all[1].Confirmed {
		t.Errorf("Subscriptions() = %+v, want s1 then s2 (raw, confirmed)", all)
	}
	if p2, _ := s.Subscriptions(ctx, product2); len(p2) != 1 || p2[0].ID != "s2" {
		t.Errorf("Subscriptions(%s) = %v, want s2", product2, p2)
	}

	checkCode(t, "ConfirmSubscription wrong token", s.ConfirmSubscription(ctx, "s1", "bad", 9), meterd.ENotFound)
	must(t, "ConfirmSubscription", s.ConfirmSubscription(ctx, "s1", "tok", 9))
	must(t, "ConfirmSubscription twice", s.ConfirmSubscription(ctx, "s1", "tok", 12))
	got, _ = s.Subscription(ctx, "s1")
	if !got.Confirmed || got.AfterSeq != 9 {
		t.Errorf("after confirmation: confirmed %v after_seq %d, want true 9 (a second confirmation changes nothing)", got.Confirmed, got.AfterSeq)
	}
	must(t, "DeleteSubscription", s.DeleteSubscription(ctx, "s1"))
	checkCode(t, "DeleteSubscription again", s.DeleteSubscription(ctx, "s1"), meterd.ENotFound)
}

func testRules(t *testing.T, open func(t *testing.T) NotifyStore) {
	ctx := t.Context()
	s := open(t)
	r := &meterd.Rule{ID: "r1", AccountID: seller, Pattern: `{"detail-type":["x"]}`, Protocol: meterd.ProtocolHTTPS,
		Endpoint: "https://seller.test/eb", HeaderName: "X-Secret", HeaderValue: "s3cret", AfterSeq: 3, CreatedAt: h0}
	must(t, "CreateRule", s.CreateRule(ctx, r))
	checkCode(t, "CreateRule again", s.CreateRule(ctx, r), meterd.EConflict)
	rules, err := s.Rules(ctx)
	must(t, "Rules", err)
	if len(rules) != 1 || rules[0].Pattern != r.Pattern || rules[0].HeaderValue != "s3cret" || rules[0].AfterSeq != 3 {
		t.Fatalf("Rules() = %+v, want %+v", rules, r)
	}
	checkTime(t, "Rule.CreatedAt", rules[0].CreatedAt, h0)
	must(t, "DeleteRule", s.DeleteRule(ctx, "r1"))
	checkCode(t, "DeleteRule again", s.DeleteRule(ctx, "r1"), meterd.ENotFound)
}

// testCreationOrder checks that subscriptions and rules list in the order
// they were made, not by id, when they were made at one clock instant (or
// the clock went back), and still after the newest one is deleted.
func testCreationOrder(t *testing.T, open func(t *testing.T) NotifyStore) {
	s := open(t)
	for _, id := range []string{"z", "m", "a"} {
		createTarget(t, s, id, h1)
	}
	createTarget(t, s, "b", h0)
	createTarget(t, s, "y", h0)
	must(t, "DeleteSubscription y", s.DeleteSubscription(t.Context(), "y"))
	must(t, "DeleteRule y", s.DeleteRule(t.Context(), "y"))
	createTarget(t, s, "c", h0)
	checkTargetOrder(t, s, []string{"z", "m", "a", "b", "c"})
}

// upgradeTargets are the subscriptions and rules SeedNotifyTargets makes,
// in the order it makes them, and their creation times.
var upgradeTargets = []struct {
	id      string
	created time.Time
}{{"b", h0}, {"a", h1}, {"c", h0}}

// SeedNotifyTargets makes the subscriptions and rules that
// CheckNotifyTargetsUpgrade expects, for a test that takes the store back
// to before migration 0043 (when they listed by creation time, then id).
func SeedNotifyTargets(t *testing.T, s NotifyStore) {
	t.Helper()
	for _, m := range upgradeTargets {
		createTarget(t, s, m.id, m.created)
	}
}

// CheckNotifyTargetsUpgrade checks a store seeded by SeedNotifyTargets,
// taken back to before migration 0043 and opened again: the targets list
// in their old order (creation time, then id), and a new one after them.
func CheckNotifyTargetsUpgrade(t *testing.T, s NotifyStore) {
	t.Helper()
	createTarget(t, s, "0", h0)
	checkTargetOrder(t, s, []string{"b", "c", "a", "0"})
}

// createTarget makes a subscription and a rule of that id.
func createTarget(t *testing.T, s NotifyStore, id string, created time.Time) {
	t.Helper()
	must(t, "CreateSubscription "+id, s.CreateSubscription(t.Context(), &meterd.Subscription{ID: id, ProductCode: product1, AccountID: seller,
		Topic: meterd.TopicSubscription, Protocol: meterd.ProtocolSQS, Endpoint: "q", SignatureVersion: 1, Confirmed: true, CreatedAt: created}))
	must(t, "CreateRule "+id, s.CreateRule(t.Context(), &meterd.Rule{ID: id, AccountID: seller, Pattern: "{}",
		Protocol: meterd.ProtocolSQS, Endpoint: "q", CreatedAt: created}))
}

// checkTargetOrder checks the ids of the store's subscriptions and rules,
// in the order they list.
func checkTargetOrder(t *testing.T, s NotifyStore, want []string) {
	t.Helper()
	subs, err := s.Subscriptions(t.Context(), "")
	must(t, "Subscriptions", err)
	var subIDs []string
	for _, sub := range subs {
		subIDs = append(subIDs, sub.ID)
	}
	if !slices.Equal(subIDs, want) {
		t.Errorf("Subscriptions() = %v, want %v", subIDs, want)
	}
	rules, err := s.Rules(t.Context())
	must(t, "Rules", err)
	var ruleIDs []string
	for _, r := range rules {
		ruleIDs = append(ruleIDs, r.ID)
	}
	if !slices.Equal(ruleIDs, want) {
		t.Errorf("Rules() = %v, want %v", ruleIDs, want)
	}
}

// outbox seeds the catalog and commits one event per customer given, in
// order, returning them with their Seqs.
func outbox(t *testing.T, s NotifyStore, customers ...string) []*meterd.Event {
	t.Helper()
	seedCatalog(t, s)
	var out []*meterd.Event
	for i, c := range customers {
		e := &meterd.Event{ID: "e" + string(rune('a'+i)), Channel: meterd.ChannelSubscription, Type: "subscribe-success",
			ProductCode: product1, CustomerIdentifier: c, Payload: "{}", CreatedAt: h0}
		apply(t, s, &meterd.MarketChange{Events: []*meterd.Event{e}})
		out = append(out, e)
	}
	return out
}

func delivery(e *meterd.Event, target string) *meterd.Delivery {
	return &meterd.Delivery{EventSeq: e.Seq, Target: target, CustomerIdentifier: e.CustomerIdentifier, NextAttemptAt: h0, CreatedAt: h0}
}

func testDispatch(t *testing.T, open func(t *testing.T) NotifyStore) {
	ctx := t.Context()
	s := open(t)
	evs := outbox(t, s, customer1, customer2, customer1)
	last, err := s.LastEventSeq(ctx)
	must(t, "LastEventSeq", err)
	if last != evs[2].Seq {
		t.Errorf("LastEventSeq = %d, want %d", last, evs[2].Seq)
	}
	und, err := s.UndispatchedEvents(ctx, 2)
	must(t, "UndispatchedEvents", err)
	if len(und) != 2 || und[0].ID != evs[0].ID || und[1].ID != evs[1].ID {
		t.Fatalf("UndispatchedEvents(2) = %d events, want the first two", len(und))
	}
	ds := []*meterd.Delivery{delivery(evs[0], "s1"), delivery(evs[0], "s2"), delivery(evs[1], "s1")}
	must(t, "AddDeliveries", s.AddDeliveries(ctx, []int64{evs[0].Seq, evs[1].Seq}, ds))
	if ds[0].ID == 0 || ds[0].ID == ds[1].ID {
		t.Errorf("AddDeliveries ids = %d %d, want distinct and set", ds[0].ID, ds[1].ID)
	}
	// Another process dispatching the same events writes nothing.
	err = s.AddDeliveries(ctx, []int64{evs[2].Seq, evs[1].Seq}, []*meterd.Delivery{delivery(evs[2], "s1"), delivery(evs[1], "s3")})
	checkCode(t, "AddDeliveries of a dispatched event", err, meterd.EConflict)
	und, _ = s.UndispatchedEvents(ctx, 10)
	if len(und) != 1 || und[0].ID != evs[2].ID {
		t.Errorf("UndispatchedEvents after a refused dispatch = %d, want only the third", len(und))
	}
	all, err := s.Deliveries(ctx, meterd.DeliveryFilter{})
	must(t, "Deliveries", err)
	if len(all) != 3 || all[0].Status != meterd.DeliveryPending || all[0].Event == nil || all[0].Event.ID != evs[0].ID {
		t.Fatalf("Deliveries() = %+v, want the three added, pending, with their events", all)
	}
	if got, _ := s.Deliveries(ctx, meterd.DeliveryFilter{Target: "s2"}); len(got) != 1 || got[0].ID != ds[1].ID {
		t.Errorf("Deliveries(target s2) = %v, want one", got)
	}
	// The newest first, as many as asked: the console's bounded read.
	if got, _ := s.Deliveries(ctx, meterd.DeliveryFilter{Newest: true, Limit: 2}); len(got) != 2 || got[0].ID != all[2].ID || got[1].ID != all[1].ID {
		t.Errorf("Deliveries(newest, limit 2) = %v, want the last two, newest first", got)
	}
	// An event without matching targets is dispatched with no deliveries.
	must(t, "AddDeliveries none", s.AddDeliveries(ctx, []int64{evs[2].Seq}, nil))
	if und, _ = s.UndispatchedEvents(ctx, 10); len(und) != 0 {
		t.Errorf("UndispatchedEvents = %d, want 0", len(und))
	}
}

func leasedIDs(ds []*meterd.Delivery) []int64 {
	var out []int64
	for _, d := range ds {
		out = append(out, d.ID)
	}
	return out
}

func testLease(t *testing.T, open func(t *testing.T) NotifyStore) {
	ctx := t.Context()
	s := open(t)
	evs := outbox(t, s, customer1, customer2, customer1, customer1)
	ds := []*meterd.Delivery{delivery(evs[0], "s1"), delivery(evs[1], "s1"), delivery(evs[2], "s1"), delivery(evs[3], "s1")}
	ds[1].NextAttemptAt = h0.Add(10 * time.Second) // not due at h0
	must(t, "AddDeliveries", s.AddDeliveries(ctx, []int64{evs[0].Seq, evs[1].Seq, evs[2].Seq, evs[3].Seq}, ds))
	lease := time.Minute

	got, err := s.LeaseDeliveries(ctx, "a", h0, lease, 10)
	must(t, "LeaseDeliveries", err)
	// Only the earliest of customer1 (evs[0]); customer2's is not due.
	if !slices.Equal(leasedIDs(got), []int64{ds[0].ID}) {
		t.Fatalf("LeaseDeliveries(h0) = %v, want [%d]", leasedIDs(got), ds[0].ID)
	}
	if got[0].Event == nil || got[0].Event.Seq != evs[0].Seq {
		t.Errorf("leased delivery's event = %+v, want event %d", got[0].Event, evs[0].Seq)
	}
	// Held by a: nobody else gets it, nor the next one of its customer.
	if other, _ := s.LeaseDeliveries(ctx, "b", h0.Add(20*time.Second), lease, 10); !slices.Equal(leasedIDs(other), []int64{ds[1].ID}) {
		t.Errorf("LeaseDeliveries(b, h0+20s) = %v, want only customer2's [%d]", leasedIDs(other), ds[1].ID)
	}
	// A finish by someone who does not hold it changes nothing.
	d := *got[0]
	d.Status, d.Attempts, d.UpdatedAt = meterd.DeliveryDelivered, 1, h0
	must(t, "FinishDeliveries by b", s.FinishDeliveries(ctx, "b", []*meterd.Delivery{&d}))
	if st, _ := s.Deliveries(ctx, meterd.DeliveryFilter{Status: meterd.DeliveryDelivered}); len(st) != 0 {
		t.Errorf("delivered after another owner's finish = %d, want 0", len(st))
	}
	must(t, "FinishDeliveries by a", s.FinishDeliveries(ctx, "a", []*meterd.Delivery{&d}))
	got, _ = s.LeaseDeliveries(ctx, "a", h0, lease, 10)
	if !slices.Equal(leasedIDs(got), []int64{ds[2].ID}) {
		t.Fatalf("LeaseDeliveries after the first was delivered = %v, want [%d]", leasedIDs(got), ds[2].ID)
	}
	// A failed delivery does not hold back the next one; a retry waits.
	f := *got[0]
	f.Status, f.Attempts, f.LastError, f.UpdatedAt = meterd.DeliveryFailed, 50, "connection refused", h0
	must(t, "FinishDeliveries failed", s.FinishDeliveries(ctx, "a", []*meterd.Delivery{&f}))
	got, _ = s.LeaseDeliveries(ctx, "a", h0, lease, 10)
	if !slices.Equal(leasedIDs(got), []int64{ds[3].ID}) {
		t.Fatalf("LeaseDeliveries after a failure = %v, want [%d]", leasedIDs(got), ds[3].ID)
	}
	r := *got[0]
	r.Status, r.Attempts, r.LastError, r.NextAttemptAt, r.UpdatedAt = meterd.DeliveryPending, 1, "HTTP 500", h1, h0
	must(t, "FinishDeliveries retry", s.FinishDeliveries(ctx, "a", []*meterd.Delivery{&r}))
	if got, _ = s.LeaseDeliveries(ctx, "a", h0.Add(time.Second), lease, 10); len(got) != 0 {
		t.Errorf("LeaseDeliveries before the retry is due = %v, want none", leasedIDs(got))
	}
	failed, err := s.Deliveries(ctx, meterd.DeliveryFilter{Status: meterd.DeliveryFailed})
	must(t, "Deliveries(failed)", err)
	if len(failed) != 1 || failed[0].LastError != "connection refused" || failed[0].Attempts != 50 {
		t.Errorf("Deliveries(failed) = %+v, want the failed one with its error", failed)
	}
	// An expired lease is taken over: b's lease of customer2's ended long before.
	got, _ = s.LeaseDeliveries(ctx, "c", h1.Add(2*lease), lease, 10)
	if !slices.Equal(leasedIDs(got), []int64{ds[1].ID, ds[3].ID}) {
		t.Errorf("LeaseDeliveries after leases expired = %v, want [%d %d]", leasedIDs(got), ds[1].ID, ds[3].ID)
	}
}

func testRetryDelivery(t *testing.T, open func(t *testing.T) NotifyStore) {
	ctx := t.Context()
	s := open(t)
	evs := outbox(t, s, customer1)
	ds := []*meterd.Delivery{delivery(evs[0], "s1")}
	must(t, "AddDeliveries", s.AddDeliveries(ctx, []int64{evs[0].Seq}, ds))
	got, _ := s.LeaseDeliveries(ctx, "a", h0, time.Minute, 1)
	f := *got[0]
	f.Status, f.Attempts, f.LastError, f.UpdatedAt = meterd.DeliveryFailed, 50, "timeout", h0
	must(t, "FinishDeliveries", s.FinishDeliveries(ctx, "a", []*meterd.Delivery{&f}))
	d, err := s.RetryDelivery(ctx, ds[0].ID, h1)
	must(t, "RetryDelivery", err)
	if d.Status != meterd.DeliveryPending || d.Attempts != 0 || d.Event == nil {
		t.Errorf("RetryDelivery = %+v, want pending with 0 attempts and its event", d)
	}
	checkTime(t, "RetryDelivery NextAttemptAt", d.NextAttemptAt, h1)
	if got, _ = s.LeaseDeliveries(ctx, "b", h1, time.Minute, 1); len(got) != 1 {
		t.Errorf("LeaseDeliveries after a retry = %d, want 1", len(got))
	}
	_, err = s.RetryDelivery(ctx, 999999, h1)
	checkCode(t, "RetryDelivery(unknown)", err, meterd.ENotFound)
}

func testNotifyReset(t *testing.T, open func(t *testing.T) NotifyStore) {
	ctx := t.Context()
	s := open(t)
	evs := outbox(t, s, customer1)
	must(t, "CreateSubscription", s.CreateSubscription(ctx, &meterd.Subscription{ID: "s1", ProductCode: product1, AccountID: seller,
		Topic: meterd.TopicSubscription, Protocol: meterd.ProtocolSQS, Endpoint: "q", SignatureVersion: 1, Confirmed: true, CreatedAt: h0}))
	must(t, "CreateRule", s.CreateRule(ctx, &meterd.Rule{ID: "r1", AccountID: seller, Pattern: "{}", Protocol: meterd.ProtocolSQS, Endpoint: "q", CreatedAt: h0}))
	must(t, "AddDeliveries", s.AddDeliveries(ctx, []int64{evs[0].Seq}, []*meterd.Delivery{delivery(evs[0], "s1")}))
	must(t, "Reset", s.Reset(ctx))
	subs, _ := s.Subscriptions(ctx, "")
	rules, _ := s.Rules(ctx)
	ds, _ := s.Deliveries(ctx, meterd.DeliveryFilter{})
	if len(subs)+len(rules)+len(ds) != 0 {
		t.Errorf("after Reset: %d subscriptions, %d rules, %d deliveries; want none", len(subs), len(rules), len(ds))
	}
}
