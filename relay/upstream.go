package relay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/marketplacemetering"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// UpstreamConfig names the Metering endpoint the relay submits to.
type UpstreamConfig struct {
	Region string // default us-east-1
	// Endpoint is the BaseEndpoint; "" for AWS_ENDPOINT_URL_MARKETPLACE_METERING
	// or, without it, AWS's regional endpoint.
	Endpoint string
	// Static credentials. When AccessKeyID is empty the credentials come
	// from the standard AWS chain (see NewUpstream).
	AccessKeyID, SecretAccessKey, SessionToken string
}

// NewUpstream returns a Metering Service client for cfg. Its credentials
// are, in order of priority:
//
//  1. cfg's static keys;
//  2. AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN;
//  3. the rest of the SDK's default chain (config.LoadDefaultConfig), in
//     its order: a web identity token (AWS_WEB_IDENTITY_TOKEN_FILE); the
//     profile AWS_PROFILE (else "default") of the shared config and
//     credentials files (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE,
//     default ~/.aws), with its SSO, process or assume-role settings;
//     container credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI or
//     _RELATIVE_URI); the EC2 instance role from IMDS
//     (AWS_EC2_METADATA_SERVICE_ENDPOINT, AWS_EC2_METADATA_DISABLED).
//
// getenv (os.Getenv in production) supplies the keys of 2, so that a key
// without its secret is an error rather than a silent fall through the
// chain. The SDK reads everything else from the process environment
// itself, so tests set those variables with t.Setenv. Credentials are
// fetched when the first request is signed, not here, and never logged.
//
// The SDK's own retries are off: the relay retries records itself, with
// backoff bounded by the 6-hour window, and counts every attempt. The
// client also sends each record's LicenseArn (see WithLicenseArns).
func NewUpstream(cfg UpstreamConfig, getenv func(string) string) (*marketplacemetering.Client, error) {
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	opts := []func(*config.LoadOptions) error{
		config.WithRegion(cfg.Region),
		// A buildable client, so that AWS_CA_BUNDLE can add its roots.
		config.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(30 * time.Second)),
		config.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }),
	}
	if cfg.AccessKeyID == "" && getenv("AWS_ACCESS_KEY_ID") != "" {
		cfg.AccessKeyID = getenv("AWS_ACCESS_KEY_ID")
		cfg.SecretAccessKey = getenv("AWS_SECRET_ACCESS_KEY")
		cfg.SessionToken = getenv("AWS_SESSION_TOKEN")
	}
	switch {
	case cfg.AccessKeyID != "" && cfg.SecretAccessKey == "":
		return nil, fmt.Errorf("relay: upstream access key %s has no secret key (AWS_SECRET_ACCESS_KEY)", cfg.AccessKeyID)
	case cfg.AccessKeyID != "":
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken)))
	}
	if err := checkEndpoint("--upstream-endpoint", cfg.Endpoint); err != nil {
		return nil, err
	}
	if err := checkEndpoint("AWS_ENDPOINT_URL_MARKETPLACE_METERING", getenv("AWS_ENDPOINT_URL_MARKETPLACE_METERING")); err != nil {
		return nil, err
	}
	// Loading reads files only; no request is made with a region given.
	awsCfg, err := config.LoadDefaultConfig(context.Background(), opts...)
	if err != nil {
		return nil, fmt.Errorf("relay: upstream credentials: %w", err)
	}
	if awsCfg.Credentials == nil {
		return nil, fmt.Errorf("relay: upstream credentials: the SDK found no credential chain")
	}
	awsCfg.Credentials = credentialSource{awsCfg.Credentials}
	return marketplacemetering.NewFromConfig(awsCfg, func(o *marketplacemetering.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		// AWS_MAX_ATTEMPTS would wrap the retryer again.
		o.Retryer, o.RetryMaxAttempts = aws.NopRetryer{}, 0
		o.APIOptions = append(o.APIOptions, addLicenseArnMiddleware)
	}), nil
}

// checkEndpoint refuses an endpoint that is not an absolute http(s) URL:
// without a scheme the SDK would fail every request with a network error,
// retried for ever, instead of refusing to start.
func checkEndpoint(name, endpoint string) error {
	if endpoint == "" {
		return nil
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("relay: %s: %q is not an http:// or https:// URL; give the scheme, such as http://127.0.0.1:4578 or https://metering.marketplace.us-east-1.amazonaws.com", name, endpoint)
	}
	return nil
}

// CredentialsError is a failure of the upstream client's credential chain:
// no request was sent.
type CredentialsError struct{ Err error }

func (e *CredentialsError) Error() string { return "upstream credentials: " + e.Err.Error() }
func (e *CredentialsError) Unwrap() error { return e.Err }

// credentialSource marks the chain's errors as *CredentialsError, so that
// the submitter tells them from network errors.
type credentialSource struct{ aws.CredentialsProvider }

func (c credentialSource) Retrieve(ctx context.Context) (aws.Credentials, error) {
	v, err := c.CredentialsProvider.Retrieve(ctx)
	if err != nil {
		return v, &CredentialsError{err}
	}
	return v, nil
}

// CheckCredentials gets the client's credentials once, as its first
// request would, so that a relay without any (no key, profile, container
// or instance role) refuses to start instead of failing every submission.
// It may call the chain's providers (a container endpoint, IMDS, STS).
func CheckCredentials(ctx context.Context, c *marketplacemetering.Client) error {
	creds := c.Options().Credentials
	if creds == nil {
		return fmt.Errorf("relay: no upstream credentials")
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := creds.Retrieve(ctx); err != nil {
		return fmt.Errorf("relay: no upstream credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with a shared credentials file, or run with a container or instance role (%w)", err)
	}
	return nil
}

// licenseArnsKey is the context key of WithLicenseArns.
type licenseArnsKey struct{}

// WithLicenseArns returns ctx carrying the LicenseArn of each record of
// the BatchMeterUsage request made with it: arns[i] is added to
// UsageRecords[i] ("" for none). The SDK's model (v1.35.5) predates
// UsageRecord.LicenseArn, so the client built by NewUpstream writes it
// into the serialized body itself, before the body is hashed and signed.
func WithLicenseArns(ctx context.Context, arns []string) context.Context {
	return context.WithValue(ctx, licenseArnsKey{}, arns)
}

func addLicenseArnMiddleware(stack *middleware.Stack) error {
	// The Build step runs after serialization and before Finalize, where
	// the payload is hashed and signed.
	return stack.Build.Add(middleware.BuildMiddlewareFunc("relay.LicenseArn", licenseArnBuild), middleware.Before)
}

func licenseArnBuild(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
	arns, _ := ctx.Value(licenseArnsKey{}).([]string)
	req, ok := in.Request.(*smithyhttp.Request)
	if !ok || !hasArn(arns) || req.Header.Get("X-Amz-Target") != "AWSMPMeteringService.BatchMeterUsage" {
		return next.HandleBuild(ctx, in)
	}
	body, err := io.ReadAll(req.GetStream())
	if err != nil {
		return middleware.BuildOutput{}, middleware.Metadata{}, fmt.Errorf("relay: reading the BatchMeterUsage body: %w", err)
	}
	body, err = addLicenseArns(body, arns)
	if err != nil {
		return middleware.BuildOutput{}, middleware.Metadata{}, err
	}
	if in.Request, err = req.SetStream(bytes.NewReader(body)); err != nil {
		return middleware.BuildOutput{}, middleware.Metadata{}, err
	}
	return next.HandleBuild(ctx, in)
}

func hasArn(arns []string) bool {
	for _, a := range arns {
		if a != "" {
			return true
		}
	}
	return false
}

// addLicenseArns sets "LicenseArn" in each UsageRecord of a serialized
// BatchMeterUsage request that has one in arns, keeping every other value
// byte for byte.
func addLicenseArns(body []byte, arns []string) ([]byte, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("relay: BatchMeterUsage body: %w", err)
	}
	var recs []map[string]json.RawMessage
	if err := json.Unmarshal(doc["UsageRecords"], &recs); err != nil {
		return nil, fmt.Errorf("relay: BatchMeterUsage UsageRecords: %w", err)
	}
	if len(recs) != len(arns) {
		return nil, fmt.Errorf("relay: %d license ARNs for %d usage records", len(arns), len(recs))
	}
	for i, arn := range arns {
		if arn != "" {
			recs[i]["LicenseArn"], _ = json.Marshal(arn)
		}
	}
	var err error
	if doc["UsageRecords"], err = json.Marshal(recs); err != nil {
		return nil, err
	}
	return json.Marshal(doc)
}
