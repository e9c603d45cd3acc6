package relay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/marketplacemetering"
	"github.com/aws/aws-sdk-go-v2/service/marketplacemetering/types"

	"github.com/meterd/meterd/admin"
)

func TestAddLicenseArns(t *testing.T) {
	body := `{"ProductCode":"p","UsageRecords":[{"CustomerIdentifier":"c1","Dimension":"d","Quantity":1,"Timestamp":1763881920.123},` +
		`{"CustomerIdentifier":"c2","Dimension":"d","Quantity":2,"Timestamp":1763881920}]}`
	for _, tc := range []struct {
		name    string
		body    string
		arns    []string
		want    []string // LicenseArn of each record; "" for none
		wantErr string
	}{
		{name: "both", body: body, arns: []string{"arn:aws:a", "arn:aws:b"}, want: []string{"arn:aws:a", "arn:aws:b"}},
		{name: "first only", body: body, arns: []string{"arn:aws:a", ""}, want: []string{"arn:aws:a", ""}},
		{name: "count mismatch", body: body, arns: []string{"arn:aws:a"}, wantErr: "1 license ARNs for 2 usage records"},
		{name: "not JSON", body: "{", arns: []string{"arn:aws:a"}, wantErr: "BatchMeterUsage body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := addLicenseArns([]byte(tc.body), tc.arns)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("addLicenseArns = %v, want an error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				ProductCode  string
				UsageRecords []map[string]json.RawMessage
			}
			if err := json.Unmarshal(got, &doc); err != nil {
				t.Fatal(err)
			}
			if doc.ProductCode != "p" || len(doc.UsageRecords) != 2 {
				t.Fatalf("addLicenseArns = %s, want product p and 2 records", got)
			}
			for i, rec := range doc.UsageRecords {
				var arn string
				if raw, ok := rec["LicenseArn"]; ok {
					json.Unmarshal(raw, &arn)
				}
				if arn != tc.want[i] {
					t.Errorf("record %d LicenseArn = %q, want %q", i, arn, tc.want[i])
				}
			}
			// Other values are kept byte for byte: the fractional timestamp too.
			if ts := string(doc.UsageRecords[0]["Timestamp"]); ts != "1763881920.123" {
				t.Errorf("record 0 Timestamp = %s, want 1763881920.123", ts)
			}
		})
	}
}

// TestUpstreamLicenseArn sends records with WithLicenseArns through the
// client NewUpstream builds, via a proxy that records the bodies: the
// body carries each record's LicenseArn, meterd verifies the signature
// over it, checks the LicenseArn against the record's customer and
// stores it.
func TestUpstreamLicenseArn(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 7, 30, 0, 0, time.UTC)
	u := startUpstream(t, now)
	proxy, lastBody := recordingProxy(t, u.srv.URL)
	cust, err := u.admin.Customer(ctx, "demo-product", "demo-customer-1")
	if err != nil {
		t.Fatal(err)
	}
	if cust.LicenseArn == "" {
		t.Fatal("demo-customer-1 has no LicenseArn")
	}
	up, err := NewUpstream(UpstreamConfig{Endpoint: proxy, AccessKeyID: "test", SecretAccessKey: "test"}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	in := func(dims ...string) *marketplacemetering.BatchMeterUsageInput {
		in := &marketplacemetering.BatchMeterUsageInput{ProductCode: aws.String("demo-product")}
		for _, d := range dims {
			in.UsageRecords = append(in.UsageRecords, types.UsageRecord{CustomerIdentifier: aws.String("demo-customer-1"),
				Dimension: aws.String(d), Quantity: aws.Int32(3), Timestamp: aws.Time(now.Add(-time.Minute))})
		}
		return in
	}

	out, err := up.BatchMeterUsage(WithLicenseArns(ctx, []string{cust.LicenseArn, ""}), in("requests", "storage_gb"))
	if err != nil {
		t.Fatalf("BatchMeterUsage with a LicenseArn = %v, want Success", err)
	}
	if len(out.Results) != 2 || out.Results[0].Status != types.UsageRecordResultStatusSuccess || out.Results[1].Status != types.UsageRecordResultStatusSuccess {
		t.Fatalf("results = %+v, want 2 Success", out.Results)
	}
	recs := lastBody()
	if len(recs) != 2 || recs[0]["LicenseArn"] != cust.LicenseArn || recs[1]["LicenseArn"] != nil {
		t.Errorf("request records = %v, want LicenseArn %s on the first only", recs, cust.LicenseArn)
	}
	page, err := u.admin.Usage(ctx, admin.UsageQuery{Product: "demo-product", Dimension: "requests", From: now.Add(-time.Hour), To: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Records) != 1 || page.Records[0].LicenseArn != cust.LicenseArn {
		t.Errorf("ledger records = %+v, want one with LicenseArn %s", page.Records, cust.LicenseArn)
	}

	// A license of another customer is refused: meterd read the field.
	other, err := u.admin.Customer(ctx, "demo-product", "demo-customer-2")
	if err != nil {
		t.Fatal(err)
	}
	_, err = up.BatchMeterUsage(WithLicenseArns(ctx, []string{other.LicenseArn}), in("requests"))
	if err == nil || !strings.Contains(err.Error(), "InvalidLicenseException") {
		t.Errorf("BatchMeterUsage with another customer's LicenseArn = %v, want InvalidLicenseException", err)
	}
	// Without the context value the body is the SDK's own.
	if _, err := up.BatchMeterUsage(ctx, in("requests")); err != nil {
		t.Errorf("BatchMeterUsage without LicenseArns = %v, want the stored record's Success", err)
	}
	if recs := lastBody(); len(recs) != 1 || recs[0]["LicenseArn"] != nil {
		t.Errorf("request records = %v, want no LicenseArn", recs)
	}
}

// recordingProxy forwards to target and keeps each request body; lastBody
// returns the UsageRecords of the last one.
func recordingProxy(t *testing.T, target string) (proxyURL string, lastBody func() []map[string]any) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var bodies []string
	rp := httputil.NewSingleHostReverseProxy(u) // keeps the signed Host header
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(b))
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	return proxy.URL, func() []map[string]any {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		var doc struct{ UsageRecords []map[string]any }
		if len(bodies) == 0 || json.Unmarshal([]byte(bodies[len(bodies)-1]), &doc) != nil {
			t.Fatalf("proxy bodies = %q, want a BatchMeterUsage request", bodies)
		}
		return doc.UsageRecords
	}
}

// TestRelayLicenseArn sends events with a LicenseArn through the relay:
// the hour's record reaches meterd's ledger with it.
func TestRelayLicenseArn(t *testing.T) {
	ctx := context.Background()
	h0 := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	now := h0.Add(30 * time.Minute)
	u := startUpstream(t, now)
	cust, err := u.admin.Customer(ctx, "demo-product", "demo-customer-1")
	if err != nil {
		t.Fatal(err)
	}
	proxy, lastBody := recordingProxy(t, u.srv.URL)
	r, c := relayVia(t, proxy, Config{}, now)
	var events []Event
	for i := range 3 {
		e := ev(fmt.Sprintf("l-%d", i), "demo-customer-1", "requests", int64(i+1), h0.Add(time.Duration(i)*time.Minute), nil)
		e.LicenseArn = cust.LicenseArn
		events = append(events, e)
	}
	if _, err := c.Send(ctx, events); err != nil {
		t.Fatal(err)
	}
	now = h0.Add(70 * time.Minute)
	u.setClock(t, now)
	r.Clock().Set(now)
	if n, err := r.Submit(ctx); err != nil || n != 1 {
		t.Fatalf("Submit = %d, %v, want 1, nil", n, err)
	}
	page, err := u.admin.Usage(ctx, admin.UsageQuery{Product: "demo-product", From: h0, To: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Records) != 1 || page.Records[0].LicenseArn != cust.LicenseArn || page.Records[0].Quantity != 6 {
		t.Errorf("meterd records = %+v, want one with LicenseArn %s and quantity 6", page.Records, cust.LicenseArn)
	}
	if recs := lastBody(); len(recs) != 1 || recs[0]["LicenseArn"] != cust.LicenseArn {
		t.Errorf("request records = %v, want one with LicenseArn %s", recs, cust.LicenseArn)
	}
}
