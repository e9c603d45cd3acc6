package sigv4

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/marketplacemetering"
	"github.com/meterd/meterd"
)

// verifyResult is what the test server's Verify returned.
type verifyResult struct {
	caller *meterd.Caller
	err    error
}

// TestVerifyGoSDKClient sends real MeterUsage calls from the Go SDK client to
// a local server that verifies them on the wall clock.
func TestVerifyGoSDKClient(t *testing.T) {
	tests := []struct {
		name     string
		key      *meterd.AccessKey
		secret   string // the client's secret; key.Secret when ""
		basePath string
		code     string // "" for success
	}{
		{name: "OK", key: sellerKey},
		{name: "SessionToken", key: tempKey},
		{name: "BasePath", key: sellerKey, basePath: "/meter"},
		{name: "ErrInvalidSignature", key: sellerKey, secret: "wrong-secret", code: meterd.EInvalidSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			results := make(chan verifyResult, 1)
			srv := httptest.NewServer(verifyHandler(&Verifier{Credentials: newStore()}, results))
			defer srv.Close()

			secret := tt.secret
			if secret == "" {
				secret = tt.key.Secret
			}
			client := marketplacemetering.New(marketplacemetering.Options{
				Region:       "eu-west-3",
				BaseEndpoint: aws.String(srv.URL + tt.basePath),
				Credentials:  credentials.NewStaticCredentialsProvider(tt.key.ID, secret, tt.key.SessionToken),
			})
			_, err := client.MeterUsage(context.Background(), &marketplacemetering.MeterUsageInput{
				ProductCode:    aws.String("prod-1"),
				Timestamp:      aws.Time(time.Now().Add(-time.Minute)),
				UsageDimension: aws.String("users"),
				UsageQuantity:  aws.Int32(3),
			})
			if err != nil {
				t.Fatalf("MeterUsage() error = %v", err)
			}
			res := <-results
			if tt.code != "" {
				wantCode(t, res.err, tt.code, "")
				return
			}
			wantCaller(t, res.caller, res.err, meterd.Caller{AccountID: tt.key.AccountID, AccessKeyID: tt.key.ID, Region: "eu-west-3"})
		})
	}
}

// verifyHandler verifies each request, reports the result and answers with
// a MeterUsage success so the client does not retry.
func verifyHandler(v *Verifier, results chan<- verifyResult) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			results <- verifyResult{err: err}
			return
		}
		caller, err := v.Verify(r, body)
		results <- verifyResult{caller: caller, err: err}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		io.WriteString(w, `{"MeteringRecordId":"r"}`)
	})
}
