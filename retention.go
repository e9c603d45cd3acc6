package meterd

import (
	"context"
	"time"
)

// Purge kinds: what a Purger deletes, the label kind of the metric
// meterd_purged_total.
const (
	PurgedClientTokens       = "client_tokens"
	PurgedRegistrationTokens = "registration_tokens"
	PurgedUsageRecords       = "usage_records"
)

// Retention defaults.
const (
	// DefaultClientTokenRetention is how long ClientTokens are kept by
	// default; AWS keeps a token's idempotency at least 24 hours.
	DefaultClientTokenRetention = 35 * Day
	// MinClientTokenRetention is the shortest retention allowed.
	MinClientTokenRetention = 24 * time.Hour
	// RegistrationTokenGrace is how long an expired registration token is
	// kept, so that ResolveCustomer keeps answering ExpiredTokenException
	// (not InvalidTokenException) for a token that has just expired.
	RegistrationTokenGrace = Day
	// DefaultPurgeBatch is how many rows one purge transaction deletes.
	DefaultPurgeBatch = 500
)

// Purger deletes what the retention rules no longer keep, in small
// batches, one transaction each, so that commits go on between them:
// ClientTokens stored more than ClientTokens ago, registration tokens
// expired more than RegistrationTokenGrace ago, and, when Usage is set,
// ledger records (with their rollups) whose hour is more than Usage ago.
// The cutoffs are read from the server clock, as every metering rule's
// time is.
type Purger struct {
	Ledger Ledger
	Clock  *ServerClock
	// ClientTokens is the ClientToken retention (DefaultClientTokenRetention
	// when zero).
	ClientTokens time.Duration
	// Usage is the ledger's retention; zero keeps records forever.
	Usage time.Duration
	// Batch is the rows per transaction (DefaultPurgeBatch when zero).
	Batch int
	// Purged, when set, is told what each batch deleted (for the metrics).
	Purged func(kind string, n int)
}

// Pass runs one purge pass: for each kind, batches until one comes back
// short, with cutoffs read once from the clock at the start. It returns the
// rows deleted by kind; on an error, what it deleted before stays deleted.
func (p *Purger) Pass(ctx context.Context) (map[string]int, error) {
	now := p.Clock.Now()
	keep := p.ClientTokens
	if keep == 0 {
		keep = DefaultClientTokenRetention
	}
	type purge struct {
		kind   string
		before time.Time
		run    func(context.Context, time.Time, int) (int, error)
	}
	purges := []purge{
		{PurgedClientTokens, now.Add(-keep), p.Ledger.PurgeClientTokens},
		{PurgedRegistrationTokens, now.Add(-RegistrationTokenGrace), p.Ledger.PurgeRegistrationTokens},
	}
	if p.Usage > 0 {
		purges = append(purges, purge{PurgedUsageRecords, Hour(now.Add(-p.Usage)), p.Ledger.PurgeUsage})
	}
	batch := p.Batch
	if batch <= 0 {
		batch = DefaultPurgeBatch
	}
	done := map[string]int{}
	for _, pg := range purges {
		for {
			n, err := pg.run(ctx, pg.before, batch)
			if n > 0 {
				done[pg.kind] += n
				if p.Purged != nil {
					p.Purged(pg.kind, n)
				}
			}
			if err != nil {
				return done, err
			}
			if n < batch {
				break
			}
		}
	}
	return done, nil
}
