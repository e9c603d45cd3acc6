package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	mm "github.com/aws/aws-sdk-go-v2/service/marketplacemetering"
	"github.com/aws/aws-sdk-go-v2/service/marketplacemetering/types"

	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/server"
)

// selfSigned writes a certificate and key for 127.0.0.1 into dir and
// returns their paths and a pool that trusts the certificate.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "meterd test"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestServeTLS serves the AWS API and the admin API over HTTPS with
// --tls-cert and --tls-key, and refuses plain HTTP.
func TestServeTLS(t *testing.T) {
	cfg := server.DefaultConfig()
	cfg.Listen, cfg.Data, cfg.AdminToken = "127.0.0.1:0", t.TempDir(), "tls-admin-token"
	var pool *x509.CertPool
	cfg.TLSCert, cfg.TLSKey, pool = selfSigned(t, t.TempDir())
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
