package meterd

import (
	"context"
	"time"
)

// Queue is an SQS-compatible queue served by meterd, owned by one seller
// account: only that account's keys can read or change it. Its name is
// unique within the account; its URL is <meterd>/<AccountID>/<Name>.
type Queue struct {
	AccountID string
	Name      string
	// Attributes are the queue's settable SQS attributes by their AWS
	// names (VisibilityTimeout, MessageRetentionPeriod, ...), as strings,
	// the way SQS answers GetQueueAttributes.
	Attributes map[string]string
	CreatedAt  time.Time
}

// QueueMessage is one durable message of a Queue.
type QueueMessage struct {
	// MessageID is SQS's MessageId, chosen by the sender's side (meterd),
	// unique within the queue.
	MessageID string
	Body      string
	// MessageAttributes is the message's user attributes as the JSON the
	// SQS operations read and write; the store keeps it verbatim.
	MessageAttributes string
	SentAt            time.Time
	// VisibleAt is when the message may next be received: the send time
	// (plus any delay) at first, then the end of each visibility timeout.
	VisibleAt time.Time
	// ReceiveCount is SQS's ApproximateReceiveCount; each receive adds one
	// and makes the previous receipt stale.
	ReceiveCount int
	// FirstReceivedAt is SQS's ApproximateFirstReceiveTimestamp; zero until
	// the first receive.
	FirstReceivedAt time.Time
}

// QueueStore keeps queues and their messages. Every method is one store
// transaction. Times are wall time (visibility timeouts and long polls do
// not follow the server clock).
type QueueStore interface {
	// CreateQueue stores a new queue. EConflict when the account has a
	// queue of that name.
	CreateQueue(ctx context.Context, q *Queue) error
	// Queue returns the account's queue of that name. ENotFound.
	Queue(ctx context.Context, accountID, name string) (*Queue, error)
	// Queues lists the account's queues whose name starts with prefix, by
	// name; every account's when accountID is empty.
	Queues(ctx context.Context, accountID, prefix string) ([]*Queue, error)
	// SetQueueAttributes merges attrs into the queue's attributes.
	// ENotFound.
	SetQueueAttributes(ctx context.Context, accountID, name string, attrs map[string]string) error
	// DeleteQueue deletes the queue and its messages. ENotFound.
	DeleteQueue(ctx context.Context, accountID, name string) error
	// PurgeQueue deletes every message of the queue. ENotFound.
	PurgeQueue(ctx context.Context, accountID, name string) error
	// SendMessages appends the messages to the queue, in order, all or
	// none. ENotFound when the queue does not exist; EConflict when a
	// MessageID is already in the queue.
	SendMessages(ctx context.Context, accountID, name string, msgs []*QueueMessage) error
	// ReceiveMessages takes up to max messages visible at now, oldest sent
	// first, makes them invisible until now+visibility, adds one to their
	// receive counts and sets their first receive time if unset; it returns
	// them as they are after that change. Several processes on one store
	// never receive the same message in one visibility window. ENotFound.
	ReceiveMessages(ctx context.Context, accountID, name string, now time.Time, max int, visibility time.Duration) ([]*QueueMessage, error)
	// DeleteMessage deletes the message if receiveCount is still its
	// receive count (the receipt is the latest); a stale receipt or a
	// message already gone changes nothing and is no error, as in SQS.
	// ENotFound when the queue does not exist.
	DeleteMessage(ctx context.Context, accountID, name, messageID string, receiveCount int) error
	// ChangeMessageVisibility sets the message's VisibleAt if receiveCount
	// is its receive count and it is in flight (VisibleAt after now).
	// ENotFound when the queue or the message (or that receipt) is gone;
	// EConflict when the message is not in flight.
	ChangeMessageVisibility(ctx context.Context, accountID, name, messageID string, receiveCount int, now, visibleAt time.Time) error
	// QueueCounts returns the numbers of messages visible at now and in
	// flight (SQS's ApproximateNumberOfMessages and
	// ApproximateNumberOfMessagesNotVisible). ENotFound.
	QueueCounts(ctx context.Context, accountID, name string, now time.Time) (visible, inFlight int, err error)
}
