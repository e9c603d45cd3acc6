package events_test

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/events"
	"github.com/meterd/meterd/pgtest"
	"github.com/meterd/meterd/postgres"
)

// TestLongPollAcrossProcesses runs two Queues on two PostgreSQL stores of one
// database, as two meterd processes sharing it do: a long poll on one
// returns the message sent through the other, which it is not told of. The
// wall clock is frozen, so the poll's 20 s wait never ends by itself: only
// its queue's recheck can return it.
func TestLongPollAcrossProcesses(t *testing.T) {
	url := pgtest.Start(t).NewDatabase(t)
	open := func() meterd.QueueStore {
		s, err := postgres.Open(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	frozen := func() time.Time { return now }
	sender := &events.Queues{Store: open(), Now: frozen}
	poller := &events.Queues{Store: open(), Now: frozen, Recheck: 10 * time.Millisecond}
	seller := as("111122223333")
	out, err := sender.CreateQueue(seller, &events.CreateQueueInput{QueueName: "shared", Endpoint: endpoint})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan *events.ReceiveMessageOutput)
	go func() {
		r, err := poller.ReceiveMessage(seller, &events.ReceiveMessageInput{QueueUrl: out.QueueUrl, WaitTimeSeconds: ptr(20)})
		if err != nil {
			t.Error(err)
		}
		done <- r
	}()
	for poller.Waiting("111122223333", "shared") == 0 {
		runtime.Gosched() // until the poll waits, so that the send is one it must be woken for
	}
	if _, err := sender.SendMessage(seller, &events.SendMessageInput{QueueUrl: out.QueueUrl, MessageBody: "from the other process"}); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r == nil || len(r.Messages) != 1 || r.Messages[0].Body != "from the other process" {
		t.Errorf("long poll on the other process = %+v, want the message sent", r)
	}
	if n := poller.Waiting("111122223333", "shared"); n != 0 {
		t.Errorf("Waiting after the poll returned = %d, want 0", n)
	}
}

// TestLongPollVisibleAgain checks that a long poll returns a message whose
// visibility timeout ends while it waits (nothing is sent: only the
// recheck sees it).
func TestLongPollVisibleAgain(t *testing.T) {
	base, _ := newQueues(t)
	var elapsed atomic.Int64 // seconds past the start; read by the recheck's goroutine
	start := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	q := &events.Queues{Store: base.Store, Recheck: 10 * time.Millisecond,
		Now: func() time.Time { return start.Add(time.Duration(elapsed.Load()) * time.Second) }}
	seller := as("111122223333")
	out, _ := q.CreateQueue(seller, &events.CreateQueueInput{QueueName: "q", Endpoint: endpoint})
	if _, err := q.SendMessage(seller, &events.SendMessageInput{QueueUrl: out.QueueUrl, MessageBody: "again"}); err != nil {
		t.Fatal(err)
	}
	first, err := q.ReceiveMessage(seller, &events.ReceiveMessageInput{QueueUrl: out.QueueUrl, VisibilityTimeout: ptr(5)})
	if err != nil || len(first.Messages) != 1 {
		t.Fatalf("first receive = %+v, %v", first, err)
	}
	done := make(chan *events.ReceiveMessageOutput)
	go func() {
		r, err := q.ReceiveMessage(seller, &events.ReceiveMessageInput{QueueUrl: out.QueueUrl, WaitTimeSeconds: ptr(20),
			AttributeNames: []string{"ApproximateReceiveCount"}})
		if err != nil {
			t.Error(err)
		}
		done <- r
	}()
	for q.Waiting("111122223333", "q") == 0 {
		runtime.Gosched()
	}
	// The poll started at the frozen now, its deadline 20 s later: past the
	// visibility timeout, short of the deadline.
	elapsed.Store(6)
	if r := <-done; r == nil || len(r.Messages) != 1 || r.Messages[0].Attributes["ApproximateReceiveCount"] != "2" {
		t.Errorf("long poll = %+v, want the message again, received twice", r)
	}
}
