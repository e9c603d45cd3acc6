package relay

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/pgtest"
)

var t0 = time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)

// cluster is the PostgreSQL server of this package's tests.
var cluster *pgtest.Cluster

func TestMain(m *testing.M) {
	if os.Getenv(groupCrashEnv) != "" {
		os.Exit(m.Run()) // TestGroupCommitCrash's child: SQLite only, no PostgreSQL server to leave behind
	}
	os.Exit(pgtest.Main(m, &cluster))
}

// openStore opens a new SQLite store and returns it with its path.
func openStore(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "relay.db")
	return openDSN(t, path), path
}

// openDSN opens the store named by dsn until the test ends.
func openDSN(t *testing.T, dsn string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// eachStore runs test once per store dialect, each time with the name of a
// new, empty store: the same assertions hold on SQLite and PostgreSQL.
func eachStore(t *testing.T, test func(t *testing.T, dsn string)) {
	t.Run("SQLite", func(t *testing.T) { test(t, filepath.Join(t.TempDir(), "relay.db")) })
	t.Run("PostgreSQL", func(t *testing.T) { test(t, cluster.NewDatabase(t)) })
}

func qty(n int64) *int64 { return &n }

func ev(id, customer, dim string, q int64, ts time.Time, tags map[string]string) Event {
	return Event{ID: id, ProductCode: "demo-product", CustomerIdentifier: customer, Dimension: dim, Quantity: qty(q), Timestamp: ts, Tags: tags}
}

func statuses(rs []Result) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Status
		if r.Late {
			out[i] += "+late"
		}
	}
	return out
}

func TestStoreIngestFreeze(t *testing.T) { eachStore(t, testStoreIngestFreeze) }

func testStoreIngestFreeze(t *testing.T, dsn string) {
	ctx := context.Background()
	s := openDSN(t, dsn)
	now := t0.Add(30 * time.Minute)
	a := map[string]string{"team": "a"}
	b := map[string]string{"team": "b", "env": "prod"}
	events := []Event{
		ev("e1", "c1", "requests", 3, t0.Add(time.Minute), a),
		ev("e2", "c1", "requests", 4, t0.Add(2*time.Minute), b),
		ev("e1", "c1", "requests", 3, t0.Add(time.Minute), a), // repeated id
		ev("e3", "c1", "requests", 5, t0.Add(3*time.Minute), nil),
		ev("e4", "c1", "requests", 1, t0.Add(4*time.Minute), a),
		ev("e5", "c2", "requests", 7, t0.Add(5*time.Minute), nil),
	}
	rs, err := s.Ingest(ctx, events, now, LateCurrentHour)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"accepted", "accepted", "duplicate", "accepted", "accepted", "accepted"}
	if got := statuses(rs); !equal(got, want) {
		t.Fatalf("Ingest statuses = %v, want %v", got, want)
	}
	// The same request again: every id is a duplicate.
	rs, err = s.Ingest(ctx, events, now, LateCurrentHour)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rs {
		if r.Status != StatusDuplicate {
			t.Errorf("second Ingest result %d = %q, want duplicate", i, r.Status)
		}
	}
	if n, err := s.Freeze(ctx, t0); err != nil || n != 2 {
		t.Fatalf("Freeze = %d, %v, want 2, nil", n, err)
	}
	// Reopen: everything is on disk.
	s.Close()
	s = openDSN(t, dsn)
	recs, err := s.Records(ctx, t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("Records = %d records, want 2", len(recs))
	}
	c1, c2 := recs[0], recs[1]
	if c1.Customer != "c1" || c1.Quantity != 13 || c1.Events != 4 || c1.State != StateFrozen {
		t.Errorf("c1 = %s %d (%d events) %s, want c1 13 (4 events) frozen", c1.Customer, c1.Quantity, c1.Events, c1.State)
	}
	q := func(n int64) *int64 { return &n }
	wantAllocs := []meterd.UsageAllocation{
		{AllocatedUsageQuantity: q(5)},
		{AllocatedUsageQuantity: q(4), Tags: []meterd.Tag{{Key: "env", Value: "prod"}, {Key: "team", Value: "b"}}},
		{AllocatedUsageQuantity: q(4), Tags: []meterd.Tag{{Key: "team", Value: "a"}}},
	}
	if got, want := meterd.CanonicalAllocations(c1.Allocations), meterd.CanonicalAllocations(wantAllocs); got != want {
		t.Errorf("c1 allocations = %s, want %s", got, want)
	}
	if !c1.Timestamp.Equal(t0.Add(4 * time.Minute)) {
		t.Errorf("c1 timestamp = %s, want the latest event's %s", c1.Timestamp, t0.Add(4*time.Minute))
	}
	if c2.Quantity != 7 || c2.Allocations != nil {
		t.Errorf("c2 = %d %v, want 7 without allocations", c2.Quantity, c2.Allocations)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestStoreLate(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		late     string
		want     string
		nextHour int64 // quantity in the current hour afterwards
	}{
		{"CurrentHour", LateCurrentHour, "accepted+late", 2},
		{"Refuse", LateRefuse, "rejected", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eachStore(t, func(t *testing.T, dsn string) {
				s := openDSN(t, dsn)
				now := t0.Add(10 * time.Minute)
				if _, err := s.Ingest(ctx, []Event{ev("e1", "c1", "requests", 1, now, nil)}, now, tt.late); err != nil {
					t.Fatal(err)
				}
				if _, err := s.Freeze(ctx, t0); err != nil {
					t.Fatal(err)
				}
				now = t0.Add(70 * time.Minute)
				rs, err := s.Ingest(ctx, []Event{ev("e2", "c1", "requests", 2, t0.Add(20*time.Minute), nil)}, now, tt.late)
				if err != nil {
					t.Fatal(err)
				}
				if got := statuses(rs)[0]; got != tt.want {
					t.Fatalf("late event = %s (%s), want %s", got, rs[0].Error, tt.want)
				}
				recs, err := s.Records(ctx, t0, t0.Add(2*time.Hour))
				if err != nil {
					t.Fatal(err)
				}
				if recs[0].Quantity != 1 {
					t.Errorf("frozen hour quantity = %d, want 1 (unchanged)", recs[0].Quantity)
				}
				var next int64
				if len(recs) > 1 {
					next = recs[1].Quantity
				}
				if next != tt.nextHour {
					t.Errorf("current hour quantity = %d, want %d", next, tt.nextHour)
				}
			})
		})
	}
}

func TestStoreTagLimits(t *testing.T) { eachStore(t, testStoreTagLimits) }

func testStoreTagLimits(t *testing.T, dsn string) {
	ctx := context.Background()
	s := openDSN(t, dsn)
	now := t0.Add(10 * time.Minute)
	var events []Event
	for _, k := range []string{"a", "b", "c", "d", "e", "f"} {
		events = append(events, ev("e"+k, "c1", "requests", 1, now, map[string]string{k: "x"}))
	}
	rs, err := s.Ingest(ctx, events, now, LateCurrentHour)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"accepted", "accepted", "accepted", "accepted", "accepted", "rejected"}
	if got := statuses(rs); !equal(got, want) {
		t.Errorf("six tag keys in one hour = %v, want %v", got, want)
	}
}

func TestSubmitExpires(t *testing.T) {
	ctx := context.Background()
	now := t0.Add(10 * time.Minute)
	r, _ := newTestRelay(t, Config{}, now) // no upstream: nothing may be sent
	if _, err := r.store.Ingest(ctx, []Event{ev("e1", "c1", "requests", 1, now, nil)}, now, LateCurrentHour); err != nil {
		t.Fatal(err)
	}
	r.Clock().Set(now.Add(6 * time.Hour))
	if n, err := r.Submit(ctx); err != nil || n != 1 {
		t.Fatalf("Submit = %d, %v, want 1, nil", n, err)
	}
	recs, err := r.store.Records(ctx, t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if recs[0].State != StateSubmitted || recs[0].Outcome != OutcomeExpired {
		t.Errorf("record = %s %s, want submitted Expired", recs[0].State, recs[0].Outcome)
	}
}

func TestStoreHeartbeats(t *testing.T) { eachStore(t, testStoreHeartbeats) }

func testStoreHeartbeats(t *testing.T, dsn string) {
	ctx := context.Background()
	now := t0.Add(10 * time.Minute)
	s := openDSN(t, dsn)
	events := []Event{ev("e1", "c1", "requests", 2, now, nil), ev("e2", "c2", "storage_gb", 3, now, nil)}
	if _, err := s.Ingest(ctx, events, now, LateCurrentHour); err != nil {
		t.Fatal(err)
	}
	// Hours t0+1h and t0+2h have no events for either customer.
	if n, err := s.Heartbeats(ctx, t0, t0.Add(2*time.Hour)); err != nil || n != 4 {
		t.Fatalf("Heartbeats = %d, %v, want 4 (2 keys x 2 hours), nil", n, err)
	}
	// Again: nothing new.
	if n, err := s.Heartbeats(ctx, t0, t0.Add(2*time.Hour)); err != nil || n != 0 {
		t.Fatalf("Heartbeats again = %d, %v, want 0, nil", n, err)
	}
	recs, err := s.Records(ctx, t0, t0.Add(3*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var zero int
	for _, rec := range recs {
		if rec.Hour.After(t0) {
			if rec.Quantity != 0 || rec.Events != 0 || rec.State != StateFrozen || !rec.Timestamp.Equal(rec.Hour) {
				t.Errorf("heartbeat %+v, want quantity 0, no events, frozen at the hour's start", rec)
			}
			zero++
		}
	}
	if zero != 4 {
		t.Errorf("heartbeat records = %d, want 4", zero)
	}
}

func TestStorePrune(t *testing.T) { eachStore(t, testStorePrune) }

func testStorePrune(t *testing.T, dsn string) {
	ctx := context.Background()
	s := openDSN(t, dsn)
	now := t0.Add(10 * time.Minute)
	if _, err := s.Ingest(ctx, []Event{ev("e1", "c1", "requests", 1, now, nil)}, now, LateCurrentHour); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Prune(ctx, now); err != nil || n != 0 {
		t.Fatalf("Prune(received time) = %d, %v, want 0, nil", n, err)
	}
	if n, err := s.Prune(ctx, now.Add(time.Millisecond)); err != nil || n != 1 {
		t.Fatalf("Prune(after) = %d, %v, want 1, nil", n, err)
	}
	later := now.Add(time.Minute)
	rs, err := s.Ingest(ctx, []Event{ev("e1", "c1", "requests", 1, later, nil)}, later, LateCurrentHour)
	if err != nil || rs[0].Status != StatusAccepted {
		t.Errorf("Ingest of a forgotten id = %+v, %v, want accepted", rs, err)
	}
}

func TestStoreLicenseArn(t *testing.T) { eachStore(t, testStoreLicenseArn) }

// testStoreLicenseArn: a key-hour's record carries one LicenseArn, so an
// event naming another one (or none) is refused, in the same request or a
// later one, while other key-hours take it.
func testStoreLicenseArn(t *testing.T, dsn string) {
	ctx := context.Background()
	s := openDSN(t, dsn)
	now := t0.Add(10 * time.Minute)
	withArn := func(id, dim, arn string) Event {
		e := ev(id, "c1", dim, 1, now, nil)
		e.LicenseArn = arn
		return e
	}
	const a, b = "arn:aws:license-manager::111122223333:license:l-a", "arn:aws:license-manager::111122223333:license:l-b"
	rs, err := s.Ingest(ctx, []Event{withArn("e1", "requests", a), withArn("e2", "requests", a), withArn("e3", "requests", b), withArn("e4", "storage_gb", b)}, now, LateCurrentHour)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := statuses(rs), []string{"accepted", "accepted", "rejected", "accepted"}; !equal(got, want) {
		t.Errorf("statuses = %v, want %v", got, want)
	}
	if !strings.Contains(rs[2].Error, "license_arn") {
		t.Errorf("refusal = %q, want it to name license_arn", rs[2].Error)
	}
	rs, err = s.Ingest(ctx, []Event{withArn("e5", "requests", ""), withArn("e6", "requests", a)}, now, LateCurrentHour)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := statuses(rs), []string{"rejected", "accepted"}; !equal(got, want) {
		t.Errorf("later statuses = %v, want %v", got, want)
	}
}
