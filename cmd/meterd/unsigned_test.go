package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	mm "github.com/aws/aws-sdk-go-v2/service/marketplacemetering"
	"github.com/aws/aws-sdk-go-v2/service/marketplacemetering/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/meterd/meterd/internal/meterdtest"
	"github.com/meterd/meterd/server"
)

// TestServeUnsignedPayload sends requests signed with
// x-amz-content-sha256: UNSIGNED-PAYLOAD, as the Java SDK v2 does over HTTPS,
// through the Go SDK: accepted over HTTPS, refused over plain HTTP unless
// --allow-unsigned-payload.
func TestServeUnsignedPayload(t *testing.T) {
	tests := []struct {
		name          string
		tls           bool
		allowUnsigned bool
		wantCode      string // "" for success
	}{
		{name: "HTTPS", tls: true},
		{name: "HTTP", wantCode: "InvalidSignatureException"},
		{name: "HTTPAllowUnsignedPayload", allowUnsigned: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := server.DefaultConfig()
			cfg.Listen, cfg.Data, cfg.AdminToken = "127.0.0.1:0", t.TempDir(), "unsigned-admin-token"
			cfg.AllowUnsignedPayload = tt.allowUnsigned
			httpClient := http.DefaultClient
			if tt.tls {
				var pool *x509.CertPool
				cfg.TLSCert, cfg.TLSKey, pool = meterdtest.SelfSigned(t, t.TempDir())
				httpClient = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
			}
			m := &server.Main{Config: cfg}
			if err := m.Run(context.Background()); err != nil {
				t.Fatalf("Run() = %v", err)
			}
			defer m.Close()

			client := mm.New(mm.Options{
				Region: "us-east-1", BaseEndpoint: aws.String(m.URL()), HTTPClient: httpClient, RetryMaxAttempts: 1,
				Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
			}, mm.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware, v4.AddContentSHA256HeaderMiddleware,
				captureContentSHA256))
			ctx := context.Background()
			out, err := client.BatchMeterUsage(ctx, &mm.BatchMeterUsageInput{
				ProductCode:  aws.String("demo-product"),
				UsageRecords: []types.UsageRecord{record("demo-customer-1", "requests", time.Now(), 1)},
			})
			if tt.wantCode == "" {
				if err != nil || out.Results[0].Status != types.UsageRecordResultStatusSuccess {
					t.Fatalf("BatchMeterUsage = %v, %v; want Success", out, err)
				}
				return
			}
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) || apiErr.ErrorCode() != tt.wantCode ||
				!strings.Contains(apiErr.ErrorMessage(), "--allow-unsigned-payload") {
				t.Fatalf("BatchMeterUsage error = %v, want %s naming --allow-unsigned-payload", err, tt.wantCode)
			}
		})
	}
}

// captureContentSHA256 fails the request unless the SDK really sends
// x-amz-content-sha256: UNSIGNED-PAYLOAD, so the test cannot pass on a
// signed payload.
func captureContentSHA256(stack *middleware.Stack) error {
	return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("checkUnsignedPayload",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			r, ok := in.Request.(*smithyhttp.Request)
			if !ok || r.Header.Get("X-Amz-Content-Sha256") != "UNSIGNED-PAYLOAD" ||
				!strings.Contains(r.Header.Get("Authorization"), "x-amz-content-sha256") {
				return middleware.FinalizeOutput{}, middleware.Metadata{}, errors.New("the request does not sign x-amz-content-sha256: UNSIGNED-PAYLOAD")
			}
			return next.HandleFinalize(ctx, in)
		}), middleware.After)
}
