package server

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/meterd/meterd"
)

// Readiness probe defaults.
const (
	// readyProbeEvery is how long a write probe's outcome is kept: /readyz
	// may be polled often, and each probe is a durable commit.
	readyProbeEvery = 5 * time.Second
	// readyProbeTimeout bounds a probe: a store that takes longer to
	// commit is not ready.
	readyProbeTimeout = 2 * time.Second
)

// settingReadyProbe is the setting the write probe writes.
const settingReadyProbe = "readyz.probe"

// readiness answers /readyz: ready when the store answers a read and, at
// most every readyProbeEvery, commits a write (a setting row in its own
// transaction), so that a store that can read but not commit (a full disk,
// a database turned read-only, a lock held elsewhere) is not ready. The
// probe runs on wall time: it has nothing to do with the metering clock.
type readiness struct {
	ledger meterd.Ledger
	logger *slog.Logger
	now    func() time.Time // wall clock; tests replace it

	mu      sync.Mutex // held across a probe: one at a time
	checked time.Time  // when the last probe ran; zero before the first
	err     error      // its outcome
}

func (rd *readiness) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := rd.ledger.Ping(r.Context()); err != nil {
		rd.logger.Error("readyz: store unreachable", "err", err)
		http.Error(w, "store unreachable", http.StatusServiceUnavailable)
		return
	}
	if err := rd.probe(r.Context()); err != nil {
		rd.logger.Error("readyz: store cannot commit", "err", err)
		http.Error(w, "store cannot commit", http.StatusServiceUnavailable)
		return
	}
	w.Write([]byte("ok\n"))
}

// probe returns the outcome of the last write probe, running a new one when
// that is older than readyProbeEvery.
func (rd *readiness) probe(ctx context.Context) error {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	now := rd.now()
	if !rd.checked.IsZero() && now.Sub(rd.checked) < readyProbeEvery {
		return rd.err
	}
	// A client that hangs up does not decide the outcome kept for others.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), readyProbeTimeout)
	defer cancel()
	rd.err = rd.ledger.PutSetting(ctx, settingReadyProbe, now.UTC().Format(time.RFC3339Nano))
	rd.checked = now
	return rd.err
}
