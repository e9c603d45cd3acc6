package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/internal/meterdtest"
	"github.com/meterd/meterd/relay"
)

// noUpstreamCredentials leaves the process (whose environment the SDK
// reads) without any credential source.
func noUpstreamCredentials(t *testing.T) {
	for _, kv := range []string{"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_SESSION_TOKEN=", "AWS_PROFILE=",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI=", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=", "AWS_WEB_IDENTITY_TOKEN_FILE=",
		"AWS_ENDPOINT_URL_MARKETPLACE_METERING="} {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// TestRelayServeStartupErrors: a configuration mistake that would make
// every submission fail is refused at start, with a message naming it and
// a non-zero exit, instead of endless network errors.
func TestRelayServeStartupErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	serve := func(t *testing.T, args ...string) (int, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		code := run(ctx, append([]string{"relay", "serve", "--listen", "127.0.0.1:0", "--data", t.TempDir()}, args...), &stdout, &stderr)
		return code, stderr.String()
	}
	t.Run("EndpointWithoutScheme", func(t *testing.T) {
		t.Setenv("AWS_ACCESS_KEY_ID", "test")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
		code, msg := serve(t, "--upstream-endpoint", "127.0.0.1:4578")
		if code == exitOK || !strings.Contains(msg, "--upstream-endpoint") || !strings.Contains(msg, "http://") {
			t.Errorf("relay serve --upstream-endpoint 127.0.0.1:4578 = exit %d, %q, want an error asking for the scheme", code, msg)
		}
	})
	t.Run("OpenDataDirectory", func(t *testing.T) {
		// A data directory others can read is warned about; the token the
		// relay generates in it is 0600 whatever the umask.
		old := syscall.Umask(0)
		defer syscall.Umask(old)
		t.Setenv("AWS_ACCESS_KEY_ID", "test")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
		data := filepath.Join(t.TempDir(), "data")
		if err := os.Mkdir(data, 0o755); err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		code := run(ctx, []string{"relay", "serve", "--data", data, "--upstream-endpoint", "no-scheme"}, &stdout, &stderr)
		if code == exitOK || !strings.Contains(stderr.String(), "the data directory "+data+" has mode 0755") {
			t.Errorf("relay serve on a 0755 data directory = exit %d, %q, want a warning naming its mode", code, stderr.String())
		}
		if fi, err := os.Stat(filepath.Join(data, "relay-token")); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("relay-token = %v, %v, want mode 0600", fi.Mode().Perm(), err)
		}
	})
	t.Run("NoCredentials", func(t *testing.T) {
		noUpstreamCredentials(t)
		code, msg := serve(t, "--upstream-endpoint", "http://127.0.0.1:1")
		if code == exitOK || !strings.Contains(msg, "no upstream credentials") {
			t.Errorf("relay serve without credentials = exit %d, %q, want an error naming the missing credentials", code, msg)
		}
	})
}

// TestRelayOneProcessPerStore starts a relay, then a second one on the
// same --data: the second is refused, as meterd serve refuses a second
// server on one ledger. The first one's requeue and reset verbs work.
func TestRelayOneProcessPerStore(t *testing.T) {
	ctx := context.Background()
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	data := t.TempDir()
	url := startRelay(t, "--listen", "127.0.0.1:0", "--data", data, "--upstream-endpoint", "http://127.0.0.1:1", "--token", "tok")
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"relay", "serve", "--listen", "127.0.0.1:0", "--data", data, "--upstream-endpoint", "http://127.0.0.1:1"}, &stdout, &stderr)
	if code == exitOK || !strings.Contains(stderr.String(), "another relay process") {
		t.Errorf("second relay serve on one store = exit %d, %q, want it refused", code, stderr.String())
	}

	rc := relay.NewClient(url, "tok")
	now := time.Now().UTC()
	q := int64(1)
	if _, err := rc.Send(ctx, []relay.Event{{ID: "e1", ProductCode: "p", CustomerIdentifier: "c", Dimension: "d", Quantity: &q, Timestamp: now}}); err != nil {
		t.Fatal(err)
	}
	// CSV cells that a spreadsheet would run as formulas are quoted.
	q2 := int64(2)
	if rs, err := rc.Send(ctx, []relay.Event{{ID: "e2", ProductCode: "+p", CustomerIdentifier: "=HYPERLINK(\"http://x\")", Dimension: "@d",
		Quantity: &q2, Timestamp: now}}); err != nil || rs[0].Status != relay.StatusAccepted {
		t.Fatalf("Send = %+v, %v", rs, err)
	}
	csv := runRelayCLI(t, "relay", "report", "--server", url, "--token", "tok", "--output", "csv")
	if !strings.Contains(csv, `,'+p,"'=HYPERLINK(""http://x"")",'@d,`) {
		t.Errorf("relay report --output csv = %q, want the cells starting with + = @ prefixed with '", csv)
	}
	if out := runRelayCLI(t, "relay", "requeue", "--server", url, "--token", "tok", "--outcome", "Failed"); strings.Fields(out)[len(strings.Fields(out))-1] != "0" {
		t.Errorf("relay requeue = %q, want 0 requeued", out)
	}
	if code := run(ctx, []string{"relay", "requeue", "--server", url, "--token", "tok", "--outcome", "Success"}, &stdout, &stderr); code != exitError {
		t.Errorf("relay requeue --outcome Success exits %d, want %d", code, exitError)
	}
	if code := run(ctx, []string{"relay", "reset", "--server", url, "--token", "tok"}, &stdout, &stderr); code != exitUsage {
		t.Errorf("relay reset without --yes exits %d, want %d", code, exitUsage)
	}
	if st, err := rc.Status(ctx); err != nil || st.Events != 2 {
		t.Fatalf("status before reset = %+v, %v, want 2 events", st, err)
	}
	runRelayCLI(t, "relay", "reset", "--yes", "--server", url, "--token", "tok")
	if st, err := rc.Status(ctx); err != nil || st.Events != 0 || st.Backlog != 0 {
		t.Errorf("status after relay reset --yes = %+v, %v, want an empty store", st, err)
	}
}

// TestRelayHelp: the verbs and behaviours of issue 19 are in the help.
func TestRelayHelp(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"relay", "--help"}, []string{"relay requeue", "--outcome Failed|Expired|CustomerNotSubscribed", "relay reset --yes",
			"identical record", "10,000 events", "InvalidSignature", "meterd_relay_upstream_auth_errors_total"}},
		{[]string{"relay", "requeue", "--help"}, []string{"-outcome", "-from", "-to"}},
		{[]string{"relay", "reset", "--help"}, []string{"-yes", "really empty the relay's store"}},
		{[]string{"relay", "serve", "--help"}, []string{"with its scheme", "0700", "one relay per directory"}},
	} {
		var stdout, stderr bytes.Buffer
		run(context.Background(), tt.args, &stdout, &stderr)
		out := stdout.String() + stderr.String()
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("meterd %s: no %q in\n%s", strings.Join(tt.args, " "), w, out)
			}
		}
	}
}

// TestRelayAuthErrorStatus runs a relay whose access key meterd does not
// know: its record stays frozen (not Failed), `relay status` shows the
// credential error, and once meterd knows the key the record lands and
// the alert ends, without a restart.
func TestRelayAuthErrorStatus(t *testing.T) {
	ctx := context.Background()
	h0 := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	now := h0.Add(70 * time.Minute)
	up, adm := serveUpstream(t, meterdtest.Build(t), now)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDRELAYNOTYET")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "relay-secret")
	url := startRelay(t, "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--token", "tok", "--upstream-endpoint", up.URL,
		"--clock", now.Format(time.RFC3339), "--retry-base", "1ms", "--retry-max", "5ms")
	rc := relay.NewClient(url, "tok")
	q := int64(4)
	if _, err := rc.Send(ctx, []relay.Event{{ID: "e1", ProductCode: "demo-product", CustomerIdentifier: "demo-customer-1",
		Dimension: "requests", Quantity: &q, Timestamp: h0.Add(time.Minute)}}); err != nil {
		t.Fatal(err)
	}
	rc.SetClock(ctx, now) // wakes the submitter
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := rc.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.UpstreamAuth != nil {
			if st.Frozen != 1 || st.Outcomes[relay.OutcomeFailed] != 0 {
				t.Fatalf("status = %+v, want the record frozen, not Failed", st)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("relay status = %+v, want an upstream auth error within 20s", st)
		}
		time.Sleep(20 * time.Millisecond) // waits for the submitter, not for time
	}
	out := runRelayCLI(t, "relay", "status", "--server", url, "--token", "tok")
	if !strings.Contains(out, "upstream_auth_error") || !strings.Contains(out, "UnrecognizedClientException") {
		t.Errorf("relay status = %q, want the upstream auth error", out)
	}
	if _, err := adm.CreateKey(ctx, "111122223333", admin.AccessKeyInput{ID: "AKIDRELAYNOTYET", Secret: "relay-secret"}); err != nil {
		t.Fatal(err)
	}
	st := waitRelayDrained(t, ctx, rc)
	if st.Outcomes[relay.OutcomeSuccess] != 1 || st.UpstreamAuth != nil {
		t.Errorf("status after the key was added = %+v (auth %+v), want 1 Success and no auth error", st, st.UpstreamAuth)
	}
	checkMeterdQuantities(t, ctx, adm, h0, now, map[string]int64{"demo-customer-1": 4})
}
