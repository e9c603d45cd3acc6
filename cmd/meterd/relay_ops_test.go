package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

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
	if out := runRelayCLI(t, "relay", "requeue", "--server", url, "--token", "tok", "--outcome", "Failed"); strings.Fields(out)[len(strings.Fields(out))-1] != "0" {
		t.Errorf("relay requeue = %q, want 0 requeued", out)
	}
	if code := run(ctx, []string{"relay", "requeue", "--server", url, "--token", "tok", "--outcome", "Success"}, &stdout, &stderr); code != exitError {
		t.Errorf("relay requeue --outcome Success exits %d, want %d", code, exitError)
	}
	if code := run(ctx, []string{"relay", "reset", "--server", url, "--token", "tok"}, &stdout, &stderr); code != exitUsage {
		t.Errorf("relay reset without --yes exits %d, want %d", code, exitUsage)
	}
	if st, err := rc.Status(ctx); err != nil || st.Events != 1 {
		t.Fatalf("status before reset = %+v, %v, want 1 event", st, err)
	}
	runRelayCLI(t, "relay", "reset", "--yes", "--server", url, "--token", "tok")
	if st, err := rc.Status(ctx); err != nil || st.Events != 0 || st.Backlog != 0 {
		t.Errorf("status after relay reset --yes = %+v, %v, want an empty store", st, err)
	}
}
