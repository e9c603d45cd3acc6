package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/meterd/meterd"
)

const (
	// queueSize bounds the batches waiting for the writer; beyond it Commit
	// blocks, which pushes back on the callers.
	queueSize = 4096
	// maxGroupRecords caps the records of one shared transaction, so that a
	// flood of callers still gets answers at a steady pace.
	maxGroupRecords = 2000
)

// Batch states: a batch is cancelled by its caller or taken by the writer,
// whichever comes first.
const (
	batchPending int32 = iota
	batchTaken
	batchCancelled
)

// batch is the records of one Commit call waiting for the writer.
type batch struct {
	records []*meterd.MeteringRecord
	state   atomic.Int32
	results []meterd.CommitResult
	err     error
	done    chan struct{} // closed once results or err are set
}

// Commit queues records for the writer goroutine and returns once the
// transaction holding them has committed durably. If ctx ends before the
// writer takes the batch, nothing is stored and ctx's error is returned;
// once taken, the outcome is the transaction's.
func (s *Store) Commit(ctx context.Context, records []*meterd.MeteringRecord) ([]meterd.CommitResult, error) {
	if len(records) == 0 {
		return nil, nil
	}
	b := &batch{records: records, done: make(chan struct{})}
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return nil, errors.New("sqlite: commit: store is closed")
	}
	select {
	case s.queue <- b:
	case <-ctx.Done():
		s.closeMu.RUnlock()
		return nil, ctx.Err()
	}
	s.closeMu.RUnlock()
	select {
	case <-b.done:
	case <-ctx.Done():
		if b.state.CompareAndSwap(batchPending, batchCancelled) {
			return nil, ctx.Err()
		}
		<-b.done // already in a transaction: its commit decides
	}
	return b.results, b.err
}

// run is the writer goroutine: it drains every pending batch (up to
// maxGroupRecords records) into one transaction until the queue is closed.
func (s *Store) run() {
	defer close(s.done)
	for b := range s.queue {
		group := []*batch{b}
		n := len(b.records)
	drain:
		for n < maxGroupRecords {
			select {
			case b, ok := <-s.queue:
				if !ok {
					break drain
				}
				group = append(group, b)
				n += len(b.records)
			default:
				break drain
			}
		}
		s.writeMu.Lock()
		s.commitGroup(group)
		s.writeMu.Unlock()
	}
}

// commitGroup stores the batches of group in one transaction. If that fails,
// each batch is retried in its own transaction, so that one bad batch fails
// alone and stores nothing.
func (s *Store) commitGroup(group []*batch) {
	taken := group[:0]
	for _, b := range group {
		if b.state.CompareAndSwap(batchPending, batchTaken) {
			taken = append(taken, b)
		}
	}
	if len(taken) == 0 {
		return
	}
	results, err := s.commitTx(taken)
	if err == nil || len(taken) == 1 {
		for i, b := range taken {
			if err != nil {
				b.err = err
			} else {
				b.results = results[i]
			}
			close(b.done)
		}
		return
	}
	for _, b := range taken {
		results, err := s.commitTx([]*batch{b})
		if err != nil {
			b.err = err
		} else {
			b.results = results[0]
		}
		close(b.done)
	}
}

// commitTx stores the batches in one write transaction and returns their
// results once it has committed.
func (s *Store) commitTx(group []*batch) ([][]meterd.CommitResult, error) {
	// Not a caller's context: once taken, a batch's fate is its commit's.
	ctx := context.Background()
	out := make([][]meterd.CommitResult, len(group))
	records := 0
	var lastSeq int64
	err := transact(ctx, s.write, func(tx *sql.Tx) error {
		w := newRecordWriter(ctx, tx, s.stmts)
		defer func() { lastSeq = w.lastSeq }()
		for i, b := range group {
			out[i] = make([]meterd.CommitResult, len(b.records))
			for j, r := range b.records {
				if err := w.put(r, &out[i][j]); err != nil {
					return err
				}
			}
			records += len(b.records)
		}
		return w.flush()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: commit: %w", err)
	}
	if lastSeq > s.lastSeq.Load() {
		s.lastSeq.Store(lastSeq) // only the writer stores it
	}
	s.transactions.Add(1)
	s.batches.Add(int64(len(group)))
	s.records.Add(int64(records))
	return out, nil
}
