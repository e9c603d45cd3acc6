package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	mm "github.com/aws/aws-sdk-go-v2/service/marketplacemetering"
	"github.com/aws/aws-sdk-go-v2/service/marketplacemetering/types"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/server"
)

// TestRetentionPurge runs the server with --retain 400d, meters through the
// SDK, mints a registration token, and moves the server clock: a purge pass
// drops the token a day after it expired and the records once 400 days
// old, and /metrics counts both.
func TestRetentionPurge(t *testing.T) {
	cfg := server.DefaultConfig()
	cfg.Listen, cfg.Data, cfg.Retain = "127.0.0.1:0", t.TempDir(), 400*meterd.Day
	m := &server.Main{Config: cfg, Clock: &meterd.ServerClock{}}
	m.Clock.Set(now)
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx := t.Context()
	out, err := newClient(m, "test", "test", "").BatchMeterUsage(ctx, &mm.BatchMeterUsageInput{
		ProductCode: aws.String("demo-product"),
		UsageRecords: []types.UsageRecord{
			record("demo-customer-1", "requests", now.Add(-2*time.Hour), 3),
			record("demo-customer-2", "storage_gb", now.Add(-time.Hour), 4),
		},
	})
	if err != nil || len(out.Results) != 2 {
		t.Fatalf("BatchMeterUsage = %v, %v", out, err)
	}
	tok, _ := os.ReadFile(filepath.Join(cfg.Data, "admin-token"))
	ac := admin.NewClient(m.URL(), strings.TrimSpace(string(tok)))
	if _, err := ac.CreateToken(ctx, "demo-product", "demo-customer-1", time.Hour); err != nil {
		t.Fatal(err)
	}

	m.Clock.Advance(399 * meterd.Day)
	got, err := m.Purge(ctx)
	if err != nil || got[meterd.PurgedRegistrationTokens] != 1 || got[meterd.PurgedUsageRecords] != 0 {
		t.Fatalf("Purge 399 days later = %v, %v; want the registration token only", got, err)
	}
	m.Clock.Advance(2 * meterd.Day)
	if got, err = m.Purge(ctx); err != nil || got[meterd.PurgedUsageRecords] != 2 {
		t.Fatalf("Purge 401 days later = %v, %v; want the 2 records", got, err)
	}
	rows, err := ac.UsageSummary(ctx, admin.UsageQuery{From: now.Add(-24 * time.Hour), To: now.Add(24 * time.Hour)}, "customer")
	if err != nil || len(rows) != 0 {
		t.Errorf("usage summary of the purged hours = %v, %v; want none", rows, err)
	}
	resp, err := http.Get(m.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`meterd_purged_total{kind="usage_records"} 2`, `meterd_purged_total{kind="registration_tokens"} 1`, `meterd_purged_total{kind="client_tokens"} 0`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
