package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	mm "github.com/aws/aws-sdk-go-v2/service/marketplacemetering"
	"github.com/aws/aws-sdk-go-v2/service/marketplacemetering/types"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/catalog"
	"github.com/meterd/meterd/server"
)

// startConfigured runs Main like startServer (demo catalog, clock frozen at
// now) with the config changed by edit.
func startConfigured(t *testing.T, edit func(*server.Config)) *server.Main {
	t.Helper()
	cfg := server.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.Data = t.TempDir()
	edit(&cfg)
	m := &server.Main{Config: cfg, Clock: &meterd.ServerClock{}}
	m.Clock.Set(now)
	if err := m.Run(context.Background()); err != nil {
		t.Fatalf("Run() = %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// adminClient returns the admin client of m with its generated token.
func adminClient(t *testing.T, m *server.Main) *admin.Client {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(m.Config.Data, "admin-token"))
	if err != nil {
		t.Fatal(err)
	}
	return admin.NewClient(m.URL(), strings.TrimSpace(string(b)))
}

// demoBatch sends one BatchMeterUsage of the demo product.
func demoBatch(ctx context.Context, c *mm.Client, recs ...types.UsageRecord) (*mm.BatchMeterUsageOutput, error) {
	return c.BatchMeterUsage(ctx, &mm.BatchMeterUsageInput{ProductCode: aws.String(catalog.DemoProduct), UsageRecords: recs})
}

func TestFaultFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want func(c server.Config) bool
		err  string // a substring of the error, "" for none
	}{
		{"Defaults", nil, nil, func(c server.Config) bool { return c.Quotas == "off" && c.FaultSeed == nil && c.QuotaRate == "" }, ""},
		{"Seed", []string{"--fault-seed", "42"}, nil, func(c server.Config) bool { return c.FaultSeed != nil && *c.FaultSeed == 42 }, ""},
		{"SeedEnv", nil, map[string]string{"METERD_FAULT_SEED": "7"}, func(c server.Config) bool { return c.FaultSeed != nil && *c.FaultSeed == 7 }, ""},
		{"Quotas", []string{"--quotas", "aws", "--quota-rate", "BatchMeterUsage=20", "--quota-rate", "MeterUsage=2"}, nil,
			func(c server.Config) bool {
				return c.Quotas == "aws" && c.QuotaRate == "BatchMeterUsage=20,MeterUsage=2"
			}, ""},
		{"QuotaRateEnvThenFlag", []string{"--quota-rate", "MeterUsage=3"}, map[string]string{"METERD_QUOTA_RATE": "MeterUsage=1,RegisterUsage=4"},
			func(c server.Config) bool { return c.QuotaRate == "MeterUsage=1,RegisterUsage=4,MeterUsage=3" }, ""},
		{"ErrSeed", []string{"--fault-seed", "-1"}, nil, nil, "fault-seed"},
		{"ErrQuotaRate", []string{"--quota-rate", "Nope=1"}, nil, nil, "quota-rate"},
		{"ErrQuotas", []string{"--quotas", "strict"}, nil, nil, "--quotas"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := server.DefaultConfig()
			err := c.ParseFlags(tt.args, func(k string) string { return tt.env[k] })
			if err == nil {
				err = c.Validate()
			}
			switch {
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Errorf("ParseFlags(%q) = %v, want an error about %s", tt.args, err, tt.err)
			case tt.err == "" && err != nil:
				t.Errorf("ParseFlags(%q) = %v", tt.args, err)
			case tt.err == "" && !tt.want(c):
				t.Errorf("ParseFlags(%q) = %+v, not as wanted", tt.args, c)
			}
		})
	}
}

func TestQuotasAWS(t *testing.T) {
	// The server clock is frozen: the buckets must refill on wall time.
	m := startConfigured(t, func(c *server.Config) { c.Quotas = "aws" })
	c := mm.New(mm.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(m.URL()),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		Retryer:      aws.NopRetryer{},
	})
	ctx := t.Context()
	rec := record(catalog.DemoCustomer1, "requests", now, 1)
	// send calls BatchMeterUsage and reports whether it was accepted.
	send := func() bool {
		_, err := demoBatch(ctx, c, rec)
		if err == nil {
			return true
		}
		if code := errorCode(t, err); code != meterd.EThrottling {
			t.Fatalf("BatchMeterUsage() = %v, want success or ThrottlingException", err)
		}
		return false
	}
	burst := 0
	burstStart := time.Now()
	for send() {
		burst++
	}
	// The bucket holds one second's worth (10) and refills at 10 a second while
	// the burst runs, so a slow machine sees a few more: allow what the elapsed
	// wall time refilled, and no more.
	refilled := int(time.Since(burstStart).Seconds()*10) + 1
	if burst < 9 || burst > 11+refilled {
		t.Errorf("burst of %d accepted requests in %v, want 10 (one second's worth) plus at most %d refilled", burst, time.Since(burstStart), refilled)
	}

	// As fast as two clients can for 3 seconds: about 10 per second.
	const d = 3 * time.Second
	var accepted, refused atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for time.Since(start) < d {
				if send() {
					accepted.Add(1)
				} else {
					refused.Add(1)
				}
			}
		})
	}
	wg.Wait()
	rate := float64(accepted.Load()) / time.Since(start).Seconds()
	t.Logf("%d accepted, %d throttled in %v: %.1f/s", accepted.Load(), refused.Load(), time.Since(start), rate)
	if rate < 8 || rate > 12 {
		t.Errorf("accepted %.1f requests/s, want 10 within 20%%", rate)
	}
	if refused.Load() < accepted.Load() {
		t.Errorf("%d throttled, %d accepted: the client did not send as fast as it could", refused.Load(), accepted.Load())
	}

	t.Run("OtherAccountOwnBucket", func(t *testing.T) {
		buyer := mm.New(mm.Options{Region: "us-east-1", BaseEndpoint: aws.String(m.URL()),
			Credentials: credentials.NewStaticCredentialsProvider("buyer", "buyer", ""), Retryer: aws.NopRetryer{}})
		_, err := buyer.MeterUsage(ctx, &mm.MeterUsageInput{ProductCode: aws.String(catalog.DemoProduct),
			Timestamp: aws.Time(now), UsageDimension: aws.String("requests"), UsageQuantity: aws.Int32(1)})
		if err != nil {
			t.Errorf("MeterUsage() of another account after the seller was throttled = %v, want success", err)
		}
	})
}

func TestQuotasOffByDefault(t *testing.T) {
	m := startServer(t, "")
	c := newClient(m, "test", "test", "")
	for i := range 30 {
		if _, err := demoBatch(t.Context(), c, record(catalog.DemoCustomer1, "requests", now, 1)); err != nil {
			t.Fatalf("request %d without --quotas: %v", i+1, err)
		}
	}
}

func TestClockMovesTheWindow(t *testing.T) {
	m := startServer(t, "")
	ctx := t.Context()
	ac := adminClient(t, m)
	// A server time far from wall time: SigV4 must keep checking the
	// signature's date against wall time, or every request would fail.
	at := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	if _, err := ac.SetClock(ctx, at); err != nil {
		t.Fatal(err)
	}
	c := newClient(m, "test", "test", "")
	tests := []struct {
		name string
		rec  types.UsageRecord
		want string // "" for Success
	}{
		{"5h59mOld", record(catalog.DemoCustomer1, "requests", at.Add(-5*time.Hour-59*time.Minute), 1), ""},
		{"6hOld", record(catalog.DemoCustomer2, "requests", at.Add(-6*time.Hour), 1), meterd.ETimestampOutOfBounds},
		{"4mAhead", record(catalog.DemoCustomer2, "storage_gb", at.Add(4*time.Minute), 1), ""},
		{"6mAhead", record(catalog.DemoCustomer1, "storage_gb", at.Add(6*time.Minute), 1), meterd.ETimestampOutOfBounds},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := demoBatch(ctx, c, tt.rec)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("BatchMeterUsage() = %v, want Success", err)
			case tt.want == "" && out.Results[0].Status != types.UsageRecordResultStatusSuccess:
				t.Errorf("Status = %s, want Success", out.Results[0].Status)
			case tt.want != "" && (err == nil || errorCode(t, err) != tt.want):
				t.Errorf("BatchMeterUsage() = %v, want %s", err, tt.want)
			}
		})
	}
	// One minute later by the server clock, a record 5h59m old at the
	// first instant is 6h old.
	if _, err := ac.AdvanceClock(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	_, err := demoBatch(ctx, c, record(catalog.DemoCustomer2, "storage_gb", at.Add(-5*time.Hour-59*time.Minute), 1))
	if err == nil || errorCode(t, err) != meterd.ETimestampOutOfBounds {
		t.Errorf("after advancing 1m, 5h59m-old record: %v, want %s", err, meterd.ETimestampOutOfBounds)
	}
	page, err := ac.Usage(ctx, admin.UsageQuery{From: at.Add(-24 * time.Hour), To: at.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Records) != 2 {
		t.Errorf("ledger holds %d records, want the 2 accepted", len(page.Records))
	}
}

const faultCatalog = `
accounts:
  - {id: "111122223333", access_keys: [{id: test, secret: test}]}
products:
  - code: demo-product
    seller: "111122223333"
    type: saas
    dimensions: [{name: requests}]
    customers: [{aws_account_id: "444455556666", customer_identifier: demo-customer-1}]
faults:
  - {operation: BatchMeterUsage, error: ThrottlingException, count: 1}
`

func TestCatalogFaults(t *testing.T) {
	file := filepath.Join(t.TempDir(), "catalog.yaml")
	if err := os.WriteFile(file, []byte(faultCatalog), 0o600); err != nil {
		t.Fatal(err)
	}
	m := startServer(t, file)
	ctx := t.Context()
	c := newClient(m, "test", "test", "")
	rec := record(catalog.DemoCustomer1, "requests", now, 1)
	throttledOnce := func(when string) {
		t.Helper()
		if _, err := demoBatch(ctx, c, rec); err == nil || errorCode(t, err) != meterd.EThrottling {
			t.Errorf("%s: first BatchMeterUsage() = %v, want the catalog's ThrottlingException", when, err)
		}
		if _, err := demoBatch(ctx, c, rec); err != nil {
			t.Errorf("%s: second BatchMeterUsage() = %v, want success (count 1)", when, err)
		}
	}
	throttledOnce("at start")
	ac := adminClient(t, m)
	if _, err := ac.AddFault(ctx, admin.FaultSpec{Operation: "MeterUsage", Latency: "1s"}); err != nil {
		t.Fatal(err)
	}
	// A reset is a clean slate: the API's rule goes, the catalog's returns.
	if err := ac.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	rules, err := ac.Faults(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 1 || rules[0].Error != meterd.EThrottling {
		t.Errorf("Faults() after reset = %+v, want only the catalog's rule", rules)
	}
	throttledOnce("after reset")
}

func TestFaultSeedReproducible(t *testing.T) {
	run := func(seed uint64) []string {
		m := startConfigured(t, func(c *server.Config) { c.FaultSeed = &seed })
		if _, err := adminClient(t, m).AddFault(t.Context(), admin.FaultSpec{Operation: "BatchMeterUsage", Unprocessed: 0.5}); err != nil {
			t.Fatal(err)
		}
		c := newClient(m, "test", "test", "")
		var seen []string
		for h := range 3 {
			var recs []types.UsageRecord
			for _, cust := range []string{catalog.DemoCustomer1, catalog.DemoCustomer2} {
				for _, dim := range []string{"requests", "storage_gb"} {
					recs = append(recs, record(cust, dim, now.Add(-time.Duration(h)*time.Hour), 1))
				}
			}
			out, err := demoBatch(t.Context(), c, recs...)
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for _, u := range out.UnprocessedRecords {
				keys = append(keys, aws.ToString(u.CustomerIdentifier)+"/"+aws.ToString(u.Dimension))
			}
			seen = append(seen, fmt.Sprint(keys))
		}
		return seen
	}
	a, b, c := run(11), run(11), run(12)
	if !slices.Equal(a, b) {
		t.Errorf("--fault-seed 11 twice: %q and %q, want the same unprocessed sets", a, b)
	}
	if slices.Equal(a, c) {
		t.Errorf("--fault-seed 11 and 12 both: %q, want different sets", a)
	}
}

func TestFaultsCLI(t *testing.T) {
	m := startServer(t, "")
	ctx := t.Context()
	cli := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		args = append(args, "--server", m.URL(), "--data", m.Config.Data)
		code := run(ctx, args, &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	code, out, errOut := cli("faults", "add", "--operation", "BatchMeterUsage", "--unprocessed", "0.3", "--customer", catalog.DemoCustomer1, "--output", "json")
	if code != exitOK || !strings.Contains(out, `"unprocessed": 0.3`) {
		t.Fatalf("faults add --unprocessed = %d %s %s, want 0 and the rule as JSON", code, out, errOut)
	}
	code, out, errOut = cli("faults", "add", "--operation", "MeterUsage", "--error", "ThrottlingException", "--count", "2", "--probability", "0.5")
	if code != exitOK || !strings.Contains(out, "error ThrottlingException") {
		t.Fatalf("faults add --error = %d %s %s", code, out, errOut)
	}
	code, out, _ = cli("faults", "list")
	want := []string{"f1", "BatchMeterUsage", "customer=demo-customer-1", "unprocessed 0.3", "unlimited", "f2", "error ThrottlingException", "0.5"}
	for _, w := range want {
		if code != exitOK || !strings.Contains(out, w) {
			t.Errorf("faults list = %d\n%s\nwant it to show %q", code, out, w)
		}
	}
	code, out, _ = cli("faults", "list", "--output", "csv")
	if code != exitOK || !strings.HasPrefix(out, "id,operation,match,effect,probability,count,hits\n") {
		t.Errorf("faults list --output csv = %d %q, want a header row", code, out)
	}

	tests := []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"NoOperation", []string{"faults", "add", "--error", "ThrottlingException"}, exitUsage, "--operation is required"},
		{"TwoEffects", []string{"faults", "add", "--operation", "MeterUsage", "--error", "ThrottlingException", "--drop-response"}, exitError, "exactly one effect"},
		{"UnknownCode", []string{"faults", "add", "--operation", "MeterUsage", "--error", "Oops"}, exitError, "not an exception"},
		{"DeleteUnknown", []string{"faults", "delete", "f99"}, exitError, "no fault rule"},
		{"DeleteNoID", []string{"faults", "delete"}, exitUsage, "want 1 argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := cli(tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.err) {
				t.Errorf("%q = %d %q, want %d mentioning %q", tt.args, code, errOut, tt.code, tt.err)
			}
		})
	}

	if code, _, errOut := cli("faults", "delete", "f1"); code != exitOK {
		t.Errorf("faults delete f1 = %d %s", code, errOut)
	}
	rules := m.Faults.List()
	if len(rules) != 1 || rules[0].ID != "f2" {
		t.Errorf("rules after delete f1 = %+v, want only f2", rules)
	}
	if code, _, errOut := cli("faults", "clear"); code != exitOK {
		t.Errorf("faults clear = %d %s", code, errOut)
	}
	if rules := m.Faults.List(); len(rules) != 0 {
		t.Errorf("rules after clear = %+v, want none", rules)
	}
}
