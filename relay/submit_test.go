package relay

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/meterd/meterd"
)

func TestChunks(t *testing.T) {
	var recs []*Record
	add := func(product string, n int, tagLen int) {
		for i := range n {
			r := &Record{Key: Key{Product: product, Customer: fmt.Sprintf("c%d", i), Dimension: "d"}}
			if tagLen > 0 {
				q := int64(1)
				for j := range 200 {
					r.Allocations = append(r.Allocations, meterd.UsageAllocation{AllocatedUsageQuantity: &q,
						Tags: []meterd.Tag{{Key: fmt.Sprint(j), Value: strings.Repeat("v", tagLen)}}})
				}
			}
			recs = append(recs, r)
		}
	}
	add("a", 60, 0)
	add("b", 3, 0)
	add("c", 10, 1000) // about 200 KB each: five fit under 1 MB
	var sizes []string
	for _, c := range chunks(recs) {
		sizes = append(sizes, fmt.Sprintf("%s:%d", c[0].Product, len(c)))
		for _, r := range c {
			if r.Product != c[0].Product {
				t.Errorf("chunk of %s holds a record of %s", c[0].Product, r.Product)
			}
		}
	}
	want := "a:25 a:25 a:10 b:3 c:4 c:4 c:2"
	if got := strings.Join(sizes, " "); got != want {
		t.Errorf("chunks = %s, want %s", got, want)
	}
}

func TestClassify(t *testing.T) {
	resp := func(status int, err error) error {
		return &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: err}
	}
	tests := []struct {
		name string
		err  error
		code string
		kind errKind
	}{
		{"Throttling", resp(400, &smithy.GenericAPIError{Code: "ThrottlingException"}), "ThrottlingException", errTransient},
		{"InternalServiceError", resp(500, &smithy.GenericAPIError{Code: "InternalServiceErrorException"}), "InternalServiceErrorException", errTransient},
		{"Other5xx", resp(503, &smithy.GenericAPIError{Code: "ServiceUnavailable"}), "ServiceUnavailable", errTransient},
		{"HTTP5xxWithoutCode", resp(502, errors.New("bad gateway")), "HTTP5xx", errTransient},
		{"Network", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, "NetworkError", errTransient},
		{"InvalidUsageDimension", resp(400, &smithy.GenericAPIError{Code: "InvalidUsageDimensionException"}), "InvalidUsageDimensionException", errPermanent},
		{"TimestampOutOfBounds", resp(400, &smithy.GenericAPIError{Code: "TimestampOutOfBoundsException"}), "TimestampOutOfBoundsException", errPermanent},
		// The relay's key, secret, session or permissions: never the
		// record's fault, so never final.
		{"InvalidSignature", resp(400, &smithy.GenericAPIError{Code: "InvalidSignatureException"}), "InvalidSignatureException", errCredentials},
		{"UnrecognizedClient", resp(400, &smithy.GenericAPIError{Code: "UnrecognizedClientException"}), "UnrecognizedClientException", errCredentials},
		{"ExpiredToken", resp(400, &smithy.GenericAPIError{Code: "ExpiredTokenException"}), "ExpiredTokenException", errCredentials},
		{"AccessDenied", resp(400, &smithy.GenericAPIError{Code: "AccessDeniedException"}), "AccessDeniedException", errCredentials},
		{"SignatureDoesNotMatch", resp(403, &smithy.GenericAPIError{Code: "SignatureDoesNotMatch"}), "SignatureDoesNotMatch", errCredentials},
		{"Other403", resp(403, &smithy.GenericAPIError{Code: "SomethingForbidden"}), "SomethingForbidden", errCredentials},
		{"HTTP401WithoutCode", resp(401, errors.New("unauthorized")), "HTTP401", errCredentials},
		{"NoCredentials", fmt.Errorf("get identity: %w", &CredentialsError{errors.New("no EC2 IMDS role found")}), "NoCredentials", errCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, kind := classify(tt.err)
			if code != tt.code || kind != tt.kind {
				t.Errorf("classify(%v) = %s, %v, want %s, %v", tt.err, code, kind, tt.code, tt.kind)
			}
		})
	}
}
