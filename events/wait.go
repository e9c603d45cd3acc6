package events

import (
	"context"
	"time"
)

// defaultRecheck is Queues.Recheck's default.
const defaultRecheck = time.Second

// waiting is the long polls waiting on one queue. They wait on ch, which
// is closed when a message may have become receivable: sent in this
// process (Notify), or seen in the store by the queue's one recheck loop,
// which runs while polls wait and stops with cancel. A waiting poll costs
// a goroutine blocked on a channel, nothing more; the recheck costs one
// store query per Recheck per queue, however many polls wait on it.
type waiting struct {
	ch     chan struct{}
	polls  int
	cancel context.CancelFunc
}

// watch registers a long poll on a queue before its first look at the
// store (so that no send after that look is missed), and returns the
// function that ends it.
func (q *Queues) watch(accountID, name string) (done func()) {
	key := accountID + "/" + name
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.waiting == nil {
		q.waiting = map[string]*waiting{}
	}
	w := q.waiting[key]
	if w == nil {
		w = &waiting{ch: make(chan struct{})}
		q.waiting[key] = w
		var ctx context.Context
		ctx, w.cancel = context.WithCancel(context.Background())
		go q.recheck(ctx, accountID, name)
	}
	w.polls++
	return func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		if w.polls--; w.polls == 0 {
			w.cancel()
			delete(q.waiting, key)
		}
	}
}

// arrived returns the channel closed at the next wake of a watched queue.
func (q *Queues) arrived(accountID, name string) <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	w := q.waiting[accountID+"/"+name]
	if w.ch == nil {
		w.ch = make(chan struct{})
	}
	return w.ch
}

// Notify wakes the long polls waiting on the queue: every sender in this
// process calls it after its messages are committed.
func (q *Queues) Notify(accountID, name string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if w := q.waiting[accountID+"/"+name]; w != nil && w.ch != nil {
		close(w.ch)
		w.ch = nil
	}
}

// Waiting returns how many long polls wait on the queue in this process.
func (q *Queues) Waiting(accountID, name string) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	if w := q.waiting[accountID+"/"+name]; w != nil {
		return w.polls
	}
	return 0
}

// recheck wakes the queue's polls whenever the store holds a visible
// message, until ctx ends (the last poll returned).
func (q *Queues) recheck(ctx context.Context, accountID, name string) {
	every := q.Recheck
	if every <= 0 {
		every = defaultRecheck
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if visible, _, err := q.Store.QueueCounts(ctx, accountID, name, q.now()); err == nil && visible > 0 {
			q.Notify(accountID, name)
		}
	}
}
