package main

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	mm "github.com/aws/aws-sdk-go-v2/service/marketplacemetering"
	"github.com/aws/aws-sdk-go-v2/service/marketplacemetering/types"
	"github.com/aws/smithy-go"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/metering"
	"github.com/meterd/meterd/server"
)

// now is the server clock of the end-to-end tests: half past an hour, so
// that records of the current hour and of the hours before are easy to name.
var now = time.Date(2026, 11, 23, 7, 30, 0, 0, time.UTC)

// startServer runs Main on 127.0.0.1:0 with a temporary data directory and
// the server clock frozen at now.
func startServer(t *testing.T, catalogFile string) *server.Main {
	t.Helper()
	cfg := server.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.Data = t.TempDir()
	cfg.Catalog = catalogFile
	m := &server.Main{Config: cfg, Clock: &meterd.ServerClock{}}
	m.Clock.Set(now)
	if err := m.Run(context.Background()); err != nil {
		t.Fatalf("Run() = %v", err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
	})
	return m
}

// newClient returns the official Go SDK client signing with the given key.
func newClient(m *server.Main, key, secret, session string) *mm.Client {
	return mm.New(mm.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(m.URL()),
		Credentials:      credentials.NewStaticCredentialsProvider(key, secret, session),
		RetryMaxAttempts: 1,
	})
}

// errorCode returns the AWS error code of err, failing when err is nil.
func errorCode(t *testing.T, err error) string {
	t.Helper()
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error = %v, want an AWS API error", err)
	}
	return apiErr.ErrorCode()
}

func record(customer, dimension string, ts time.Time, quantity int32) types.UsageRecord {
	return types.UsageRecord{
		CustomerIdentifier: aws.String(customer), Dimension: aws.String(dimension),
		Timestamp: aws.Time(ts), Quantity: aws.Int32(quantity),
	}
}

func TestEndToEndBatchMeterUsage(t *testing.T) {
	m := startServer(t, "testdata/e2e-catalog.yaml")
	ctx := context.Background()
	seller := newClient(m, "seller", "sellersecret", "")
	batch := func(records ...types.UsageRecord) (*mm.BatchMeterUsageOutput, error) {
		return seller.BatchMeterUsage(ctx, &mm.BatchMeterUsageInput{ProductCode: aws.String("saas-product"), UsageRecords: records})
	}

	first, err := batch(record("cust-a", "requests", now.Add(-time.Hour), 5), record("cust-a", "requests", now, 7))
	if err != nil {
		t.Fatalf("BatchMeterUsage() = %v", err)
	}
	if len(first.Results) != 2 || first.UnprocessedRecords == nil {
		t.Fatalf("BatchMeterUsage() = %d results, unprocessed %v; want 2 results and an empty list", len(first.Results), first.UnprocessedRecords)
	}
	for i, r := range first.Results {
		if r.Status != types.UsageRecordResultStatusSuccess || aws.ToString(r.MeteringRecordId) == "" {
			t.Errorf("Results[%d] = %s %q, want Success with an id", i, r.Status, aws.ToString(r.MeteringRecordId))
		}
	}
	if got := aws.ToInt32(first.Results[1].UsageRecord.Quantity); got != 7 {
		t.Errorf("Results[1].UsageRecord.Quantity = %d, want the echoed 7", got)
	}

	t.Run("IdenticalRetry", func(t *testing.T) {
		retry, err := batch(record("cust-a", "requests", now, 7))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := aws.ToString(retry.Results[0].MeteringRecordId), aws.ToString(first.Results[1].MeteringRecordId); got != want {
			t.Errorf("retry MeteringRecordId = %q, want %q", got, want)
		}
	})
	t.Run("DuplicateRecord", func(t *testing.T) {
		dup, err := batch(record("cust-a", "requests", now.Add(-time.Minute), 8))
		if err != nil {
			t.Fatal(err)
		}
		if r := dup.Results[0]; r.Status != types.UsageRecordResultStatusDuplicateRecord || r.MeteringRecordId != nil {
			t.Errorf("Status = %s id %v, want DuplicateRecord without id", r.Status, r.MeteringRecordId)
		}
	})
	t.Run("CustomerNotSubscribed", func(t *testing.T) {
		out, err := batch(record("cust-unknown", "requests", now, 1), record("cust-gone", "requests", now, 1))
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range out.Results {
			if r.Status != types.UsageRecordResultStatusCustomerNotSubscribed {
				t.Errorf("Results[%d].Status = %s, want CustomerNotSubscribed", i, r.Status)
			}
		}
	})
	t.Run("CustomerAWSAccountId", func(t *testing.T) {
		rec := types.UsageRecord{CustomerAWSAccountId: aws.String("444455556666"), Dimension: aws.String("requests"),
			Timestamp: aws.Time(now.Add(-2 * time.Hour)), Quantity: aws.Int32(2)}
		out, err := batch(rec)
		if err != nil {
			t.Fatal(err)
		}
		if out.Results[0].Status != types.UsageRecordResultStatusSuccess {
			t.Errorf("Status = %s, want Success", out.Results[0].Status)
		}
	})
	t.Run("Allocations", func(t *testing.T) {
		rec := record("cust-a", "requests", now.Add(-3*time.Hour), 10)
		rec.UsageAllocations = []types.UsageAllocation{
			{AllocatedUsageQuantity: aws.Int32(6), Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}}},
			{AllocatedUsageQuantity: aws.Int32(4)},
		}
		out, err := batch(rec)
		if err != nil {
			t.Fatal(err)
		}
		if out.Results[0].Status != types.UsageRecordResultStatusSuccess || len(out.Results[0].UsageRecord.UsageAllocations) != 2 {
			t.Errorf("result = %+v, want Success echoing 2 allocations", out.Results[0])
		}
	})

	errorCases := []struct {
		name    string
		client  *mm.Client
		product string
		records []types.UsageRecord
		want    any
		code    string
	}{
		{"ErrTimestampOutOfBounds", seller, "saas-product", []types.UsageRecord{record("cust-a", "requests", now, 1), record("cust-a", "requests", now.Add(-6*time.Hour), 1)}, new(*types.TimestampOutOfBoundsException), "TimestampOutOfBoundsException"},
		{"ErrInvalidProductCode", seller, "no-such-product", []types.UsageRecord{record("cust-a", "requests", now, 1)}, new(*types.InvalidProductCodeException), "InvalidProductCodeException"},
		{"ErrOtherSellersProduct", seller, "other-product", []types.UsageRecord{record("cust-a", "requests", now, 1)}, new(*types.InvalidProductCodeException), "InvalidProductCodeException"},
		{"ErrInvalidUsageDimension", seller, "saas-product", []types.UsageRecord{record("cust-a", "bytes", now, 1)}, new(*types.InvalidUsageDimensionException), "InvalidUsageDimensionException"},
		{"ErrValidation26Records", seller, "saas-product", make26(), nil, "ValidationException"},
		{"ErrInvalidSignature", newClient(m, "seller", "wrong", ""), "saas-product", []types.UsageRecord{record("cust-a", "requests", now, 1)}, nil, "InvalidSignatureException"},
		{"ErrUnrecognizedClient", newClient(m, "nobody", "x", ""), "saas-product", []types.UsageRecord{record("cust-a", "requests", now, 1)}, nil, "UnrecognizedClientException"},
		{"ErrMissingSessionToken", newClient(m, "temp", "tempsecret", ""), "saas-product", []types.UsageRecord{record("cust-a", "requests", now, 1)}, nil, "UnrecognizedClientException"},
	}
	for _, tc := range errorCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.client.BatchMeterUsage(ctx, &mm.BatchMeterUsageInput{ProductCode: aws.String(tc.product), UsageRecords: tc.records})
			if got := errorCode(t, err); got != tc.code {
				t.Fatalf("error code = %q (%v), want %q", got, err, tc.code)
			}
			if tc.want != nil && !errors.As(err, tc.want) {
				t.Errorf("error = %T, want typed %T", err, tc.want)
			}
		})
	}
	t.Run("SessionToken", func(t *testing.T) {
		client := newClient(m, "temp", "tempsecret", "sessiontoken")
		if _, err := client.BatchMeterUsage(ctx, &mm.BatchMeterUsageInput{ProductCode: aws.String("saas-product"),
			UsageRecords: []types.UsageRecord{record("cust-a", "requests", now.Add(-4*time.Hour), 1)}}); err != nil {
			t.Errorf("BatchMeterUsage() with the session token = %v", err)
		}
	})
	t.Run("ErrDisabledApi", func(t *testing.T) {
		client := mm.New(mm.Options{Region: "eu-west-1", BaseEndpoint: aws.String(m.URL()),
			Credentials: credentials.NewStaticCredentialsProvider("seller", "sellersecret", ""), RetryMaxAttempts: 1})
		_, err := client.BatchMeterUsage(ctx, &mm.BatchMeterUsageInput{ProductCode: aws.String("saas-product"),
			UsageRecords: []types.UsageRecord{record("cust-a", "requests", now, 1)}})
		var want *types.DisabledApiException
		if !errors.As(err, &want) {
			t.Errorf("error = %v, want DisabledApiException", err)
		}
	})
}

func make26() []types.UsageRecord {
	out := make([]types.UsageRecord, 26)
	for i := range out {
		out[i] = record("cust-a", "requests", now, int32(i))
	}
	return out
}

func TestEndToEndMeterUsage(t *testing.T) {
	m := startServer(t, "testdata/e2e-catalog.yaml")
	ctx := context.Background()
	buyer := newClient(m, "ecsbuyer", "ecsbuyersecret", "")
	meter := func(quantity int32, token string, dryRun bool) (*mm.MeterUsageOutput, error) {
		in := &mm.MeterUsageInput{ProductCode: aws.String("container-product"), UsageDimension: aws.String("vcpu_hours"),
			Timestamp: aws.Time(now.Add(-10 * time.Minute)), UsageQuantity: aws.Int32(quantity), DryRun: aws.Bool(dryRun)}
		if token != "" {
			in.ClientToken = aws.String(token)
		}
		return buyer.MeterUsage(ctx, in)
	}
	dry, err := meter(3, "", true)
	if got := errorCode(t, err); got != "DryRunOperation" {
		t.Fatalf("MeterUsage(DryRun) = %v, %v; want DryRunOperation", dry, err)
	}
	first, err := meter(3, "token-1", false)
	if err != nil {
		t.Fatalf("MeterUsage() = %v", err)
	}
	again, err := meter(3, "token-2", false)
	if err != nil {
		t.Fatalf("identical MeterUsage() = %v", err)
	}
	if aws.ToString(again.MeteringRecordId) != aws.ToString(first.MeteringRecordId) {
		t.Errorf("identical MeterUsage id = %q, want %q", aws.ToString(again.MeteringRecordId), aws.ToString(first.MeteringRecordId))
	}
	_, err = meter(4, "token-3", false)
	var dup *types.DuplicateRequestException
	if !errors.As(err, &dup) {
		t.Errorf("MeterUsage(other quantity) = %v, want DuplicateRequestException", err)
	}
	_, err = meter(5, "token-1", false)
	var conflict *types.IdempotencyConflictException
	if !errors.As(err, &conflict) {
		t.Errorf("MeterUsage(reused ClientToken) = %v, want IdempotencyConflictException", err)
	}
	_, err = newClient(m, "seller", "sellersecret", "").MeterUsage(ctx, &mm.MeterUsageInput{ProductCode: aws.String("container-product"),
		UsageDimension: aws.String("vcpu_hours"), Timestamp: aws.Time(now)})
	var notEntitled *types.CustomerNotEntitledException
	if !errors.As(err, &notEntitled) {
		t.Errorf("MeterUsage(seller, not a customer) = %v, want CustomerNotEntitledException", err)
	}
}

func TestEndToEndRegisterUsage(t *testing.T) {
	m := startServer(t, "testdata/e2e-catalog.yaml")
	ctx := context.Background()
	buyer := newClient(m, "ecsbuyer", "ecsbuyersecret", "")
	register := func(c *mm.Client, version int32) (*mm.RegisterUsageOutput, error) {
		return c.RegisterUsage(ctx, &mm.RegisterUsageInput{ProductCode: aws.String("container-product"),
			PublicKeyVersion: aws.Int32(version), Nonce: aws.String("nonce-1")})
	}
	out, err := register(buyer, 2)
	if err != nil {
		t.Fatalf("RegisterUsage() = %v", err)
	}
	if out.PublicKeyRotationTimestamp != nil {
		t.Errorf("PublicKeyRotationTimestamp = %v for the current version, want none", out.PublicKeyRotationTimestamp)
	}
	keys, err := m.Ledger.PublicKeys(ctx, "container-product")
	if err != nil || len(keys) != 2 {
		t.Fatalf("PublicKeys() = %d keys, %v; want 2", len(keys), err)
	}
	claims := verifyJWT(t, aws.ToString(out.Signature), keys[1].PublicKeyPEM)
	if claims["ProductCode"] != "container-product" || claims["Nonce"] != "nonce-1" || claims["PublicKeyVersion"] != float64(2) {
		t.Errorf("claims = %v, want ProductCode, Nonce and PublicKeyVersion of the request", claims)
	}
	old, err := register(buyer, 1)
	if err != nil || old.PublicKeyRotationTimestamp == nil {
		t.Errorf("RegisterUsage(version 1) = %v, %v; want a rotation timestamp", old, err)
	}
	var badVersion *types.InvalidPublicKeyVersionException
	if _, err := register(buyer, 3); !errors.As(err, &badVersion) {
		t.Errorf("RegisterUsage(version 3) = %v, want InvalidPublicKeyVersionException", err)
	}
	var platform *types.PlatformNotSupportedException
	if _, err := register(newClient(m, "ec2buyer", "ec2buyersecret", ""), 1); !errors.As(err, &platform) {
		t.Errorf("RegisterUsage(ec2 customer) = %v, want PlatformNotSupportedException", err)
	}
}

// verifyJWT checks a PS256 token with nothing but the PEM public key and
// returns its claims.
func verifyJWT(t *testing.T, token, publicPEM string) map[string]any {
	t.Helper()
	block, _ := pem.Decode([]byte(publicPEM))
	if block == nil {
		t.Fatalf("public key is not PEM: %q", publicPEM)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts, want 3", len(parts))
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	opts := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}
	if err := rsa.VerifyPSS(pub.(*rsa.PublicKey), crypto.SHA256, digest[:], sig, opts); err != nil {
		t.Fatalf("signature does not verify with the public key: %v", err)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

func TestEndToEndResolveCustomer(t *testing.T) {
	m := startServer(t, "testdata/e2e-catalog.yaml")
	ctx := context.Background()
	seller := newClient(m, "seller", "sellersecret", "")
	tok := metering.NewRegistrationToken("saas-product", "cust-a", "", now, 4*time.Hour)
	if err := m.Ledger.PutRegistrationToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	resolve := func(c *mm.Client, token string) (*mm.ResolveCustomerOutput, error) {
		return c.ResolveCustomer(ctx, &mm.ResolveCustomerInput{RegistrationToken: aws.String(token)})
	}
	for range 2 {
		out, err := resolve(seller, tok.Token)
		if err != nil {
			t.Fatalf("ResolveCustomer() = %v", err)
		}
		if aws.ToString(out.CustomerIdentifier) != "cust-a" || aws.ToString(out.CustomerAWSAccountId) != "444455556666" || aws.ToString(out.ProductCode) != "saas-product" {
			t.Errorf("ResolveCustomer() = %+v, want cust-a / 444455556666 / saas-product", out)
		}
	}
	var invalid *types.InvalidTokenException
	if _, err := resolve(seller, "not-a-token"); !errors.As(err, &invalid) {
		t.Errorf("ResolveCustomer(unknown) = %v, want InvalidTokenException", err)
	}
	if _, err := resolve(newClient(m, "other", "othersecret", ""), tok.Token); !errors.As(err, &invalid) {
		t.Errorf("ResolveCustomer(other seller) = %v, want InvalidTokenException", err)
	}
	m.Clock.Advance(4 * time.Hour)
	var expired *types.ExpiredTokenException
	if _, err := resolve(seller, tok.Token); !errors.As(err, &expired) {
		t.Errorf("ResolveCustomer(after 4h) = %v, want ExpiredTokenException", err)
	}
}

func TestEndToEndDemo(t *testing.T) {
	m := startServer(t, "")
	out, err := newClient(m, "test", "test", "").BatchMeterUsage(context.Background(), &mm.BatchMeterUsageInput{
		ProductCode:  aws.String("demo-product"),
		UsageRecords: []types.UsageRecord{record("demo-customer-1", "requests", now, 3), record("demo-customer-2", "storage_gb", now, 1)},
	})
	if err != nil {
		t.Fatalf("BatchMeterUsage() on the demo = %v", err)
	}
	for i, r := range out.Results {
		if r.Status != types.UsageRecordResultStatusSuccess {
			t.Errorf("Results[%d].Status = %s, want Success", i, r.Status)
		}
	}
}
