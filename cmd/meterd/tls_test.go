package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	mm "github.com/aws/aws-sdk-go-v2/service/marketplacemetering"
	"github.com/aws/aws-sdk-go-v2/service/marketplacemetering/types"

	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/internal/meterdtest"
	"github.com/meterd/meterd/server"
)

// TestServeTLS serves the AWS API and the admin API over HTTPS with
// --tls-cert and --tls-key, and refuses plain HTTP.
func TestServeTLS(t *testing.T) {
	cfg := server.DefaultConfig()
	cfg.Listen, cfg.Data, cfg.AdminToken = "127.0.0.1:0", t.TempDir(), "tls-admin-token"
	var pool *x509.CertPool
	cfg.TLSCert, cfg.TLSKey, pool = meterdtest.SelfSigned(t, t.TempDir())
	m := &server.Main{Config: cfg}
	if err := m.Run(context.Background()); err != nil {
		t.Fatalf("Run() = %v", err)
	}
	defer m.Close()
	if !strings.HasPrefix(m.URL(), "https://") {
		t.Fatalf("URL() = %q, want https", m.URL())
	}
	httpClient := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}

	client := mm.New(mm.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(m.URL()), HTTPClient: httpClient, RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	out, err := client.BatchMeterUsage(context.Background(), &mm.BatchMeterUsageInput{
		ProductCode:  aws.String("demo-product"),
		UsageRecords: []types.UsageRecord{record("demo-customer-1", "requests", time.Now(), 1)},
	})
	if err != nil || out.Results[0].Status != types.UsageRecordResultStatusSuccess {
		t.Fatalf("BatchMeterUsage over HTTPS = %v, %v; want Success", out, err)
	}

	ac := admin.NewClient(m.URL(), "tls-admin-token")
	ac.HTTPClient = httpClient
	if products, err := ac.Products(context.Background()); err != nil || len(products) != 1 {
		t.Errorf("admin Products over HTTPS = %v, %v; want the demo product", products, err)
	}

	plain := "http://" + strings.TrimPrefix(m.URL(), "https://") + "/healthz"
	if resp, err := http.Get(plain); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("plain HTTP GET /healthz = 200, want it refused on an HTTPS listener")
		}
	}
}
