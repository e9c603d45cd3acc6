package meterdtest_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	mm "github.com/aws/aws-sdk-go-v2/service/marketplacemetering"
	"github.com/aws/aws-sdk-go-v2/service/marketplacemetering/types"

	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/catalog"
	"github.com/meterd/meterd/meterdtest"
	"github.com/meterd/meterd/server"
)

// meter sends one BatchMeterUsage record of quantity 1 at time ts with the
// seller's credentials.
func meter(t *testing.T, srv *meterdtest.Server, product, customer, dimension string, ts time.Time) (*mm.BatchMeterUsageOutput, error) {
	t.Helper()
	client := mm.New(mm.Options{Region: srv.Region, BaseEndpoint: aws.String(srv.URL), Credentials: srv.Credentials(), RetryMaxAttempts: 1})
	return client.BatchMeterUsage(context.Background(), &mm.BatchMeterUsageInput{
		ProductCode: aws.String(product),
		UsageRecords: []types.UsageRecord{{
			CustomerIdentifier: aws.String(customer), Dimension: aws.String(dimension),
			Quantity: aws.Int32(1), Timestamp: aws.Time(ts),
		}},
	})
}

func TestNewServer(t *testing.T) {
	structCatalog := &catalog.File{
		Accounts: []catalog.Account{
			{ID: "210987654321", AccessKeys: []catalog.AccessKey{{ID: "structkey", Secret: "structsecret"}}},
			{ID: "123412341234"},
		},
		Products: []catalog.Product{{
			Code: "struct-product", Seller: "210987654321", Type: "saas",
			Dimensions: []catalog.Dimension{{Name: "seats"}},
			Customers:  []catalog.Customer{{AWSAccountID: "123412341234", CustomerIdentifier: "struct-customer"}},
		}},
	}
	tests := []struct {
		name                          string
		opts                          []meterdtest.Option
		key, product, customer, dimen string
	}{
		{"Demo", nil, "test", "demo-product", "demo-customer-1", "requests"},
		{"WithCatalog", []meterdtest.Option{meterdtest.WithCatalog(structCatalog)}, "structkey", "struct-product", "struct-customer", "seats"},
		{"WithCatalogFile", []meterdtest.Option{meterdtest.WithCatalogFile("testdata/catalog.yaml")}, "filekey", "file-product", "file-customer", "users"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := meterdtest.NewServer(t, tc.opts...)
			if srv.AccessKeyID != tc.key || !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
				t.Fatalf("server = %s with key %s, want a loopback URL and key %s", srv.URL, srv.AccessKeyID, tc.key)
			}
			out, err := meter(t, srv, tc.product, tc.customer, tc.dimen, srv.Clock.Now())
			if err != nil || out.Results[0].Status != types.UsageRecordResultStatusSuccess {
				t.Fatalf("BatchMeterUsage = %v, %v; want Success", out, err)
			}
			// A reset applies the same catalog again, not the demo.
			if err := srv.Admin.Reset(context.Background()); err != nil {
				t.Fatal(err)
			}
			if _, err := srv.Admin.Product(context.Background(), tc.product); err != nil {
				t.Errorf("after reset, product %s = %v, want it kept", tc.product, err)
			}
		})
	}
}

// TestNewServerCleanup finds the server of a finished subtest closed.
func TestNewServerCleanup(t *testing.T) {
	var url string
	t.Run("Serve", func(t *testing.T) {
		srv := meterdtest.NewServer(t)
		url = srv.URL
		resp, err := http.Get(url + "/readyz")
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /readyz = %v, %v; want 200", resp, err)
		}
		resp.Body.Close()
	})
	if resp, err := http.Get(url + "/healthz"); err == nil {
		resp.Body.Close()
		t.Errorf("GET /healthz after the subtest = %d, want the server closed", resp.StatusCode)
	}
}

// TestServerClockAndConfig checks that WithClock freezes the clock the
// metering rules read, and WithConfig reaches the server's configuration.
func TestServerClockAndConfig(t *testing.T) {
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	srv := meterdtest.NewServer(t, meterdtest.WithClock(at), meterdtest.WithConfig(func(c *server.Config) { c.PastWindow = time.Hour }))
	if _, err := meter(t, srv, "demo-product", "demo-customer-1", "requests", at); err != nil {
		t.Fatal(err)
	}
	srv.Clock.Advance(90 * time.Minute)
	_, err := meter(t, srv, "demo-product", "demo-customer-1", "storage_gb", at)
	var late *types.TimestampOutOfBoundsException
	if !errors.As(err, &late) {
		t.Errorf("a record 90 minutes old with --past-window 1h = %v, want TimestampOutOfBoundsException", err)
	}
	page, err := srv.Admin.Usage(context.Background(), admin.UsageQuery{})
	if err != nil || len(page.Records) != 1 || !page.Records[0].Hour.Equal(at) {
		t.Errorf("usage = %+v, %v; want the one record of %s", page, err, at)
	}
}

func TestNewServerNoKey(t *testing.T) {
	if _, err := meterdtest.Start(meterdtest.WithCatalog(&catalog.File{})); err == nil || !strings.Contains(err.Error(), "access key") {
		t.Errorf("Start(catalog without keys) = %v, want an error about the missing access key", err)
	}
}
