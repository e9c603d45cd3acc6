package events_test

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/events"
	"github.com/meterd/meterd/sqlite"
)

const endpoint = "http://127.0.0.1:4579"

func newQueues(t testing.TB) (*events.Queues, *time.Time) {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "meterd.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	return &events.Queues{Store: s, Now: func() time.Time { return now }}, &now
}

func as(account string) context.Context {
	return meterd.NewContextWithCaller(context.Background(), &meterd.Caller{AccountID: account, AccessKeyID: "k", Region: "us-east-1"})
}

func ptr(n int) *int { return &n }

func code(t *testing.T, what string, err error, want string) {
	t.Helper()
	if got := meterd.ErrorCode(err); got != want {
		t.Fatalf("%s error = %q (%v), want %q", what, got, err, want)
	}
}

func TestQueueOperations(t *testing.T) {
	q, _ := newQueues(t)
	seller, other := as("111122223333"), as("444455556666")
	out, err := q.CreateQueue(seller, &events.CreateQueueInput{QueueName: "marketplace-events", Endpoint: endpoint})
	if err != nil {
		t.Fatal(err)
	}
	url := "http://127.0.0.1:4579/111122223333/marketplace-events"
	if out.QueueUrl != url {
		t.Errorf("QueueUrl = %q, want %q", out.QueueUrl, url)
	}
	if again, err := q.CreateQueue(seller, &events.CreateQueueInput{QueueName: "marketplace-events", Endpoint: endpoint}); err != nil || again.QueueUrl != url {
		t.Errorf("CreateQueue again = %v, %v; want the same URL", again, err)
	}
	_, err = q.CreateQueue(seller, &events.CreateQueueInput{QueueName: "marketplace-events", Attributes: map[string]string{"VisibilityTimeout": "5"}})
	code(t, "CreateQueue with other attributes", err, events.EQueueNameExists)

	for _, tc := range []struct {
		name string
		in   events.CreateQueueInput
		want string
	}{
		{"EmptyName", events.CreateQueueInput{}, events.EInvalidParameterValue},
		{"BadName", events.CreateQueueInput{QueueName: "a.b"}, events.EInvalidParameterValue},
		{"UnknownAttribute", events.CreateQueueInput{QueueName: "x", Attributes: map[string]string{"Nope": "1"}}, events.EInvalidAttributeName},
		{"BadAttributeValue", events.CreateQueueInput{QueueName: "x", Attributes: map[string]string{"VisibilityTimeout": "-1"}}, events.EInvalidAttributeValue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := q.CreateQueue(seller, &tc.in)
			code(t, "CreateQueue", err, tc.want)
		})
	}

	got, err := q.GetQueueUrl(seller, &events.GetQueueUrlInput{QueueName: "marketplace-events", Endpoint: endpoint})
	if err != nil || got.QueueUrl != url {
		t.Errorf("GetQueueUrl = %v, %v; want %s", got, err, url)
	}
	_, err = q.GetQueueUrl(other, &events.GetQueueUrlInput{QueueName: "marketplace-events", Endpoint: endpoint})
	code(t, "GetQueueUrl of another account's name", err, events.EQueueDoesNotExist)
	if l, _ := q.ListQueues(other, &events.ListQueuesInput{Endpoint: endpoint}); len(l.QueueUrls) != 0 {
		t.Errorf("another account lists %v, want none", l.QueueUrls)
	}
	if l, _ := q.ListQueues(seller, &events.ListQueuesInput{Endpoint: endpoint}); len(l.QueueUrls) != 1 || l.QueueUrls[0] != url {
		t.Errorf("ListQueues = %v, want [%s]", l.QueueUrls, url)
	}

	// Another account's key cannot touch the queue by its URL.
	_, err = q.SendMessage(other, &events.SendMessageInput{QueueUrl: url, MessageBody: "x"})
	code(t, "SendMessage by another account", err, meterd.EAccessDenied)
	_, err = q.ReceiveMessage(other, &events.ReceiveMessageInput{QueueUrl: url})
	code(t, "ReceiveMessage by another account", err, meterd.EAccessDenied)
	_, err = q.PurgeQueue(other, &events.QueueUrlInput{QueueUrl: url})
	code(t, "PurgeQueue by another account", err, meterd.EAccessDenied)
	_, err = q.DeleteQueue(seller, &events.QueueUrlInput{QueueUrl: endpoint + "/111122223333/nope"})
	code(t, "DeleteQueue missing", err, events.EQueueDoesNotExist)
	_, err = q.PurgeQueue(seller, &events.QueueUrlInput{QueueUrl: "http://h/%zz/q"})
	code(t, "PurgeQueue of a URL that does not parse", err, events.EQueueDoesNotExist)

	if _, err := q.DeleteQueue(seller, &events.QueueUrlInput{QueueUrl: url}); err != nil {
		t.Fatal(err)
	}
	_, err = q.SendMessage(seller, &events.SendMessageInput{QueueUrl: url, MessageBody: "x"})
	code(t, "SendMessage after DeleteQueue", err, events.EQueueDoesNotExist)
}

func TestMessageLifecycle(t *testing.T) {
	q, now := newQueues(t)
	seller := as("111122223333")
	out, _ := q.CreateQueue(seller, &events.CreateQueueInput{QueueName: "q", Endpoint: endpoint})
	url := out.QueueUrl
	sent, err := q.SendMessage(seller, &events.SendMessageInput{QueueUrl: url, MessageBody: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	if sent.MD5OfMessageBody != "5d41402abc4b2a76b9719d911017c592" {
		t.Errorf("MD5OfMessageBody = %s, want md5 of hello", sent.MD5OfMessageBody)
	}
	sentAt := now.UnixMilli()
	*now = now.Add(time.Second)
	r, err := q.ReceiveMessage(seller, &events.ReceiveMessageInput{QueueUrl: url, VisibilityTimeout: ptr(10),
		MessageSystemAttributeNames: []string{"All"}})
	if err != nil || len(r.Messages) != 1 {
		t.Fatalf("ReceiveMessage = %+v, %v; want one message", r, err)
	}
	m := r.Messages[0]
	if m.Body != "hello" || m.MessageId != sent.MessageId || m.Attributes["ApproximateReceiveCount"] != "1" ||
		m.Attributes["SentTimestamp"] != itoa(sentAt) || m.Attributes["ApproximateFirstReceiveTimestamp"] != itoa(now.UnixMilli()) {
		t.Errorf("message = %+v", m)
	}
	if r, _ := q.ReceiveMessage(seller, &events.ReceiveMessageInput{QueueUrl: url}); len(r.Messages) != 0 {
		t.Errorf("receive while in flight = %d messages, want 0", len(r.Messages))
	}
	*now = now.Add(11 * time.Second)
	r2, _ := q.ReceiveMessage(seller, &events.ReceiveMessageInput{QueueUrl: url, AttributeNames: []string{"ApproximateReceiveCount"}})
	if len(r2.Messages) != 1 || r2.Messages[0].Attributes["ApproximateReceiveCount"] != "2" || len(r2.Messages[0].Attributes) != 1 {
		t.Fatalf("receive after the timeout = %+v, want the message again with count 2 only", r2.Messages)
	}
	// The first receipt is stale: deleting with it keeps the message.
	if _, err := q.DeleteMessage(seller, &events.DeleteMessageInput{QueueUrl: url, ReceiptHandle: m.ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	_, err = q.ChangeMessageVisibility(seller, &events.ChangeMessageVisibilityInput{QueueUrl: url, ReceiptHandle: r2.Messages[0].ReceiptHandle})
	if err != nil {
		t.Fatal(err)
	}
	r3, _ := q.ReceiveMessage(seller, &events.ReceiveMessageInput{QueueUrl: url})
	if len(r3.Messages) != 1 {
		t.Fatalf("receive after visibility 0 = %d messages, want 1", len(r3.Messages))
	}
	_, err = q.ChangeMessageVisibility(seller, &events.ChangeMessageVisibilityInput{QueueUrl: url, ReceiptHandle: r2.Messages[0].ReceiptHandle, VisibilityTimeout: 5})
	code(t, "ChangeMessageVisibility with a stale receipt", err, events.EReceiptHandleIsInvalid)
	if _, err := q.DeleteMessage(seller, &events.DeleteMessageInput{QueueUrl: url, ReceiptHandle: r3.Messages[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	*now = now.Add(time.Hour)
	if r, _ := q.ReceiveMessage(seller, &events.ReceiveMessageInput{QueueUrl: url}); len(r.Messages) != 0 {
		t.Errorf("receive after delete = %d messages, want 0", len(r.Messages))
	}

	for _, tc := range []struct {
		name string
		in   events.ReceiveMessageInput
	}{
		{"MaxZero", events.ReceiveMessageInput{QueueUrl: url, MaxNumberOfMessages: ptr(0)}},
		{"MaxEleven", events.ReceiveMessageInput{QueueUrl: url, MaxNumberOfMessages: ptr(11)}},
		{"Wait21", events.ReceiveMessageInput{QueueUrl: url, WaitTimeSeconds: ptr(21)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := q.ReceiveMessage(seller, &tc.in)
			code(t, "ReceiveMessage", err, events.EInvalidParameterValue)
		})
	}
	_, err = q.DeleteMessage(seller, &events.DeleteMessageInput{QueueUrl: url, ReceiptHandle: "garbage"})
	code(t, "DeleteMessage garbage receipt", err, events.EReceiptHandleIsInvalid)
	_, err = q.SendMessage(seller, &events.SendMessageInput{QueueUrl: url, MessageBody: strings.Repeat("x", 262145)})
	code(t, "SendMessage too long", err, events.EInvalidParameterValue)
}

// TestLongPollWakes checks that a waiting receive returns the message sent
// while it waits.
func TestLongPollWakes(t *testing.T) {
	q, _ := newQueues(t)
	seller := as("111122223333")
	out, _ := q.CreateQueue(seller, &events.CreateQueueInput{QueueName: "q", Endpoint: endpoint})
	done := make(chan *events.ReceiveMessageOutput)
	go func() {
		r, err := q.ReceiveMessage(seller, &events.ReceiveMessageInput{QueueUrl: out.QueueUrl, WaitTimeSeconds: ptr(20)})
		if err != nil {
			t.Error(err)
		}
		done <- r
	}()
	if _, err := q.SendMessage(seller, &events.SendMessageInput{QueueUrl: out.QueueUrl, MessageBody: "wake"}); err != nil {
		t.Fatal(err)
	}
	if r := <-done; len(r.Messages) != 1 || r.Messages[0].Body != "wake" {
		t.Errorf("long poll = %+v, want the message wake", r)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
