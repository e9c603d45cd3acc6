package sigv4

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/meterd/meterd"
)

// signTime is the fixed signing time of the tests.
var signTime = time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)

// meterBody is a MeterUsage request body.
const meterBody = `{"ProductCode":"prod-1","Timestamp":1795413600,"UsageDimension":"users","UsageQuantity":3}`

// Credential fixtures.
var (
	sellerKey = &meterd.AccessKey{ID: "AKIDSELLER", Secret: "seller-secret", AccountID: "111111111111"}
	tempKey   = &meterd.AccessKey{ID: "ASIATEMP", Secret: "temp-secret", SessionToken: "temp-token", AccountID: "222222222222"}
	// botocoreKeys sign the golden files made by testdata/capture_botocore.py.
	botocoreKey     = &meterd.AccessKey{ID: "AKIDBOTOCORE", Secret: "botocore-secret", AccountID: "333333333333"}
	botocoreTempKey = &meterd.AccessKey{ID: "ASIABOTOCORE", Secret: "botocore-temp-secret",
		SessionToken: "botocore-session-token", AccountID: "444444444444"}
)

// memStore is an in-memory CredentialStore; err, when set, fails every lookup.
type memStore struct {
	keys map[string]*meterd.AccessKey
	err  error
}

func (s *memStore) AccessKey(_ context.Context, id string) (*meterd.AccessKey, error) {
	if s.err != nil {
		return nil, s.err
	}
	k, ok := s.keys[id]
	if !ok {
		return nil, meterd.Errorf(meterd.ENotFound, "access key not found")
	}
	return k, nil
}

func newStore() *memStore {
	s := &memStore{keys: make(map[string]*meterd.AccessKey)}
	for _, k := range []*meterd.AccessKey{sellerKey, tempKey, botocoreKey, botocoreTempKey} {
		s.keys[k.ID] = k
	}
	return s
}

// newVerifier returns a Verifier whose wall clock reads now.
func newVerifier(now time.Time) *Verifier {
	return &Verifier{Credentials: newStore(), Now: func() time.Time { return now }}
}

// newClientRequest returns a MeterUsage request as the SDKs build it.
func newClientRequest(tb testing.TB, url, body string) *http.Request {
	tb.Helper()
	r, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	r.Header.Set("X-Amz-Target", "AWSMPMeteringService.MeterUsage")
	return r
}

// sdkSign signs r with the AWS Go SDK's own signer, the test oracle.
func sdkSign(tb testing.TB, r *http.Request, body string, key *meterd.AccessKey, region string, at time.Time) {
	tb.Helper()
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: key.ID, SecretAccessKey: key.Secret, SessionToken: key.SessionToken}
	err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hex.EncodeToString(sum[:]), DefaultService, region, at)
	if err != nil {
		tb.Fatal(err)
	}
}

// toServer sends r through HTTP/1.1 framing and parses it back as a server
// does: Host moves to r.Host, Content-Length is a header.
func toServer(tb testing.TB, r *http.Request) (*http.Request, []byte) {
	tb.Helper()
	var buf bytes.Buffer
	if err := r.Write(&buf); err != nil {
		tb.Fatal(err)
	}
	return readRaw(tb, buf.Bytes())
}

// readRaw parses a raw HTTP/1.1 request and reads its body.
func readRaw(tb testing.TB, raw []byte) (*http.Request, []byte) {
	tb.Helper()
	sr, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		tb.Fatal(err)
	}
	body, err := io.ReadAll(sr.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return sr, body
}

// handSign signs r the way botocore and the JS SDK do, independently of the
// code under test: only the named headers (lowercase, sorted), the host
// without any Go special-casing, and the path "/" with no query. The
// time comes from the X-Amz-Date header already on r.
func handSign(tb testing.TB, r *http.Request, body string, key *meterd.AccessKey, region string, names ...string) {
	tb.Helper()
	sort.Strings(names)
	amzDate := r.Header.Get("X-Amz-Date")
	var canon strings.Builder
	canon.WriteString("POST\n/\n\n")
	for _, n := range names {
		v := r.Header.Get(n)
		if n == "host" {
			v = r.Host
		}
		canon.WriteString(n + ":" + strings.Join(strings.Fields(v), " ") + "\n")
	}
	sum := sha256.Sum256([]byte(body))
	canon.WriteString("\n" + strings.Join(names, ";") + "\n" + hex.EncodeToString(sum[:]))
	scope := amzDate[:8] + "/" + region + "/aws-marketplace/aws4_request"
	creq := sha256.Sum256([]byte(canon.String()))
	sts := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(creq[:])
	k := []byte("AWS4" + key.Secret)
	for _, part := range []string{amzDate[:8], region, "aws-marketplace", "aws4_request", sts} {
		m := hmac.New(sha256.New, k)
		m.Write([]byte(part))
		k = m.Sum(nil)
	}
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+key.ID+"/"+scope+
		", SignedHeaders="+strings.Join(names, ";")+", Signature="+hex.EncodeToString(k))
}

// wantCaller fails unless Verify succeeded with the given caller.
func wantCaller(tb testing.TB, got *meterd.Caller, err error, want meterd.Caller) {
	tb.Helper()
	if err != nil {
		tb.Fatalf("Verify() error = %v, want caller %+v", err, want)
	}
	if *got != want {
		tb.Fatalf("Verify() = %+v, want %+v", *got, want)
	}
}

// wantCode fails unless err is a *meterd.Error with the given code and a
// message containing msg.
func wantCode(tb testing.TB, err error, code, msg string) {
	tb.Helper()
	var e *meterd.Error
	if !errors.As(err, &e) {
		tb.Fatalf("Verify() error = %v, want *meterd.Error %s", err, code)
	}
	if e.Code != code || !strings.Contains(e.Message, msg) {
		tb.Fatalf("Verify() error = %s %q, want %s containing %q", e.Code, e.Message, code, msg)
	}
}
