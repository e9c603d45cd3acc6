package conformance

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
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	mm "github.com/aws/aws-sdk-go-v2/service/marketplacemetering"
	"github.com/aws/aws-sdk-go-v2/service/marketplacemetering/types"
	"github.com/aws/smithy-go"
)

// The Go SDK's scenarios: the same as the scripts', run in this process.
// The SDK's marketplacemetering.New reads no environment, so the endpoint
// is its BaseEndpoint (config.LoadDefaultConfig would read the variable).

// counter counts the HTTP attempts of a client, to see retries.
type counter struct{ n atomic.Int64 }

func (c *counter) Do(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultClient.Do(r)
}

func goClient(fx fixture, cr creds, hc *counter) *mm.Client {
	return mm.New(mm.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(fx.url),
		Credentials:  credentials.NewStaticCredentialsProvider(cr.Key, cr.Secret, ""),
		HTTPClient:   hc,
		// Fast backoff: the suite checks that a retry happens, not its delay.
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) { o.MaxBackoff = 200 * time.Millisecond }),
	})
}

// as reports whether err is the SDK's typed error T.
func as[T error](err error) bool {
	var target T
	return errors.As(err, &target)
}

// typed maps each modeled error the scenarios expect to its Go type.
var typed = map[string]func(error) bool{
	"TimestampOutOfBoundsException":  as[*types.TimestampOutOfBoundsException],
	"InvalidProductCodeException":    as[*types.InvalidProductCodeException],
	"InvalidUsageDimensionException": as[*types.InvalidUsageDimensionException],
	"DuplicateRequestException":      as[*types.DuplicateRequestException],
	"IdempotencyConflictException":   as[*types.IdempotencyConflictException],
	"InvalidTokenException":          as[*types.InvalidTokenException],
	"ExpiredTokenException":          as[*types.ExpiredTokenException],
	"InvalidTagException":            as[*types.InvalidTagException],
}

// wantError checks err is the API error code, typed when the model has it.
func wantError(err error, code string) error {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return fmt.Errorf("error = %v, want %s", err, code)
	}
	if apiErr.ErrorCode() != code {
		return fmt.Errorf("error code = %s (%s), want %s", apiErr.ErrorCode(), apiErr.ErrorMessage(), code)
	}
	if is, ok := typed[code]; ok && !is(err) {
		return fmt.Errorf("%s is not returned as *types.%s", code, code)
	}
	return nil
}

func usage(fx fixture, customer, dimension string, quantity int32, ts int64) types.UsageRecord {
	return types.UsageRecord{
		CustomerIdentifier: aws.String(customer), Dimension: aws.String(dimension),
		Quantity: aws.Int32(quantity), Timestamp: aws.Time(time.Unix(ts, 0)),
	}
}

// runGo runs a phase of the Go SDK's scenarios.
func runGo(fx fixture, phase string) []result {
	ctx := context.Background()
	hc := &counter{}
	sellerC, buyerC := goClient(fx, fx.Seller, hc), goClient(fx, fx.Buyer, hc)
	batch := func(c *mm.Client, product string, recs ...types.UsageRecord) (*mm.BatchMeterUsageOutput, error) {
		return c.BatchMeterUsage(ctx, &mm.BatchMeterUsageInput{ProductCode: aws.String(product), UsageRecords: recs})
	}
	one := func(recs ...types.UsageRecord) (types.UsageRecordResult, error) {
		out, err := batch(sellerC, fx.SaaS, recs...)
		if err != nil {
			return types.UsageRecordResult{}, err
		}
		if len(out.Results) != 1 || out.UnprocessedRecords == nil || len(out.UnprocessedRecords) != 0 {
			return types.UsageRecordResult{}, fmt.Errorf("results %d, unprocessed %v; want 1 and []", len(out.Results), out.UnprocessedRecords)
		}
		return out.Results[0], nil
	}
	status := func(want types.UsageRecordResultStatus, recs ...types.UsageRecord) (types.UsageRecordResult, error) {
		r, err := one(recs...)
		if err == nil && r.Status != want {
			err = fmt.Errorf("status = %s, want %s", r.Status, want)
		}
		return r, err
	}
	meter := func(quantity int32, dimension string, ts int64, dry bool, token string) (*mm.MeterUsageOutput, error) {
		in := &mm.MeterUsageInput{
			ProductCode: aws.String(fx.Container), Timestamp: aws.Time(time.Unix(ts, 0)),
			UsageDimension: aws.String(dimension), UsageQuantity: aws.Int32(quantity), DryRun: aws.Bool(dry),
		}
		if token != "" {
			in.ClientToken = aws.String(token)
		}
		return buyerC.MeterUsage(ctx, in)
	}
	resolve := func(c *mm.Client, token string) (*mm.ResolveCustomerOutput, error) {
		return c.ResolveCustomer(ctx, &mm.ResolveCustomerInput{RegistrationToken: aws.String(token)})
	}
	var firstID string
	retried := func(code string) func() error {
		return func() error {
			hc.n.Store(0)
			if _, err := status(types.UsageRecordResultStatusSuccess, usage(fx, "cust-b", "storage_gb", 1, fx.TS-2*3600)); err != nil {
				return err
			}
			if n := hc.n.Load(); n != 2 {
				return fmt.Errorf("attempts = %d, want 2 after one %s", n, code)
			}
			return nil
		}
	}
	run := map[string]func() error{
		"BatchMeterUsage success": func() error {
			r, err := status(types.UsageRecordResultStatusSuccess, usage(fx, "cust-a", "requests", 3, fx.TS))
			firstID = aws.ToString(r.MeteringRecordId)
			if err == nil && (firstID == "" || !r.UsageRecord.Timestamp.Equal(time.Unix(fx.TS, 0))) {
				err = fmt.Errorf("MeteringRecordId %q, echoed timestamp %v", firstID, r.UsageRecord.Timestamp)
			}
			return err
		},
		"BatchMeterUsage identical retry": func() error {
			r, err := status(types.UsageRecordResultStatusSuccess, usage(fx, "cust-a", "requests", 3, fx.TS))
			if err == nil && aws.ToString(r.MeteringRecordId) != firstID {
				err = fmt.Errorf("MeteringRecordId = %s, want the first call's %s", aws.ToString(r.MeteringRecordId), firstID)
			}
			return err
		},
		"BatchMeterUsage DuplicateRecord": func() error {
			_, err := status(types.UsageRecordResultStatusDuplicateRecord, usage(fx, "cust-a", "requests", 4, fx.TS))
			return err
		},
		"BatchMeterUsage CustomerNotSubscribed": func() error {
			_, err := status(types.UsageRecordResultStatusCustomerNotSubscribed, usage(fx, "cust-gone", "requests", 1, fx.TS))
			return err
		},
		"BatchMeterUsage allocations with tags": func() error {
			rec := usage(fx, "cust-a", "storage_gb", 10, fx.TS)
			rec.UsageAllocations = []types.UsageAllocation{
				{AllocatedUsageQuantity: aws.Int32(6), Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}, {Key: aws.String("team"), Value: aws.String("a")}}},
				{AllocatedUsageQuantity: aws.Int32(4)},
			}
			r, err := status(types.UsageRecordResultStatusSuccess, rec)
			if err == nil && (len(r.UsageRecord.UsageAllocations) != 2 || aws.ToString(r.UsageRecord.UsageAllocations[0].Tags[0].Key) != "env") {
				err = fmt.Errorf("echoed allocations = %+v", r.UsageRecord.UsageAllocations)
			}
			return err
		},
		"BatchMeterUsage CustomerAWSAccountId": func() error {
			rec := usage(fx, "", "requests", 2, fx.TS)
			rec.CustomerIdentifier, rec.CustomerAWSAccountId = nil, aws.String("333344445555")
			_, err := status(types.UsageRecordResultStatusSuccess, rec)
			return err
		},
		"BatchMeterUsage TimestampOutOfBoundsException": func() error {
			_, err := one(usage(fx, "cust-a", "requests", 1, fx.TS-7*3600))
			return wantError(err, "TimestampOutOfBoundsException")
		},
		"BatchMeterUsage InvalidProductCodeException": func() error {
			_, err := batch(sellerC, "no-such-product", usage(fx, "cust-a", "requests", 1, fx.TS))
			return wantError(err, "InvalidProductCodeException")
		},
		"BatchMeterUsage InvalidUsageDimensionException": func() error {
			_, err := one(usage(fx, "cust-a", "no_such_dimension", 1, fx.TS))
			return wantError(err, "InvalidUsageDimensionException")
		},
		"BatchMeterUsage 26 records ValidationException": func() error {
			var recs []types.UsageRecord
			for i := range int64(26) {
				recs = append(recs, usage(fx, "cust-a", "requests", 1, fx.TS-3600-i))
			}
			_, err := batch(sellerC, fx.SaaS, recs...)
			return wantError(err, "ValidationException")
		},
		"BatchMeterUsage wrong secret InvalidSignatureException": func() error {
			_, err := batch(goClient(fx, creds{fx.Seller.Key, "not-the-secret"}, hc), fx.SaaS, usage(fx, "cust-a", "requests", 1, fx.TS))
			return wantError(err, "InvalidSignatureException")
		},
		"MeterUsage success": func() error {
			a, err := meter(1, "vcpu_hours", fx.TS, false, "")
			if err != nil {
				return err
			}
			b, err := meter(1, "vcpu_hours", fx.TS, false, "")
			if err == nil && (aws.ToString(a.MeteringRecordId) == "" || aws.ToString(a.MeteringRecordId) != aws.ToString(b.MeteringRecordId)) {
				err = fmt.Errorf("identical MeterUsage gave %q then %q", aws.ToString(a.MeteringRecordId), aws.ToString(b.MeteringRecordId))
			}
			return err
		},
		"MeterUsage DryRunOperation": func() error {
			_, err := meter(1, "vcpu_hours", fx.TS, true, "")
			return wantError(err, "DryRunOperation")
		},
		"MeterUsage DuplicateRequestException": func() error {
			_, err := meter(2, "vcpu_hours", fx.TS, false, "")
			return wantError(err, "DuplicateRequestException")
		},
		"MeterUsage IdempotencyConflictException": func() error {
			token := "conf-" + fx.Client
			if _, err := meter(1, "mem_gb_hours", fx.TS, false, token); err != nil {
				return err
			}
			_, err := meter(1, "mem_gb_hours", fx.TS-3600, false, token)
			return wantError(err, "IdempotencyConflictException")
		},
		"RegisterUsage signature verified": func() error {
			nonce := "nonce-" + fx.Client
			out, err := buyerC.RegisterUsage(ctx, &mm.RegisterUsageInput{
				ProductCode: aws.String(fx.Container), PublicKeyVersion: aws.Int32(1), Nonce: aws.String(nonce)})
			if err != nil {
				return err
			}
			return verifyJWS(aws.ToString(out.Signature), fx.PublicKeyPEM, map[string]any{
				"ProductCode": fx.Container, "PublicKeyVersion": 1.0, "Nonce": nonce})
		},
		"ResolveCustomer valid": func() error {
			out, err := resolve(sellerC, fx.Token)
			if err == nil && (aws.ToString(out.CustomerIdentifier) != "cust-a" || aws.ToString(out.CustomerAWSAccountId) != "222233334444" || aws.ToString(out.ProductCode) != fx.SaaS) {
				err = fmt.Errorf("ResolveCustomer = %s %s %s, want cust-a 222233334444 %s", aws.ToString(out.CustomerIdentifier),
					aws.ToString(out.CustomerAWSAccountId), aws.ToString(out.ProductCode), fx.SaaS)
			}
			return err
		},
		"ResolveCustomer InvalidTokenException": func() error {
			_, err := resolve(sellerC, "not-a-registration-token")
			return wantError(err, "InvalidTokenException")
		},
		"ResolveCustomer ExpiredTokenException": func() error {
			_, err := resolve(sellerC, fx.ExpiredToken)
			return wantError(err, "ExpiredTokenException")
		},
		"Retries ThrottlingException retried":           retried("ThrottlingException"),
		"Retries InternalServiceErrorException retried": retried("InternalServiceErrorException"),
		"Retries InvalidTagException not retried": func() error {
			hc.n.Store(0)
			_, err := one(usage(fx, "cust-b", "storage_gb", 1, fx.TS-2*3600))
			if err := wantError(err, "InvalidTagException"); err != nil {
				return err
			}
			if n := hc.n.Load(); n != 1 {
				return fmt.Errorf("attempts = %d, want 1", n)
			}
			return nil
		},
	}
	var out []result
	for _, sc := range scenarios {
		if sc.Phase != phase {
			continue
		}
		r := result{Client: fx.Client, Scenario: sc.Name, OK: true}
		if err := run[sc.Name](); err != nil {
			r.OK, r.Detail = false, err.Error()
		}
		out = append(out, r)
	}
	return out
}

// verifyJWS verifies a PS256 compact JWS with the public key alone and
// checks its claims.
func verifyJWS(token, publicKeyPEM string, want map[string]any) error {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return fmt.Errorf("signature has %d parts, want 3", len(parts))
	}
	block, _ := pem.Decode([]byte(publicKeyPEM))
	if block == nil {
		return errors.New("public key is not PEM")
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return err
	}
	pub, ok := key.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("public key is %T, want RSA", key)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPSS(pub, crypto.SHA256, sum[:], sig, &rsa.PSSOptions{SaltLength: 32, Hash: crypto.SHA256}); err != nil {
		return fmt.Errorf("PS256 signature: %v", err)
	}
	var header, claims map[string]any
	for i, v := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, v); err != nil {
			return err
		}
	}
	if header["alg"] != "PS256" {
		return fmt.Errorf("header alg = %v, want PS256", header["alg"])
	}
	for k, v := range want {
		if claims[k] != v {
			return fmt.Errorf("claim %s = %v, want %v", k, claims[k], v)
		}
	}
	if _, ok := claims["iat"].(float64); !ok {
		return fmt.Errorf("claim iat = %v, want epoch seconds", claims["iat"])
	}
	return nil
}
