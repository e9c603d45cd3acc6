package events

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/awsjson"
)

// SQSTarget is SQS's X-Amz-Target prefix on awsJson1_0.
const SQSTarget = "AmazonSQS"

// SQS is the SQS target table on awsJson1_0, signed for SigV4 service sqs.
func SQS(q *Queues) *awsjson.Service {
	return &awsjson.Service{
		Name:        SQSTarget,
		SigningName: "sqs",
		Protocol:    sqsProtocol{awsjson.JSON10},
		Operations: map[string]awsjson.Operation{
			"CreateQueue":                  bind(q.CreateQueue),
			"GetQueueUrl":                  bind(q.GetQueueUrl),
			"ListQueues":                   bind(q.ListQueues),
			"DeleteQueue":                  bind(q.DeleteQueue),
			"PurgeQueue":                   bind(q.PurgeQueue),
			"SendMessage":                  bind(q.SendMessage),
			"ReceiveMessage":               bind(q.ReceiveMessage),
			"DeleteMessage":                bind(q.DeleteMessage),
			"ChangeMessageVisibility":      bind(q.ChangeMessageVisibility),
			"GetQueueAttributes":           bind(q.GetQueueAttributes),
			"SetQueueAttributes":           bind(q.SetQueueAttributes),
			"SendMessageBatch":             bind(q.SendMessageBatch),
			"DeleteMessageBatch":           bind(q.DeleteMessageBatch),
			"ChangeMessageVisibilityBatch": bind(q.ChangeMessageVisibilityBatch),
		},
	}
}

// sqsProtocol is awsJson1_0 as SQS speaks it: SQS moved from the query
// protocol to JSON keeping its query error codes (the model's
// awsQueryCompatible trait), so its errors also carry them in
// x-amzn-query-error, "Code;Sender", which the SDKs report as the error's
// code (boto3's Error.Code, the Go SDK's ErrorCode(), the JS SDK's Code)
// while they still pick the exception class by __type.
type sqsProtocol struct{ awsjson.JSON }

// WriteError implements awsjson.Protocol: awsJson1_0's error, with
// x-amzn-query-error for the SQS exceptions.
func (p sqsProtocol) WriteError(w http.ResponseWriter, err error) {
	if code := queryErrorCode(meterd.ErrorCode(err)); code != "" {
		// Every SQS error meterd answers is the sender's.
		w.Header().Set("X-Amzn-Query-Error", code+";Sender")
	}
	p.JSON.WriteError(w, err)
}

// queryErrorCode is the query protocol's code of an SQS exception meterd
// answers with: the model's awsQueryError code where it names one, else the
// exception's own name, as SQS answers; "" for errors that are not SQS's.
func queryErrorCode(code string) string {
	switch code {
	case EQueueDoesNotExist:
		return "AWS.SimpleQueueService.NonExistentQueue"
	case EQueueNameExists:
		return "QueueAlreadyExists"
	case EMessageNotInflight, EEmptyBatchRequest, ETooManyEntriesInBatchRequest, EBatchEntryIdsNotDistinct,
		EInvalidBatchEntryId, EBatchRequestTooLong:
		return "AWS.SimpleQueueService." + code
	case EReceiptHandleIsInvalid, EInvalidAttributeName, EInvalidAttributeValue, EInvalidParameterValue:
		return code
	}
	return ""
}

// SQSOperations are the names of the SQS operations served, sorted, for
// fault rules and quotas to name.
func SQSOperations() []string {
	return slices.Sorted(maps.Keys(SQS(nil).Operations))
}

type endpointKey struct{}

// WithEndpoint records, for SQS requests, the base URL the client reached
// meterd at, from which queue URLs are made.
func WithEndpoint(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.Header.Get("X-Amz-Target"), SQSTarget+".") {
			scheme := "http"
			if r.TLS != nil {
				scheme = "https"
			}
			r = r.WithContext(context.WithValue(r.Context(), endpointKey{}, scheme+"://"+r.Host))
		}
		next.ServeHTTP(w, r)
	})
}

// bind joins an operation to the JSON decoding of its input and encoding
// of its output. Members are matched by their exact names (encoding/json
// alone would accept any case, which AWS does not); unknown members are
// ignored, since newer SDKs send members meterd does not know.
func bind[I, O any](op func(context.Context, *I) (*O, error)) awsjson.Operation {
	return func(ctx context.Context, body []byte) ([]byte, error) {
		in := new(I)
		if err := decodeExact(body, in); err != nil {
			return nil, err
		}
		if ep, ok := ctx.Value(endpointKey{}).(string); ok {
			if f := reflect.ValueOf(in).Elem().FieldByName("Endpoint"); f.IsValid() {
				f.SetString(ep)
			}
		}
		out, err := op(ctx, in)
		if err != nil {
			return nil, err
		}
		return json.Marshal(out)
	}
}

func decodeExact(body []byte, v any) error {
	var raw map[string]json.RawMessage
	if len(body) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return meterd.Errorf(meterd.ESerialization, "The request body is not a JSON object.")
	}
	t := reflect.TypeOf(v).Elem()
	kept := map[string]json.RawMessage{}
	for i := 0; i < t.NumField(); i++ {
		name := t.Field(i).Name
		if name == "Endpoint" {
			continue
		}
		if m, ok := raw[name]; ok {
			kept[name] = m
		}
	}
	b, _ := json.Marshal(kept)
	if err := json.Unmarshal(b, v); err != nil {
		return meterd.Errorf(meterd.ESerialization, "A member of the request has the wrong type: %v", err)
	}
	return nil
}
