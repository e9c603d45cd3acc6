package server

import (
	"context"
	"net/http"
	"time"

	"github.com/meterd/meterd/events"
)

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
	m.queues = &events.Queues{Store: st}
	signer, err := events.NewSigner(ctx, m.Ledger)
	if err != nil {
		return err
	}
	m.Notify = &events.Dispatcher{Store: st, Queues: m.queues, Signer: signer, BaseURL: m.URL(), Logger: m.Logger}
	return nil
}

// startNotify starts the dispatcher's loop.
func (m *Main) startNotify(ctx context.Context) {
	if m.Notify == nil {
		return
	}
	var nctx context.Context
	nctx, m.stopNotify = context.WithCancel(context.WithoutCancel(ctx))
	m.notifyDone = make(chan struct{})
	go func() {
		defer close(m.notifyDone)
		m.Notify.Run(nctx, notifyInterval)
	}()
}

// stopNotifier stops the dispatcher's loop and waits for it: what it was
// sending is finished or left to its lease.
func (m *Main) stopNotifier() {
	if m.stopNotify != nil {
		m.stopNotify()
		<-m.notifyDone
	}
}

// notifyRoutes serves what SNS serves publicly: the signing certificate at
// SigningCertURL. No admin token: receivers fetch it to verify messages.
func (m *Main) notifyRoutes(mux *http.ServeMux) {
	if m.Notify == nil {
		return
	}
	cert := m.Notify.Signer.Certificate()
	mux.HandleFunc("GET "+m.Notify.Signer.CertPath(), func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-x509-ca-cert")
		w.Write(cert)
	})
}
