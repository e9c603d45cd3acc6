package awsjson

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/meterd/meterd"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestGolden runs raw requests through the handler and compares the whole
// exchange (request, the input the operation received, response status,
// headers and body) with testdata/<name>.golden. Run with -update to
// rewrite them after an intended change.
func TestGolden(t *testing.T) {
	tests := []struct {
		name   string
		target string
		body   string
		svc    *fakeService
		auth   error
	}{
		{"BatchMeterUsage", MeteringTarget + "." + meterd.OpBatchMeterUsage,
			`{"ProductCode":"demo-product","UsageRecords":[{"CustomerIdentifier":"cust-4444","Dimension":"requests","Quantity":3,` +
				`"Timestamp":1767323045.678,"UsageAllocations":[{"AllocatedUsageQuantity":2,"Tags":[{"Key":"team","Value":"a"}]},` +
				`{"AllocatedUsageQuantity":1}]},{"CustomerAWSAccountId":"444455556666","Dimension":"storage_gb","Timestamp":1767323045,` +
				`"LicenseArn":"arn:aws:license-manager::111122223333:license:l-0123456789abcdef"}]}`,
			&fakeService{echo: true}, nil},
		{"BatchMeterUsageStatuses", MeteringTarget + "." + meterd.OpBatchMeterUsage,
			`{"ProductCode":"demo-product","UsageRecords":[{"CustomerIdentifier":"gone","Dimension":"requests","Quantity":1,"Timestamp":1767323040}]}`,
			&fakeService{batch: &meterd.BatchMeterUsageOutput{
				Results: []meterd.UsageRecordResult{{UsageRecord: meterd.UsageRecord{CustomerIdentifier: "gone", Dimension: "requests",
					Quantity: ptr[int64](1), Timestamp: ptr(ms(1767323040, 0))}, Status: meterd.StatusCustomerNotSubscribed}},
				UnprocessedRecords: []meterd.UsageRecord{{CustomerIdentifier: "x", Dimension: "requests", Timestamp: ptr(ms(1767323040, 250))}},
			}}, nil},
		{"MeterUsage", MeteringTarget + "." + meterd.OpMeterUsage,
			`{"ProductCode":"demo-product","Timestamp":1767323045,"UsageDimension":"requests","UsageQuantity":5,` +
				`"ClientToken":"0b5c2a1e-6f1d-4a8e-9c3b-7d2e1f0a9b8c"}`,
			&fakeService{meter: &meterd.MeterUsageOutput{MeteringRecordID: "6d2f8a0c-1b3e-4c5d-9e7f-0a1b2c3d4e5f"}}, nil},
		{"RegisterUsage", MeteringTarget + "." + meterd.OpRegisterUsage,
			`{"ProductCode":"demo-product","PublicKeyVersion":1,"Nonce":"n-1"}`,
			&fakeService{register: &meterd.RegisterUsageOutput{Signature: "eyJhbGciOiJQUzI1NiJ9.eyJOb25jZSI6Im4tMSJ9.c2ln",
				PublicKeyRotationTimestamp: ptr(ms(1767323000, 500))}}, nil},
		{"ResolveCustomer", MeteringTarget + "." + meterd.OpResolveCustomer, `{"RegistrationToken":"tok-1"}`,
			&fakeService{resolve: &meterd.ResolveCustomerOutput{CustomerIdentifier: "cust-4444", CustomerAWSAccountID: "444455556666",
				ProductCode: "demo-product", LicenseArn: "arn:aws:license-manager::111122223333:license:l-0123456789abcdef"}}, nil},
		{"ErrUnknownOperation", MeteringTarget + "." + "GetEntitlements", `{}`, okService(), nil},
		{"ErrSerialization", MeteringTarget + "." + meterd.OpMeterUsage, `{"ProductCode":"p","Timestamp":"2026-01-02T03:04:05Z"}`, okService(), nil},
		{"ErrInvalidSignature", MeteringTarget + "." + meterd.OpMeterUsage, `{}`, okService(),
			meterd.Errorf(meterd.EInvalidSignature, "The request signature we calculated does not match the signature you provided.")},
		{"ErrValidation", MeteringTarget + "." + meterd.OpBatchMeterUsage, `{"ProductCode":"p"}`,
			&fakeService{err: meterd.Errorf(meterd.EValidation, "1 validation error detected: Value null at 'usageRecords' failed to satisfy constraint: Member must not be null")}, nil},
		{"ErrIdempotencyConflict", MeteringTarget + "." + meterd.OpMeterUsage, `{"ClientToken":"t"}`,
			&fakeService{err: meterd.Errorf(meterd.EIdempotencyConflict, "ClientToken t was used with other parameters")}, nil},
		{"ErrDryRunOperation", MeteringTarget + "." + meterd.OpMeterUsage, `{"DryRun":true}`,
			&fakeService{err: meterd.Errorf(meterd.EDryRunOperation, "Request would have succeeded, but DryRun flag is set.")}, nil},
		{"ErrInternal", MeteringTarget + "." + meterd.OpResolveCustomer, `{"RegistrationToken":"t"}`, &fakeService{err: errBoom}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := newTestHandler(tt.svc)
			if tt.auth != nil {
				h.Authenticate = func(*http.Request, []byte, string) (*meterd.Caller, error) { return nil, tt.auth }
			}
			r := newRequest("", tt.body)
			r.Header.Set("X-Amz-Target", tt.target)
			w := serve(h, r)
			assertCommonHeaders(t, w)
			got := renderExchange(t, r, tt.body, tt.svc.input, w.Code, w.Header(), w.Body.Bytes())
			compareGolden(t, filepath.Join("testdata", tt.name+".golden"), got)
		})
	}
}

// renderExchange writes an exchange as text, leaving out the headers that
// change on every run (x-amzn-RequestId, Date).
func renderExchange(t *testing.T, r *http.Request, body string, input any, status int, h http.Header, resp []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s\nContent-Type: %s\nX-Amz-Target: %s\n\n%s\n", r.Method, r.URL.Path,
		r.Header.Get("Content-Type"), r.Header.Get("X-Amz-Target"), body)
	if input != nil {
		in, err := json.MarshalIndent(input, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "\n-- operation input --\n%s\n", in)
	}
	fmt.Fprintf(&b, "\n-- response --\n%d %s\n", status, http.StatusText(status))
	var keys []string
	for k := range h {
		if k != "X-Amzn-Requestid" && k != "Date" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(h[k], ", "))
	}
	fmt.Fprintf(&b, "\n%s\n", resp)
	return b.Bytes()
}

func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("exchange differs from %s:\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}
