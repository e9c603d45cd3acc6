package events

import (
	"context"
	"strconv"
	"time"

	"github.com/meterd/meterd"
)

// defaults are the values SQS answers for settable attributes never set.
var defaults = map[string]string{
	"VisibilityTimeout":             strconv.Itoa(int(defaultVisibility / time.Second)),
	"DelaySeconds":                  "0",
	"MessageRetentionPeriod":        "345600",
	"MaximumMessageSize":            "262144",
	"ReceiveMessageWaitTimeSeconds": "0",
}

// readOnly are the attributes GetQueueAttributes answers that no request
// sets.
var readOnly = map[string]bool{
	"ApproximateNumberOfMessages":           true,
	"ApproximateNumberOfMessagesNotVisible": true,
	"ApproximateNumberOfMessagesDelayed":    true,
	"CreatedTimestamp":                      true,
	"LastModifiedTimestamp":                 true,
	"QueueArn":                              true,
	"SqsManagedSseEnabled":                  true,
}

// GetQueueAttributesInput is SQS's GetQueueAttributes request.
type GetQueueAttributesInput struct {
	QueueUrl       string
	AttributeNames []string
}

// GetQueueAttributesOutput is SQS's GetQueueAttributes answer.
type GetQueueAttributesOutput struct {
	Attributes map[string]string `json:",omitempty"`
}

// GetQueueAttributes answers the named attributes of the caller's queue
// ("All" for every one). The message counts are exact at the time of the
// request; messages waiting out a delay count as not visible, and
// ApproximateNumberOfMessagesDelayed is 0.
func (q *Queues) GetQueueAttributes(ctx context.Context, in *GetQueueAttributesInput) (*GetQueueAttributesOutput, error) {
	account, name, err := resolve(ctx, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, n := range in.AttributeNames {
		if _, ok := settable[n]; !ok && !readOnly[n] && n != "All" {
			return nil, meterd.Errorf(EInvalidAttributeName, "Unknown Attribute %s.", n)
		}
		want[n] = true
	}
	qu, err := q.Store.Queue(ctx, account, name)
	if err != nil {
		return nil, storeErr(err)
	}
	visible, inFlight, err := q.Store.QueueCounts(ctx, account, name, q.now())
	if err != nil {
		return nil, storeErr(err)
	}
	region := "us-east-1"
	if c := meterd.CallerFromContext(ctx); c != nil && c.Region != "" {
		region = c.Region
	}
	created := strconv.FormatInt(qu.CreatedAt.Unix(), 10)
	all := map[string]string{
		"ApproximateNumberOfMessages":           strconv.Itoa(visible),
		"ApproximateNumberOfMessagesNotVisible": strconv.Itoa(inFlight),
		"ApproximateNumberOfMessagesDelayed":    "0",
		"CreatedTimestamp":                      created,
		"LastModifiedTimestamp":                 created,
		"QueueArn":                              "arn:aws:sqs:" + region + ":" + account + ":" + name,
		"SqsManagedSseEnabled":                  "false",
	}
	for k, v := range defaults {
		all[k] = v
		if set, ok := qu.Attributes[k]; ok {
			all[k] = set
		}
	}
	out := &GetQueueAttributesOutput{Attributes: map[string]string{}}
	for k, v := range all {
		if want["All"] || want[k] {
			out.Attributes[k] = v
		}
	}
	if len(out.Attributes) == 0 {
		out.Attributes = nil
	}
	return out, nil
}

// SetQueueAttributesInput is SQS's SetQueueAttributes request.
type SetQueueAttributesInput struct {
	QueueUrl   string
	Attributes map[string]string
}

// SetQueueAttributes changes the settable attributes of the caller's
// queue; an attribute meterd does not keep is InvalidAttributeName.
func (q *Queues) SetQueueAttributes(ctx context.Context, in *SetQueueAttributesInput) (*EmptyOutput, error) {
	account, name, err := resolve(ctx, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if err := checkAttributes(in.Attributes); err != nil {
		return nil, err
	}
	if err := q.Store.SetQueueAttributes(ctx, account, name, in.Attributes); err != nil {
		return nil, storeErr(err)
	}
	return &EmptyOutput{}, nil
}
