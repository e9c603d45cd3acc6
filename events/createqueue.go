package events

import (
	"context"
	"maps"
	"strconv"

	"github.com/meterd/meterd"
)

// CreateQueueInput is SQS's CreateQueue request. Endpoint is meterd's base
// URL as the client reached it, set by the adapter.
type CreateQueueInput struct {
	QueueName  string
	Attributes map[string]string
	Endpoint   string
}

// CreateQueueOutput is SQS's CreateQueue answer.
type CreateQueueOutput struct{ QueueUrl string }

// settable are the queue attributes meterd keeps, with their bounds in
// seconds (or bytes for MaximumMessageSize).
var settable = map[string][2]int{
	"VisibilityTimeout":             {0, 43200},
	"DelaySeconds":                  {0, 900},
	"MessageRetentionPeriod":        {60, 1209600},
	"MaximumMessageSize":            {1024, 1048576},
	"ReceiveMessageWaitTimeSeconds": {0, 20},
}

// checkAttributes refuses attributes SQS would refuse.
func checkAttributes(attrs map[string]string) error {
	for k, v := range attrs {
		bounds, ok := settable[k]
		if !ok {
			return meterd.Errorf(EInvalidAttributeName, "Unknown Attribute %s.", k)
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < bounds[0] || n > bounds[1] {
			return meterd.Errorf(EInvalidAttributeValue, "Invalid value for the parameter %s.", k)
		}
	}
	return nil
}

// CreateQueue creates the caller's queue, or returns the URL of the one of
// that name when its attributes are the same (SQS's idempotent create).
func (q *Queues) CreateQueue(ctx context.Context, in *CreateQueueInput) (*CreateQueueOutput, error) {
	me, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if !validName(in.QueueName) {
		return nil, meterd.Errorf(EInvalidParameterValue, "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
	}
	if err := checkAttributes(in.Attributes); err != nil {
		return nil, err
	}
	attrs := map[string]string{}
	maps.Copy(attrs, in.Attributes)
	err = q.Store.CreateQueue(ctx, &meterd.Queue{AccountID: me, Name: in.QueueName, Attributes: attrs, CreatedAt: q.now()})
	if meterd.ErrorCode(err) == meterd.EConflict {
		have, gerr := q.Store.Queue(ctx, me, in.QueueName)
		if gerr != nil {
			return nil, gerr
		}
		for k, v := range in.Attributes {
			if have.Attributes[k] != v {
				return nil, meterd.Errorf(EQueueNameExists, "A queue already exists with the same name and a different value for attribute %s", k)
			}
		}
	} else if err != nil {
		return nil, err
	}
	return &CreateQueueOutput{QueueUrl: QueueURL(in.Endpoint, me, in.QueueName)}, nil
}

// GetQueueUrlInput is SQS's GetQueueUrl request.
type GetQueueUrlInput struct {
	QueueName              string
	QueueOwnerAWSAccountId string
	Endpoint               string
}

// GetQueueUrlOutput is SQS's GetQueueUrl answer.
type GetQueueUrlOutput struct{ QueueUrl string }

// GetQueueUrl returns the URL of the caller's queue of that name.
func (q *Queues) GetQueueUrl(ctx context.Context, in *GetQueueUrlInput) (*GetQueueUrlOutput, error) {
	me, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if in.QueueOwnerAWSAccountId != "" && in.QueueOwnerAWSAccountId != me {
		return nil, meterd.Errorf(EQueueDoesNotExist, "The specified queue does not exist.")
	}
	if _, err := q.Store.Queue(ctx, me, in.QueueName); err != nil {
		return nil, storeErr(err)
	}
	return &GetQueueUrlOutput{QueueUrl: QueueURL(in.Endpoint, me, in.QueueName)}, nil
}

// ListQueuesInput is SQS's ListQueues request (one page of up to 1,000).
type ListQueuesInput struct {
	QueueNamePrefix string
	Endpoint        string
}

// ListQueuesOutput is SQS's ListQueues answer.
type ListQueuesOutput struct{ QueueUrls []string }

// ListQueues lists the caller's queues by name.
func (q *Queues) ListQueues(ctx context.Context, in *ListQueuesInput) (*ListQueuesOutput, error) {
	me, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	qs, err := q.Store.Queues(ctx, me, in.QueueNamePrefix)
	if err != nil {
		return nil, err
	}
	out := &ListQueuesOutput{QueueUrls: []string{}}
	for _, x := range qs {
		out.QueueUrls = append(out.QueueUrls, QueueURL(in.Endpoint, me, x.Name))
	}
	return out, nil
}

// QueueUrlInput is the request of the operations that name only a queue
// (DeleteQueue, PurgeQueue).
type QueueUrlInput struct{ QueueUrl string }

// EmptyOutput is the answer of operations that return nothing.
type EmptyOutput struct{}

// DeleteQueue deletes the caller's queue and its messages.
func (q *Queues) DeleteQueue(ctx context.Context, in *QueueUrlInput) (*EmptyOutput, error) {
	account, name, err := resolve(ctx, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if err := q.Store.DeleteQueue(ctx, account, name); err != nil {
		return nil, storeErr(err)
	}
	return &EmptyOutput{}, nil
}

// PurgeQueue deletes every message of the caller's queue.
func (q *Queues) PurgeQueue(ctx context.Context, in *QueueUrlInput) (*EmptyOutput, error) {
	account, name, err := resolve(ctx, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if err := q.Store.PurgeQueue(ctx, account, name); err != nil {
		return nil, storeErr(err)
	}
	return &EmptyOutput{}, nil
}
