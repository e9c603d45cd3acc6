package relay

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/internal/meterdtest"
)

// upstream is a real meterd process with its clock and admin client.
type upstream struct {
	srv   *meterdtest.Server
	admin *admin.Client
}

// startUpstream runs `meterd serve` with the demo catalog (seller key
// test/test, demo-product, demo-customer-1 and -2) and its clock at now.
func startUpstream(t *testing.T, now time.Time) *upstream {
	t.Helper()
	srv := meterdtest.Serve(t, meterdtest.Build(t))
	u := &upstream{srv: srv, admin: admin.NewClient(srv.URL, srv.AdminToken)}
	u.setClock(t, now)
	// The demo catalog was applied at wall time: apply it again at now, so
	// that its customers' licenses start then and cover the test's hours.
	if err := u.admin.Reset(context.Background()); err != nil {
		t.Fatal(err)
	}
	return u
}

func (u *upstream) setClock(t *testing.T, now time.Time) {
	t.Helper()
	if _, err := u.admin.SetClock(context.Background(), now); err != nil {
		t.Fatal(err)
	}
}

// relayTo returns a relay (clock at now) submitting to u as the demo seller.
func relayTo(t *testing.T, u *upstream, cfg Config, now time.Time) (*Relay, *Client) {
	t.Helper()
	return relayVia(t, u.srv.URL, cfg, now)
}

// relayVia returns a relay (clock at now) submitting to endpoint as the
// demo seller.
func relayVia(t *testing.T, endpoint string, cfg Config, now time.Time) (*Relay, *Client) {
	t.Helper()
	return relayAs(t, endpoint, "test", "test", cfg, now)
}

// relayAs returns a relay (clock at now) submitting to endpoint with the
// access key id and secret.
func relayAs(t *testing.T, endpoint, keyID, secret string, cfg Config, now time.Time) (*Relay, *Client) {
	t.Helper()
	up, err := NewUpstream(UpstreamConfig{Endpoint: endpoint, AccessKeyID: keyID, SecretAccessKey: secret}, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Upstream = up
	cfg.Rate = 1000 // the test's requests are few; no need to wait
	cfg.RetryBase = time.Millisecond
	cfg.RetryMax = 10 * time.Millisecond
	if testing.Verbose() {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return newTestRelay(t, cfg, now)
}

// expected sums what the relay should submit: per (customer, dimension,
// hour) the quantity and the quantity per canonical tag set.
type expected map[string]map[string]int64

func (e expected) add(customer, dim string, hour time.Time, tags map[string]string, q int64) {
	k := fmt.Sprintf("%s/%s/%s", customer, dim, hour.Format(time.RFC3339))
	if e[k] == nil {
		e[k] = map[string]int64{}
	}
	e[k]["total"] += q
	e[k]["tags:"+canonicalTags(tags)] += q
}

// ledgerOf reads meterd's ledger in the same shape as expected.
func ledgerOf(t *testing.T, u *upstream, from, to time.Time) (expected, map[string]string) {
	t.Helper()
	got := expected{}
	ids := map[string]string{}
	q := admin.UsageQuery{Product: "demo-product", From: from, To: to, Limit: 10000}
	for {
		page, err := u.admin.Usage(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Records {
			k := fmt.Sprintf("%s/%s/%s", r.CustomerIdentifier, r.Dimension, r.Hour.UTC().Format(time.RFC3339))
			if got[k] != nil {
				t.Errorf("meterd has two records for %s", k)
			}
			got[k] = map[string]int64{"total": r.Quantity}
			ids[k] = r.ID
			if len(r.Allocations) == 0 {
				got[k]["tags:"] = r.Quantity
			}
			for _, a := range r.Allocations {
				m := map[string]string{}
				for _, tg := range a.Tags {
					m[tg.Key] = tg.Value
				}
				got[k]["tags:"+canonicalTags(m)] += a.Quantity
			}
		}
		if page.NextCursor == "" {
			return got, ids
		}
		q.After = page.NextCursor
	}
}

func TestRelayToMeterd(t *testing.T) {
	ctx := context.Background()
	h0 := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	h1 := h0.Add(time.Hour)
	now := h0.Add(50 * time.Minute)
	u := startUpstream(t, now)
	r, c := relayTo(t, u, Config{Products: []string{"demo-product"}, Grace: 5 * time.Minute}, now)
	setBoth := func(at time.Time) {
		t.Helper()
		now = at
		u.setClock(t, at)
		r.Clock().Set(at)
	}

	customers := []string{"demo-customer-1", "demo-customer-2"}
	dims := []string{"requests", "storage_gb"}
	tagSets := []map[string]string{nil, {"team": "a"}, {"team": "b", "env": "prod"}}
	want := expected{}
	// send posts n events for hour h (ids prefix-i), each twice: once in
	// this request and once in the next, so every id repeats.
	send := func(prefix string, h time.Time, n, span int) {
		t.Helper()
		var events []Event
		for i := range n {
			e := Event{
				ID:                 fmt.Sprintf("%s-%d", prefix, i),
				ProductCode:        "demo-product",
				CustomerIdentifier: customers[i%2],
				Dimension:          dims[(i/2)%2],
				Quantity:           qty(int64(i%7 + 1)),
				Timestamp:          h.Add(time.Duration(i%span) * time.Minute),
				Tags:               tagSets[i%3],
			}
			events = append(events, e)
		}
		for pass := range 2 {
			for start := 0; start < n; start += 500 {
				batch := events[start:min(start+500, n)]
				rs, err := c.Send(ctx, batch)
				if err != nil {
					t.Fatal(err)
				}
				for j, res := range rs {
					wantStatus := StatusAccepted
					if pass == 1 {
						wantStatus = StatusDuplicate
					}
					if res.Status != wantStatus || res.Late {
						t.Fatalf("pass %d: event %s = %+v, want %s", pass, batch[j].ID, res, wantStatus)
					}
				}
			}
		}
		for _, e := range events {
			want.add(e.CustomerIdentifier, e.Dimension, h, e.Tags, *e.Quantity)
		}
	}

	send("h0", h0, 2000, 50)
	// The hour has not closed: nothing is submitted.
	if n, err := r.Submit(ctx); err != nil || n != 0 {
		t.Fatalf("Submit before the hour closed = %d, %v, want 0, nil", n, err)
	}
	// After the hour closed but before it was submitted, events still join it.
	setBoth(h1.Add(20 * time.Minute))
	send("h0-after-close", h0, 300, 50)
	send("h1", h1, 1000, 20)
	if n, err := r.Submit(ctx); err != nil || n != 4 {
		t.Fatalf("Submit after hour %s closed = %d, %v, want 4 records, nil", h0.Format(time.RFC3339), n, err)
	}
	// Now the hour is submitted: events for it are late and counted in
	// the current hour.
	var late []Event
	for i := range 10 {
		late = append(late, ev(fmt.Sprintf("late-%d", i), "demo-customer-1", "requests", 1, h0.Add(30*time.Minute), nil))
		want.add("demo-customer-1", "requests", h1, nil, 1)
	}
	rs, err := c.Send(ctx, late)
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range rs {
		if res.Status != StatusAccepted || !res.Late {
			t.Fatalf("late event = %+v, want accepted and late", res)
		}
	}
	setBoth(h1.Add(70 * time.Minute))
	if n, err := r.Submit(ctx); err != nil || n != 4 {
		t.Fatalf("Submit after hour %s closed = %d, %v, want 4 records, nil", h1.Format(time.RFC3339), n, err)
	}

	got, ids := ledgerOf(t, u, h0, h0.Add(3*time.Hour))
	compareSums(t, got, want)
	report, err := c.Report(ctx, h0, h0.Add(3*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(report) != len(want) {
		t.Errorf("report has %d rows, want %d", len(report), len(want))
	}
	for _, row := range report {
		k := fmt.Sprintf("%s/%s/%s", row.Customer, row.Dimension, row.Hour.Format(time.RFC3339))
		if !row.Submitted || row.Outcome != OutcomeSuccess || row.MeteringRecordID != ids[k] || row.Quantity != want[k]["total"] {
			t.Errorf("report row %s = %+v, want submitted Success %s quantity %d", k, row, ids[k], want[k]["total"])
		}
	}
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Backlog != 0 || st.Outcomes[OutcomeSuccess] != 8 || st.LateEvents != 10 || st.Events != 2000+300+1000+10 {
		t.Errorf("Status = %+v, want no backlog, 8 Success, 10 late of 3310 events", st)
	}

	// A crash between the upstream's answer and storing it: the frozen
	// record is sent again, identical, and meterd answers the same id.
	if _, err := r.store.db.Exec(`UPDATE aggregates SET state = 'frozen', outcome = '', metering_record_id = ''`); err != nil {
		t.Fatal(err)
	}
	if n, err := r.Submit(ctx); err != nil || n != 8 {
		t.Fatalf("Submit after a lost outcome = %d, %v, want 8 records, nil", n, err)
	}
	again, ids2 := ledgerOf(t, u, h0, h0.Add(3*time.Hour))
	compareSums(t, again, want)
	report, err = c.Report(ctx, h0, h0.Add(3*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range report {
		k := fmt.Sprintf("%s/%s/%s", row.Customer, row.Dimension, row.Hour.Format(time.RFC3339))
		if row.Outcome != OutcomeSuccess || row.MeteringRecordID != ids2[k] || ids2[k] != ids[k] {
			t.Errorf("resubmitted %s = %s %s, want Success with the first id %s", k, row.Outcome, row.MeteringRecordID, ids[k])
		}
	}
}

// compareSums fails unless meterd's records equal the expected sums.
func compareSums(t *testing.T, got, want expected) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("meterd has %d records, want %d", len(got), len(want))
	}
	for k, w := range want {
		g := got[k]
		if len(g) != len(w) {
			t.Errorf("record %s = %v, want %v", k, g, w)
			continue
		}
		for tk, q := range w {
			if g[tk] != q {
				t.Errorf("record %s %s = %d, want %d", k, tk, g[tk], q)
			}
		}
	}
}

// TestRelayAccountID sends events that name the customer by AWS account id:
// the record goes upstream with CustomerAWSAccountId.
func TestRelayAccountID(t *testing.T) {
	ctx := context.Background()
	h0 := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	now := h0.Add(30 * time.Minute)
	u := startUpstream(t, now)
	if _, err := u.admin.Subscribe(ctx, "demo-product", admin.SubscribeInput{AWSAccountID: "123456789012"}); err != nil {
		t.Fatal(err)
	}
	r, c := relayTo(t, u, Config{}, now)
	var events []Event
	for i := range 3 {
		e := ev(fmt.Sprintf("a-%d", i), "", "requests", int64(i+1), h0.Add(time.Duration(i)*time.Minute), nil)
		e.CustomerAWSAccountID = "123456789012"
		events = append(events, e)
	}
	if _, err := c.Send(ctx, events); err != nil {
		t.Fatal(err)
	}
	now = h0.Add(70 * time.Minute)
	u.setClock(t, now)
	r.Clock().Set(now)
	if n, err := r.Submit(ctx); err != nil || n != 1 {
		t.Fatalf("Submit = %d, %v, want 1, nil", n, err)
	}
	page, err := u.admin.Usage(ctx, admin.UsageQuery{Product: "demo-product", From: h0, To: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Records) != 1 || page.Records[0].CustomerAWSAccountID != "123456789012" || page.Records[0].Quantity != 6 {
		t.Errorf("meterd records = %+v, want one of account 123456789012 with quantity 6", page.Records)
	}
}
