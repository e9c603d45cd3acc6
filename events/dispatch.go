package events

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/meterd/meterd"
)

// Store is what the dispatcher reads and writes: the notification targets
// and deliveries, and the queues it delivers to.
type Store interface {
	meterd.NotifyStore
	meterd.QueueStore
}

// Delivery policy: SNS's for HTTP endpoints (three immediate tries, then
// a backoff growing to 20 s, 50 attempts in all), used for every target.
const (
	immediateTries = 3
	maxBackoff     = 20 * time.Second
	maxAttempts    = 50
	// leaseTime is how long a process holds the deliveries it takes; a
	// process that dies holding some lets another take them after it.
	leaseTime = 10 * time.Second
	batchSize = 256
)

// Dispatcher delivers the outbox's events to the subscriptions and rules
// that match them, at least once, in order per (target, customer): it
// makes each committed event's deliveries (in one store transaction with
// marking the event dispatched), then leases the due ones, sends them, and
// stores each outcome. Everything it knows is in the store, so a restarted
// process or another one sharing the store carries on where it stopped.
type Dispatcher struct {
	Store  Store
	Queues *Queues // delivers to queues and wakes their long polls
	Signer *Signer
	// BaseURL is meterd's URL as receivers reach it (SigningCertURL,
	// SubscribeURL and UnsubscribeURL start with it).
	BaseURL string
	// HTTPClient sends to http(s) endpoints; nil is a client with a 15 s
	// timeout.
	HTTPClient *http.Client
	Logger     *slog.Logger
	// Now is the wall clock; delivery retries do not follow the server
	// clock.
	Now func() time.Time
	// Faults, when set, decides the injected faults of each delivery
	// (fault rules of operation Notify).
	Faults interface {
		Notify(product, customer, account string) NotifyFault
	}

	owner    string
	once     sync.Once
	wake     chan struct{}
	insecure *http.Client

	mu        sync.Mutex
	confirmAt map[string]time.Time // subscription id → when its confirmation may be sent again
}

func (d *Dispatcher) init() {
	d.once.Do(func() {
		var b [8]byte
		rand.Read(b[:])
		d.owner = hex.EncodeToString(b[:])
		d.wake = make(chan struct{}, 1)
		if d.Logger == nil {
			d.Logger = slog.New(slog.DiscardHandler)
		}
		if d.Now == nil {
			d.Now = time.Now
		}
		if d.HTTPClient == nil {
			d.HTTPClient = &http.Client{Timeout: 15 * time.Second}
		}
		d.insecure = insecureClient(d.HTTPClient.Timeout)
		d.confirmAt = map[string]time.Time{}
	})
}

// Wake makes a running dispatcher look at the store now rather than at
// its next tick (after a retry, say).
func (d *Dispatcher) Wake() {
	d.init()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run dispatches until ctx ends, looking at the store every interval and
// whenever woken.
func (d *Dispatcher) Run(ctx context.Context, interval time.Duration) {
	d.init()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for {
			n, err := d.RunOnce(ctx)
			if err != nil && ctx.Err() == nil {
				d.Logger.Error("notification dispatch", "err", err)
			}
			if n == 0 || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.wake:
		}
	}
}

// RunOnce makes the deliveries of new events and sends one batch of due
// ones; it returns how many events and deliveries it handled (0: nothing
// to do).
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	d.init()
	targets, err := d.loadTargets(ctx)
	if err != nil {
		return 0, err
	}
	d.confirmPending(ctx, targets)
	n, err := d.fanOut(ctx)
	if err != nil {
		return n, err
	}
	m, err := d.deliver(ctx)
	return n + m, err
}

// targets are the subscriptions and rules, by id.
type targets struct {
	subs  map[string]*meterd.Subscription
	rules map[string]*meterd.Rule
	order []string // subscriptions then rules, by creation
	pats  map[string]Pattern
}

func (d *Dispatcher) loadTargets(ctx context.Context) (*targets, error) {
	subs, err := d.Store.Subscriptions(ctx, "")
	if err != nil {
		return nil, err
	}
	rules, err := d.Store.Rules(ctx)
	if err != nil {
		return nil, err
	}
	t := &targets{subs: map[string]*meterd.Subscription{}, rules: map[string]*meterd.Rule{}, pats: map[string]Pattern{}}
	for _, s := range subs {
		t.subs[s.ID] = s
		t.order = append(t.order, s.ID)
	}
	for _, r := range rules {
		p, err := ParsePattern(r.Pattern)
		if err != nil {
			d.Logger.Warn("rule with an invalid pattern ignored", "rule", r.ID, "err", err)
			continue
		}
		t.rules[r.ID], t.pats[r.ID] = r, p
		t.order = append(t.order, r.ID)
	}
	return t, nil
}

// topicOf is the subscription topic an outbox channel publishes to.
var topicOf = map[string]string{
	meterd.ChannelSubscription: meterd.TopicSubscription,
	meterd.ChannelEntitlement:  meterd.TopicEntitlement,
}

// matches reports whether target id gets event e.
func (t *targets) matches(id string, e *meterd.Event, bridge map[string]any) bool {
	if s, ok := t.subs[id]; ok {
		return s.Confirmed && e.Seq > s.AfterSeq && s.ProductCode == e.ProductCode && topicOf[e.Channel] == s.Topic
	}
	r := t.rules[id]
	return bridge != nil && e.Seq > r.AfterSeq && bridge["account"] == r.AccountID && t.pats[id].Match(bridge)
}

// fanOut makes the deliveries of events not dispatched yet. The targets
// are read after the events: a target made later read a LastEventSeq at
// least that of every event read, so it is owed none of them.
func (d *Dispatcher) fanOut(ctx context.Context) (int, error) {
	evs, err := d.Store.UndispatchedEvents(ctx, batchSize)
	if err != nil || len(evs) == 0 {
		return 0, err
	}
	t, err := d.loadTargets(ctx)
	if err != nil {
		return 0, err
	}
	now := d.Now()
	seqs := make([]int64, 0, len(evs))
	var ds []*meterd.Delivery
	for _, e := range evs {
		seqs = append(seqs, e.Seq)
		var bridge map[string]any
		if e.Channel == meterd.ChannelEventBridge {
			if err := json.Unmarshal([]byte(e.Payload), &bridge); err != nil {
				d.Logger.Warn("outbox event is not JSON", "seq", e.Seq, "err", err)
			}
		}
		for _, id := range t.order {
			if t.matches(id, e, bridge) {
				ds = append(ds, &meterd.Delivery{EventSeq: e.Seq, Target: id, CustomerIdentifier: e.CustomerIdentifier,
					NextAttemptAt: now, CreatedAt: now})
			}
		}
	}
	err = d.Store.AddDeliveries(ctx, seqs, ds)
	if meterd.ErrorCode(err) == meterd.EConflict {
		return len(evs), nil // another process dispatched them first
	}
	return len(evs), err
}

// deliver sends one batch of due deliveries and stores the outcomes.
// Deliveries to one queue go in one SendMessages, in event order.
func (d *Dispatcher) deliver(ctx context.Context) (int, error) {
	ds, err := d.Store.LeaseDeliveries(ctx, d.owner, d.Now(), leaseTime, batchSize)
	if err != nil || len(ds) == 0 {
		return 0, err
	}
	t, err := d.loadTargets(ctx)
	if err != nil {
		return 0, err
	}
	type queueKey struct{ account, name string }
	queued := map[queueKey][]*meterd.Delivery{}
	var bodies = map[int64]string{}
	var wg sync.WaitGroup
	results := make([]error, len(ds))
	index := map[int64]int{}
	now := d.Now()
	rendered := d.renderAll(t, ds)
	for i, dl := range ds {
		index[dl.ID] = i
		sendTo, body, err := rendered[i].dst, rendered[i].body, rendered[i].err
		if err != nil {
			results[i] = err
			continue
		}
		f := d.fault(dl, sendTo)
		switch {
		case f.Delay > 0 && dl.Attempts == 0 && !strings.HasPrefix(dl.LastError, delayedBy):
			// Held back once; later deliveries of its customer wait behind it.
			results[i] = &delayed{until: now.Add(f.Delay), rule: f.Rule}
			continue
		case f.Drop:
			results[i] = &permanentError{"dropped by fault rule " + f.Rule}
			continue
		case f.Duplicate:
			sendTo.copies = 2
		}
		if sendTo.protocol == meterd.ProtocolSQS {
			k := queueKey{sendTo.account, sendTo.queue}
			for range max(sendTo.copies, 1) {
				queued[k] = append(queued[k], dl)
			}
			bodies[dl.ID] = body
			continue
		}
		wg.Go(func() {
			for c := 0; c < max(sendTo.copies, 1) && results[i] == nil; c++ {
				results[i] = d.post(ctx, sendTo, body)
			}
		})
	}
	for k, group := range queued {
		msgs := make([]*meterd.QueueMessage, len(group))
		now := d.Now()
		for i, dl := range group {
			msgs[i] = &meterd.QueueMessage{MessageID: newMessageID(), Body: bodies[dl.ID], MessageAttributes: "{}", SentAt: now, VisibleAt: now}
		}
		err := d.Store.SendMessages(ctx, k.account, k.name, msgs)
		if meterd.ErrorCode(err) == meterd.ENotFound {
			err = fmt.Errorf("queue %s of account %s does not exist", k.name, k.account)
		}
		for _, dl := range group {
			results[index[dl.ID]] = err
		}
		if err == nil && d.Queues != nil {
			d.Queues.Notify(k.account, k.name)
		}
	}
	wg.Wait()
	now = d.Now()
	for i, dl := range ds {
		outcome(dl, results[i], now)
		if results[i] != nil {
			d.Logger.Warn("notification delivery failed", "delivery", dl.ID, "target", dl.Target, "attempts", dl.Attempts, "err", results[i])
		}
	}
	return len(ds), d.Store.FinishDeliveries(context.WithoutCancel(ctx), d.owner, ds)
}

// outcome records an attempt's result on dl, with the next attempt's time
// by the retry policy.
func outcome(dl *meterd.Delivery, err error, now time.Time) {
	var held *delayed
	if errors.As(err, &held) {
		dl.UpdatedAt, dl.NextAttemptAt, dl.LastError = now, held.until, held.Error()
		return
	}
	dl.Attempts++
	dl.UpdatedAt = now
	if err == nil {
		dl.Status, dl.LastError = meterd.DeliveryDelivered, ""
		return
	}
	dl.LastError = err.Error()
	var perm *permanentError
	if errors.As(err, &perm) || dl.Attempts >= maxAttempts {
		dl.Status = meterd.DeliveryFailed
		return
	}
	dl.Status, dl.NextAttemptAt = meterd.DeliveryPending, now.Add(backoff(dl.Attempts))
}

// backoff is the wait after the given number of failed attempts.
func backoff(attempts int) time.Duration {
	if attempts < immediateTries {
		return 0
	}
	d := time.Second << min(attempts-immediateTries, 5)
	return min(d, maxBackoff)
}

// permanentError is a delivery that retrying cannot fix (its target was
// deleted).
type permanentError struct{ msg string }

func (e *permanentError) Error() string { return e.msg }

// NotifyFault is what the fault rules decided for one delivery.
type NotifyFault struct {
	Drop      bool          // not sent: recorded failed
	Delay     time.Duration // held back this long before its first attempt
	Duplicate bool          // sent twice
	Rule      string        // the rule that fired, for the delivery's last error
}

// OpNotify is the operation fault rules name to act on deliveries.
const OpNotify = "Notify"

// delayed is a delivery a fault rule holds back until a time.
type delayed struct {
	until time.Time
	rule  string
}

// delayedBy starts the last error of a delayed delivery, which is held
// back only once.
const delayedBy = "delayed by fault rule "

func (e *delayed) Error() string { return delayedBy + e.rule }

// fault returns the injected faults of a delivery (none without rules).
func (d *Dispatcher) fault(dl *meterd.Delivery, dst destination) NotifyFault {
	if d.Faults == nil {
		return NotifyFault{}
	}
	return d.Faults.Notify(dl.Event.ProductCode, dl.CustomerIdentifier, dst.owner)
}

// destination is where one delivery goes.
type destination struct {
	owner          string // the account that owns the target
	copies         int    // how many times to send it (a duplicate fault: 2)
	protocol       string
	account, queue string // sqs
	url            string // http(s)
	headers        map[string]string
	insecure       bool
}

// renderedDelivery is a delivery's destination and body.
type renderedDelivery struct {
	dst  destination
	body string
	err  error
}

// renderAll renders the deliveries on every core: signing an SNS envelope
// (RSA) is most of a delivery's cost, so each (event, topic, signature
// version) is signed once, for every subscription of the topic.
func (d *Dispatcher) renderAll(t *targets, ds []*meterd.Delivery) []renderedDelivery {
	sigs := map[notificationKey]*signed{}
	var unsigned []*signed
	for _, dl := range ds {
		if s, ok := t.subs[dl.Target]; ok && !s.Raw {
			k := notificationKeyOf(s, dl.Event)
			if sigs[k] == nil {
				sigs[k] = &signed{data: d.Signer.notificationMessage(d.BaseURL, s, dl.Event).stringToSign(), version: k.version}
				unsigned = append(unsigned, sigs[k])
			}
		}
	}
	onEveryCore(len(unsigned), func(i int) {
		sg := unsigned[i]
		sg.versionString, sg.signature = d.Signer.signature(sg.data, sg.version)
	})
	out := make([]renderedDelivery, len(ds))
	onEveryCore(len(ds), func(i int) { out[i].dst, out[i].body, out[i].err = d.render(t, ds[i], sigs) })
	return out
}

// signed is the signature of one notificationKey.
type signed struct {
	data                     string // the string to sign
	version                  int
	versionString, signature string
}

// onEveryCore calls f(0) to f(n-1), spread over GOMAXPROCS goroutines.
func onEveryCore(n int, f func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				f(i)
			}
		})
	}
	wg.Wait()
}

// render returns where a delivery goes and its body: the SNS envelope (or
// the bare message, raw) for a subscription, signed with its signature in
// sigs, the event JSON for a rule.
func (d *Dispatcher) render(t *targets, dl *meterd.Delivery, sigs map[notificationKey]*signed) (destination, string, error) {
	if s, ok := t.subs[dl.Target]; ok {
		dst := destination{owner: s.AccountID, protocol: s.Protocol, url: s.Endpoint, insecure: s.InsecureSkipVerify}
		if s.Protocol == meterd.ProtocolSQS {
			dst.account, dst.queue = QueueOf(s.AccountID, s.Endpoint)
		}
		m := d.Signer.notificationMessage(d.BaseURL, s, dl.Event)
		dst.headers = snsHeaders(TypeNotification, m.MessageId, s)
		if s.Raw {
			return dst, dl.Event.Payload, nil
		}
		sg := sigs[notificationKeyOf(s, dl.Event)]
		m.SignatureVersion, m.Signature = sg.versionString, sg.signature
		b, _ := json.Marshal(m)
		return dst, string(b), nil
	}
	if r, ok := t.rules[dl.Target]; ok {
		dst := destination{owner: r.AccountID, protocol: r.Protocol, url: r.Endpoint, insecure: r.InsecureSkipVerify}
		if r.Protocol == meterd.ProtocolSQS {
			dst.account, dst.queue = QueueOf(r.AccountID, r.Endpoint)
		}
		dst.headers = map[string]string{"Content-Type": "application/json"}
		if r.HeaderName != "" {
			dst.headers[r.HeaderName] = r.HeaderValue
		}
		return dst, dl.Event.Payload, nil
	}
	return destination{}, "", &permanentError{"target " + dl.Target + " no longer exists"}
}

// QueueOf returns the queue an sqs endpoint names: a queue name of the
// owner account, an SQS ARN (arn:aws:sqs:REGION:ACCOUNT:NAME) or a queue
// URL (.../ACCOUNT/NAME).
func QueueOf(owner, endpoint string) (account, name string) {
	if strings.HasPrefix(endpoint, "arn:") {
		parts := strings.Split(endpoint, ":")
		if len(parts) == 6 {
			return parts[4], parts[5]
		}
	}
	if i := strings.Index(endpoint, "://"); i >= 0 {
		parts := strings.Split(strings.Trim(endpoint[i+3:], "/"), "/")
		if len(parts) == 3 {
			return parts[1], parts[2]
		}
	}
	return owner, endpoint
}
