package awsjson

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/meterd/meterd"
)

// StatusOf returns the HTTP status of an error code: the one table that maps
// meterd's codes (AWS exception names) to statuses, following the AWS API models
// (README, Differences from AWS: HTTP statuses). Unknown codes, including ThrottlingException, are client errors
// (400), so only InternalServiceErrorException ever answers 5xx and it never
// answers 4xx.
func StatusOf(code string) int {
	switch code {
	case meterd.EInternal, meterd.EInternalServer:
		return http.StatusInternalServerError
	case meterd.EIdempotencyConflict:
		return http.StatusConflict
	case meterd.EDryRunOperation:
		return http.StatusPreconditionFailed
	case meterd.EIncompleteSignature, meterd.EInvalidSignature, meterd.EUnrecognizedClient,
		meterd.EAccessDenied, meterd.EMissingAuthToken, meterd.EUnauthorized:
		return http.StatusForbidden
	default:
		return http.StatusBadRequest
	}
}

// errorBody is the JSON body of every error response. botocore reads the
// code only from __type, so it is always present.
type errorBody struct {
	Type    string      `json:"__type"`
	Message string      `json:"message"`
	Reason  string      `json:"reason,omitempty"`
	Fields  []fieldBody `json:"fields,omitempty"`
}

// fieldBody is a ValidationExceptionField of the Agreement Service.
type fieldBody struct {
	Name    string `json:"name"`
	Message string `json:"message"`
}

// fieldBodies are an error's fields as the wire shape.
func fieldBodies(fields []meterd.ErrorField) []fieldBody {
	var out []fieldBody
	for _, f := range fields {
		out = append(out, fieldBody{Name: f.Name, Message: f.Message})
	}
	return out
}

// WriteError writes err as an awsJson1_1 error response: status from
// StatusOf, body {"__type": code, "message": msg} and the X-Amzn-ErrorType
// header naming the same code (the Go and JS SDKs read the header first).
// Errors that are not *meterd.Error (and a nil err) are written as
// InternalServiceErrorException with a generic message; logging their detail
// is the caller's job. It sets x-amzn-RequestId and Date when the response
// does not carry them yet, so middleware outside Handler answers alike.
func WriteError(w http.ResponseWriter, err error) {
	writeError(w, err, JSON11.ContentType())
}

// writeError is WriteError with the content type of an awsJson version.
func writeError(w http.ResponseWriter, err error, contentType string) {
	code, msg := meterd.ErrorCode(err), meterd.ErrorMessage(err)
	if err == nil {
		code, msg = meterd.EInternal, internalMessage
	}
	reason, fields := meterd.ErrorDetail(err)
	body, jerr := json.Marshal(errorBody{Type: code, Message: msg, Reason: reason, Fields: fieldBodies(fields)})
	if jerr != nil {
		// Unreachable: two strings always marshal.
		body = []byte(`{"__type":"` + meterd.EInternal + `","message":"` + internalMessage + `"}`)
		code = meterd.EInternal
	}
	h := w.Header()
	setCommonHeaders(h, "")
	h.Set("X-Amzn-ErrorType", code)
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(StatusOf(code))
	w.Write(body)
}

// internalMessage is what the client sees for an unexpected failure; the same
// text as meterd.ErrorMessage gives for errors that are not *meterd.Error.
const internalMessage = "An internal error has occurred."
