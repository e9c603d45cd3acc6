package admin

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/catalog"
)

// seedUsage commits 16 records of the demo product: 4 hours up to t0's,
// 2 customers, 2 dimensions; customer 1's requests carry the tag team=a.
func seedUsage(t *testing.T, f *fixture) {
	t.Helper()
	var records []*meterd.MeteringRecord
	for h := 3; h >= 0; h-- {
		hour := meterd.Hour(t0).Add(-time.Duration(h) * time.Hour)
		for _, c := range []string{catalog.DemoCustomer1, catalog.DemoCustomer2} {
			for _, d := range []string{"requests", "storage_gb"} {
				var tags []meterd.Tag
				if c == catalog.DemoCustomer1 && d == "requests" {
					tags = []meterd.Tag{{Key: "team", Value: "a"}}
				}
				records = append(records, record(c, d, hour, int64(10+h), tags...))
			}
		}
	}
	f.commit(t, records...)
}

func TestUsagePagination(t *testing.T) {
	f := newFixture(t)
	seedUsage(t, f)
	for _, limit := range []int{1, 4, 5, 16, 100} {
		t.Run(fmt.Sprint("limit", limit), func(t *testing.T) {
			seen := map[string]bool{}
			var lastSeq int64
			q := UsageQuery{Limit: limit}
			pages := 0
			for {
				page, err := f.c.Usage(f.ctx, q)
				must(t, "Usage", err)
				pages++
				if len(page.Records) > limit {
					t.Fatalf("page of %d records, want at most %d", len(page.Records), limit)
				}
				for _, r := range page.Records {
					if seen[r.ID] {
						t.Errorf("record %s seen twice", r.ID)
					}
					if r.Seq <= lastSeq {
						t.Errorf("record seq %d after %d, want commit order", r.Seq, lastSeq)
					}
					seen[r.ID], lastSeq = true, r.Seq
				}
				if page.NextCursor == "" {
					break
				}
				q.After = page.NextCursor
			}
			if len(seen) != 16 {
				t.Errorf("pagination visited %d records, want 16", len(seen))
			}
			if want := (16 + limit - 1) / limit; pages != want {
				t.Errorf("pagination took %d pages, want %d (no empty last page)", pages, want)
			}
		})
	}
}

func TestUsageRecordJSON(t *testing.T) {
	f := newFixture(t)
	r := record(catalog.DemoCustomer1, "requests", meterd.Hour(t0), 7, meterd.Tag{Key: "team", Value: "a"})
	f.commit(t, r)
	page, err := f.c.Usage(f.ctx, UsageQuery{})
	must(t, "Usage", err)
	if len(page.Records) != 1 {
		t.Fatalf("Usage = %d records, want 1", len(page.Records))
	}
	got := page.Records[0]
	want := UsageRecord{
		ID: r.ID, Operation: "BatchMeterUsage", ProductCode: catalog.DemoProduct, CustomerIdentifier: catalog.DemoCustomer1,
		CustomerAWSAccountID: catalog.DemoBuyerAccount1, Dimension: "requests", Hour: meterd.Hour(t0),
		Timestamp: meterd.Hour(t0).Add(time.Minute), Quantity: 7,
		Allocations:     []Allocation{{Quantity: 7, Tags: []Tag{{Key: "team", Value: "a"}}}},
		CallerAccountID: catalog.DemoSellerAccount, ReceivedAt: t0, Seq: got.Seq,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Usage record = %+v, want %+v", got, want)
	}
}

func TestUsageFilters(t *testing.T) {
	f := newFixture(t)
	seedUsage(t, f)
	old := record(catalog.DemoCustomer1, "requests", meterd.Hour(t0).Add(-40*24*time.Hour), 1)
	f.commit(t, old)
	h := meterd.Hour(t0)
	tests := []struct {
		name string
		q    UsageQuery
		want int
	}{
		{"Default31Days", UsageQuery{}, 16},
		{"Customer", UsageQuery{Customer: catalog.DemoCustomer2}, 8},
		{"Dimension", UsageQuery{Dimension: "storage_gb"}, 8},
		{"Tag", UsageQuery{Tag: "team=a"}, 4},
		{"OtherTag", UsageQuery{Tag: "team=b"}, 0},
		{"Product", UsageQuery{Product: catalog.DemoProduct}, 16},
		{"OtherProduct", UsageQuery{Product: "nope"}, 0},
		{"FromTo", UsageQuery{From: h.Add(-time.Hour), To: h}, 4},
		{"FromOld", UsageQuery{From: h.Add(-41 * 24 * time.Hour)}, 17},
		{"Combined", UsageQuery{Customer: catalog.DemoCustomer1, Dimension: "requests", From: h}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := f.c.Usage(f.ctx, tt.q)
			must(t, "Usage", err)
			if len(page.Records) != tt.want {
				t.Errorf("Usage(%+v) = %d records, want %d", tt.q, len(page.Records), tt.want)
			}
		})
	}
}

func TestUsageBadQuery(t *testing.T) {
	f := newFixture(t)
	for _, query := range []string{
		"limit=0", "limit=10001", "limit=ten", "after=x", "after=-1", "from=yesterday", "to=2026-11-23",
		"tag=team", "tag==a", "format=xml", "from=2026-11-23T08:00:00Z&to=2026-11-23T07:00:00Z",
		"format=csv&limit=0",
	} {
		t.Run(query, func(t *testing.T) {
			status, body := f.raw(t, "GET", "/admin/v1/usage?"+query, "Bearer "+testToken, "")
			if status != 400 || !strings.Contains(body, CodeBadRequest) {
				t.Errorf("GET usage?%s = %d %s, want 400 BadRequest", query, status, body)
			}
		})
	}
	for _, query := range []string{"by=week", "format=jsonl", "from=x"} {
		t.Run("summary?"+query, func(t *testing.T) {
			status, body := f.raw(t, "GET", "/admin/v1/usage/summary?"+query, "Bearer "+testToken, "")
			if status != 400 {
				t.Errorf("GET usage/summary?%s = %d %s, want 400", query, status, body)
			}
		})
	}
}

func TestExportUsage(t *testing.T) {
	f := newFixture(t)
	seedUsage(t, f)
	t.Run("CSV", func(t *testing.T) {
		rc, err := f.c.ExportUsage(f.ctx, UsageQuery{Customer: catalog.DemoCustomer1}, "csv")
		must(t, "ExportUsage", err)
		defer rc.Close()
		rows, err := csv.NewReader(rc).ReadAll()
		must(t, "read CSV", err)
		if len(rows) != 9 || !slices.Equal(rows[0], usageCSVHeader) {
			t.Fatalf("CSV = %d rows starting %v, want a header %v and 8 rows", len(rows), rows[0], usageCSVHeader)
		}
		if got := rows[1]; got[3] != catalog.DemoCustomer1 || got[9] != "13" || got[10] != `[{"quantity":13,"tags":[{"key":"team","value":"a"}]}]` {
			t.Errorf("first CSV row = %v, want demo-customer-1, quantity 13, allocations with team=a", got)
		}
	})
	t.Run("JSONL", func(t *testing.T) {
		rc, err := f.c.ExportUsage(f.ctx, UsageQuery{Dimension: "requests"}, "jsonl")
		must(t, "ExportUsage", err)
		defer rc.Close()
		sc := bufio.NewScanner(rc)
		n := 0
		for sc.Scan() {
			var r UsageRecord
			must(t, "decode line", json.Unmarshal(sc.Bytes(), &r))
			if r.Dimension != "requests" {
				t.Errorf("line %d dimension = %s, want requests", n, r.Dimension)
			}
			n++
		}
		must(t, "scan", sc.Err())
		if n != 8 {
			t.Errorf("JSONL = %d lines, want 8", n)
		}
	})
	t.Run("Limit", func(t *testing.T) {
		rc, err := f.c.ExportUsage(f.ctx, UsageQuery{Limit: 3}, "jsonl")
		must(t, "ExportUsage", err)
		defer rc.Close()
		b, err := io.ReadAll(rc)
		must(t, "read", err)
		if n := strings.Count(string(b), "\n"); n != 3 {
			t.Errorf("JSONL with limit 3 = %d lines, want 3", n)
		}
	})
}

func TestUsageSummary(t *testing.T) {
	f := newFixture(t)
	seedUsage(t, f) // demo-product: unpriced
	_, err := f.c.CreateProduct(f.ctx, newProduct("priced"))
	must(t, "CreateProduct", err)
	h := meterd.Hour(t0)
	var records []*meterd.MeteringRecord
	for i, q := range []int64{10, 12, 14} {
		r := record(catalog.DemoCustomer1, "requests", h.Add(-time.Duration(i)*time.Hour), q)
		r.ProductCode = "priced"
		records = append(records, r)
	}
	for i := range 2 {
		r := record(catalog.DemoCustomer1, "storage_gb", h.Add(-time.Duration(i)*time.Hour), 5)
		r.ProductCode = "priced"
		records = append(records, r)
	}
	f.commit(t, records...)

	rows, err := f.c.UsageSummary(f.ctx, UsageQuery{Product: "priced"}, "dimension")
	must(t, "UsageSummary", err)
	want := []SummaryRow{
		{By: "dimension", Group: "requests", Quantity: 36, Records: 3, Amount: "0.0036"},
		{By: "dimension", Group: "storage_gb", Quantity: 10, Records: 2},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("UsageSummary(priced, dimension) = %+v, want %+v", rows, want)
	}
	_, body := f.raw(t, "GET", "/admin/v1/usage/summary?product=priced&by=dimension", "Bearer "+testToken, "")
	var wire []map[string]any
	must(t, "decode summary", json.Unmarshal([]byte(body), &wire))
	if len(wire) != 2 || wire[0]["dimension"] != "requests" || wire[0]["amount"] != "0.0036" || wire[1]["amount"] != nil {
		t.Errorf("summary JSON = %s, want dimension-named rows with an amount only for requests", body)
	}

	// Without a product filter, each product's prices apply to its own rows.
	rows, err = f.c.UsageSummary(f.ctx, UsageQuery{}, "customer")
	must(t, "UsageSummary", err)
	want = []SummaryRow{
		// demo: 4 hours × 2 dimensions of 10..13, priced: 36 (requests) + 10
		// (storage_gb). One row per customer and dimension: units differ.
		{By: "customer", Group: catalog.DemoCustomer1, Dimension: "requests", Quantity: 10 + 11 + 12 + 13 + 36, Records: 7, Amount: "0.0036"},
		{By: "customer", Group: catalog.DemoCustomer1, Dimension: "storage_gb", Quantity: 10 + 11 + 12 + 13 + 10, Records: 6},
		{By: "customer", Group: catalog.DemoCustomer2, Dimension: "requests", Quantity: 10 + 11 + 12 + 13, Records: 4},
		{By: "customer", Group: catalog.DemoCustomer2, Dimension: "storage_gb", Quantity: 10 + 11 + 12 + 13, Records: 4},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("UsageSummary(customer) = %+v, want %+v", rows, want)
	}

	rows, err = f.c.UsageSummary(f.ctx, UsageQuery{}, "tag")
	must(t, "UsageSummary(tag)", err)
	want = []SummaryRow{{By: "tag", Group: "team=a", Quantity: 10 + 11 + 12 + 13, Records: 4}}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("UsageSummary(tag) = %+v, want %+v", rows, want)
	}

	rows, err = f.c.UsageSummary(f.ctx, UsageQuery{Product: "priced"}, "hour")
	must(t, "UsageSummary(hour)", err)
	if len(rows) != 3 || rows[2].Group != h.Format(time.RFC3339) || rows[2].Quantity != 15 || rows[2].Amount != "0.0010" {
		t.Errorf("UsageSummary(priced, hour) = %+v, want 3 hours, the last %s with 15 and amount 0.0010", rows, h.Format(time.RFC3339))
	}

	// One product: its rows (a group's dimensions next to each other) merge
	// in order.
	rows, err = f.c.UsageSummary(f.ctx, UsageQuery{Product: "priced"}, "customer")
	must(t, "UsageSummary(priced, customer)", err)
	want = []SummaryRow{
		{By: "customer", Group: catalog.DemoCustomer1, Dimension: "requests", Quantity: 36, Records: 3, Amount: "0.0036"},
		{By: "customer", Group: catalog.DemoCustomer1, Dimension: "storage_gb", Quantity: 10, Records: 2},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("UsageSummary(priced, customer) = %+v, want %+v", rows, want)
	}
	_, body = f.raw(t, "GET", "/admin/v1/usage/summary?product=priced&by=customer", "Bearer "+testToken, "")
	wire = nil
	must(t, "decode summary", json.Unmarshal([]byte(body), &wire))
	if len(wire) != 2 || wire[0]["customer"] != catalog.DemoCustomer1 || wire[0]["dimension"] != "requests" || wire[1]["dimension"] != "storage_gb" {
		t.Errorf("summary JSON by customer = %s, want customer and dimension in each row", body)
	}
	_, body = f.raw(t, "GET", "/admin/v1/usage/summary?product=priced&by=customer&format=csv", "Bearer "+testToken, "")
	if !strings.HasPrefix(body, "customer,dimension,quantity,records,amount\n"+catalog.DemoCustomer1+",requests,36,3,0.0036\n") {
		t.Errorf("summary CSV by customer = %q, want a dimension column", body)
	}

	rc, err := f.c.ExportUsageSummary(f.ctx, UsageQuery{Product: "priced"}, "dimension")
	must(t, "ExportUsageSummary", err)
	defer rc.Close()
	csvRows, err := csv.NewReader(rc).ReadAll()
	must(t, "read CSV", err)
	wantCSV := [][]string{{"dimension", "quantity", "records", "amount"}, {"requests", "36", "3", "0.0036"}, {"storage_gb", "10", "2", ""}}
	if !reflect.DeepEqual(csvRows, wantCSV) {
		t.Errorf("summary CSV = %v, want %v", csvRows, wantCSV)
	}
}

// TestTopCustomers lists a month's customers by records, the server
// clock's month by default, and refuses a bad month or limit.
func TestTopCustomers(t *testing.T) {
	f := newFixture(t)
	h := meterd.Hour(t0)
	var records []*meterd.MeteringRecord
	for i := range 3 {
		records = append(records, record(catalog.DemoCustomer1, "requests", h.Add(-time.Duration(i)*time.Hour), 2))
	}
	records = append(records, record(catalog.DemoCustomer2, "requests", h, 50),
		record(catalog.DemoCustomer2, "requests", h.AddDate(0, -1, 0), 7)) // October
	f.commit(t, records...)

	top, err := f.c.TopCustomers(f.ctx, time.Time{}, 10, 0)
	must(t, "TopCustomers", err)
	want := []TopCustomer{{catalog.DemoProduct, catalog.DemoCustomer1, 3, 6}, {catalog.DemoProduct, catalog.DemoCustomer2, 1, 50}}
	if !reflect.DeepEqual(top, want) {
		t.Errorf("TopCustomers(November) = %+v, want %+v", top, want)
	}
	top, err = f.c.TopCustomers(f.ctx, h.AddDate(0, -1, 0), 1, 0)
	must(t, "TopCustomers", err)
	if want := []TopCustomer{{catalog.DemoProduct, catalog.DemoCustomer2, 1, 7}}; !reflect.DeepEqual(top, want) {
		t.Errorf("TopCustomers(October, 1) = %+v, want %+v", top, want)
	}
	for _, q := range []string{"limit=0", "limit=1001", "limit=x", "month=2026-11"} {
		code, body := f.raw(t, "GET", "/admin/v1/usage/top?"+q, "Bearer "+testToken, "")
		if code != http.StatusBadRequest {
			t.Errorf("GET /admin/v1/usage/top?%s = %d %s, want 400", q, code, body)
		}
	}
}

// TestRollups reports how far the rollups trail the ledger, and a summary,
// usage or top customers of a tail_limit counts that many seqs of the records
// after the watermark, none after them; a bad tail_limit is refused.
func TestRollups(t *testing.T) {
	f := newFixture(t)
	store := f.ledger
	store.StopRoller()
	h := meterd.Hour(t0)
	var records []*meterd.MeteringRecord
	for i := range 5 {
		records = append(records, record(catalog.DemoCustomer1, "requests", h.Add(-time.Duration(i)*time.Hour), int64(1+i)))
	}
	f.commit(t, records...)
	if _, err := store.RollUp(f.ctx, 2); err != nil {
		t.Fatal(err)
	}
	st, err := f.c.Rollups(f.ctx)
	must(t, "Rollups", err)
	if st.Behind != 3 || st.LastSeq-st.Watermark != 3 || st.Watermark < 2 {
		t.Fatalf("Rollups = %+v, want 3 records behind", st)
	}
	// The rollups hold quantities 1 and 2; the tail 3, 4 and 5.
	for _, c := range []struct {
		tail     int64
		quantity int64
	}{{0, 15}, {1, 6}, {2, 10}, {3, 15}, {50, 15}} {
		rows, err := f.c.UsageSummary(f.ctx, UsageQuery{Product: catalog.DemoProduct, TailLimit: c.tail}, "dimension")
		must(t, "UsageSummary", err)
		if len(rows) != 1 || rows[0].Quantity != c.quantity {
			t.Errorf("summary of tail_limit %d = %+v, want quantity %d", c.tail, rows, c.quantity)
		}
		page, err := f.c.Usage(f.ctx, UsageQuery{Product: catalog.DemoProduct, TailLimit: c.tail})
		must(t, "Usage", err)
		var q int64
		for _, r := range page.Records {
			q += r.Quantity
		}
		if q != c.quantity {
			t.Errorf("usage of tail_limit %d = %+v, want quantity %d", c.tail, page.Records, c.quantity)
		}
		top, err := f.c.TopCustomers(f.ctx, time.Time{}, 10, c.tail)
		must(t, "TopCustomers", err)
		if len(top) != 1 || top[0].Quantity != c.quantity {
			t.Errorf("top customers of tail_limit %d = %+v, want quantity %d", c.tail, top, c.quantity)
		}
	}
	for _, path := range []string{"/admin/v1/usage/summary?tail_limit=0", "/admin/v1/usage/summary?tail_limit=-3", "/admin/v1/usage/top?tail_limit=x", "/admin/v1/usage?tail_limit=1.5"} {
		code, body := f.raw(t, "GET", path, "Bearer "+testToken, "")
		if code != http.StatusBadRequest || !strings.Contains(body, "tail_limit") {
			t.Errorf("GET %s = %d %s, want 400 naming tail_limit", path, code, body)
		}
	}
}
