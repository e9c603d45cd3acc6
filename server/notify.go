package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/meterd/meterd/events"
)

// notifyState is the server's notification parts besides the dispatcher.
type notifyState struct {
	queues *events.Queues
	// notifications manages subscriptions, rules and queues for the admin
	// API.
	notifications *events.Notifications
	stop          context.CancelFunc
	done          chan struct{}
}

// notifyInterval is how often the dispatcher looks for new events and due
// retries in the store (by the real clock).
const notifyInterval = 100 * time.Millisecond

// setupNotify makes the queues and, when the store keeps subscriptions and
// deliveries, the dispatcher with the store's SNS signing key.
func (m *Main) setupNotify(ctx context.Context) error {
	st, ok := m.Ledger.(events.Store)
	if !ok {
		return nil
	}
	m.notify.queues = &events.Queues{Store: st}
	signer, err := events.NewSigner(ctx, m.Ledger)
	if err != nil {
		return err
	}
	m.Notify = &events.Dispatcher{Store: st, Queues: m.notify.queues, Signer: signer, BaseURL: m.URL(), Logger: m.Logger, Faults: m.Faults}
	m.notify.notifications = &events.Notifications{Store: st, Products: m.Ledger, Queues: m.notify.queues, Dispatcher: m.Notify, BaseURL: m.URL()}
	return nil
}

// startNotify starts the dispatcher's loop.
func (m *Main) startNotify(ctx context.Context) {
	if m.Notify == nil {
		return
	}
	var nctx context.Context
	nctx, m.notify.stop = context.WithCancel(context.WithoutCancel(ctx))
	m.notify.done = make(chan struct{})
	go func() {
		defer close(m.notify.done)
		m.Notify.Run(nctx, notifyInterval)
	}()
}

// stopNotifier stops the dispatcher's loop and waits for it: what it was
// sending is finished or left to its lease.
func (m *Main) stopNotifier() {
	if m.notify.stop != nil {
		m.notify.stop()
		<-m.notify.done
	}
}

// notifyRoutes serves what SNS serves publicly: the signing certificate
// at SigningCertURL, SubscribeURL and UnsubscribeURL. No admin token:
// receivers reach them as they reach SNS's.
func (m *Main) notifyRoutes(mux *http.ServeMux) {
	if m.Notify == nil {
		return
	}
	(&events.SNSHandler{Store: m.Notify.Store, Signer: m.Notify.Signer}).Routes(mux)
}

// bannerQueues adds the queues (the demo's marketplace-events) and what
// is subscribed to them to the start banner.
func (m *Main) bannerQueues(ctx context.Context, b *strings.Builder) {
	if m.notify.queues == nil {
		return
	}
	qs, err := m.notify.queues.Store.Queues(ctx, "", "")
	if err != nil || len(qs) == 0 {
		return
	}
	b.WriteString("\n")
	for i, q := range qs {
		if i == 5 {
			fmt.Fprintf(b, "  ... and %d more queues\n", len(qs)-5)
			break
		}
		fmt.Fprintf(b, "  queue %s (SQS, AWS_ENDPOINT_URL_SQS)\n", events.QueueURL(m.URL(), q.AccountID, q.Name))
	}
}
