package relay

import (
	"context"
	"errors"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/meterd/meterd/admin"
)

// TestRelayCredentialErrorsRetried submits to a meterd that first does
// not know the relay's access key (UnrecognizedClientException), then
// knows it with another secret (InvalidSignatureException), then with the
// relay's secret: the record is never final while the credentials are
// refused, the refusal is alerted in the status and the metrics, and the
// record lands once the key is fixed.
func TestRelayCredentialErrorsRetried(t *testing.T) {
	ctx := context.Background()
	h0 := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	now := h0.Add(70 * time.Minute)
	u := startUpstream(t, now)
	const keyID, secret = "AKIDRELAYROTATED", "the-relays-secret"
	r, c := relayAs(t, u.srv.URL, keyID, secret, Config{}, now)
	r.cfg.RetryBase, r.cfg.RetryMax = time.Nanosecond, time.Nanosecond // retries due at once
	if _, err := c.Send(ctx, []Event{ev("e1", "demo-customer-1", "requests", 7, h0.Add(time.Minute), nil)}); err != nil {
		t.Fatal(err)
	}
	refused := func(code string) {
		t.Helper()
		for range 3 {
			if n, err := r.Submit(ctx); err != nil || n != 0 {
				t.Fatalf("Submit with refused credentials = %d, %v, want 0 records settled, nil", n, err)
			}
		}
		st, err := c.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Frozen != 1 || st.Outcomes[OutcomeFailed] != 0 || st.UpstreamAuth == nil || st.UpstreamAuth.Code != code {
			t.Fatalf("Status = %+v (auth %+v), want 1 frozen record, none Failed, an upstream auth error %s", st, st.UpstreamAuth, code)
		}
		if n := testCounter(t, r.metrics.authErrors.WithLabelValues(code)); n < 3 {
			t.Errorf("meterd_relay_upstream_auth_errors_total{code=%q} = %v, want at least 3", code, n)
		}
		if g := gaugeValue(t, r.metrics.authFailing); g != 1 {
			t.Errorf("meterd_relay_upstream_auth_failing = %v, want 1", g)
		}
	}
	refused("UnrecognizedClientException")
	if _, err := u.admin.CreateKey(ctx, "111122223333", admin.AccessKeyInput{ID: keyID, Secret: "another-secret"}); err != nil {
		t.Fatal(err)
	}
	refused("InvalidSignatureException")
	// The operator fixes the key.
	if err := u.admin.DeleteKey(ctx, keyID); err != nil {
		t.Fatal(err)
	}
	if _, err := u.admin.CreateKey(ctx, "111122223333", admin.AccessKeyInput{ID: keyID, Secret: secret}); err != nil {
		t.Fatal(err)
	}
	if n, err := r.Submit(ctx); err != nil || n != 1 {
		t.Fatalf("Submit with the fixed key = %d, %v, want 1, nil", n, err)
	}
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Outcomes[OutcomeSuccess] != 1 || st.UpstreamAuth != nil {
		t.Errorf("Status after the fix = %+v (auth %+v), want 1 Success and no auth error", st, st.UpstreamAuth)
	}
	if g := gaugeValue(t, r.metrics.authFailing); g != 0 {
		t.Errorf("meterd_relay_upstream_auth_failing after the fix = %v, want 0", g)
	}
	got, _ := ledgerOf(t, u, h0, now)
	compareSums(t, got, expected{"demo-customer-1/requests/" + h0.Format(time.RFC3339): {"total": 7, "tags:": 7}})
}

// TestRelayRequeue fails a record for good (a dimension meterd does not
// know), adds the dimension and requeues it: it lands. Requeued once more
// as if its outcome had been lost, it is sent again identical, and meterd
// answers the same MeteringRecordId and keeps one record.
func TestRelayRequeue(t *testing.T) {
	ctx := context.Background()
	h0 := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	now := h0.Add(70 * time.Minute)
	u := startUpstream(t, now)
	r, c := relayTo(t, u, Config{}, now)
	events := []Event{
		ev("e1", "demo-customer-1", "late_dimension", 3, h0.Add(time.Minute), map[string]string{"team": "a"}),
		ev("e2", "demo-customer-1", "late_dimension", 4, h0.Add(2*time.Minute), nil),
	}
	if _, err := c.Send(ctx, events); err != nil {
		t.Fatal(err)
	}
	if n, err := r.Submit(ctx); err != nil || n != 1 {
		t.Fatalf("Submit = %d, %v, want 1, nil", n, err)
	}
	report := func() ReportRow {
		t.Helper()
		rows, err := c.Report(ctx, h0, now)
		if err != nil || len(rows) != 1 {
			t.Fatalf("Report = %+v, %v, want one row", rows, err)
		}
		return rows[0]
	}
	if row := report(); row.Outcome != OutcomeFailed {
		t.Fatalf("record of an unknown dimension = %+v, want Failed", row)
	}
	var apiErr *Error
	if _, err := c.Requeue(ctx, OutcomeSuccess, time.Time{}, time.Time{}); !errors.As(err, &apiErr) || apiErr.Status != 400 {
		t.Errorf("Requeue(Success) = %v, want a 400", err)
	}
	if n, err := c.Requeue(ctx, "", h0.Add(time.Hour), h0.Add(2*time.Hour)); err != nil || n != 0 {
		t.Errorf("Requeue of another hour = %d, %v, want 0, nil", n, err)
	}
	if _, err := u.admin.AddDimension(ctx, "demo-product", admin.Dimension{Name: "late_dimension", Unit: "units"}); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Requeue(ctx, "", h0, h0.Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("Requeue = %d, %v, want 1, nil", n, err)
	}
	if n, err := r.Submit(ctx); err != nil || n != 1 {
		t.Fatalf("Submit after Requeue = %d, %v, want 1, nil", n, err)
	}
	first := report()
	key := "demo-customer-1/late_dimension/" + h0.Format(time.RFC3339)
	want := expected{key: {"total": 7, "tags:{\"team\":\"a\"}": 3, "tags:": 4}}
	got, ids := ledgerOf(t, u, h0, now)
	compareSums(t, got, want)
	if first.Outcome != OutcomeSuccess || first.MeteringRecordID != ids[key] {
		t.Fatalf("requeued record = %+v, want Success with meterd's id %s", first, ids[key])
	}

	// A Success whose outcome was stored as Failed (by an older relay, or
	// by hand) and requeued: the identical record, the same id.
	if _, err := r.store.db.Exec(`UPDATE aggregates SET outcome = 'Failed', metering_record_id = ''`); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Requeue(ctx, OutcomeFailed, time.Time{}, time.Time{}); err != nil || n != 1 {
		t.Fatalf("second Requeue = %d, %v, want 1, nil", n, err)
	}
	if n, err := r.Submit(ctx); err != nil || n != 1 {
		t.Fatalf("Submit after the second Requeue = %d, %v, want 1, nil", n, err)
	}
	again := report()
	got, ids2 := ledgerOf(t, u, h0, now) // fails on two records of one key
	compareSums(t, got, want)
	if again.Outcome != OutcomeSuccess || again.MeteringRecordID != first.MeteringRecordID || ids2[key] != ids[key] {
		t.Errorf("record requeued after Success = %+v (meterd id %s), want Success with the first id %s", again, ids2[key], first.MeteringRecordID)
	}
}

// TestStoreReset empties a store.
func TestStoreReset(t *testing.T) { eachStore(t, testStoreReset) }

func testStoreReset(t *testing.T, dsn string) {
	ctx := context.Background()
	s := openDSN(t, dsn)
	now := t0.Add(10 * time.Minute)
	if _, err := s.Ingest(ctx, []Event{ev("e1", "c1", "requests", 1, now, map[string]string{"a": "b"})}, now, LateCurrentHour); err != nil {
		t.Fatal(err)
	}
	if err := s.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := s.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Events != 0 || st.Backlog != 0 {
		t.Errorf("Status after Reset = %+v, want empty", st)
	}
	rs, err := s.Ingest(ctx, []Event{ev("e1", "c1", "requests", 1, now, nil)}, now, LateCurrentHour)
	if err != nil || rs[0].Status != StatusAccepted {
		t.Errorf("Ingest of a forgotten id after Reset = %+v, %v, want accepted", rs, err)
	}
}

func gaugeValue(t *testing.T, g interface{ Write(*dto.Metric) error }) float64 {
	t.Helper()
	var m dto.Metric
	if err := g.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetGauge().GetValue()
}
