package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/internal/meterdtest"
	"github.com/meterd/meterd/relay"
)

// TestRelayCredentials runs `meterd relay serve` with no access key in its
// environment, once with a named profile of a shared credentials file and
// once with container credentials carrying a session token: each relay
// signs its submissions with the key meterd knows, and the records land.
func TestRelayCredentials(t *testing.T) {
	ctx := context.Background()
	h0 := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	now := h0.Add(50 * time.Minute)
	bin := meterdtest.Build(t)
	up, adm := serveUpstream(t, bin, now)
	newKey := func(id string, withToken bool) *admin.AccessKey {
		t.Helper()
		in := admin.AccessKeyInput{ID: id}
		if withToken {
			in.SessionToken = "session-" + id
		}
		k, err := adm.CreateKey(ctx, "111122223333", in) // the demo seller; a generated secret
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	// No key in the environment: the empty values hide the runner's default.
	noKeys := []string{"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY="}

	profile := func(t *testing.T) []string {
		k := newKey("AKIDRELAYPROFILE", false)
		dir := t.TempDir()
		creds := filepath.Join(dir, "credentials")
		text := fmt.Sprintf("[seller]\naws_access_key_id = %s\naws_secret_access_key = %s\n", k.ID, k.Secret)
		if err := os.WriteFile(creds, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return append(noKeys, "AWS_SHARED_CREDENTIALS_FILE="+creds, "AWS_PROFILE=seller")
	}
	container := func(t *testing.T) []string {
		k := newKey("ASIARELAYCONTAINER", true)
		ep := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			json.NewEncoder(w).Encode(map[string]string{"AccessKeyId": k.ID, "SecretAccessKey": k.Secret,
				"Token": k.SessionToken, "Expiration": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
		}))
		t.Cleanup(ep.Close)
		return append(noKeys, "AWS_CONTAINER_CREDENTIALS_FULL_URI="+ep.URL+"/creds")
	}
	for i, tc := range []struct {
		name string
		env  func(t *testing.T) []string
	}{
		{"profile", profile},
		{"container", container},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := meterdtest.NewRelay(t, bin, "--upstream-endpoint", up.URL, "--products", "demo-product")
			p.Env = tc.env(t)
			p.Clock = now
			p.Start()
			rc := relay.NewClient(p.URL, p.Token)
			hour := h0.Add(time.Duration(-i-1) * time.Hour) // an hour of its own, closed already
			q := int64(5 + i)
			rs, err := rc.Send(ctx, []relay.Event{{ID: tc.name, ProductCode: "demo-product", CustomerIdentifier: "demo-customer-1",
				Dimension: "requests", Quantity: &q, Timestamp: hour.Add(time.Minute)}})
			if err != nil || rs[0].Status != relay.StatusAccepted {
				t.Fatalf("Send = %+v, %v, want accepted", rs, err)
			}
			rc.SetClock(ctx, now) // wakes the submitter
			st := waitRelayDrained(t, ctx, rc)
			if st.Outcomes[relay.OutcomeSuccess] != 1 {
				t.Fatalf("relay status = %+v, want 1 Success (stderr: %s)", st, p.Stderr())
			}
			checkMeterdQuantities(t, ctx, adm, hour, hour.Add(time.Hour), map[string]int64{"demo-customer-1": q})
		})
	}
}
