// Package relay is the seller-side outbox of meterd: it takes raw usage
// events over HTTP, sums them per (product, customer, dimension, hour),
// and delivers each hour's records exactly once to an upstream Metering
// endpoint (AWS or a meterd) with BatchMeterUsage.
package relay

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/marketplacemetering"

	"github.com/meterd/meterd"
)

// Metering is the part of the Metering Service client the relay uses;
// *marketplacemetering.Client implements it.
type Metering interface {
	BatchMeterUsage(ctx context.Context, in *marketplacemetering.BatchMeterUsageInput, opts ...func(*marketplacemetering.Options)) (*marketplacemetering.BatchMeterUsageOutput, error)
}

// Config configures a Relay. Zero durations and rates take the defaults
// of meterd relay serve's flags.
type Config struct {
	Store    *Store
	Upstream Metering
	Clock    *meterd.ServerClock // the relay clock; nil for a new one on real time
	Logger   *slog.Logger
	Token    string   // bearer token of the relay's API; required
	Products []string // product codes served; empty: any

	Grace      time.Duration // an hour closes at its end plus Grace (default 5m)
	Late       string        // LateCurrentHour (default) or LateRefuse
	Window     time.Duration // how old a record may be upstream (default 6h)
	FutureSkew time.Duration // how far ahead an event may be (default 5m)
	// Rate is the upstream requests per second, shared by all products
	// (default 10). Burst is 1: requests are spread evenly. The store hands
	// out the send times, so relays sharing a PostgreSQL store share the
	// rate of the upstream they name alike in RateKey.
	Rate float64
	// RateKey names the upstream account and region the rate belongs to
	// (default "default").
	RateKey string
	// Lease is how long a relay holds the records it claimed for sending
	// before another relay on the same store may send them (default 2m,
	// wall time). It must outlast sending a claim of 250 records.
	Lease time.Duration
	// RetryBase and RetryMax bound the exponential backoff between
	// attempts of a record (defaults 1s and 5m, wall time).
	RetryBase, RetryMax time.Duration
	// Heartbeat adds a zero-quantity record each closed hour for every
	// product, customer and dimension with events in the day before.
	Heartbeat bool
	// Retention is how long event ids are remembered as idempotency keys
	// (default 35 days, relay clock).
	Retention time.Duration
	// Poll is how often the submitter looks for closed hours (default 1s,
	// wall time); moving the clock through the API wakes it at once.
	Poll time.Duration
}

// Relay is the outbox service: its HTTP API (Handler) and its submitter
// (Run).
type Relay struct {
	cfg     Config
	store   *Store
	clock   *meterd.ServerClock
	log     *slog.Logger
	wake    chan struct{}
	metrics *metrics

	submitMu sync.Mutex // one submission pass at a time

	alertMu    sync.Mutex
	authAlert  *AuthAlert // the upstream refuses the relay's credentials; nil when not
	authLogged time.Time  // wall time of the last error log of authAlert
}

// New returns a relay; it submits nothing until Run or Submit is called.
func New(cfg Config) *Relay {
	if cfg.Clock == nil {
		cfg.Clock = &meterd.ServerClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Grace == 0 {
		cfg.Grace = 5 * time.Minute
	}
	if cfg.Late == "" {
		cfg.Late = LateCurrentHour
	}
	if cfg.Window == 0 {
		cfg.Window = 6 * time.Hour
	}
	if cfg.FutureSkew == 0 {
		cfg.FutureSkew = 5 * time.Minute
	}
	if cfg.Rate == 0 {
		cfg.Rate = 10
	}
	if cfg.RateKey == "" {
		cfg.RateKey = "default"
	}
	if cfg.Lease == 0 {
		cfg.Lease = 2 * time.Minute
	}
	if cfg.RetryBase == 0 {
		cfg.RetryBase = time.Second
	}
	if cfg.RetryMax == 0 {
		cfg.RetryMax = 5 * time.Minute
	}
	if cfg.Retention == 0 {
		cfg.Retention = 35 * 24 * time.Hour
	}
	if cfg.Poll == 0 {
		cfg.Poll = time.Second
	}
	return &Relay{
		cfg:     cfg,
		store:   cfg.Store,
		clock:   cfg.Clock,
		log:     cfg.Logger,
		wake:    make(chan struct{}, 1),
		metrics: newMetrics(),
	}
}

// Clock returns the relay clock.
func (r *Relay) Clock() *meterd.ServerClock { return r.clock }

// Wake asks the submitter to look for work now.
func (r *Relay) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run submits closed hours until ctx ends.
func (r *Relay) Run(ctx context.Context) error {
	t := time.NewTicker(r.cfg.Poll)
	defer t.Stop()
	for {
		if _, err := r.Submit(ctx); err != nil && ctx.Err() == nil {
			r.log.Error("relay: submission pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-r.wake:
		}
	}
}
