// Package cluster_test runs several meterd processes (the real binary) on
// one PostgreSQL database and checks what issue 4 asks of the shared store
// at the process level: one winner per key across processes, idempotency
// and the MeterUsage hour rule across processes, registration tokens shared
// through the database, recovery from a database outage without restarting
// meterd, and the ingest rate beside SQLite (the benchmarks).
package cluster_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	mm "github.com/aws/aws-sdk-go-v2/service/marketplacemetering"
	"github.com/aws/aws-sdk-go-v2/service/marketplacemetering/types"
	"github.com/aws/smithy-go"

	"github.com/meterd/meterd/internal/meterdtest"
	"github.com/meterd/meterd/pgtest"
)

// cluster is the PostgreSQL server shared by the tests that do not stop it.
var cluster *pgtest.Cluster

func TestMain(m *testing.M) {
	os.Exit(pgtest.Main(m, &cluster))
}

// adminToken is given to every process, so that each accepts it.
const adminToken = "cluster-test-admin-token"

// Keys of the demo catalog.
const (
	product      = "demo-product"
	sellerKey    = "test"
	sellerSecret = "test"
	buyerKey     = "buyer"
	buyerSecret  = "buyer"
)

// serveTogether starts n meterd processes on store at the same moment (so
// that their migrations and demo seeding race) and returns them.
func serveTogether(t *testing.T, bin string, n int, args ...string) []*meterdtest.Server {
	t.Helper()
	servers := make([]*meterdtest.Server, n)
	var wg sync.WaitGroup
	for i := range servers {
		wg.Go(func() { servers[i] = meterdtest.Serve(t, bin, args...) })
	}
	wg.Wait()
	for i, s := range servers {
		if s == nil || s.URL == "" {
			t.Fatalf("meterd #%d of %d started together did not come up", i+1, n)
		}
	}
	return servers
}

// countingDoer is the SDK's HTTP client that also counts 500 answers, which
// the SDK's retryer hides from the caller.
type countingDoer struct {
	client    *awshttp.BuildableClient
	status500 *atomic.Int64
}

func (d countingDoer) Do(r *http.Request) (*http.Response, error) {
	resp, err := d.client.Do(r)
	if err == nil && resp.StatusCode == http.StatusInternalServerError && d.status500 != nil {
		d.status500.Add(1)
	}
	return resp, err
}

// clientOptions configures newClient.
type clientOptions struct {
	attempts  int           // SDK attempts per call; 1 turns retries off
	conns     int           // idle connections kept to the server
	status500 *atomic.Int64 // counts every 500 answer, retried or not
}

// newClient returns the official Go SDK client for the server at url,
// signing with key. With attempts > 1 the SDK's standard retryer runs with
// short backoffs and no retry quota, so a test's outage does not exhaust it.
func newClient(url, key, secret string, o clientOptions) *mm.Client {
	if o.conns == 0 {
		o.conns = 16
	}
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.MaxIdleConns, tr.MaxIdleConnsPerHost = o.conns, o.conns
	})
	opts := mm.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider(key, secret, ""),
		HTTPClient:   countingDoer{client: httpClient, status500: o.status500},
	}
	if o.attempts <= 1 {
		opts.RetryMaxAttempts = 1
	} else {
		opts.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = o.attempts
			so.MaxBackoff = 200 * time.Millisecond
			so.RateLimiter = ratelimit.None
		})
	}
	return mm.New(opts)
}

// errorCode returns the AWS error code of err ("" for nil or a non-API
// error).
func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// usageRecord returns a BatchMeterUsage record.
func usageRecord(customer, dimension string, ts time.Time, quantity int32) types.UsageRecord {
	return types.UsageRecord{
		CustomerIdentifier: aws.String(customer), Dimension: aws.String(dimension),
		Timestamp: aws.Time(ts), Quantity: aws.Int32(quantity),
	}
}

// recordKey names a record's ledger key (customer, dimension, hour).
func recordKey(r types.UsageRecord) string {
	return aws.ToString(r.CustomerIdentifier) + "/" + aws.ToString(r.Dimension) + "/" +
		aws.ToTime(r.Timestamp).UTC().Truncate(time.Hour).Format(time.RFC3339)
}

// readyz returns the HTTP status of GET /readyz (0 when the server cannot
// be reached).
func readyz(ctx context.Context, url string) int {
	req, err := http.NewRequestWithContext(ctx, "GET", url+"/readyz", nil)
	if err != nil {
		return 0
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitFor polls cond every 20 ms until it holds, failing t after limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(20 * time.Millisecond) // polling a process, not waiting for time
	}
}
