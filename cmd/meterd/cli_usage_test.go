package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	mm "github.com/aws/aws-sdk-go-v2/service/marketplacemetering"
	"github.com/aws/aws-sdk-go-v2/service/marketplacemetering/types"

	"github.com/meterd/meterd/admin"
)

func (h *cliHarness) testTokens(t *testing.T) {
	r := h.run(t, "tokens", "create", "--product", "cli-product", "--customer", "cust-a", "--ttl", "30m")
	if r.code != 0 {
		t.Fatalf("tokens create: exit %d, stderr %s", r.code, r.stderr)
	}
	token := strings.TrimSuffix(r.stdout, "\n")
	if token == "" || strings.ContainsAny(token, " \t\n") {
		t.Fatalf("tokens create stdout = %q, want the token alone on one line", r.stdout)
	}
	out, err := h.metering("test", "test").ResolveCustomer(context.Background(), &mm.ResolveCustomerInput{RegistrationToken: aws.String(token)})
	if err != nil {
		t.Fatalf("ResolveCustomer(token from the CLI) = %v", err)
	}
	if got := aws.ToString(out.CustomerIdentifier); got != "cust-a" || aws.ToString(out.ProductCode) != "cli-product" || aws.ToString(out.CustomerAWSAccountId) != "123456789012" {
		t.Errorf("ResolveCustomer = %s %s %s, want cust-a cli-product 123456789012",
			got, aws.ToString(out.ProductCode), aws.ToString(out.CustomerAWSAccountId))
	}

	var tok struct {
		Token     string
		ExpiresAt time.Time `json:"expires_at"`
	}
	h.json(t, &tok, "tokens", "create", "--product", "cli-product", "--customer", "cust-a")
	if tok.Token == "" || tok.ExpiresAt.IsZero() {
		t.Errorf("tokens create --output json = %+v, want a token and its expiry", tok)
	}
	h.wantExit(t, 1, "", "tokens", "create", "--product", "cli-product", "--customer", "nobody")
	h.wantExit(t, 2, "--customer is required", "tokens", "create", "--product", "cli-product")
}

func (h *cliHarness) testPublicKeys(t *testing.T) {
	out := h.ok(t, "publickeys", "list", "--product", "cli-product")
	block, rest := pem.Decode([]byte(out))
	if block == nil || block.Type != "PUBLIC KEY" || !strings.HasPrefix(out, "# version 1") || strings.TrimSpace(string(rest)) != "" {
		t.Fatalf("publickeys list = %q, want one PEM public key under a version comment", out)
	}
	var k struct{ Version int64 }
	h.json(t, &k, "publickeys", "rotate", "--product", "cli-product")
	if k.Version != 2 {
		t.Errorf("publickeys rotate --output json version = %d, want 2", k.Version)
	}
	var keys []struct {
		Version   int64
		PEM       string     `json:"public_key_pem"`
		RotatedAt *time.Time `json:"rotated_at"`
	}
	h.json(t, &keys, "publickeys", "list", "--product", "cli-product")
	if len(keys) != 2 || keys[0].RotatedAt == nil || keys[1].RotatedAt != nil || !strings.Contains(keys[1].PEM, "BEGIN PUBLIC KEY") {
		t.Errorf("publickeys list --output json = %+v, want version 1 rotated and version 2 current", keys)
	}
	rows := h.csv(t, "publickeys", "list", "--product", "cli-product")
	if len(rows) != 3 || strings.Join(rows[0], ",") != "version,created_at,rotated_at,public_key_pem" {
		t.Errorf("publickeys list --output csv = %q", rows)
	}
	// Two PEM blocks in the table output.
	out = h.ok(t, "publickeys", "list", "--product", "cli-product")
	if n := strings.Count(out, "-----BEGIN PUBLIC KEY-----"); n != 2 {
		t.Errorf("publickeys list after rotate has %d PEM blocks, want 2", n)
	}
}

// clockJSON is the server clock as the CLI prints it with --output json.
type clockJSON struct {
	Now    time.Time
	Frozen bool
}

func (h *cliHarness) testClock(t *testing.T) {
	var c clockJSON
	h.json(t, &c, "clock", "set", "2026-11-23T06:00:00Z")
	if !c.Now.Equal(time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)) || !c.Frozen {
		t.Errorf("clock set = %+v, want 06:00 frozen", c)
	}
	h.json(t, &c, "clock", "advance", "2h")
	if want := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC); !c.Now.Equal(want) {
		t.Errorf("clock advance 2h = %v, want %v", c.Now, want)
	}
	h.json(t, &c, "clock", "advance", "-30m") // a negative duration is not a flag
	if !c.Now.Equal(cliNow) {
		t.Errorf("clock advance -30m = %v, want %v", c.Now, cliNow)
	}
	rows := h.csv(t, "clock", "show")
	if len(rows) != 2 || strings.Join(rows[0], ",") != "now,frozen" || rows[1][0] != "2026-11-23T07:30:00Z" || rows[1][1] != "true" {
		t.Errorf("clock show --output csv = %q", rows)
	}
	h.json(t, &c, "clock", "reset")
	if c.Frozen || time.Since(c.Now).Abs() > time.Minute {
		t.Errorf("clock reset = %+v, want real time", c)
	}
	if out := h.ok(t, "clock", "set", cliNow.Format(time.RFC3339)); !strings.Contains(out, "2026-11-23T07:30:00Z") || !strings.Contains(out, "true") {
		t.Errorf("clock set = %q, want the time and frozen", out)
	}
}

// batch sends one BatchMeterUsage for cli-product and returns the status
// of each record.
func (h *cliHarness) batch(t *testing.T, records ...types.UsageRecord) []types.UsageRecordResultStatus {
	t.Helper()
	out, err := h.metering("test", "test").BatchMeterUsage(context.Background(), &mm.BatchMeterUsageInput{
		ProductCode: aws.String("cli-product"), UsageRecords: records,
	})
	if err != nil {
		t.Fatalf("BatchMeterUsage = %v", err)
	}
	if len(out.UnprocessedRecords) != 0 {
		t.Fatalf("BatchMeterUsage: %d unprocessed records", len(out.UnprocessedRecords))
	}
	var statuses []types.UsageRecordResultStatus
	for _, r := range out.Results {
		statuses = append(statuses, r.Status)
	}
	return statuses
}

// usageRecord is a usage record for a customer of cli-product, allocated to
// team=tag when tag is not empty.
func usageRecord(customer, dimension string, ts time.Time, quantity int32, team string) types.UsageRecord {
	r := types.UsageRecord{
		CustomerIdentifier: aws.String(customer), Dimension: aws.String(dimension),
		Timestamp: aws.Time(ts), Quantity: aws.Int32(quantity),
	}
	if team != "" {
		r.UsageAllocations = []types.UsageAllocation{{
			AllocatedUsageQuantity: aws.Int32(quantity), Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String(team)}},
		}}
	}
	return r
}

// meterUsageRecords meters the records the usage tests read back: 17
// requests (14 priced at 0.01) and 3 GB-hours in hours 06:00 and 07:00.
func (h *cliHarness) meterUsageRecords(t *testing.T) {
	t.Helper()
	h.ok(t, "customers", "subscribe", "--product", "cli-product", "--customer-identifier", "cust-b", "--aws-account-id", "210987654321")
	statuses := h.batch(t,
		usageRecord("cust-b", "requests", time.Date(2026, 11, 23, 6, 10, 0, 0, time.UTC), 5, "a"),
		usageRecord("cust-b", "requests", time.Date(2026, 11, 23, 7, 5, 0, 0, time.UTC), 7, "b"),
		usageRecord("cust-b", "storage_gb", time.Date(2026, 11, 23, 7, 10, 0, 0, time.UTC), 3, ""),
		usageRecord("cust-a", "requests", time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC), 2, ""),
	)
	for i, s := range statuses {
		if s != types.UsageRecordResultStatusSuccess {
			t.Fatalf("BatchMeterUsage record %d = %s, want Success", i, s)
		}
	}
}

func (h *cliHarness) testUsage(t *testing.T) {
	h.meterUsageRecords(t)
	var records []struct {
		ID, Dimension string
		Customer      string `json:"customer_identifier"`
		Quantity      int64
	}
	h.json(t, &records, "usage", "list", "--product", "cli-product")
	if len(records) != 4 || records[0].ID == "" {
		t.Errorf("usage list --output json = %+v, want 4 records", records)
	}
	h.json(t, &records, "usage", "list", "--product", "cli-product", "--tag", "team=a")
	if len(records) != 1 || records[0].Quantity != 5 {
		t.Errorf("usage list --tag team=a = %+v, want the 5 requests", records)
	}
	h.json(t, &records, "usage", "list", "--customer", "cust-b", "--dimension", "requests", "--from", "2026-11-23T07:00:00Z", "--to", "2026-11-23T08:00:00Z")
	if len(records) != 1 || records[0].Quantity != 7 {
		t.Errorf("usage list --customer --dimension --from --to = %+v, want the 7 requests", records)
	}
	rows := h.csv(t, "usage", "list", "--product", "cli-product")
	if len(rows) != 5 || strings.Join(rows[0], ",") != "id,product_code,customer_identifier,dimension,hour,quantity,tags,operation" {
		t.Errorf("usage list --output csv = %q", rows)
	}
	r := h.run(t, "usage", "list", "--product", "cli-product", "--limit", "2")
	if r.code != 0 || strings.Count(r.stdout, "cli-product") != 2 || !strings.Contains(r.stderr, "first 2 records") {
		t.Errorf("usage list --limit 2 = exit %d, stdout %q, stderr %q; want 2 records and a note", r.code, r.stdout, r.stderr)
	}
	if out := h.ok(t, "usage", "list", "--product", "cli-product", "--tag", "team=b"); !strings.Contains(out, "7{team=b}") {
		t.Errorf("usage list table = %q, want the allocation 7{team=b}", out)
	}

	tests := []struct {
		by   string
		want string // the summary as JSON
	}{
		{"dimension", `[{"dimension":"requests","quantity":14,"records":3,"amount":"0.14"},{"dimension":"storage_gb","quantity":3,"records":1}]`},
		// By customer, one row per customer and dimension: 12 requests and 3
		// GB-hours of cust-b are not added into one number.
		{"customer", `[{"customer":"cust-a","dimension":"requests","quantity":2,"records":1,"amount":"0.02"},{"customer":"cust-b","dimension":"requests","quantity":12,"records":2,"amount":"0.12"},{"customer":"cust-b","dimension":"storage_gb","quantity":3,"records":1}]`},
		{"hour", `[{"hour":"2026-11-23T06:00:00Z","quantity":5,"records":1,"amount":"0.05"},{"hour":"2026-11-23T07:00:00Z","quantity":12,"records":3,"amount":"0.09"}]`},
	}
	for _, tt := range tests {
		t.Run("SummaryBy"+tt.by, func(t *testing.T) {
			out := h.ok(t, "usage", "summary", "--product", "cli-product", "--by", tt.by, "--output", "json")
			if got := compactJSON(t, out); got != tt.want {
				t.Errorf("usage summary --by %s --output json = %s, want %s", tt.by, got, tt.want)
			}
		})
	}
	rows = h.csv(t, "usage", "summary", "--product", "cli-product", "--by", "customer")
	want := [][]string{{"customer", "dimension", "quantity", "records", "amount"}, {"cust-a", "requests", "2", "1", "0.02"},
		{"cust-b", "requests", "12", "2", "0.12"}, {"cust-b", "storage_gb", "3", "1", ""}}
	if !equalRows(rows, want) {
		t.Errorf("usage summary --by customer --output csv = %q, want %q", rows, want)
	}
	if out := h.ok(t, "usage", "summary", "--product", "cli-product", "--by", "customer"); !strings.HasPrefix(out, "CUSTOMER  DIMENSION") {
		t.Errorf("usage summary --by customer = %q, want a table with a dimension column", out)
	}
	out := h.ok(t, "usage", "summary", "--product", "cli-product")
	if !strings.HasPrefix(out, "DIMENSION") || !strings.Contains(out, "0.14") {
		t.Errorf("usage summary = %q, want a table by dimension", out)
	}
	var st admin.Rollups
	h.json(t, &st, "usage", "rollups")
	if st.LastSeq < 4 || st.Watermark > st.LastSeq || st.Behind != st.LastSeq-st.Watermark {
		t.Errorf("usage rollups = %+v, want the last seq of the 4 records and behind = last_seq - watermark", st)
	}
	if out := h.ok(t, "usage", "rollups"); !strings.HasPrefix(out, "WATERMARK  LAST_SEQ  BEHIND") {
		t.Errorf("usage rollups = %q, want a table of watermark, last_seq and behind", out)
	}
	out = h.ok(t, "usage", "summary", "--product", "cli-product", "--by", "tag", "--output", "json")
	if !strings.Contains(out, `"tag"`) || !strings.Contains(out, "team") {
		t.Errorf("usage summary --by tag = %s, want rows by tag", out)
	}
}

// compactJSON returns the JSON text s without insignificant space, its
// members in their order.
func compactJSON(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		t.Fatalf("%v in %q", err, s)
	}
	return b.String()
}

func (h *cliHarness) testExport(t *testing.T) {
	out := h.ok(t, "usage", "export", "--format", "csv", "--product", "cli-product")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "id,operation,product_code,") {
		t.Errorf("usage export --format csv = %q, want a header and 4 rows", out)
	}
	out = h.ok(t, "usage", "export", "--format", "jsonl", "--product", "cli-product")
	sc := bufio.NewScanner(strings.NewReader(out))
	n := 0
	for sc.Scan() {
		var rec struct{ ID string }
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil || rec.ID == "" {
			t.Errorf("usage export --format jsonl line %q: %v", sc.Text(), err)
		}
		n++
	}
	if n != 4 {
		t.Errorf("usage export --format jsonl = %d lines, want 4", n)
	}
	var records []struct {
		ID       string
		Quantity int64
	}
	out = h.ok(t, "usage", "export", "--format", "json", "--product", "cli-product", "--dimension", "requests")
	if err := json.Unmarshal([]byte(out), &records); err != nil || len(records) != 3 {
		t.Errorf("usage export --format json = %q (%v), want an array of 3 records", out, err)
	}
	out = h.ok(t, "usage", "export", "--format", "json", "--product", "no-such-product")
	if compactJSON(t, out) != "[]" {
		t.Errorf("usage export --format json of nothing = %q, want []", out)
	}
}

// customerStatus returns a customer's status as meterd customers list shows it.
func (h *cliHarness) customerStatus(t *testing.T, customer string) string {
	t.Helper()
	var customers []customerJSON
	h.json(t, &customers, "customers", "list", "--product", "cli-product")
	for _, c := range customers {
		if c.CustomerIdentifier == customer {
			return c.Status
		}
	}
	t.Fatalf("customers list: no %s in %+v", customer, customers)
	return ""
}

func (h *cliHarness) testUnsubscribeLifecycle(t *testing.T) {
	start := time.Date(2026, 11, 23, 10, 30, 0, 0, time.UTC)
	h.ok(t, "clock", "set", start.Format(time.RFC3339))
	h.ok(t, "customers", "subscribe", "--product", "cli-product", "--customer-identifier", "cust-u", "--aws-account-id", "333344445555")
	steps := []struct {
		name    string
		cli     []string // moves the clock or changes the customer first
		at      time.Time
		dim     string
		want    types.UsageRecordResultStatus
		wantCLI string // the customer's status then
	}{
		{"Subscribed", nil, start, "requests", types.UsageRecordResultStatusSuccess, "subscribed"},
		{"Pending", []string{"customers", "unsubscribe", "--product", "cli-product", "--customer", "cust-u"},
			start, "storage_gb", types.UsageRecordResultStatusSuccess, "unsubscribe-pending"},
		{"PendingAt59m", []string{"clock", "advance", "59m"}, start.Add(59 * time.Minute), "requests",
			types.UsageRecordResultStatusSuccess, "unsubscribe-pending"},
		{"UnsubscribedAt1h", []string{"clock", "advance", "1m"}, start.Add(time.Hour), "storage_gb",
			types.UsageRecordResultStatusCustomerNotSubscribed, "unsubscribed"},
	}
	for _, s := range steps {
		if s.cli != nil {
			h.ok(t, s.cli...)
		}
		got := h.batch(t, usageRecord("cust-u", s.dim, s.at, 1, ""))
		if got[0] != s.want {
			t.Errorf("%s: BatchMeterUsage status = %s, want %s", s.name, got[0], s.want)
		}
		if st := h.customerStatus(t, "cust-u"); st != s.wantCLI {
			t.Errorf("%s: customers list status = %s, want %s", s.name, st, s.wantCLI)
		}
	}
}

func (h *cliHarness) testResubscribe(t *testing.T) {
	start := time.Date(2026, 11, 23, 13, 30, 0, 0, time.UTC)
	h.ok(t, "clock", "set", start.Format(time.RFC3339))
	sub := []string{"customers", "subscribe", "--product", "cli-product", "--customer-identifier", "cust-r", "--aws-account-id", "666677778888"}
	h.ok(t, sub...)
	h.ok(t, "customers", "unsubscribe", "--product", "cli-product", "--customer", "cust-r")
	h.ok(t, "clock", "advance", "30m")
	var c customerJSON
	h.json(t, &c, sub...)
	if c.Status != "subscribed" {
		t.Errorf("customers subscribe while unsubscribe-pending = %s, want subscribed", c.Status)
	}
	h.ok(t, "clock", "advance", "1h")
	if got := h.batch(t, usageRecord("cust-r", "requests", start.Add(90*time.Minute), 1, "")); got[0] != types.UsageRecordResultStatusSuccess {
		t.Errorf("BatchMeterUsage an hour after resubscribing = %s, want Success", got[0])
	}
}

func (h *cliHarness) testReset(t *testing.T) {
	if out := h.ok(t, "reset", "--yes"); !strings.Contains(out, "catalog applied again") {
		t.Errorf("reset --yes = %q", out)
	}
	// As README and --help say: what the CLI created is gone, the catalog
	// (here the demo) is back.
	if out := h.ok(t, "products", "list"); strings.Contains(out, "cli-product") || !strings.Contains(out, "demo-product") {
		t.Errorf("products after reset = %q, want demo-product alone, cli-product deleted", out)
	}
	out := h.ok(t, "usage", "list", "--output", "json", "--from", "2026-11-01T00:00:00Z", "--to", "2026-12-01T00:00:00Z")
	if compactJSON(t, out) != "[]" {
		t.Errorf("usage list after reset = %s, want []", out)
	}
	var c clockJSON
	h.json(t, &c, "clock", "reset")
	if c.Frozen {
		t.Errorf("clock reset = %+v, want real time", c)
	}
}
