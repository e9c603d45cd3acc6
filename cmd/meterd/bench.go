package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	mm "github.com/aws/aws-sdk-go-v2/service/marketplacemetering"
	"github.com/aws/aws-sdk-go-v2/service/marketplacemetering/types"
	"github.com/aws/smithy-go"

	"github.com/meterd/meterd/admin"
)

// benchConfig is the configuration of meterd bench.
type benchConfig struct {
	Endpoint     string
	AccessKey    string
	SecretKey    string
	BuyerKey     string
	BuyerSecret  string
	Region       string
	Product      string
	Customers    []string
	Dimensions   []string
	Hours        int
	Mode         string
	Concurrency  int
	Duration     time.Duration
	Requests     int64
	Rate         float64
	Setup        int
	AdminToken   string
	BuyerAccount string
	// Load and Data run the direct loader instead (see benchload.go).
	Load  int64
	Data  string
	Store string

	rawCustomers, rawDims *string
}

func (c *benchConfig) flagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("meterd bench", flag.ContinueOnError)
	fs.StringVar(&c.Endpoint, "endpoint", "http://127.0.0.1:4579", "Metering API endpoint")
	fs.StringVar(&c.AccessKey, "access-key", "test", "seller access key (BatchMeterUsage)")
	fs.StringVar(&c.SecretKey, "secret-key", "test", "seller secret key")
	fs.StringVar(&c.BuyerKey, "buyer-key", "buyer", "buyer access keys (MeterUsage), comma-separated; each is one resource")
	fs.StringVar(&c.BuyerSecret, "buyer-secret", "buyer", "their secret keys, comma-separated in the same order")
	fs.StringVar(&c.Region, "region", "us-east-1", "signing region")
	fs.StringVar(&c.Product, "product", "demo-product", "product code")
	customers := fs.String("customers", "demo-customer-1,demo-customer-2", "comma-separated customer identifiers")
	dims := fs.String("dimension", "requests,storage_gb", "comma-separated dimensions")
	fs.IntVar(&c.Hours, "hours", 6, "past hours to spread records over (keep below the server's --past-window)")
	fs.StringVar(&c.Mode, "mode", "batch", "batch, meter or mixed")
	fs.IntVar(&c.Concurrency, "c", 16, "concurrent clients (with --rate: idle connections kept)")
	fs.DurationVar(&c.Duration, "d", 10*time.Second, "run duration (ignored with -n)")
	fs.Int64Var(&c.Requests, "n", 0, "number of requests (0: run for -d)")
	fs.Float64Var(&c.Rate, "rate", 0, "open loop: start this many requests per second on a fixed schedule, whatever the answers, latency counted from the scheduled start, and print how late the load generator itself started them (0: closed loop, -c clients as fast as possible)")
	fs.IntVar(&c.Setup, "setup", 0, "first subscribe N new customers (batch) or create N buyer keys (meter) through the admin API, for distinct keys")
	fs.StringVar(&c.AdminToken, "admin-token", "", "admin token for --setup")
	fs.StringVar(&c.BuyerAccount, "buyer-account", "444455556666", "account of the buyer keys --setup creates")
	fs.Int64Var(&c.Load, "load", 0, "write N rows directly into the store of --data/--store and report the rate (the server must be stopped)")
	fs.StringVar(&c.Data, "data", "./meterd-data", "data directory for --load")
	fs.StringVar(&c.Store, "store", "sqlite", "store for --load: sqlite or a postgres:// URL")
	// The lists are split after Parse by parseBench.
	c.rawCustomers, c.rawDims = customers, dims
	return fs
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// runBench is `meterd bench`.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseBench(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintln(stderr, "meterd bench:", err)
		return exitUsage
	}
	if cfg.Load > 0 {
		if err := runLoad(ctx, cfg, stdout); err != nil {
			fmt.Fprintln(stderr, "meterd bench:", err)
			return exitError
		}
		return exitOK
	}
	b := newBench(cfg)
	b.out = stdout
	if cfg.Setup > 0 {
		if err := b.setup(ctx); err != nil {
			fmt.Fprintln(stderr, "meterd bench: setup:", err)
			return exitError
		}
	}
	res := b.run(ctx)
	res.print(stdout, cfg)
	if res.requests == 0 {
		return exitError
	}
	return exitOK
}

// parseBench parses and checks the flags of meterd bench.
func parseBench(args []string, stderr io.Writer) (*benchConfig, error) {
	cfg := &benchConfig{}
	fs := cfg.flagSet()
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	cfg.Customers, cfg.Dimensions = splitList(*cfg.rawCustomers), splitList(*cfg.rawDims)
	switch {
	case cfg.Mode != "batch" && cfg.Mode != "meter" && cfg.Mode != "mixed":
		return nil, fmt.Errorf("--mode: must be batch, meter or mixed, got %q", cfg.Mode)
	case cfg.Concurrency < 1:
		return nil, errors.New("-c: must be at least 1")
	case cfg.Hours < 1:
		return nil, errors.New("--hours: must be at least 1")
	case len(cfg.Dimensions) == 0:
		return nil, errors.New("--dimension: required")
	case len(cfg.Customers) == 0 && cfg.Setup == 0:
		return nil, errors.New("--customers: required without --setup")
	case cfg.Setup > 0 && cfg.AdminToken == "":
		return nil, errors.New("--setup needs --admin-token")
	case len(splitList(cfg.BuyerKey)) == 0 || len(splitList(cfg.BuyerKey)) != len(splitList(cfg.BuyerSecret)):
		return nil, errors.New("--buyer-key and --buyer-secret: give as many secrets as keys")
	case cfg.Requests == 0 && cfg.Duration <= 0:
		return nil, errors.New("-d or -n: required")
	}
	return cfg, nil
}

// bench is one load run.
type bench struct {
	cfg    *benchConfig
	seller *mm.Client
	buyers []*mm.Client // MeterUsage clients, one per buyer key
	next   atomic.Int64 // the next key index to send
	out    io.Writer
}

func newBench(cfg *benchConfig) *bench {
	b := &bench{cfg: cfg, out: io.Discard}
	b.seller = b.client(cfg.AccessKey, cfg.SecretKey)
	secrets := splitList(cfg.BuyerSecret)
	for i, k := range splitList(cfg.BuyerKey) {
		b.buyers = append(b.buyers, b.client(k, secrets[i]))
	}
	return b
}

// client returns an SDK client that signs with key and keeps one idle
// connection per worker, without retries so that every error is counted.
func (b *bench) client(key, secret string) *mm.Client {
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = 2 * b.cfg.Concurrency
		t.MaxIdleConnsPerHost = 2 * b.cfg.Concurrency
	})
	return mm.New(mm.Options{
		Region:           b.cfg.Region,
		BaseEndpoint:     aws.String(b.cfg.Endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider(key, secret, ""),
		RetryMaxAttempts: 1,
		HTTPClient:       httpClient,
	})
}

// setup creates fresh customers (batch, mixed) or buyer keys (meter) so that
// every record of the run has its own key.
func (b *bench) setup(ctx context.Context) error {
	ac := admin.NewClient(b.cfg.Endpoint, b.cfg.AdminToken)
	run := make([]byte, 4)
	rand.Read(run)
	prefix := "bench-" + hex.EncodeToString(run)
	defer func() {
		what := "subscribed customers"
		if b.cfg.Mode == "meter" {
			what = "created buyer keys"
		}
		fmt.Fprintf(b.out, "setup: %s %s-00000 to %s-%05d\n", what, prefix, prefix, b.cfg.Setup-1)
	}()
	names := make([]string, b.cfg.Setup)
	errs := make([]error, b.cfg.Setup)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range names {
		names[i] = fmt.Sprintf("%s-%05d", prefix, i)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if b.cfg.Mode == "meter" {
				_, errs[i] = ac.CreateKey(ctx, b.cfg.BuyerAccount, admin.AccessKeyInput{ID: names[i], Secret: names[i]})
			} else {
				_, errs[i] = ac.Subscribe(ctx, b.cfg.Product, admin.SubscribeInput{CustomerIdentifier: names[i]})
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if b.cfg.Mode == "meter" {
		b.buyers = b.buyers[:0]
		for _, n := range names {
			b.buyers = append(b.buyers, b.client(n, n))
		}
	} else {
		b.cfg.Customers = names
	}
	return nil
}

// keySpace is the number of distinct (resource, dimension, hour) keys.
func (b *bench) keySpace() int64 {
	resources := len(b.cfg.Customers)
	if b.cfg.Mode == "meter" {
		resources = len(b.buyers)
	}
	return int64(resources * len(b.cfg.Dimensions) * b.cfg.Hours)
}

// key splits key index k into a resource, a dimension and an hour offset,
// the resource varying fastest so that neighbours are distinct.
func (b *bench) key(k int64, resources int) (res, dim, hour int) {
	k %= b.keySpace()
	res = int(k % int64(resources))
	k /= int64(resources)
	dim = int(k % int64(len(b.cfg.Dimensions)))
	hour = int(k / int64(len(b.cfg.Dimensions)))
	return res, dim, hour
}

// timestamp is now moved back by hour hours: distinct hours for distinct
// offsets, always inside the past window.
func timestampFor(now time.Time, hour int) time.Time {
	return now.Add(-time.Duration(hour) * time.Hour)
}

// record builds the BatchMeterUsage record of key index k. Quantities are 1,
// so that a wrapped-around key is an identical retry, not a conflict.
func (b *bench) record(k int64, now time.Time, quantity int32) types.UsageRecord {
	c, d, h := b.key(k, len(b.cfg.Customers))
	return types.UsageRecord{
		CustomerIdentifier: aws.String(b.cfg.Customers[c]),
		Dimension:          aws.String(b.cfg.Dimensions[d]),
		Timestamp:          aws.Time(timestampFor(now, h)),
		Quantity:           aws.Int32(quantity),
	}
}

// batchInput is one 25-record request. In mixed mode, record 23 repeats a
// key sent earlier (an identical retry) and record 24 sends an earlier key
// with another quantity (a conflicting duplicate).
func (b *bench) batchInput(now time.Time) *mm.BatchMeterUsageInput {
	const size = 25
	fresh := size
	if b.cfg.Mode == "mixed" {
		fresh = size - 2
	}
	k0 := b.next.Add(int64(fresh)) - int64(fresh)
	in := &mm.BatchMeterUsageInput{ProductCode: aws.String(b.cfg.Product)}
	for i := range fresh {
		in.UsageRecords = append(in.UsageRecords, b.record(k0+int64(i), now, 1))
	}
	if b.cfg.Mode == "mixed" {
		// Keys far enough back to have been committed by now.
		back := int64(size * b.cfg.Concurrency * 4)
		if old := k0 - back; old >= 0 && b.keySpace() > back+size {
			in.UsageRecords = append(in.UsageRecords, b.record(old, now, 1), b.record(old+1, now, 2))
		} else {
			in.UsageRecords = append(in.UsageRecords, b.record(k0+size, now, 1), b.record(k0+size+1, now, 1))
		}
	}
	return in
}

// meter sends one MeterUsage request.
func (b *bench) meter(ctx context.Context, now time.Time) error {
	k := b.next.Add(1) - 1
	r, d, h := b.key(k, len(b.buyers))
	_, err := b.buyers[r].MeterUsage(ctx, &mm.MeterUsageInput{
		ProductCode:    aws.String(b.cfg.Product),
		Timestamp:      aws.Time(timestampFor(now, h)),
		UsageDimension: aws.String(b.cfg.Dimensions[d]),
		UsageQuantity:  aws.Int32(1),
	})
	return err
}

// benchResult is what a run measured.
type benchResult struct {
	worker   // every client's outcomes, added up
	elapsed  time.Duration
	requests int64
	wrapped  bool
}

// worker is one client's share of the result.
type worker struct {
	latencies   []time.Duration
	lags        []time.Duration // open loop: how late each request started
	errors      map[string]int64
	statuses    map[string]int64
	records     int64
	unprocessed int64
}

// run sends requests until the duration or request count is reached:
// closed loop from cfg.Concurrency workers, or open loop at cfg.Rate.
func (b *bench) run(ctx context.Context) *benchResult {
	// The run ends by not starting new requests; the ones in flight finish,
	// since a cancelled request would count as an error on the server.
	var deadline time.Time
	if b.cfg.Requests == 0 {
		deadline = time.Now().Add(b.cfg.Duration)
	}
	over := func(t time.Time) bool { return !deadline.IsZero() && t.After(deadline) }
	start := time.Now()
	var workers []*worker
	if b.cfg.Rate > 0 {
		workers = []*worker{b.openLoop(ctx, start, over)}
	} else {
		workers = b.closedLoop(ctx, over)
	}
	total := newWorker()
	for _, w := range workers {
		total.add(w)
	}
	res := &benchResult{worker: *total, elapsed: time.Since(start)}
	res.requests = int64(len(res.latencies))
	res.wrapped = b.next.Load() > b.keySpace()
	slices.Sort(res.latencies)
	slices.Sort(res.lags)
	return res
}

func newWorker() *worker {
	return &worker{errors: map[string]int64{}, statuses: map[string]int64{}}
}

// add adds o's outcomes to w's.
func (w *worker) add(o *worker) {
	w.latencies = append(w.latencies, o.latencies...)
	w.lags = append(w.lags, o.lags...)
	w.records += o.records
	w.unprocessed += o.unprocessed
	for k, v := range o.errors {
		w.errors[k] += v
	}
	for k, v := range o.statuses {
		w.statuses[k] += v
	}
}

// closedLoop runs cfg.Concurrency workers, each sending its next request
// when the previous one is answered.
func (b *bench) closedLoop(ctx context.Context, over func(time.Time) bool) []*worker {
	var sent atomic.Int64
	workers := make([]*worker, b.cfg.Concurrency)
	var wg sync.WaitGroup
	for i := range workers {
		w := newWorker()
		workers[i] = w
		wg.Go(func() {
			for ctx.Err() == nil && !over(time.Now()) && (b.cfg.Requests == 0 || sent.Add(1) <= b.cfg.Requests) {
				b.one(ctx, w, time.Now())
			}
		})
	}
	wg.Wait()
	return workers
}

// openLoop starts request i at start + i/cfg.Rate, each in its own
// goroutine, whether or not earlier requests have been answered, and
// measures its latency from that scheduled time: a slow answer cannot
// delay the requests behind it and hide their wait (coordinated omission).
func (b *bench) openLoop(ctx context.Context, start time.Time, over func(time.Time) bool) *worker {
	w := newWorker()
	var mu sync.Mutex // guards w
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) / b.cfg.Rate)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i := int64(0); b.cfg.Requests == 0 || i < b.cfg.Requests; i++ {
		at := start.Add(time.Duration(i) * interval)
		if over(at) {
			break
		}
		timer.Reset(time.Until(at))
		select {
		case <-timer.C:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			one := newWorker()
			one.lags = []time.Duration{time.Since(at)}
			b.one(ctx, one, at)
			mu.Lock()
			defer mu.Unlock()
			w.add(one)
		})
	}
	wg.Wait()
	return w
}

// one sends a request and records its outcome, its latency counted from
// scheduled (when it should have started). A request cut off by the end of
// the run is not counted.
func (b *bench) one(ctx context.Context, w *worker, scheduled time.Time) {
	now := time.Now()
	var err error
	if b.cfg.Mode == "meter" {
		err = b.meter(ctx, now)
		if err == nil {
			w.records++
			w.statuses["Success"]++
		}
	} else {
		var out *mm.BatchMeterUsageOutput
		out, err = b.seller.BatchMeterUsage(ctx, b.batchInput(now))
		if err == nil {
			for _, r := range out.Results {
				w.statuses[string(r.Status)]++
			}
			w.records += int64(len(out.Results))
			w.unprocessed += int64(len(out.UnprocessedRecords))
		}
	}
	d := time.Since(scheduled)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		w.errors[errorCodeOf(err)]++
	}
	w.latencies = append(w.latencies, d)
}

// errorCodeOf is the AWS error code of err, or a short transport error class.
func errorCodeOf(err error) string {
	if apiErr, ok := errors.AsType[smithy.APIError](err); ok {
		return apiErr.ErrorCode()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	return "transport"
}

// percentile returns the p-th percentile of sorted latencies.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func (r *benchResult) print(w io.Writer, cfg *benchConfig) {
	secs := r.elapsed.Seconds()
	if cfg.Rate > 0 {
		fmt.Fprintf(w, "mode %s, open loop at %g requests/s (latency from the scheduled start), %s, endpoint %s\n", cfg.Mode, cfg.Rate, r.elapsed.Round(time.Millisecond), cfg.Endpoint)
	} else {
		fmt.Fprintf(w, "mode %s, concurrency %d, %s, endpoint %s\n", cfg.Mode, cfg.Concurrency, r.elapsed.Round(time.Millisecond), cfg.Endpoint)
	}
	fmt.Fprintf(w, "requests   %d (%.1f/s)\n", r.requests, float64(r.requests)/secs)
	fmt.Fprintf(w, "records    %d (%.1f/s)\n", r.records, float64(r.records)/secs)
	fmt.Fprintf(w, "latency    p50 %s  p90 %s  p99 %s  max %s\n",
		ms(percentile(r.latencies, 50)), ms(percentile(r.latencies, 90)), ms(percentile(r.latencies, 99)), ms(percentile(r.latencies, 100)))
	if len(r.lags) > 0 {
		// The load generator's own delay is in every latency above: when it
		// is large, the machine is too busy to measure the server.
		fmt.Fprintf(w, "start lag  p50 %s  p90 %s  p99 %s  max %s (the load generator's own delay in starting requests, included above)\n",
			ms(percentile(r.lags, 50)), ms(percentile(r.lags, 90)), ms(percentile(r.lags, 99)), ms(percentile(r.lags, 100)))
	}
	for _, k := range sortedKeys(r.statuses) {
		fmt.Fprintf(w, "status     %-22s %d\n", k, r.statuses[k])
	}
	if r.unprocessed > 0 {
		fmt.Fprintf(w, "unprocessed records %d\n", r.unprocessed)
	}
	for _, k := range sortedKeys(r.errors) {
		fmt.Fprintf(w, "error      %-22s %d\n", k, r.errors[k])
	}
	if r.wrapped {
		fmt.Fprintln(w, "note: the key space was exhausted, later records were identical retries; use --setup N or more --hours for distinct keys")
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/1e6) }

func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
