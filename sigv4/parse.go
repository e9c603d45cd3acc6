package sigv4

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/meterd/meterd"
)

// algorithm is the only SigV4 algorithm the Metering API accepts.
const algorithm = "AWS4-HMAC-SHA256"

// terminator ends every SigV4 credential scope.
const terminator = "aws4_request"

// amzDateFormat is the ISO-8601 basic format of X-Amz-Date.
const amzDateFormat = "20060102T150405Z"

// authorization is the parsed Authorization header of a SigV4 request.
type authorization struct {
	AccessKeyID   string
	Date          string // yyyymmdd of the credential scope
	Region        string
	Service       string
	SignedHeaders []string // as the client listed them
	Signature     string
}

// scope returns the credential scope that goes into the string to sign.
func (a *authorization) scope() string {
	return a.Date + "/" + a.Region + "/" + a.Service + "/" + terminator
}

// parseAuthorization parses
// "AWS4-HMAC-SHA256 Credential=AKID/date/region/service/aws4_request, SignedHeaders=a;b, Signature=hex".
// Parameters may be separated by commas, spaces or both, as the SDKs differ.
// Errors are EIncompleteSignature and never quote the header, which may hold
// a secret when a client sends some other scheme.
func parseAuthorization(h string) (*authorization, error) {
	alg, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	if alg != algorithm {
		return nil, incomplete("Unsupported AWS 'algorithm': only %s is supported.", algorithm)
	}
	params, err := authParams(rest)
	if err != nil {
		return nil, err
	}
	a, err := parseCredential(params["Credential"])
	if err != nil {
		return nil, err
	}
	if a.SignedHeaders, err = parseSignedHeaders(params["SignedHeaders"]); err != nil {
		return nil, err
	}
	a.Signature = params["Signature"]
	return a, nil
}

// authParams splits the name=value parameters after the algorithm and
// requires Credential, SignedHeaders and Signature, each once.
func authParams(s string) (map[string]string, error) {
	params := make(map[string]string)
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
	for _, f := range fields {
		name, value, ok := strings.Cut(f, "=")
		if !ok {
			return nil, incomplete("Authorization header parameters must be name=value pairs.")
		}
		if _, dup := params[name]; dup {
			return nil, incomplete("Authorization header has a duplicate parameter.")
		}
		params[name] = value
	}
	var missing []string
	for _, name := range []string{"Credential", "Signature", "SignedHeaders"} {
		if params[name] == "" {
			missing = append(missing, "Authorization header requires '"+name+"' parameter.")
		}
	}
	if len(missing) > 0 {
		return nil, incomplete("%s", strings.Join(missing, " "))
	}
	return params, nil
}

// parseCredential parses "AKID/yyyymmdd/region/service/aws4_request".
func parseCredential(s string) (*authorization, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 5 {
		return nil, incomplete("Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term.")
	}
	if parts[4] != terminator {
		return nil, incomplete("Credential should be scoped with a valid terminator: '%s'.", terminator)
	}
	for i, what := range []string{"access key id", "date", "region", "service"} {
		if parts[i] == "" {
			return nil, incomplete("Credential should have a non-empty %s.", what)
		}
	}
	if !isScopeDate(parts[1]) {
		return nil, incomplete("Credential should be scoped to a date in the format yyyyMMdd.")
	}
	return &authorization{AccessKeyID: parts[0], Date: parts[1], Region: parts[2], Service: parts[3]}, nil
}

// parseSignedHeaders splits "a;b;c", requires host among the names and
// refuses a name listed twice (in any case), which would let a header
// stand in the canonical request twice.
func parseSignedHeaders(s string) ([]string, error) {
	names := strings.Split(s, ";")
	host := false
	for i, n := range names {
		if n == "" {
			return nil, incomplete("SignedHeaders must not contain empty header names.")
		}
		for _, m := range names[:i] {
			if strings.EqualFold(m, n) {
				return nil, incomplete("SignedHeaders must not list a header more than once.")
			}
		}
		host = host || strings.EqualFold(n, "host")
	}
	if !host {
		return nil, incomplete("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
	}
	return names, nil
}

// checkSignedHeaders requires the signature to cover the headers that say
// when, what and with which temporary credentials: the time header in use
// (X-Amz-Date, or Date without it), and X-Amz-Target and
// X-Amz-Security-Token when the request carries them. Unsigned, they could
// be changed in transit without the signature noticing.
func checkSignedHeaders(r *http.Request, signed []string) error {
	timeHeader := "X-Amz-Date"
	if r.Header.Get(timeHeader) == "" {
		timeHeader = "Date"
	}
	for _, h := range []string{timeHeader, "X-Amz-Target", "X-Amz-Security-Token"} {
		if _, present := r.Header[h]; !present {
			continue
		}
		if !slices.ContainsFunc(signed, func(n string) bool { return strings.EqualFold(n, h) }) {
			return incomplete("'%s' must be a 'SignedHeader' in the AWS Authorization.", h)
		}
	}
	return nil
}

// requestTime returns the signing time from X-Amz-Date, or from Date when
// X-Amz-Date is absent.
func requestTime(r *http.Request) (time.Time, error) {
	if v := r.Header.Get("X-Amz-Date"); v != "" {
		t, err := time.Parse(amzDateFormat, v)
		if err != nil {
			return time.Time{}, incomplete("Date must be in ISO-8601 'basic format' (yyyyMMdd'T'HHmmss'Z').")
		}
		return t, nil
	}
	if v := r.Header.Get("Date"); v != "" {
		t, err := http.ParseTime(v)
		if err != nil {
			return time.Time{}, incomplete("Date header must be an HTTP date.")
		}
		return t.UTC(), nil
	}
	return time.Time{}, incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
}

// isScopeDate reports whether s is eight ASCII digits.
func isScopeDate(s string) bool {
	if len(s) != 8 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// incomplete returns an EIncompleteSignature error.
func incomplete(format string, args ...any) error {
	return meterd.Errorf(meterd.EIncompleteSignature, format, args...)
}
