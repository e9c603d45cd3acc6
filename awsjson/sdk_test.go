package awsjson

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/marketplacemetering"
	"github.com/aws/aws-sdk-go-v2/service/marketplacemetering/types"
	"github.com/aws/smithy-go"
	"github.com/meterd/meterd"
)

// newSDKClient returns the official Go client pointed at h, without retries
// so that retryable errors surface at once.
func newSDKClient(t *testing.T, h *Handler) *marketplacemetering.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return marketplacemetering.New(marketplacemetering.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(srv.URL + "/base"),
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		RetryMaxAttempts: 1,
	})
}

// TestSDKBatchMeterUsage checks the request the Go SDK sends decodes as
// meant and that the SDK parses the response, fractional timestamps included.
func TestSDKBatchMeterUsage(t *testing.T) {
	svc := &fakeService{echo: true}
	h, _ := newTestHandler(svc)
	client := newSDKClient(t, h)
	ts := time.UnixMilli(1767323045678).UTC()
	out, err := client.BatchMeterUsage(context.Background(), &marketplacemetering.BatchMeterUsageInput{
		ProductCode: aws.String("demo-product"),
		UsageRecords: []types.UsageRecord{{
			CustomerAWSAccountId: aws.String("444455556666"), Dimension: aws.String("requests"),
			Quantity: aws.Int32(3), Timestamp: aws.Time(ts),
			UsageAllocations: []types.UsageAllocation{{AllocatedUsageQuantity: aws.Int32(3),
				Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}}}},
		}},
	})
	if err != nil {
		t.Fatalf("BatchMeterUsage: %v", err)
	}
	in := svc.input.(*meterd.BatchMeterUsageInput)
	if got := in.UsageRecords[0]; got.CustomerAWSAccountID != "444455556666" || !got.Timestamp.Equal(ts) || *got.Quantity != 3 {
		t.Errorf("decoded record = %+v, want account 444455556666, timestamp %v, quantity 3", got, ts)
	}
	if len(out.Results) != 1 || out.UnprocessedRecords == nil {
		t.Fatalf("Results, UnprocessedRecords = %+v, %+v, want one result and an empty list", out.Results, out.UnprocessedRecords)
	}
	r := out.Results[0]
	if r.Status != types.UsageRecordResultStatusSuccess || aws.ToString(r.MeteringRecordId) != "mr-0" ||
		!aws.ToTime(r.UsageRecord.Timestamp).Equal(ts) || aws.ToInt32(r.UsageRecord.Quantity) != 3 {
		t.Errorf("result = %+v (record %+v), want Success mr-0 echoing the record", r, r.UsageRecord)
	}
}

func TestSDKRegisterUsage(t *testing.T) {
	rot := time.UnixMilli(1767323000500).UTC()
	svc := &fakeService{register: &meterd.RegisterUsageOutput{Signature: "a.b.c", PublicKeyRotationTimestamp: &rot}}
	h, _ := newTestHandler(svc)
	out, err := newSDKClient(t, h).RegisterUsage(context.Background(), &marketplacemetering.RegisterUsageInput{
		ProductCode: aws.String("p"), PublicKeyVersion: aws.Int32(2), Nonce: aws.String("n"),
	})
	if err != nil {
		t.Fatalf("RegisterUsage: %v", err)
	}
	if aws.ToString(out.Signature) != "a.b.c" || !aws.ToTime(out.PublicKeyRotationTimestamp).Equal(rot) {
		t.Errorf("RegisterUsage = %q, %v, want a.b.c, %v", aws.ToString(out.Signature), out.PublicKeyRotationTimestamp, rot)
	}
	if v := svc.input.(*meterd.RegisterUsageInput).PublicKeyVersion; v == nil || *v != 2 {
		t.Errorf("decoded PublicKeyVersion = %v, want 2", v)
	}
}

// TestSDKErrors checks that the Go SDK sees each error under its code, as
// the modeled type where there is one.
func TestSDKErrors(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		code  string
		typed func(error) bool
	}{
		{"InvalidProductCode", meterd.Errorf(meterd.EInvalidProductCode, "unknown"), meterd.EInvalidProductCode,
			func(err error) bool { var e *types.InvalidProductCodeException; return errors.As(err, &e) }},
		{"IdempotencyConflict", meterd.Errorf(meterd.EIdempotencyConflict, "reused"), meterd.EIdempotencyConflict,
			func(err error) bool { var e *types.IdempotencyConflictException; return errors.As(err, &e) }},
		{"Throttling", meterd.Errorf(meterd.EThrottling, "slow"), meterd.EThrottling,
			func(err error) bool { var e *types.ThrottlingException; return errors.As(err, &e) }},
		{"Internal", errBoom, meterd.EInternal,
			func(err error) bool { var e *types.InternalServiceErrorException; return errors.As(err, &e) }},
		{"DryRun", meterd.Errorf(meterd.EDryRunOperation, "would succeed"), meterd.EDryRunOperation, nil},
		{"InvalidSignature", meterd.Errorf(meterd.EInvalidSignature, "bad"), meterd.EInvalidSignature, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := newTestHandler(&fakeService{err: tt.err})
			_, err := newSDKClient(t, h).MeterUsage(context.Background(), &marketplacemetering.MeterUsageInput{
				ProductCode: aws.String("p"), Timestamp: aws.Time(time.Now()), UsageDimension: aws.String("d"),
			})
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) || apiErr.ErrorCode() != tt.code {
				t.Fatalf("MeterUsage error = %v, want API error %s", err, tt.code)
			}
			if tt.typed != nil && !tt.typed(err) {
				t.Errorf("MeterUsage error = %T, want the modeled type of %s", err, tt.code)
			}
		})
	}
}
