package events

import (
	"context"

	"github.com/meterd/meterd"
)

// SQS's batch request errors, as its model names them.
const (
	EEmptyBatchRequest            = "EmptyBatchRequest"
	ETooManyEntriesInBatchRequest = "TooManyEntriesInBatchRequest"
	EBatchEntryIdsNotDistinct     = "BatchEntryIdsNotDistinct"
	EInvalidBatchEntryId          = "InvalidBatchEntryId"
	EBatchRequestTooLong          = "BatchRequestTooLong"
)

const maxBatch = 10

// BatchResultErrorEntry is one failed entry of a batch, as SQS answers it.
type BatchResultErrorEntry struct {
	Id          string
	SenderFault bool
	Code        string
	Message     string
}

// checkBatch refuses a batch as SQS does before any entry is tried: none
// or more than ten entries, an Id that is not 1 to 80 alphanumerics,
// hyphens and underscores, or two entries with one Id.
func checkBatch(ids []string) error {
	if len(ids) == 0 {
		return meterd.Errorf(EEmptyBatchRequest, "There should be at least one entry in the request.")
	}
	if len(ids) > maxBatch {
		return meterd.Errorf(ETooManyEntriesInBatchRequest, "Maximum number of entries per request are %d. You have sent %d.", maxBatch, len(ids))
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if !validName(id) {
			return meterd.Errorf(EInvalidBatchEntryId, "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.")
		}
		if seen[id] {
			return meterd.Errorf(EBatchEntryIdsNotDistinct, "Id %s repeated.", id)
		}
		seen[id] = true
	}
	return nil
}

// entryError is the failed entry for err when err is the sender's fault
// (a modeled error of that entry); ok is false for any other error, which
// fails the whole request.
func entryError(id string, err error) (BatchResultErrorEntry, bool) {
	code := meterd.ErrorCode(err)
	switch code {
	case EInvalidParameterValue, EReceiptHandleIsInvalid, EMessageNotInflight:
		return BatchResultErrorEntry{Id: id, SenderFault: true, Code: code, Message: meterd.ErrorMessage(err)}, true
	}
	return BatchResultErrorEntry{}, false
}

// SendMessageBatchRequestEntry is one message of SendMessageBatch.
type SendMessageBatchRequestEntry struct {
	Id                string
	MessageBody       string
	DelaySeconds      *int
	MessageAttributes map[string]MessageAttributeValue
}

// SendMessageBatchInput is SQS's SendMessageBatch request.
type SendMessageBatchInput struct {
	QueueUrl string
	Entries  []SendMessageBatchRequestEntry
}

// SendMessageBatchResultEntry is one sent message of SendMessageBatch.
type SendMessageBatchResultEntry struct {
	Id                     string
	MessageId              string
	MD5OfMessageBody       string
	MD5OfMessageAttributes string `json:",omitempty"`
}

// SendMessageBatchOutput is SQS's SendMessageBatch answer.
type SendMessageBatchOutput struct {
	Successful []SendMessageBatchResultEntry
	Failed     []BatchResultErrorEntry
}

// SendMessageBatch stores the valid entries in one store transaction and
// answers each invalid one in Failed, as SQS does.
func (q *Queues) SendMessageBatch(ctx context.Context, in *SendMessageBatchInput) (*SendMessageBatchOutput, error) {
	account, name, err := resolve(ctx, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(in.Entries))
	size := 0
	for i, e := range in.Entries {
		ids[i] = e.Id
		size += len(e.MessageBody) + attributesSize(e.MessageAttributes)
	}
	if err := checkBatch(ids); err != nil {
		return nil, err
	}
	if size > 262144 {
		return nil, meterd.Errorf(EBatchRequestTooLong, "Batch requests cannot be longer than 262144 bytes. You have sent %d bytes.", size)
	}
	if _, err := q.Store.Queue(ctx, account, name); err != nil {
		return nil, storeErr(err)
	}
	out := &SendMessageBatchOutput{Successful: []SendMessageBatchResultEntry{}, Failed: []BatchResultErrorEntry{}}
	var msgs []*meterd.QueueMessage
	for _, e := range in.Entries {
		m, err := q.message(ctx, account, name, e.MessageBody, e.DelaySeconds, e.MessageAttributes)
		if err != nil {
			f, ok := entryError(e.Id, err)
			if !ok {
				return nil, storeErr(err)
			}
			out.Failed = append(out.Failed, f)
			continue
		}
		msgs = append(msgs, m)
		out.Successful = append(out.Successful, SendMessageBatchResultEntry{Id: e.Id, MessageId: m.MessageID,
			MD5OfMessageBody: md5Hex(e.MessageBody), MD5OfMessageAttributes: md5OfAttributes(e.MessageAttributes)})
	}
	if len(msgs) > 0 {
		if err := q.Store.SendMessages(ctx, account, name, msgs); err != nil {
			return nil, storeErr(err)
		}
		q.Notify(account, name)
	}
	return out, nil
}

// DeleteMessageBatchRequestEntry is one receipt of DeleteMessageBatch.
type DeleteMessageBatchRequestEntry struct {
	Id            string
	ReceiptHandle string
}

// DeleteMessageBatchInput is SQS's DeleteMessageBatch request.
type DeleteMessageBatchInput struct {
	QueueUrl string
	Entries  []DeleteMessageBatchRequestEntry
}

// BatchResultEntry is one succeeded entry of a delete or visibility batch.
type BatchResultEntry struct{ Id string }

// BatchOutput is the answer of DeleteMessageBatch and
// ChangeMessageVisibilityBatch.
type BatchOutput struct {
	Successful []BatchResultEntry
	Failed     []BatchResultErrorEntry
}

// DeleteMessageBatch deletes each entry's message as DeleteMessage does,
// answering an invalid receipt in Failed.
func (q *Queues) DeleteMessageBatch(ctx context.Context, in *DeleteMessageBatchInput) (*BatchOutput, error) {
	ids := make([]string, len(in.Entries))
	for i, e := range in.Entries {
		ids[i] = e.Id
	}
	return q.batch(ctx, in.QueueUrl, ids, func(i int) error {
		_, err := q.DeleteMessage(ctx, &DeleteMessageInput{QueueUrl: in.QueueUrl, ReceiptHandle: in.Entries[i].ReceiptHandle})
		return err
	})
}

// ChangeMessageVisibilityBatchRequestEntry is one receipt of
// ChangeMessageVisibilityBatch.
type ChangeMessageVisibilityBatchRequestEntry struct {
	Id                string
	ReceiptHandle     string
	VisibilityTimeout int
}

// ChangeMessageVisibilityBatchInput is SQS's ChangeMessageVisibilityBatch
// request.
type ChangeMessageVisibilityBatchInput struct {
	QueueUrl string
	Entries  []ChangeMessageVisibilityBatchRequestEntry
}

// ChangeMessageVisibilityBatch changes each entry's visibility as
// ChangeMessageVisibility does, answering a failed entry in Failed.
func (q *Queues) ChangeMessageVisibilityBatch(ctx context.Context, in *ChangeMessageVisibilityBatchInput) (*BatchOutput, error) {
	ids := make([]string, len(in.Entries))
	for i, e := range in.Entries {
		ids[i] = e.Id
	}
	return q.batch(ctx, in.QueueUrl, ids, func(i int) error {
		e := in.Entries[i]
		_, err := q.ChangeMessageVisibility(ctx, &ChangeMessageVisibilityInput{QueueUrl: in.QueueUrl, ReceiptHandle: e.ReceiptHandle, VisibilityTimeout: e.VisibilityTimeout})
		return err
	})
}

// batch checks the batch and the queue, then runs each entry, sorting the
// outcomes into Successful and Failed.
func (q *Queues) batch(ctx context.Context, queueURL string, ids []string, run func(i int) error) (*BatchOutput, error) {
	account, name, err := resolve(ctx, queueURL)
	if err != nil {
		return nil, err
	}
	if err := checkBatch(ids); err != nil {
		return nil, err
	}
	if _, err := q.Store.Queue(ctx, account, name); err != nil {
		return nil, storeErr(err)
	}
	out := &BatchOutput{Successful: []BatchResultEntry{}, Failed: []BatchResultErrorEntry{}}
	for i, id := range ids {
		if err := run(i); err != nil {
			f, ok := entryError(id, err)
			if !ok {
				return nil, err
			}
			out.Failed = append(out.Failed, f)
			continue
		}
		out.Successful = append(out.Successful, BatchResultEntry{Id: id})
	}
	return out, nil
}
