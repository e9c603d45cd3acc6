package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/meterd/meterd"
)

// Group commit limits.
const (
	maxGroupRecords = 2000             // records in one commit transaction
	commitTimeout   = 30 * time.Second // one group's transaction, retries included
)

// errClosed is returned by Commit after Close.
var errClosed = errors.New("postgres: store closed")

// Request states: a request is cancelled by its caller or taken by the
// writer, whichever comes first.
const (
	requestPending int32 = iota
	requestTaken
	requestCancelled
)

// commitRequest is one Commit call waiting for the writer.
type commitRequest struct {
	records []*meterd.MeteringRecord
	state   atomic.Int32
	results []meterd.CommitResult
	err     error
	done    chan struct{}
}

// Commit stores records durably, in order, in one transaction that many
// concurrent callers may share, and returns one result per record once that
// transaction has committed. If ctx ends before the writer takes the call,
// nothing is stored and ctx's error is returned; once taken, the outcome is
// the transaction's. See meterd.Ledger.
func (s *Store) Commit(ctx context.Context, records []*meterd.MeteringRecord) ([]meterd.CommitResult, error) {
	if len(records) == 0 {
		return nil, nil
	}
	req := &commitRequest{records: records, done: make(chan struct{})}
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return nil, errClosed
	}
	select {
	case s.queue <- req:
	case <-ctx.Done():
		s.closeMu.RUnlock()
		return nil, ctx.Err()
	}
	s.closeMu.RUnlock()
	select {
	case <-req.done:
	case <-ctx.Done():
		if req.state.CompareAndSwap(requestPending, requestCancelled) {
			return nil, ctx.Err()
		}
		<-req.done // already in a transaction: its commit decides
	}
	return req.results, req.err
}

// writer is the one goroutine that commits: it takes every pending request
// into one transaction, so that concurrent callers share a commit.
func (s *Store) writer() {
	defer close(s.done)
	for {
		select {
		case first := <-s.queue:
			s.commitGroup(s.gather(first))
		case <-s.stop:
			// Close refuses new requests before closing stop: drain the rest.
			for {
				select {
				case first := <-s.queue:
					s.commitGroup(s.gather(first))
				default:
					return
				}
			}
		}
	}
}

// gather returns first and the requests queued behind it, up to
// maxGroupRecords records.
func (s *Store) gather(first *commitRequest) []*commitRequest {
	group := []*commitRequest{first}
	n := len(first.records)
	for n < maxGroupRecords {
		select {
		case r := <-s.queue:
			group = append(group, r)
			n += len(r.records)
		default:
			return group
		}
	}
	return group
}

// commitGroup commits a group in one transaction and answers its callers.
// When the shared transaction fails on something the server refused (bad
// data in one request, say), each request is tried alone, so that one
// caller's failure is not everybody's. A connection failure is everybody's.
func (s *Store) commitGroup(group []*commitRequest) {
	live := group[:0]
	for _, r := range group {
		if r.state.CompareAndSwap(requestPending, requestTaken) {
			live = append(live, r)
		}
	}
	if len(live) == 0 {
		return
	}
	err := s.commitTx(live)
	var pgErr *pgconn.PgError
	if err != nil && len(live) > 1 && errors.As(err, &pgErr) {
		for _, r := range live {
			r.err = s.commitTx([]*commitRequest{r})
			s.answer(r)
		}
		return
	}
	for _, r := range live {
		r.err = err
		s.answer(r)
	}
}

// answer wakes a caller up and counts its request.
func (s *Store) answer(r *commitRequest) {
	if r.err != nil {
		r.results = nil
		r.err = fmt.Errorf("postgres: commit: %w", r.err)
	} else {
		s.batches.Add(1)
		s.records.Add(int64(len(r.records)))
	}
	close(r.done)
}

// commitTx runs the commit transaction for reqs and sets their results:
// three round trips (BEGIN with the reads and the lock, the writes, COMMIT)
// whatever the group's size.
func (s *Store) commitTx(reqs []*commitRequest) error {
	// The transaction serves several callers: no single caller's context
	// may cancel it halfway.
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	err := s.retry(ctx, func() error {
		b := &pgx.Batch{}
		b.BeginTx(pgx.TxOptions{})
		p := queueReadExisting(b, reqs, s.planHints.Load())
		br := s.pool.SendBatch(ctx, b)
		tx := br.Tx()
		defer tx.Rollback(context.WithoutCancel(ctx))
		if err := br.Close(); err != nil {
			// Nothing was written: on a lost connection the reads and the
			// lock are safe to run again. What the server refused it would
			// refuse again (commitGroup then tries each request alone).
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) {
				return fmt.Errorf("%w: %w", errBegin, err)
			}
			return err
		}
		p.plan(reqs)
		if err := p.write(ctx, tx); err != nil {
			return err
		}
		return tx.Commit(ctx)
	})
	if err == nil {
		s.transactions.Add(1)
	}
	return err
}
