package sigv4

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/meterd/meterd"
)

const goodSig = "1239b0f05b43b4e5919c1f141ceeff62d83e454bcedbf7032586ebc9bdb6430c"

func TestParseAuthorization(t *testing.T) {
	want := &authorization{AccessKeyID: "AKID", Date: "20261123", Region: "us-west-2", Service: "aws-marketplace",
		SignedHeaders: []string{"content-type", "host", "x-amz-date"}, Signature: goodSig}
	tests := []struct {
		name string
		in   string
	}{
		{"GoSDK", "AWS4-HMAC-SHA256 Credential=AKID/20261123/us-west-2/aws-marketplace/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=" + goodSig},
		{"NoSpaces", "AWS4-HMAC-SHA256 Credential=AKID/20261123/us-west-2/aws-marketplace/aws4_request,SignedHeaders=content-type;host;x-amz-date,Signature=" + goodSig},
		{"ExtraSpaces", "  AWS4-HMAC-SHA256   Credential=AKID/20261123/us-west-2/aws-marketplace/aws4_request ,  SignedHeaders=content-type;host;x-amz-date ,Signature=" + goodSig + " "},
		{"SpacesOnly", "AWS4-HMAC-SHA256 Credential=AKID/20261123/us-west-2/aws-marketplace/aws4_request SignedHeaders=content-type;host;x-amz-date Signature=" + goodSig},
		{"OtherOrder", "AWS4-HMAC-SHA256 Signature=" + goodSig + ", SignedHeaders=content-type;host;x-amz-date, Credential=AKID/20261123/us-west-2/aws-marketplace/aws4_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseAuthorization(tt.in)
			if err != nil {
				t.Fatalf("parseAuthorization(%q) error = %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("parseAuthorization(%q) = %+v, want %+v", tt.in, got, want)
			}
		})
	}
}

func TestParseAuthorizationErrors(t *testing.T) {
	const cred = "Credential=AKID/20261123/us-west-2/aws-marketplace/aws4_request"
	const rest = ", SignedHeaders=host;x-amz-date, Signature=" + goodSig
	tests := []struct {
		name string
		in   string
		msg  string
	}{
		{"Empty", "", "algorithm"},
		{"OtherScheme", "Bearer secret-token-value", "algorithm"},
		{"AlgorithmOnly", "AWS4-HMAC-SHA256", "requires 'Credential' parameter"},
		{"NotNameValue", "AWS4-HMAC-SHA256 " + cred + rest + ", junk", "name=value"},
		{"Duplicate", "AWS4-HMAC-SHA256 " + cred + ", " + cred + rest, "duplicate"},
		{"MissingSignature", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host", "requires 'Signature' parameter"},
		{"EmptySignedHeaders", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=, Signature=" + goodSig, "requires 'SignedHeaders' parameter"},
		{"FourElements", "AWS4-HMAC-SHA256 Credential=AKID/20261123/us-west-2/aws4_request" + rest, "exactly 5"},
		{"BadTerminator", "AWS4-HMAC-SHA256 Credential=AKID/20261123/us-west-2/aws-marketplace/aws5_request" + rest, "terminator"},
		{"EmptyKey", "AWS4-HMAC-SHA256 Credential=/20261123/us-west-2/aws-marketplace/aws4_request" + rest, "access key id"},
		{"EmptyRegion", "AWS4-HMAC-SHA256 Credential=AKID/20261123//aws-marketplace/aws4_request" + rest, "region"},
		{"BadDate", "AWS4-HMAC-SHA256 Credential=AKID/2026-11-23/us-west-2/aws-marketplace/aws4_request" + rest, "yyyyMMdd"},
		{"NoHost", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=content-type;x-amz-date, Signature=" + goodSig, "'Host'"},
		{"EmptyHeaderName", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host;;x-amz-date, Signature=" + goodSig, "empty header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseAuthorization(tt.in)
			var e *meterd.Error
			if !errors.As(err, &e) || e.Code != meterd.EIncompleteSignature || !strings.Contains(e.Message, tt.msg) {
				t.Fatalf("parseAuthorization(%q) error = %v, want %s containing %q", tt.in, err, meterd.EIncompleteSignature, tt.msg)
			}
			if strings.Contains(e.Message, "secret-token-value") {
				t.Errorf("parseAuthorization(%q) error = %q, echoes the header", tt.in, e.Message)
			}
		})
	}
}

// FuzzParseAuthorization checks that no header makes the parser panic and
// that every rejection is an auth error.
func FuzzParseAuthorization(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKID/20261123/us-west-2/aws-marketplace/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=" + goodSig)
	f.Add("AWS4-HMAC-SHA256 Credential=AKID/20261123/us-west-2/aws-marketplace/aws4_request,SignedHeaders=host,Signature=00")
	f.Add("AWS4-HMAC-SHA256 Credential=a/b/c/d/e/f, SignedHeaders=;, Signature==")
	f.Add("AWS4-HMAC-SHA256 ,,, = ==")
	f.Add("AWS4-HMAC-SHA256")
	f.Add("Bearer x")
	f.Add("")
	f.Add("AWS4-HMAC-SHA256 Credential=////, SignedHeaders=HOST, Signature=\x00")
	f.Fuzz(func(t *testing.T, h string) {
		a, err := parseAuthorization(h)
		if err != nil {
			var e *meterd.Error
			if !errors.As(err, &e) || !isAuthCode(e.Code) {
				t.Fatalf("parseAuthorization(%q) error = %v, want an auth *meterd.Error", h, err)
			}
			return
		}
		if a.AccessKeyID == "" || a.Region == "" || a.Signature == "" || len(a.SignedHeaders) == 0 {
			t.Fatalf("parseAuthorization(%q) = %+v, want every part set", h, a)
		}
	})
}

func isAuthCode(code string) bool {
	switch code {
	case meterd.EIncompleteSignature, meterd.EInvalidSignature, meterd.EMissingAuthToken, meterd.EUnrecognizedClient:
		return true
	}
	return false
}
