package faults_test

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/internal/meterdtest"
)

// TestBoto3RetryLoop runs the README's worked example: fault rules added
// with `meterd faults add`, the boto3 retry loop of testdata/retry_boto3.py,
// then a check that the ledger holds each record exactly once.
func TestBoto3RetryLoop(t *testing.T) {
	bin := meterdtest.Build(t)
	s := meterdtest.Serve(t, bin, "--fault-seed", "2026")
	cli := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append(args, "--server", s.URL, "--data", s.Data)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("meterd %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	cli("faults", "add", "--operation", "BatchMeterUsage", "--unprocessed", "0.3")
	cli("faults", "add", "--operation", "BatchMeterUsage", "--error", "ThrottlingException", "--probability", "0.3")

	cmd := exec.Command("python3", "testdata/retry_boto3.py")
	cmd.Env = s.Env("test", "test")
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("python3 testdata/retry_boto3.py: %v\n%s%s", err, out, stderr)
	}
	var stats struct{ Records, Calls, Throttled, Unprocessed int }
	if err := json.Unmarshal(out, &stats); err != nil {
		t.Fatalf("script output %q: %v", out, err)
	}
	t.Logf("boto3 loop: %+v", stats)
	if stats.Records != 20 || stats.Unprocessed == 0 {
		t.Errorf("script stats = %+v, want 20 records and some unprocessed on the way", stats)
	}

	ctx := t.Context()
	ac := admin.NewClient(s.URL, s.AdminToken)
	rules, err := ac.Faults(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		if r.Hits == 0 {
			t.Errorf("rule %s (%+v) never fired", r.ID, r.Spec)
		}
	}
	// As the README checks it: meterd usage list.
	var records []admin.UsageRecord
	if err := json.Unmarshal([]byte(cli("usage", "list", "--output", "json")), &records); err != nil {
		t.Fatalf("meterd usage list --output json: %v", err)
	}
	seen := map[string]int{}
	for _, r := range records {
		seen[fmt.Sprintf("%s/%s/%s", r.CustomerIdentifier, r.Dimension, r.Hour.UTC().Format(time.RFC3339))]++
	}
	if len(records) != 20 || len(seen) != 20 {
		t.Errorf("ledger holds %d records with %d distinct keys, want 20 and 20 (each once): %v", len(records), len(seen), seen)
	}
}
