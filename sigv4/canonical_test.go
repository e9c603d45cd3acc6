package sigv4

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestCanonicalURI(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"Root", "http://h/", "/"},
		{"Empty", "http://h", "/"},
		{"BasePath", "http://h/meter/v1/", "/meter/v1/"},
		{"Unreserved", "http://h/a-b_c.d~e", "/a-b_c.d~e"},
		{"EncodedTwice", "http://h/a%20b", "/a%2520b"},
		{"Reserved", "http://h/a+b=c:d", "/a%2Bb%3Dc%3Ad"},
		{"EncodedSlash", "http://h/a%2Fb", "/a%252Fb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := url.Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := canonicalURI(u); got != tt.want {
				t.Errorf("canonicalURI(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCanonicalQuery(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"Empty", "", ""},
		{"Sorted", "b=2&a=1", "a=1&b=2"},
		{"SameKeyByValue", "a=2&a=10&a=1", "a=1&a=10&a=2"},
		{"SortAfterEncoding", "a-b=1&a=2", "a=2&a-b=1"},
		{"SpaceAsPercent20", "q=x+y&r=x%20y", "q=x%20y&r=x%20y"},
		{"NoValue", "flag&a=1", "a=1&flag="},
		{"Reserved", "k=a/b:c", "k=a%2Fb%3Ac"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := canonicalQuery(tt.in); got != tt.want {
				t.Errorf("canonicalQuery(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCanonicalHeaderValue(t *testing.T) {
	r, err := http.NewRequest(http.MethodPost, "http://url-host:1/", strings.NewReader("12345"))
	if err != nil {
		t.Fatal(err)
	}
	r.Host = "meterd.test:8443"
	r.Header["X-Multi"] = []string{"  a   b  ", "c"}
	r.Header.Set("X-Tab", "\tx  y\t")
	tests := []struct {
		name, header, want string
	}{
		{"HostWithPort", "host", "meterd.test:8443"},
		{"ContentLengthFromRequest", "content-length", "5"},
		{"MultipleValues", "x-multi", "a b,c"},
		{"Trimmed", "X-Tab", "x y"},
		{"Absent", "x-absent", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := canonicalHeaderValue(r, tt.header); got != tt.want {
				t.Errorf("canonicalHeaderValue(%q) = %q, want %q", tt.header, got, tt.want)
			}
		})
	}
}

// TestCanonicalRequest pins the whole canonical request for a botocore-style
// request, in the layout of the SigV4 documentation.
func TestCanonicalRequest(t *testing.T) {
	r, err := http.NewRequest(http.MethodPost, "http://meterd.test:8080/", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	r.Header.Set("X-Amz-Date", "20261123T070000Z")
	r.Header.Set("X-Amz-Target", "AWSMPMeteringService.MeterUsage")
	r.Header.Set("User-Agent", "not signed")
	got := canonicalRequest(r, []string{"content-type", "host", "x-amz-date", "x-amz-target"}, "HASH")
	want := "POST\n/\n\n" +
		"content-type:application/x-amz-json-1.1\nhost:meterd.test:8080\nx-amz-date:20261123T070000Z\n" +
		"x-amz-target:AWSMPMeteringService.MeterUsage\n\n" +
		"content-type;host;x-amz-date;x-amz-target\nHASH"
	if got != want {
		t.Errorf("canonicalRequest() = %q, want %q", got, want)
	}
}
