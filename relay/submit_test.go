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
		name      string
		err       error
		code      string
		retryable bool
	}{
		{"Throttling", resp(400, &smithy.GenericAPIError{Code: "ThrottlingException"}), "ThrottlingException", true},
		{"InternalServiceError", resp(500, &smithy.GenericAPIError{Code: "InternalServiceErrorException"}), "InternalServiceErrorException", true},
		{"Other5xx", resp(503, &smithy.GenericAPIError{Code: "ServiceUnavailable"}), "ServiceUnavailable", true},
		{"HTTP5xxWithoutCode", resp(502, errors.New("bad gateway")), "HTTP5xx", true},
		{"Network", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, "NetworkError", true},
		{"InvalidUsageDimension", resp(400, &smithy.GenericAPIError{Code: "InvalidUsageDimensionException"}), "InvalidUsageDimensionException", false},
		{"TimestampOutOfBounds", resp(400, &smithy.GenericAPIError{Code: "TimestampOutOfBoundsException"}), "TimestampOutOfBoundsException", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, retryable := classify(tt.err)
			if code != tt.code || retryable != tt.retryable {
				t.Errorf("classify(%v) = %s, %v, want %s, %v", tt.err, code, retryable, tt.code, tt.retryable)
			}
		})
	}
}
