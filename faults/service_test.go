package faults

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	mm "github.com/aws/aws-sdk-go-v2/service/marketplacemetering"
	"github.com/aws/aws-sdk-go-v2/service/marketplacemetering/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/awsjson"
	"github.com/meterd/meterd/catalog"
	"github.com/meterd/meterd/metering"
	"github.com/meterd/meterd/sigv4"
	"github.com/meterd/meterd/sqlite"
)

// now is the frozen server clock of these tests.
var now = time.Date(2026, 11, 23, 7, 30, 0, 0, time.UTC)

// server is the Metering API with fault rules over a real SQLite ledger
// seeded with the demo catalog.
type server struct {
	url    string
	ledger meterd.Ledger
	rules  *Rules
	inner  *metering.Service
}

func newServer(t *testing.T, seed uint64) *server {
	t.Helper()
	ctx := t.Context()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "meterd.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	clock := &meterd.ServerClock{}
	clock.Set(now)
	if err := catalog.Apply(ctx, store, catalog.Demo(), now); err != nil {
		t.Fatal(err)
	}
	s := &server{ledger: store, rules: NewRules(seed), inner: &metering.Service{Ledger: store, Clock: clock}}
	verifier := &sigv4.Verifier{Credentials: store}
	h := &awsjson.Handler{
		Services: []*awsjson.Service{awsjson.Metering(&Service{Inner: s.inner, Rules: s.rules})},
		Authenticate: func(r *http.Request, body []byte, _ string) (*meterd.Caller, error) {
			return verifier.Verify(r, body)
		},
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

func (s *server) add(t *testing.T, spec Spec) Rule {
	t.Helper()
	r, err := s.rules.Add(spec)
	if err != nil {
		t.Fatalf("Add(%+v) = %v", spec, err)
	}
	return r
}

// stored returns the ledger's records by MeteringRecordId.
func (s *server) stored(t *testing.T) map[string]*meterd.MeteringRecord {
	t.Helper()
	out := map[string]*meterd.MeteringRecord{}
	err := s.ledger.Usage(t.Context(), meterd.UsageFilter{From: now.Add(-24 * time.Hour), To: now.Add(time.Hour)}, func(r *meterd.MeteringRecord) error {
		out[r.ID] = r
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// counter counts the HTTP requests a client sends.
type counter struct{ n atomic.Int64 }

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

// client returns the Go SDK client of the demo seller. retries false: one
// attempt per call; true: the SDK's standard retryer (3 attempts, the
// default retryable errors) without its backoff delay, to keep tests fast.
func (s *server) client(retries bool) (*mm.Client, *counter) {
	c := &counter{}
	opts := mm.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.url),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		HTTPClient:   &http.Client{Transport: c},
		Retryer:      aws.NopRetryer{},
	}
	if retries {
		opts.Retryer = retry.NewStandard(func(o *retry.StandardOptions) {
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
		})
	}
	return mm.New(opts), c
}

func record(customer, dimension string, ts time.Time, quantity int32) types.UsageRecord {
	return types.UsageRecord{
		CustomerIdentifier: aws.String(customer), Dimension: aws.String(dimension),
		Timestamp: aws.Time(ts), Quantity: aws.Int32(quantity),
	}
}

// records returns n records of distinct keys (n <= 24): two customers, two
// dimensions, six hours.
func records(n int) []types.UsageRecord {
	var out []types.UsageRecord
	for i := range n {
		cust := []string{catalog.DemoCustomer1, catalog.DemoCustomer2}[i%2]
		dim := []string{"requests", "storage_gb"}[i/2%2]
		out = append(out, record(cust, dim, now.Add(-time.Duration(i/4)*time.Hour), int32(i+1)))
	}
	return out
}

func batch(ctx context.Context, c *mm.Client, recs []types.UsageRecord) (*mm.BatchMeterUsageOutput, error) {
	return c.BatchMeterUsage(ctx, &mm.BatchMeterUsageInput{ProductCode: aws.String(catalog.DemoProduct), UsageRecords: recs})
}

func TestInjectedError(t *testing.T) {
	tests := []struct {
		code   string
		status int
	}{
		{meterd.EThrottling, 400},
		{meterd.EInternal, 500},
		{meterd.EDisabledAPI, 400},
		{meterd.EAccessDenied, 403},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			s := newServer(t, 1)
			s.add(t, Spec{Operation: "BatchMeterUsage", Error: tt.code, Count: 1})
			c, _ := s.client(false)
			_, err := batch(t.Context(), c, records(1))
			var apiErr smithy.APIError
			var respErr *smithyhttp.ResponseError
			if !errors.As(err, &apiErr) || !errors.As(err, &respErr) {
				t.Fatalf("BatchMeterUsage() = %v, want an API error", err)
			}
			if apiErr.ErrorCode() != tt.code || respErr.HTTPStatusCode() != tt.status {
				t.Errorf("BatchMeterUsage() = %s %d, want %s %d", apiErr.ErrorCode(), respErr.HTTPStatusCode(), tt.code, tt.status)
			}
			if got := s.stored(t); len(got) != 0 {
				t.Errorf("ledger holds %d records after an injected error, want 0", len(got))
			}
		})
	}
}

func TestSDKRetriesInjectedErrors(t *testing.T) {
	for _, code := range []string{meterd.EThrottling, meterd.EInternal} {
		t.Run(code, func(t *testing.T) {
			s := newServer(t, 1)
			s.add(t, Spec{Operation: "BatchMeterUsage", Error: code, Count: 2})
			c, sent := s.client(true)
			out, err := batch(t.Context(), c, records(3))
			if err != nil {
				t.Fatalf("BatchMeterUsage() with retries = %v, want success", err)
			}
			if got := sent.n.Load(); got != 3 {
				t.Errorf("server saw %d attempts, want 3 (2 injected %s, then success)", got, code)
			}
			if len(out.Results) != 3 || len(s.stored(t)) != 3 {
				t.Errorf("%d results, %d stored; want 3 and 3", len(out.Results), len(s.stored(t)))
			}
			if rules := s.rules.List(); len(rules) != 0 {
				t.Errorf("rules after count reached = %v, want none", rules)
			}
		})
	}
}

// key names a record for comparing sets.
func key(r types.UsageRecord) string {
	return fmt.Sprintf("%s/%s/%s", aws.ToString(r.CustomerIdentifier), aws.ToString(r.Dimension), r.Timestamp.UTC().Format(time.RFC3339))
}

func TestUnprocessedResubmitted(t *testing.T) {
	s := newServer(t, 7)
	s.add(t, Spec{Operation: "BatchMeterUsage", Unprocessed: 0.3})
	c, _ := s.client(false)
	ctx := t.Context()
	all := records(24)
	ids := map[string]string{} // key -> MeteringRecordId
	pending := all
	for round := 1; len(pending) > 0; round++ {
		if round > 30 {
			t.Fatalf("%d records still unprocessed after 30 rounds", len(pending))
		}
		out, err := batch(ctx, c, pending)
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Results)+len(out.UnprocessedRecords) != len(pending) {
			t.Fatalf("round %d: %d results + %d unprocessed, want %d", round, len(out.Results), len(out.UnprocessedRecords), len(pending))
		}
		if round == 1 && (len(out.UnprocessedRecords) == 0 || len(out.UnprocessedRecords) == len(pending)) {
			t.Errorf("round 1: %d of %d unprocessed, want some but not all at 0.3", len(out.UnprocessedRecords), len(pending))
		}
		// UnprocessedRecords keep the request order.
		var order []int
		for _, u := range out.UnprocessedRecords {
			order = append(order, slices.IndexFunc(pending, func(r types.UsageRecord) bool { return key(r) == key(u) }))
		}
		if !slices.IsSorted(order) || slices.Contains(order, -1) {
			t.Errorf("round %d: unprocessed at request positions %v, want ascending", round, order)
		}
		for _, r := range out.Results {
			if r.Status != types.UsageRecordResultStatusSuccess {
				t.Errorf("round %d: %s is %s, want Success", round, key(*r.UsageRecord), r.Status)
			}
			ids[key(*r.UsageRecord)] = aws.ToString(r.MeteringRecordId)
		}
		// Unprocessed records are not stored: the ledger holds exactly the
		// records acknowledged so far.
		if got := len(s.stored(t)); got != len(ids) {
			t.Errorf("round %d: ledger holds %d records, want the %d acknowledged", round, got, len(ids))
		}
		pending = out.UnprocessedRecords
	}
	stored := s.stored(t)
	if len(stored) != len(all) {
		t.Errorf("ledger holds %d records, want %d, each once", len(stored), len(all))
	}
	for _, r := range all {
		rec, ok := stored[ids[key(r)]]
		if !ok || rec.Quantity != int64(aws.ToInt32(r.Quantity)) {
			t.Errorf("record %s: stored %+v, want quantity %d under its MeteringRecordId", key(r), rec, aws.ToInt32(r.Quantity))
		}
	}
}

func TestSameSeedSameFaults(t *testing.T) {
	run := func(seed uint64) []string {
		s := newServer(t, seed)
		s.add(t, Spec{Operation: "BatchMeterUsage", Unprocessed: 0.5})
		s.add(t, Spec{Operation: "BatchMeterUsage", Error: meterd.EThrottling, Probability: 0.3})
		c, _ := s.client(false)
		var seen []string
		for i := range 6 {
			out, err := batch(t.Context(), c, records(24)[i*4:i*4+4])
			if err != nil {
				seen = append(seen, meterd.EThrottling)
				continue
			}
			var keys []string
			for _, u := range out.UnprocessedRecords {
				keys = append(keys, key(u))
			}
			seen = append(seen, fmt.Sprint(keys))
		}
		return seen
	}
	a, b, c := run(2026), run(2026), run(2027)
	if !slices.Equal(a, b) {
		t.Errorf("seed 2026 twice:\n%q\n%q\nwant the same faults", a, b)
	}
	if slices.Equal(a, c) {
		t.Errorf("seeds 2026 and 2027 both gave %q, want different faults", a)
	}
}

func TestDropResponse(t *testing.T) {
	s := newServer(t, 1)
	s.add(t, Spec{Operation: "BatchMeterUsage", DropResponse: true, Count: 1})
	c, sent := s.client(true)
	ctx := t.Context()
	rec := records(1)
	// The SDK's retryer sees the closed connection as retryable and sends
	// the request again; that retry is an identical record.
	first, err := batch(ctx, c, rec)
	if err != nil {
		t.Fatalf("BatchMeterUsage() with a dropped response = %v, want the SDK's retry to succeed", err)
	}
	if got := sent.n.Load(); got != 2 {
		t.Errorf("server saw %d attempts, want 2 (the dropped one and the SDK's retry)", got)
	}
	stored := s.stored(t)
	if len(stored) != 1 {
		t.Fatalf("ledger holds %d records, want 1", len(stored))
	}
	id := aws.ToString(first.Results[0].MeteringRecordId)
	if stored[id] == nil {
		t.Errorf("retry MeteringRecordId = %q, want the stored record's id", id)
	}
	// A manual retry later gets the same id too.
	again, err := batch(ctx, c, rec)
	if err != nil {
		t.Fatalf("manual retry: %v", err)
	}
	if got := aws.ToString(again.Results[0].MeteringRecordId); got != id {
		t.Errorf("manual retry MeteringRecordId = %q, want %q", got, id)
	}
	if got := len(s.stored(t)); got != 1 {
		t.Errorf("ledger holds %d records after the retries, want 1", got)
	}

	t.Run("NoRetry", func(t *testing.T) {
		s := newServer(t, 1)
		s.add(t, Spec{Operation: "BatchMeterUsage", DropResponse: true, Count: 1})
		c, _ := s.client(false)
		_, err := batch(ctx, c, rec)
		var apiErr smithy.APIError
		if err == nil || errors.As(err, &apiErr) {
			t.Fatalf("BatchMeterUsage() = %v, want a transport error (no response at all)", err)
		}
		if got := len(s.stored(t)); got != 1 {
			t.Errorf("ledger holds %d records after the dropped response, want 1 (committed before the drop)", got)
		}
	})
}

func TestLatency(t *testing.T) {
	s := newServer(t, 1)
	s.add(t, Spec{Operation: "BatchMeterUsage", Latency: "150ms", Count: 1})
	c, _ := s.client(false)
	start := time.Now()
	if _, err := batch(t.Context(), c, records(1)); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("BatchMeterUsage with 150ms latency took %v", d)
	}

	t.Run("Canceled", func(t *testing.T) {
		s := newServer(t, 1)
		s.add(t, Spec{Operation: "BatchMeterUsage", Latency: "1h"})
		ctx, cancel := context.WithCancel(meterd.NewContextWithCaller(t.Context(), &meterd.Caller{AccountID: catalog.DemoSellerAccount, AccessKeyID: "test", Region: "us-east-1"}))
		cancel()
		svc := &Service{Inner: s.inner, Rules: s.rules}
		ts := now
		q := int64(1)
		_, err := svc.BatchMeterUsage(ctx, &meterd.BatchMeterUsageInput{ProductCode: catalog.DemoProduct,
			UsageRecords: []meterd.UsageRecord{{CustomerIdentifier: catalog.DemoCustomer1, Dimension: "requests", Timestamp: &ts, Quantity: &q}}})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("BatchMeterUsage(canceled) = %v, want context.Canceled without waiting an hour", err)
		}
		if got := len(s.stored(t)); got != 0 {
			t.Errorf("ledger holds %d records, want 0", got)
		}
	})
}
