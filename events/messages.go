package events

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/meterd/meterd"
)

// SendMessageInput is SQS's SendMessage request.
type SendMessageInput struct {
	QueueUrl          string
	MessageBody       string
	DelaySeconds      *int
	MessageAttributes map[string]MessageAttributeValue
}

// SendMessageOutput is SQS's SendMessage answer.
type SendMessageOutput struct {
	MessageId              string
	MD5OfMessageBody       string
	MD5OfMessageAttributes string `json:",omitempty"`
}

// SendMessage stores one message and wakes the queue's long polls.
func (q *Queues) SendMessage(ctx context.Context, in *SendMessageInput) (*SendMessageOutput, error) {
	account, name, err := resolve(ctx, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	m, err := q.message(ctx, account, name, in.MessageBody, in.DelaySeconds, in.MessageAttributes)
	if err != nil {
		return nil, err
	}
	if err := q.Store.SendMessages(ctx, account, name, []*meterd.QueueMessage{m}); err != nil {
		return nil, storeErr(err)
	}
	q.Notify(account, name)
	return &SendMessageOutput{MessageId: m.MessageID, MD5OfMessageBody: md5Hex(in.MessageBody),
		MD5OfMessageAttributes: md5OfAttributes(in.MessageAttributes)}, nil
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// message builds a message for the queue, with the queue's delay unless
// the request gives one.
func (q *Queues) message(ctx context.Context, account, name, body string, delay *int, attrs map[string]MessageAttributeValue) (*meterd.QueueMessage, error) {
	if body == "" {
		return nil, meterd.Errorf(EInvalidParameterValue, "The request must contain the parameter MessageBody.")
	}
	if err := checkMessageAttributes(attrs); err != nil {
		return nil, err
	}
	if len(body)+attributesSize(attrs) > 262144 {
		return nil, meterd.Errorf(EInvalidParameterValue, "One or more parameters are invalid. Reason: Message must be shorter than 262144 bytes.")
	}
	d := 0
	if delay != nil {
		if *delay < 0 || *delay > 900 {
			return nil, meterd.Errorf(EInvalidParameterValue, "Value %d for parameter DelaySeconds is invalid. Reason: must be between 0 and 900, if provided.", *delay)
		}
		d = *delay
	} else {
		qu, err := q.Store.Queue(ctx, account, name)
		if err != nil {
			return nil, storeErr(err)
		}
		d, _ = strconv.Atoi(qu.Attributes["DelaySeconds"])
	}
	now := q.now()
	return &meterd.QueueMessage{MessageID: newMessageID(), Body: body, MessageAttributes: encodeAttributes(attrs), SentAt: now,
		VisibleAt: now.Add(time.Duration(d) * time.Second)}, nil
}

// ReceiveMessageInput is SQS's ReceiveMessage request.
type ReceiveMessageInput struct {
	QueueUrl                    string
	MaxNumberOfMessages         *int
	VisibilityTimeout           *int
	WaitTimeSeconds             *int
	AttributeNames              []string
	MessageSystemAttributeNames []string
	MessageAttributeNames       []string
}

// Message is one received message as SQS answers it.
type Message struct {
	MessageId     string
	ReceiptHandle string
	MD5OfBody     string
	Body          string
	Attributes    map[string]string `json:",omitempty"`
	// MessageAttributes are the user attributes the receiver asked for by
	// MessageAttributeNames; MD5OfMessageAttributes is SQS's digest of
	// them, which SDKs check.
	MessageAttributes      map[string]MessageAttributeValue `json:",omitempty"`
	MD5OfMessageAttributes string                           `json:",omitempty"`
}

// ReceiveMessageOutput is SQS's ReceiveMessage answer.
type ReceiveMessageOutput struct{ Messages []Message }

// ReceiveMessage returns up to MaxNumberOfMessages visible messages. With
// WaitTimeSeconds it waits until a message is sent to the queue in this
// process (at once), or the queue's recheck sees one in the store (a send
// by another process sharing it, or a message visible again: within
// Recheck), or the wait ends, whichever is first. The wait is a channel,
// so a waiting receive costs nothing.
func (q *Queues) ReceiveMessage(ctx context.Context, in *ReceiveMessageInput) (*ReceiveMessageOutput, error) {
	account, name, err := resolve(ctx, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	qu, err := q.Store.Queue(ctx, account, name)
	if err != nil {
		return nil, storeErr(err)
	}
	max, err := intIn("MaxNumberOfMessages", in.MaxNumberOfMessages, 1, 1, 10)
	if err != nil {
		return nil, err
	}
	vis, err := intIn("VisibilityTimeout", in.VisibilityTimeout, attrInt(qu, "VisibilityTimeout", int(defaultVisibility/time.Second)), 0, 43200)
	if err != nil {
		return nil, err
	}
	wait, err := intIn("WaitTimeSeconds", in.WaitTimeSeconds, attrInt(qu, "ReceiveMessageWaitTimeSeconds", 0), 0, int(maxWait/time.Second))
	if err != nil {
		return nil, err
	}
	names := append(in.AttributeNames, in.MessageSystemAttributeNames...)
	if wait == 0 {
		got, err := q.Store.ReceiveMessages(ctx, account, name, q.now(), max, time.Duration(vis)*time.Second)
		if err != nil {
			return nil, storeErr(err)
		}
		return q.answer(account, name, got, names, in.MessageAttributeNames), nil
	}
	defer q.watch(account, name)()
	deadline := q.now().Add(time.Duration(wait) * time.Second)
	for {
		arrived := q.arrived(account, name) // before the look, so no send is missed
		got, err := q.Store.ReceiveMessages(ctx, account, name, q.now(), max, time.Duration(vis)*time.Second)
		if err != nil {
			return nil, storeErr(err)
		}
		left := deadline.Sub(q.now())
		if len(got) > 0 || left <= 0 {
			return q.answer(account, name, got, names, in.MessageAttributeNames), nil
		}
		timer := time.NewTimer(left)
		select {
		case <-arrived:
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		}
		timer.Stop()
	}
}

func (q *Queues) answer(account, name string, got []*meterd.QueueMessage, names, userNames []string) *ReceiveMessageOutput {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	all := want["All"]
	out := &ReceiveMessageOutput{Messages: []Message{}}
	for _, m := range got {
		msg := Message{MessageId: m.MessageID, ReceiptHandle: receipt(account, name, m.MessageID, m.ReceiveCount),
			MD5OfBody: md5Hex(m.Body), Body: m.Body}
		msg.MessageAttributes = selectAttributes(m.MessageAttributes, userNames)
		msg.MD5OfMessageAttributes = md5OfAttributes(msg.MessageAttributes)
		attrs := map[string]string{}
		for k, v := range map[string]string{
			"ApproximateReceiveCount":          strconv.Itoa(m.ReceiveCount),
			"SentTimestamp":                    strconv.FormatInt(m.SentAt.UnixMilli(), 10),
			"ApproximateFirstReceiveTimestamp": strconv.FormatInt(m.FirstReceivedAt.UnixMilli(), 10),
		} {
			if all || want[k] {
				attrs[k] = v
			}
		}
		if len(attrs) > 0 {
			msg.Attributes = attrs
		}
		out.Messages = append(out.Messages, msg)
	}
	return out
}

func attrInt(qu *meterd.Queue, name string, def int) int {
	if n, err := strconv.Atoi(qu.Attributes[name]); err == nil {
		return n
	}
	return def
}

// intIn returns *v (def when nil), or InvalidParameterValue outside lo..hi.
func intIn(name string, v *int, def, lo, hi int) (int, error) {
	if v == nil {
		return def, nil
	}
	if *v < lo || *v > hi {
		return 0, meterd.Errorf(EInvalidParameterValue, "Value %d for parameter %s is invalid. Reason: Must be between %d and %d, if provided.", *v, name, lo, hi)
	}
	return *v, nil
}

// DeleteMessageInput is SQS's DeleteMessage request.
type DeleteMessageInput struct {
	QueueUrl      string
	ReceiptHandle string
}

// DeleteMessage deletes the message of the latest receipt; a stale
// receipt succeeds and changes nothing, as in SQS.
func (q *Queues) DeleteMessage(ctx context.Context, in *DeleteMessageInput) (*EmptyOutput, error) {
	r, err := resolveReceipt(ctx, in.QueueUrl, in.ReceiptHandle)
	if err != nil {
		return nil, err
	}
	if err := q.Store.DeleteMessage(ctx, r.account, r.name, r.messageID, r.count); err != nil {
		return nil, storeErr(err)
	}
	return &EmptyOutput{}, nil
}

// ChangeMessageVisibilityInput is SQS's ChangeMessageVisibility request.
type ChangeMessageVisibilityInput struct {
	QueueUrl          string
	ReceiptHandle     string
	VisibilityTimeout int
}

// ChangeMessageVisibility makes an in-flight message visible again after
// VisibilityTimeout seconds from now.
func (q *Queues) ChangeMessageVisibility(ctx context.Context, in *ChangeMessageVisibilityInput) (*EmptyOutput, error) {
	r, err := resolveReceipt(ctx, in.QueueUrl, in.ReceiptHandle)
	if err != nil {
		return nil, err
	}
	if in.VisibilityTimeout < 0 || in.VisibilityTimeout > 43200 {
		return nil, meterd.Errorf(EInvalidParameterValue, "Value %d for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200.", in.VisibilityTimeout)
	}
	now := q.now()
	err = q.Store.ChangeMessageVisibility(ctx, r.account, r.name, r.messageID, r.count, now, now.Add(time.Duration(in.VisibilityTimeout)*time.Second))
	switch meterd.ErrorCode(err) {
	case "":
		if in.VisibilityTimeout == 0 {
			q.Notify(r.account, r.name)
		}
		return &EmptyOutput{}, nil
	case meterd.EConflict:
		return nil, meterd.Errorf(EMessageNotInflight, "The message referred to isn't in flight.")
	case meterd.ENotFound:
		if _, qerr := q.Store.Queue(ctx, r.account, r.name); qerr != nil {
			return nil, storeErr(qerr)
		}
		return nil, meterd.Errorf(EReceiptHandleIsInvalid, "The input receipt handle %q is not a valid receipt handle.", in.ReceiptHandle)
	}
	return nil, err
}
