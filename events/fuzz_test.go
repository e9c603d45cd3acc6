package events_test

import (
	"testing"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/events"
)

// FuzzSQSOperations sends arbitrary bodies to every SQS operation: each
// answers or fails with an *meterd.Error of a client code, never panics.
func FuzzSQSOperations(f *testing.F) {
	for _, s := range []string{`{}`, `{"QueueName":"q"}`, `{"QueueUrl":"http://h/111122223333/q","MessageBody":"x"}`,
		`{"QueueUrl":"http://h/111122223333/q","MaxNumberOfMessages":"x"}`, `[]`, `{"QueueUrl":1}`, `{"ReceiptHandle":"%%"}`} {
		f.Add(s)
	}
	q, _ := newQueues(f)
	svc := events.SQS(q)
	ctx := as("111122223333")
	if _, err := q.CreateQueue(ctx, &events.CreateQueueInput{QueueName: "q", Endpoint: "http://h"}); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for name, op := range svc.Operations {
			if name == "ReceiveMessage" || name == "DeleteQueue" {
				continue // a long poll would wait; a deleted queue ends the run
			}
			if _, err := op(ctx, []byte(body)); err != nil && meterd.ErrorCode(err) == meterd.EInternal {
				t.Fatalf("%s(%q) = internal error %v", name, body, err)
			}
		}
	})
}
