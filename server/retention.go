package server

import (
	"context"
	"time"

	"github.com/meterd/meterd"
)

// purgeInterval is how often, on wall time, the server runs a retention
// purge pass (meterd.Purger); the cutoffs come from the server clock.
const purgeInterval = time.Minute

// purger returns the retention purger of the server's configuration.
func (m *Main) purger() *meterd.Purger {
	p := &meterd.Purger{Ledger: m.Ledger, Clock: m.Clock, ClientTokens: m.Config.ClientTokenRetention, Usage: m.Config.Retain}
	if m.metrics != nil {
		p.Purged = m.metrics.Purged
	}
	return p
}

// Purge runs one retention purge pass now, as the background one does
// every purgeInterval, and returns the rows it deleted by kind.
func (m *Main) Purge(ctx context.Context) (map[string]int, error) {
	done, err := m.purger().Pass(ctx)
	if len(done) > 0 {
		m.Logger.Info("retention purge", "client_tokens", done[meterd.PurgedClientTokens],
			"registration_tokens", done[meterd.PurgedRegistrationTokens], "usage_records", done[meterd.PurgedUsageRecords])
	}
	if err != nil {
		m.Logger.Error("retention purge", "err", err)
	}
	return done, err
}

// startPurger runs Purge every purgeInterval until stopPurger.
func (m *Main) startPurger() {
	m.purgeStop, m.purgeDone = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(m.purgeDone)
		t := time.NewTicker(purgeInterval)
		defer t.Stop()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			<-m.purgeStop
			cancel()
		}()
		for {
			select {
			case <-m.purgeStop:
				return
			case <-t.C:
				m.Purge(ctx)
			}
		}
	}()
}

// stopPurger stops the background purge and waits for a pass under way.
func (m *Main) stopPurger() {
	if m.purgeStop != nil {
		close(m.purgeStop)
		<-m.purgeDone
		m.purgeStop = nil
	}
}
