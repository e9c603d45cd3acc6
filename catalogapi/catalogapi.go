// Package catalogapi is the AWS Marketplace Catalog API (marketplace-catalog,
// 2018-09-17) on meterd's listener: rest-json, each operation a method and
// path (GET /DescribeEntity, POST /ListEntities), signed for SigV4 service
// aws-marketplace. Service is its route table for awsjson.Handler, which
// authenticates, bounds, logs and observes it as every other service;
// Protocol is the rest-json framing, with the Catalog model's error
// statuses.
package catalogapi

import (
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strconv"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/awsjson"
)

// Service is the Catalog API's route table over svc. The operations meterd
// does not serve answer ValidationException saying so, without reading
// their input.
func Service(svc meterd.CatalogService) *awsjson.Service {
	ops := map[string]awsjson.Operation{
		meterd.OpDescribeEntity: bindQuery(decodeDescribeEntity, svc.DescribeEntity, encodeDescribeEntity),
		meterd.OpListEntities:   awsjson.Bind(decodeListEntities, svc.ListEntities, encodeListEntities),
	}
	for _, name := range meterd.CatalogUnsupportedOperations() {
		ops[name] = func(context.Context, []byte) ([]byte, error) {
			return nil, meterd.Errorf(meterd.EValidation, "%s is not supported by meterd: it serves the Catalog API's DescribeEntity and ListEntities", name)
		}
	}
	return &awsjson.Service{
		Name:        "AWSMPSeaService",
		SigningName: "aws-marketplace",
		Protocol:    Protocol{},
		Operations:  ops,
		Routes:      routes,
	}
}

// routes are the HTTP bindings of every Catalog operation, botocore's
// model's and the Go SDK's (which has the assessments too).
var routes = map[string]string{
	"BatchDescribeEntities": "POST /BatchDescribeEntities",
	"CancelChangeSet":       "PATCH /CancelChangeSet",
	"DeleteResourcePolicy":  "DELETE /DeleteResourcePolicy",
	"DescribeAssessment":    "POST /DescribeAssessment",
	"DescribeChangeSet":     "GET /DescribeChangeSet",
	meterd.OpDescribeEntity: "GET /DescribeEntity",
	"GetResourcePolicy":     "GET /GetResourcePolicy",
	"ListAssessments":       "POST /ListAssessments",
	"ListChangeSets":        "POST /ListChangeSets",
	meterd.OpListEntities:   "POST /ListEntities",
	"ListTagsForResource":   "POST /ListTagsForResource",
	"PutResourcePolicy":     "POST /PutResourcePolicy",
	"StartChangeSet":        "POST /StartChangeSet",
	"TagResource":           "POST /TagResource",
	"UntagResource":         "POST /UntagResource",
}

// bindQuery is awsjson.Bind for an operation whose input is in the query
// string.
func bindQuery[I, O any](decode func(q map[string][]string) (*I, error), op func(context.Context, *I) (*O, error), encode func(*O) ([]byte, error)) awsjson.Operation {
	return func(ctx context.Context, body []byte) ([]byte, error) {
		fromQuery := func([]byte) (*I, error) { return decode(awsjson.Query(ctx)) }
		return awsjson.Bind(fromQuery, op, encode)(ctx, body)
	}
}

// Protocol is rest-json as the Catalog API speaks it: JSON bodies, the
// error's code in X-Amzn-ErrorType and its message in the body's Message,
// with the status the Catalog model gives each error.
type Protocol struct{}

var _ awsjson.Protocol = Protocol{}

// ByPath implements awsjson.Protocol; a REST service is routed by its
// Service.Routes.
func (Protocol) ByPath() bool { return false }

// CheckRequest implements awsjson.Protocol: a body, when there is one, is
// JSON.
func (Protocol) CheckRequest(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if (err != nil && !errors.Is(err, mime.ErrInvalidMediaParameter)) || (mt != "application/json" && mt != "application/x-amz-json-1.1") {
		return meterd.Errorf(meterd.ESerialization, "Unsupported Content-Type %q: expected application/json", clip(ct))
	}
	return nil
}

// WriteOutput implements awsjson.Protocol.
func (Protocol) WriteOutput(w http.ResponseWriter, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

// internalCode is the Catalog model's name for an internal failure.
const internalCode = "InternalServiceException"

// StatusOf is the HTTP status of an error code on the Catalog API: the
// model's httpStatusCode of each of its errors, awsjson.StatusOf for the
// codes it shares with every service (signatures, serialization).
func StatusOf(code string) int {
	switch code {
	case meterd.EValidation:
		return http.StatusUnprocessableEntity
	case meterd.EResourceNotFound:
		return http.StatusNotFound
	case meterd.EResourceNotSupported:
		return http.StatusUnsupportedMediaType
	case meterd.EThrottling:
		return http.StatusTooManyRequests
	case meterd.EInternal, internalCode:
		return http.StatusInternalServerError
	}
	return awsjson.StatusOf(code)
}

// WriteError implements awsjson.Protocol. Errors that are not
// *meterd.Error are InternalServiceException with a generic message.
func (Protocol) WriteError(w http.ResponseWriter, err error) {
	code, msg := meterd.ErrorCode(err), meterd.ErrorMessage(err)
	if err == nil {
		code, msg = meterd.EInternal, meterd.ErrorMessage(errors.New(""))
	}
	status := StatusOf(code)
	if code == meterd.EInternal {
		code = internalCode
	}
	body, _ := json.Marshal(struct {
		Message string `json:"Message"`
	}{msg}) // a string always marshals
	h := w.Header()
	h.Set("X-Amzn-ErrorType", code)
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// clip shortens client-supplied text echoed in messages.
func clip(s string) string {
	const max = 128
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
