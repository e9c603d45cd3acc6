package relay

import (
	"errors"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/marketplacemetering"
)

// UpstreamConfig names the Metering endpoint the relay submits to.
type UpstreamConfig struct {
	Region   string // default us-east-1
	Endpoint string // BaseEndpoint; "" for AWS's regional endpoint
	// Static credentials; when AccessKeyID is empty they are read from
	// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN.
	AccessKeyID, SecretAccessKey, SessionToken string
}

// NewUpstream returns a Metering Service client for cfg. The SDK's own
// retries are off: the relay retries records itself, with backoff bounded
// by the 6-hour window, and counts every attempt. getenv is os.Getenv in
// production.
func NewUpstream(cfg UpstreamConfig, getenv func(string) string) (*marketplacemetering.Client, error) {
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.AccessKeyID == "" {
		cfg.AccessKeyID = getenv("AWS_ACCESS_KEY_ID")
		cfg.SecretAccessKey = getenv("AWS_SECRET_ACCESS_KEY")
		cfg.SessionToken = getenv("AWS_SESSION_TOKEN")
	}
	if cfg.AccessKeyID == "" || cfg.SecretAccessKey == "" {
		return nil, errors.New("relay: no upstream credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	}
	opts := marketplacemetering.Options{
		Region:      cfg.Region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken)),
		Retryer:     aws.NopRetryer{},
		HTTPClient:  &http.Client{Timeout: 30 * time.Second},
	}
	if cfg.Endpoint != "" {
		opts.BaseEndpoint = aws.String(cfg.Endpoint)
	}
	return marketplacemetering.New(opts), nil
}
