package relay

import (
	"context"
	"fmt"
	"math"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd"
)

// TestQuantityOverflow reproduces issue 19's finding on both stores: two
// events of one key-hour with quantities 2 and 9223372036854775807 were
// both accepted, and the sum of 5 + 2×MaxInt64 in one request wrapped to
// 3. Every quantity above 2147483647 is now rejected, and sums are checked
// within a request and across requests without overflow. A row an older
// relay let overflow (a REAL in SQLite, a sum beyond any record on
// PostgreSQL) is quarantined: the other customers' records are submitted,
// intake for that key-hour refuses events instead of failing the request,
// the report answers 200, and the status and a metric show it.
func TestQuantityOverflow(t *testing.T) { eachStore(t, testQuantityOverflow) }

func testQuantityOverflow(t *testing.T, dsn string) {
	ctx := context.Background()
	s := openDSN(t, dsn)
	up := &countingUpstream{sent: map[string]int{}, requests: 2} // no pairing of requests
	clock := &meterd.ServerClock{}
	now := t0.Add(10 * time.Minute)
	clock.Set(now)
	r := New(Config{Store: s, Upstream: up, Clock: clock, Token: "secret", Rate: 1000})
	srv := httptest.NewServer(r.Handler())
	t.Cleanup(srv.Close)
	c := NewClient(srv.URL, "secret")

	send := func(events []Event) []Result {
		t.Helper()
		rs, err := c.Send(ctx, events)
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	check := func(name string, rs []Result, want ...string) {
		t.Helper()
		if got := statuses(rs); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s: statuses = %v (%+v), want %v", name, got, rs, want)
		}
	}
	const maxInt64 = math.MaxInt64
	rs := send([]Event{ev("a1", "c1", "requests", 2, now, nil), ev("a2", "c1", "requests", maxInt64, now, nil)})
	check("2 and MaxInt64", rs, StatusAccepted, StatusRejected)
	if !strings.Contains(rs[1].Error, "2147483647") {
		t.Errorf("error for MaxInt64 = %q, want it to name the limit 2147483647", rs[1].Error)
	}
	rs = send([]Event{ev("b1", "c2", "requests", 5, now, nil), ev("b2", "c2", "requests", maxInt64, now, nil), ev("b3", "c2", "requests", maxInt64, now, nil)})
	check("5 + 2×MaxInt64", rs, StatusAccepted, StatusRejected, StatusRejected)
	// At the limit, within one request and across requests.
	check("sum up to the limit", send([]Event{ev("d1", "c3", "requests", maxQuantity-1000, now, nil), ev("d2", "c3", "requests", 999, now, nil)}),
		StatusAccepted, StatusAccepted)
	check("sum beyond the limit", send([]Event{ev("d3", "c3", "requests", 2, now, nil), ev("d4", "c3", "requests", 1, now, nil),
		ev("d5", "c3", "requests", maxQuantity, now, nil)}), StatusRejected, StatusAccepted, StatusRejected)
	raw, err := c.SendRaw(ctx, []byte(`{"id":"big","product_code":"demo-product","customer_identifier":"c4","dimension":"requests","quantity":99999999999999999999,"timestamp":"`+now.Format(time.RFC3339)+`"}`))
	if err != nil || len(raw) != 1 || raw[0].Status != StatusRejected || !strings.Contains(raw[0].Error, "out of range") {
		t.Errorf("quantity beyond int64 = %+v, %v, want rejected as out of range", raw, err)
	}
	recs, err := s.Records(ctx, t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]int64{}
	for _, rec := range recs {
		sums[rec.Customer] = rec.Quantity
	}
	if sums["c1"] != 2 || sums["c2"] != 5 || sums["c3"] != maxQuantity {
		t.Errorf("sums = %v, want c1 2, c2 5, c3 %d", sums, maxQuantity)
	}

	// What an older relay left: on SQLite the overflowed sum became a REAL
	// (2 + MaxInt64), on PostgreSQL a bigint no record can carry.
	corrupt := `UPDATE aggregates SET quantity = quantity + 9223372036854775807 WHERE customer = 'c1'`
	if s.postgres {
		corrupt = `UPDATE aggregates SET quantity = 9223372036854775807 WHERE customer = 'c1'`
	}
	if _, err := s.db.ExecContext(ctx, corrupt); err != nil {
		t.Fatal(err)
	}
	if !s.postgres {
		var typ string
		if err := s.db.QueryRowContext(ctx, `SELECT typeof(quantity) FROM aggregates WHERE customer = 'c1'`).Scan(&typ); err != nil || typ != "real" {
			t.Fatalf("corrupted quantity is %q, %v, want a real as the old relay stored it", typ, err)
		}
	}
	rs = send([]Event{ev("e1", "c1", "requests", 1, now, nil), ev("e2", "c5", "requests", 1, now, nil)})
	check("events after the corruption", rs, StatusRejected, StatusAccepted)
	if _, err := c.Report(ctx, t0, t0.Add(time.Hour)); err != nil {
		t.Errorf("Report with an unreadable row = %v, want it answered", err)
	}

	clock.Set(t0.Add(time.Hour + 10*time.Minute)) // the hour has closed
	n, err := r.Submit(ctx)
	if err != nil || n != 3 {
		t.Fatalf("Submit = %d, %v, want the 3 other customers' records, nil", n, err)
	}
	for _, customer := range []string{"c2", "c3", "c5"} {
		if up.sent[fmt.Sprint(matchKey{customer, "requests", t0.Unix()})] != 1 {
			t.Errorf("record of %s sent %d times, want once (sent: %v)", customer, up.sent[fmt.Sprint(matchKey{customer, "requests", t0.Unix()})], up.sent)
		}
	}
	if n, err := r.Submit(ctx); err != nil || n != 0 {
		t.Errorf("second Submit = %d, %v, want 0, nil", n, err)
	}
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Quarantined != 1 || st.Backlog != 0 || st.LastQuarantined == nil || st.LastQuarantined.Customer != "c1" ||
		!strings.Contains(st.LastQuarantined.Reason, "not an integer from 0 to 2147483647") {
		t.Errorf("Status = %+v (last quarantined %+v), want 1 quarantined record of c1 and no backlog", st, st.LastQuarantined)
	}
	if got := testCounter(t, r.metrics.quarantined); got != 1 {
		t.Errorf("meterd_relay_quarantined_total = %v, want 1", got)
	}
	report, err := c.Report(ctx, t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range report {
		if (row.Customer == "c1") != (row.Quarantined != "") || row.Customer != "c1" && row.Outcome != OutcomeSuccess {
			t.Errorf("report row %+v: want c1 quarantined, the others Success", row)
		}
	}
}
