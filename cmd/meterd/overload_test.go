package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	mm "github.com/aws/aws-sdk-go-v2/service/marketplacemetering"
	"github.com/aws/aws-sdk-go-v2/service/marketplacemetering/types"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/faults"
	"github.com/meterd/meterd/server"
)

// syncBuffer is a bytes.Buffer safe for the server's logger and the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// slowBody opens a connection and sends a MeterUsage request whose body
// trickles in one byte at a time, holding a request slot in the handler.
// It returns the connection; closing it ends the request.
func slowBody(t *testing.T, addr string) net.Conn {
	t.Helper()
	return slowRequest(t, addr, "")
}

// slowRequest is slowBody with extra header lines.
func slowRequest(t *testing.T, addr, header string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-amz-json-1.1\r\n%s"+
		"X-Amz-Target: AWSMPMeteringService.MeterUsage\r\nContent-Length: 1000\r\n\r\n{", addr, header)
	go func() {
		for {
			if _, err := c.Write([]byte(" ")); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond) // the client is slow on purpose
		}
	}()
	return c
}

// metricValue returns the value of a metric line `name value` at /metrics.
func metricValue(t *testing.T, base, name string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for l := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), name+" "); ok {
			return v
		}
	}
	return ""
}

// waitMetric polls /metrics until the metric has the value: the server
// changes it asynchronously, when a connection's request reaches a handler.
func waitMetric(t *testing.T, base, name, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for metricValue(t, base, name) != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s = %q after 10s, want %s", name, metricValue(t, base, name), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func meterOnce(ctx context.Context, m *server.Main, key, secret string, hoursBack int) error {
	c := mm.New(mm.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(m.URL()), RetryMaxAttempts: 1,
		Credentials: staticCreds(key, secret),
	})
	_, err := c.MeterUsage(ctx, &mm.MeterUsageInput{
		ProductCode: aws.String("demo-product"), UsageDimension: aws.String("requests"),
		Timestamp: aws.Time(time.Now().Add(-time.Duration(hoursBack) * time.Hour)), UsageQuantity: aws.Int32(1),
	})
	return err
}

func TestOverloadIdleConnectionsAndSlowBody(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 2000 connections")
	}
	m, _, _ := startRealTimeServer(t, nil)
	addr := strings.TrimPrefix(m.URL(), "http://")
	const idle = 2000
	for i := range idle {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial idle connection %d: %v", i, err)
		}
		t.Cleanup(func() { c.Close() })
	}
	slowBody(t, addr)
	waitMetric(t, m.URL(), "meterd_requests_in_flight", "1")
	ctx := context.Background()
	client := mm.New(mm.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(m.URL()), RetryMaxAttempts: 1,
		Credentials: staticCreds("test", "test"),
	})
	for i := range 20 {
		start := time.Now()
		out, err := client.BatchMeterUsage(ctx, &mm.BatchMeterUsageInput{
			ProductCode: aws.String("demo-product"),
			UsageRecords: []types.UsageRecord{{
				CustomerIdentifier: aws.String(fmt.Sprintf("demo-customer-%d", i%2+1)),
				Dimension:          aws.String([]string{"requests", "storage_gb"}[i/2%2]),
				Timestamp:          aws.Time(time.Now().Add(-time.Duration(i/4) * time.Hour)),
				Quantity:           aws.Int32(1),
			}},
		})
		if err != nil {
			t.Fatalf("BatchMeterUsage %d beside %d idle connections and a slow body: %v", i, idle, err)
		}
		if out.Results[0].Status != types.UsageRecordResultStatusSuccess {
			t.Errorf("BatchMeterUsage %d status = %s, want Success", i, out.Results[0].Status)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("BatchMeterUsage %d took %s with idle connections open, want well under 2s", i, d)
		}
	}
}

// TestMaxInFlightThrottles fills a bound of 2 with signed requests that a
// latency fault holds after they were verified, and sees the third request
// throttled at once; the slots free when those requests end.
func TestMaxInFlightThrottles(t *testing.T) {
	m, _, _ := startRealTimeServer(t, func(c *server.Config) { c.MaxInFlight = 2 })
	if _, err := m.Faults.Add(faults.Spec{Operation: meterd.OpMeterUsage, Latency: "1h"}); err != nil {
		t.Fatal(err)
	}
	held, release := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { meterOnce(held, m, "buyer", "buyer", 0) })
	}
	waitMetric(t, m.URL(), "meterd_requests_in_flight", "2")
	err := batchOnce(context.Background(), m)
	if got := errorCode(t, err); got != meterd.EThrottling {
		t.Fatalf("BatchMeterUsage beyond --max-inflight 2 = %s, want %s", got, meterd.EThrottling)
	}
	if got := metricValue(t, m.URL(), `meterd_requests_total{code="ThrottlingException",operation="BatchMeterUsage"}`); got != "1" {
		t.Errorf("throttled BatchMeterUsage requests metric = %q, want 1", got)
	}
	release()
	wg.Wait()
	waitMetric(t, m.URL(), "meterd_requests_in_flight", "0")
	if err := batchOnce(context.Background(), m); err != nil {
		t.Fatalf("BatchMeterUsage after the slots freed = %v, want success", err)
	}
}

// batchOnce sends one BatchMeterUsage request of the demo seller.
func batchOnce(ctx context.Context, m *server.Main) error {
	c := mm.New(mm.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(m.URL()), RetryMaxAttempts: 1,
		Credentials: staticCreds("test", "test"),
	})
	_, err := c.BatchMeterUsage(ctx, &mm.BatchMeterUsageInput{
		ProductCode: aws.String("demo-product"),
		UsageRecords: []types.UsageRecord{{
			CustomerIdentifier: aws.String("demo-customer-1"), Dimension: aws.String("requests"),
			Timestamp: aws.Time(time.Now()), Quantity: aws.Int32(1),
		}},
	})
	return err
}

// slowSignedBody is slowBody with an Authorization header naming the access
// key (the signature is never checked: the body does not arrive).
func slowSignedBody(t *testing.T, addr, key string) net.Conn {
	t.Helper()
	return slowRequest(t, addr, "Authorization: AWS4-HMAC-SHA256 Credential="+key+
		"/20261123/us-east-1/aws-marketplace/aws4_request, SignedHeaders=host;x-amz-date, Signature=00\r\n")
}

// TestUnauthenticatedBodiesCannotExhaustInFlight is the finding of issue 19
// item 3: slow bodies used to hold --max-inflight slots before any
// signature was checked, so a client without credentials could make every
// signed request ThrottlingException. Bodies that name no known key are
// bounded apart (globally and per address); bodies naming a known key take
// a slot only once read and verified; signed requests keep succeeding.
func TestUnauthenticatedBodiesCannotExhaustInFlight(t *testing.T) {
	m, _, _ := startRealTimeServer(t, func(c *server.Config) { c.MaxInFlight = 2 })
	addr := strings.TrimPrefix(m.URL(), "http://")
	var conns []net.Conn
	for range 20 {
		conns = append(conns, slowBody(t, addr))
	}
	for range 5 {
		conns = append(conns, slowSignedBody(t, addr, "nobody"))
	}
	// Known keys: read without a slot, so more of them than the bound.
	for range 3 {
		conns = append(conns, slowSignedBody(t, addr, "test"))
	}
	// The per-address bound (4) leaves room for 4 unknown bodies and the 3
	// known ones; the others were answered ThrottlingException at once.
	waitMetric(t, m.URL(), `meterd_requests_total{code="ThrottlingException",operation="MeterUsage"}`, "21")
	waitMetric(t, m.URL(), "meterd_requests_in_flight", "7")
	for i := range 10 {
		if err := meterOnce(context.Background(), m, "buyer", "buyer", 0); err != nil {
			t.Fatalf("MeterUsage %d beside slow unauthenticated bodies = %v, want success", i, err)
		}
	}
	if err := batchOnce(context.Background(), m); err != nil {
		t.Fatalf("BatchMeterUsage beside slow unauthenticated bodies = %v, want success", err)
	}
	refused := 0
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		b := make([]byte, 512)
		if n, _ := c.Read(b); n > 0 && strings.Contains(string(b[:n]), meterd.EThrottling) {
			refused++
		}
	}
	if refused != 21 {
		t.Errorf("slow bodies refused with ThrottlingException = %d, want 21 (25 unknown beyond a per-address bound of 4)", refused)
	}
}

// TestBodyTimeout checks that a body not received within --body-timeout
// ends its request, so that a slow client holds nothing for long.
func TestBodyTimeout(t *testing.T) {
	m, _, _ := startRealTimeServer(t, func(c *server.Config) { c.BodyTimeout = 500 * time.Millisecond })
	addr := strings.TrimPrefix(m.URL(), "http://")
	c := slowBody(t, addr)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, _ := io.ReadAll(c)
	if !strings.Contains(string(b), "within") {
		t.Errorf("answer to a body slower than --body-timeout = %q, want an error naming the timeout", b)
	}
	waitMetric(t, m.URL(), "meterd_requests_in_flight", "0")
}

func TestMetricsAndRequestLog(t *testing.T) {
	m, _, log := startRealTimeServer(t, nil)
	ctx := context.Background()
	if err := meterOnce(ctx, m, "buyer", "buyer", 0); err != nil {
		t.Fatal(err)
	}
	err := meterOnce(ctx, m, "buyer", "not-the-secret-0123456789", 0)
	if got := errorCode(t, err); got != meterd.EInvalidSignature {
		t.Fatalf("MeterUsage with a wrong secret = %s, want %s", got, meterd.EInvalidSignature)
	}
	if got := metricValue(t, m.URL(), `meterd_requests_total{code="",operation="MeterUsage"}`); got != "1" {
		t.Errorf("successful MeterUsage metric = %q, want 1", got)
	}
	if got := metricValue(t, m.URL(), `meterd_requests_total{code="InvalidSignatureException",operation="MeterUsage"}`); got != "1" {
		t.Errorf("failed MeterUsage metric = %q, want 1", got)
	}
	if metricValue(t, m.URL(), "meterd_store_transactions_total") == "" {
		t.Errorf("/metrics lacks the store's commit counters")
	}
	if metricValue(t, m.URL(), "meterd_sqlite_wal_frames") == "" {
		t.Errorf("/metrics lacks the SQLite store's WAL length")
	}
	text := log.String()
	for _, secret := range []string{"not-the-secret-0123456789", "Signature=", "AWS4-HMAC-SHA256"} {
		if strings.Contains(text, secret) {
			t.Errorf("log contains %q:\n%s", secret, text)
		}
	}
	var lines []map[string]any
	for l := range strings.Lines(text) {
		var v map[string]any
		if json.Unmarshal([]byte(l), &v) == nil && v["msg"] == "request" {
			lines = append(lines, v)
		}
	}
	if len(lines) != 2 {
		t.Fatalf("request log lines = %d, want 2:\n%s", len(lines), text)
	}
	if lines[0]["operation"] != "MeterUsage" || lines[0]["account"] != "444455556666" || lines[0]["outcome"] != "ok" || lines[0]["request_id"] == "" {
		t.Errorf("success log line = %v, want operation, account 444455556666, outcome ok and a request id", lines[0])
	}
	if lines[1]["outcome"] != meterd.EInvalidSignature {
		t.Errorf("failure log line outcome = %v, want %s", lines[1]["outcome"], meterd.EInvalidSignature)
	}
}

func staticCreds(key, secret string) aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(key, secret, "")
}

func TestMaxHeaderBytes(t *testing.T) {
	m, _, _ := startRealTimeServer(t, nil)
	req, _ := http.NewRequest("POST", m.URL(), strings.NewReader("{}"))
	req.Header.Set("X-Amz-Target", "AWSMPMeteringService.MeterUsage")
	req.Header.Set("X-Padding", strings.Repeat("a", 200<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("request with 200 KiB of headers = %d, want 431", resp.StatusCode)
	}
}
