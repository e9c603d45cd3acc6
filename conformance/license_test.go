package conformance

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/internal/meterdtest"
)

// TestLicenseMeteringBoto3 meters a product with concurrent agreements
// with boto3 (python/license_boto3.py checks each answer): LicenseArn is
// required of a customer with two active licenses, accepted for either,
// refused for another customer's license or before the license started.
func TestLicenseMeteringBoto3(t *testing.T) {
	t.Parallel()
	srv := meterdtest.Serve(t, meterdtest.Build(t), "--catalog", "testdata/concurrent.yaml")
	ctx := context.Background()
	c := admin.NewClient(srv.URL, srv.AdminToken)
	license := func(customer, offer string) string {
		t.Helper()
		as, err := c.Agreements(ctx, admin.AgreementQuery{Product: "conf-concurrent", Customer: customer, Offer: offer})
		if err != nil || len(as) != 1 {
			t.Fatalf("agreements of %s on %s = %+v, %v; want one", customer, offer, as, err)
		}
		return as[0].LicenseArn
	}
	usage := license("cust-two-licenses", "offer-concusage0001")
	contract := license("cust-two-licenses", "offer-conccontract1")
	other := license("cust-one-license", "offer-concusage0001")
	cmd := exec.Command("python3", filepath.Join("python", "license_boto3.py"), usage, contract, other)
	cmd.Env = srv.Env("seller", "sellersecret")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("license_boto3.py: %v\n%s", err, out)
	}
}
