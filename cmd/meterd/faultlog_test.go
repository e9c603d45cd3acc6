package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	mm "github.com/aws/aws-sdk-go-v2/service/marketplacemetering"
	"github.com/aws/aws-sdk-go-v2/service/marketplacemetering/types"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/faults"
	"github.com/meterd/meterd/server"
)

// TestInjectedFaultLog: an InternalServiceErrorException injected by a fault
// rule reaches the client as that exception, and the server logs it at
// info with the rule's id, not as an ERROR "internal error".
func TestInjectedFaultLog(t *testing.T) {
	var logs syncBuffer
	cfg := server.DefaultConfig()
	cfg.Listen, cfg.Data = "127.0.0.1:0", t.TempDir()
	m := &server.Main{Config: cfg, Clock: &meterd.ServerClock{}, Logger: slog.New(slog.NewJSONHandler(&logs, nil))}
	m.Clock.Set(now)
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	rule, err := m.Faults.Add(faults.Spec{Operation: "BatchMeterUsage", Error: meterd.EInternal})
	if err != nil {
		t.Fatal(err)
	}
	_, err = newClient(m, "test", "test", "").BatchMeterUsage(t.Context(), &mm.BatchMeterUsageInput{
		ProductCode:  aws.String("demo-product"),
		UsageRecords: []types.UsageRecord{record("demo-customer-1", "requests", now, 1)},
	})
	if code := errorCode(t, err); code != meterd.EInternal {
		t.Fatalf("BatchMeterUsage with the rule = %s, want %s", code, meterd.EInternal)
	}
	out := logs.String()
	if strings.Contains(out, `"level":"ERROR"`) || strings.Contains(out, "internal error") {
		t.Errorf("logs hold an error for the injected fault:\n%s", out)
	}
	var found bool
	for _, line := range strings.Split(out, "\n") {
		found = found || strings.Contains(line, `"level":"INFO"`) && strings.Contains(line, "injected fault") && strings.Contains(line, `"rule":"`+rule.ID+`"`)
	}
	if !found {
		t.Errorf("no info line naming rule %s:\n%s", rule.ID, out)
	}
}
