package awsjson

import (
	"errors"
	"mime"
	"net/http"
	"strconv"

	"github.com/meterd/meterd"
)

// JSON is the awsJson protocol of one version: requests are a POST naming
// their operation in X-Amz-Target, bodies JSON documents of content type
// application/x-amz-json-<version>. The two versions differ only in that
// content type.
type JSON string

// The two awsJson versions: 1.0 (Agreement Service, SQS) and 1.1 (Metering
// and Entitlement Services).
const (
	JSON10 JSON = "1.0"
	JSON11 JSON = "1.1"
)

var _ Protocol = JSON11

// ContentType is the media type of the version's bodies.
func (v JSON) ContentType() string { return "application/x-amz-json-" + string(v) }

// ByPath implements Protocol: awsJson routes by X-Amz-Target.
func (v JSON) ByPath() bool { return false }

// CheckRequest implements Protocol: it accepts the version's content type,
// which every SDK sends, and application/json, with or without parameters.
func (v JSON) CheckRequest(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil && !errors.Is(err, mime.ErrInvalidMediaParameter) {
		mt = ""
	}
	if mt != v.ContentType() && mt != "application/json" {
		return meterd.Errorf(meterd.ESerialization, "Unsupported Content-Type %q: expected %s", clip(ct), v.ContentType())
	}
	return nil
}

// WriteOutput implements Protocol.
func (v JSON) WriteOutput(w http.ResponseWriter, body []byte) {
	h := w.Header()
	h.Set("Content-Type", v.ContentType())
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

// WriteError implements Protocol; see the package's WriteError.
func (v JSON) WriteError(w http.ResponseWriter, err error) {
	writeError(w, err, v.ContentType())
}
