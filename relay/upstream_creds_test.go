package relay

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/marketplacemetering"
	"github.com/aws/aws-sdk-go-v2/service/marketplacemetering/types"

	"github.com/meterd/meterd/admin"
)

// These tests set the process environment (config.LoadDefaultConfig reads
// it), so none of them runs in parallel.

// isolateAWSEnv clears every variable of the AWS credential chain and
// points the shared files at empty temporary ones, so that nothing of the
// user's ~/.aws or environment is read; IMDS is off unless a test turns
// it on. It returns the two file paths.
func isolateAWSEnv(t *testing.T) (configFile, credsFile string) {
	t.Helper()
	dir := t.TempDir()
	configFile, credsFile = filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
	for _, f := range []string{configFile, credsFile} {
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"AWS_DEFAULT_PROFILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
		"AWS_ROLE_ARN", "AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_MARKETPLACE_METERING",
		"AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE"} {
		t.Setenv(v, "")
	}
	t.Setenv("AWS_CONFIG_FILE", configFile)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", credsFile)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	return configFile, credsFile
}

// sellerKey creates an access key of the demo seller in u with a random
// secret and, when withToken, a random session token that meterd then
// requires on every request.
func sellerKey(t *testing.T, u *upstream, id string, withToken bool) *admin.AccessKey {
	t.Helper()
	in := admin.AccessKeyInput{ID: id, Secret: randomHex(t)}
	if withToken {
		in.SessionToken = randomHex(t)
	}
	k, err := u.admin.CreateKey(context.Background(), "111122223333", in)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func randomHex(t *testing.T) string {
	t.Helper()
	b := make([]byte, 20)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// meterOne sends one record of dimension dim with up and fails unless
// meterd answers Success and its ledger holds the record.
func meterOne(t *testing.T, u *upstream, up *marketplacemetering.Client, now time.Time, dim string) {
	t.Helper()
	ctx := context.Background()
	out, err := up.BatchMeterUsage(ctx, &marketplacemetering.BatchMeterUsageInput{
		ProductCode: aws.String("demo-product"),
		UsageRecords: []types.UsageRecord{{CustomerIdentifier: aws.String("demo-customer-1"), Dimension: aws.String(dim),
			Quantity: aws.Int32(7), Timestamp: aws.Time(now.Add(-time.Minute))}},
	})
	if err != nil {
		t.Fatalf("BatchMeterUsage = %v, want Success", err)
	}
	if len(out.Results) != 1 || out.Results[0].Status != types.UsageRecordResultStatusSuccess {
		t.Fatalf("BatchMeterUsage results = %+v, want one Success", out.Results)
	}
	page, err := u.admin.Usage(ctx, admin.UsageQuery{Product: "demo-product", Dimension: dim, From: now.Add(-2 * time.Hour), To: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Records) != 1 || page.Records[0].Quantity != 7 || page.Records[0].CallerAccountID != "111122223333" {
		t.Errorf("meterd records = %+v, want one of quantity 7 by seller 111122223333", page.Records)
	}
}

// TestUpstreamProfile signs with the keys of a named profile of a shared
// credentials file, chosen by AWS_PROFILE.
func TestUpstreamProfile(t *testing.T) {
	now := time.Date(2026, 11, 23, 7, 30, 0, 0, time.UTC)
	u := startUpstream(t, now)
	configFile, credsFile := isolateAWSEnv(t)
	k := sellerKey(t, u, "AKIDPROFILE", false)
	creds := fmt.Sprintf("[default]\naws_access_key_id = AKIDWRONG\naws_secret_access_key = wrong\n\n"+
		"[relay-test]\naws_access_key_id = %s\naws_secret_access_key = %s\n", k.ID, k.Secret)
	if err := os.WriteFile(credsFile, []byte(creds), 0o600); err != nil {
		t.Fatal(err)
	}
	// The region of the profile's config is not used: --region wins.
	if err := os.WriteFile(configFile, []byte("[profile relay-test]\nregion = eu-west-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("default profile", func(t *testing.T) {
		up, err := NewUpstream(UpstreamConfig{Endpoint: u.srv.URL}, os.Getenv)
		if err != nil {
			t.Fatal(err)
		}
		_, err = up.BatchMeterUsage(context.Background(), &marketplacemetering.BatchMeterUsageInput{ProductCode: aws.String("demo-product"),
			UsageRecords: []types.UsageRecord{{CustomerIdentifier: aws.String("demo-customer-1"), Dimension: aws.String("requests"),
				Quantity: aws.Int32(1), Timestamp: aws.Time(now)}}})
		if err == nil || !strings.Contains(err.Error(), "UnrecognizedClientException") {
			t.Errorf("BatchMeterUsage with the default profile's unknown key = %v, want UnrecognizedClientException", err)
		}
	})
	t.Run("AWS_PROFILE", func(t *testing.T) {
		t.Setenv("AWS_PROFILE", "relay-test")
		up, err := NewUpstream(UpstreamConfig{Endpoint: u.srv.URL}, os.Getenv)
		if err != nil {
			t.Fatal(err)
		}
		if r := up.Options().Region; r != "us-east-1" {
			t.Errorf("region = %s, want us-east-1", r)
		}
		meterOne(t, u, up, now, "requests")
	})
	t.Run("missing profile", func(t *testing.T) {
		t.Setenv("AWS_PROFILE", "no-such-profile")
		if _, err := NewUpstream(UpstreamConfig{Endpoint: u.srv.URL}, os.Getenv); err == nil {
			t.Error("NewUpstream with AWS_PROFILE=no-such-profile succeeded, want an error")
		}
	})
}

// credsJSON is the credentials document of the container and instance
// metadata endpoints.
func credsJSON(k *admin.AccessKey) map[string]string {
	return map[string]string{
		"Code": "Success", "Type": "AWS-HMAC", "LastUpdated": time.Now().UTC().Format(time.RFC3339),
		"AccessKeyId": k.ID, "SecretAccessKey": k.Secret, "Token": k.SessionToken,
		"Expiration": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
	}
}

// TestUpstreamContainerCredentials signs with temporary credentials (a key
// with a session token) served at AWS_CONTAINER_CREDENTIALS_FULL_URI, as on
// ECS or EKS, with the authorization token the endpoint requires.
func TestUpstreamContainerCredentials(t *testing.T) {
	now := time.Date(2026, 11, 23, 7, 30, 0, 0, time.UTC)
	u := startUpstream(t, now)
	isolateAWSEnv(t)
	k := sellerKey(t, u, "ASIACONTAINER", true)
	var calls atomic.Int32
	ep := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/creds" || r.Header.Get("Authorization") != "container-secret" {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		calls.Add(1)
		json.NewEncoder(w).Encode(credsJSON(k))
	}))
	defer ep.Close()
	t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", ep.URL+"/creds")
	t.Setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "container-secret")

	up, err := NewUpstream(UpstreamConfig{Endpoint: u.srv.URL}, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	meterOne(t, u, up, now, "requests")
	meterOne(t, u, up, now, "storage_gb")
	if n := calls.Load(); n != 1 {
		t.Errorf("container endpoint called %d times, want 1 (the credentials are cached)", n)
	}
}

// TestUpstreamInstanceRole signs with the credentials of an EC2 instance
// role from a fake IMDSv2 at AWS_EC2_METADATA_SERVICE_ENDPOINT: a session
// token first (PUT), then the role's name, then its credentials.
func TestUpstreamInstanceRole(t *testing.T) {
	now := time.Date(2026, 11, 23, 7, 30, 0, 0, time.UTC)
	u := startUpstream(t, now)
	isolateAWSEnv(t)
	k := sellerKey(t, u, "ASIAINSTANCE", true)
	var tokens, credCalls atomic.Int32
	const role, imdsToken = "relay-role", "imds-session-token"
	ep := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "PUT" && r.URL.Path == "/latest/api/token" {
			if r.Header.Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds") == "" {
				http.Error(w, "no ttl", http.StatusBadRequest)
				return
			}
			tokens.Add(1)
			// IMDS echoes the token's lifetime; the SDK needs it.
			w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "300")
			w.Write([]byte(imdsToken))
			return
		}
		if r.Method != "GET" || r.Header.Get("X-Aws-Ec2-Metadata-Token") != imdsToken {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/latest/meta-data/iam/security-credentials/":
			w.Write([]byte(role))
		case "/latest/meta-data/iam/security-credentials/" + role:
			credCalls.Add(1)
			json.NewEncoder(w).Encode(credsJSON(k))
		default:
			http.NotFound(w, r)
		}
	}))
	defer ep.Close()
	t.Setenv("AWS_EC2_METADATA_DISABLED", "")
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", ep.URL)

	up, err := NewUpstream(UpstreamConfig{Endpoint: u.srv.URL}, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	meterOne(t, u, up, now, "requests")
	if tokens.Load() == 0 || credCalls.Load() != 1 {
		t.Errorf("IMDS: %d token PUTs and %d credential GETs, want IMDSv2 tokens and 1 credential GET", tokens.Load(), credCalls.Load())
	}
}

// TestUpstreamKeyPriority: explicit keys win over the environment's, and
// the environment's over a profile.
func TestUpstreamKeyPriority(t *testing.T) {
	now := time.Date(2026, 11, 23, 7, 30, 0, 0, time.UTC)
	u := startUpstream(t, now)
	_, credsFile := isolateAWSEnv(t)
	good := sellerKey(t, u, "AKIDGOOD", false)
	if err := os.WriteFile(credsFile, []byte("[p]\naws_access_key_id = AKIDPROFILEBAD\naws_secret_access_key = x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_PROFILE", "p")
	t.Run("environment over profile", func(t *testing.T) {
		t.Setenv("AWS_ACCESS_KEY_ID", good.ID)
		t.Setenv("AWS_SECRET_ACCESS_KEY", good.Secret)
		up, err := NewUpstream(UpstreamConfig{Endpoint: u.srv.URL}, os.Getenv)
		if err != nil {
			t.Fatal(err)
		}
		meterOne(t, u, up, now, "requests")
	})
	t.Run("explicit over environment", func(t *testing.T) {
		t.Setenv("AWS_ACCESS_KEY_ID", "AKIDENVBAD")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "x")
		up, err := NewUpstream(UpstreamConfig{Endpoint: u.srv.URL, AccessKeyID: good.ID, SecretAccessKey: good.Secret}, os.Getenv)
		if err != nil {
			t.Fatal(err)
		}
		meterOne(t, u, up, now, "storage_gb")
	})
	t.Run("key without secret", func(t *testing.T) {
		t.Setenv("AWS_ACCESS_KEY_ID", "AKIDONLY")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "")
		if _, err := NewUpstream(UpstreamConfig{Endpoint: u.srv.URL}, os.Getenv); err == nil {
			t.Error("NewUpstream with AWS_ACCESS_KEY_ID and no secret succeeded, want an error")
		}
	})
}

// TestUpstreamEndpointFromEnv: without an Endpoint the client uses
// AWS_ENDPOINT_URL_MARKETPLACE_METERING, as the SDKs do.
func TestUpstreamEndpointFromEnv(t *testing.T) {
	now := time.Date(2026, 11, 23, 7, 30, 0, 0, time.UTC)
	u := startUpstream(t, now)
	isolateAWSEnv(t)
	t.Setenv("AWS_ENDPOINT_URL_MARKETPLACE_METERING", u.srv.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	up, err := NewUpstream(UpstreamConfig{}, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	meterOne(t, u, up, now, "requests")
}
