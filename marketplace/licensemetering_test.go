package marketplace_test

import (
	"testing"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/catalog"
	"github.com/meterd/meterd/marketplace"
	"github.com/meterd/meterd/metering"
)

// meter sends one BatchMeterUsage record for the customer as the demo's
// seller, with licenseArn ("" for none), and returns its status or error
// code.
func (e *env) meter(customer, licenseArn string, ts time.Time) string {
	e.t.Helper()
	ctx := meterd.NewContextWithCaller(e.t.Context(), &meterd.Caller{AccountID: catalog.DemoSellerAccount, AccessKeyID: "test", Region: "us-east-1"})
	q := int64(1)
	svc := &metering.Service{Ledger: e.l, Clock: e.clock}
	out, err := svc.BatchMeterUsage(ctx, &meterd.BatchMeterUsageInput{ProductCode: catalog.DemoProduct, UsageRecords: []meterd.UsageRecord{{
		CustomerIdentifier: customer, Dimension: "requests", Quantity: &q, Timestamp: &ts, LicenseArn: licenseArn}}})
	if err != nil {
		return meterd.ErrorCode(err)
	}
	return out.Results[0].Status
}

// TestMeterAgainstLicenses: spec §1.3 on both stores. A record's LicenseArn
// must be one of its customer's licenses, active at its timestamp (from
// the license's start to an hour after it was deprovisioned).
func TestMeterAgainstLicenses(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		usage := e.accept(marketplace.AcceptInput{Buyer: newBuyer, OfferID: catalog.DemoUsageOffer})
		in := contract(newBuyer)
		start := t0.Add(2 * time.Hour)
		in.Start = &start
		future := e.accept(in)
		if future.LicenseArn == usage.LicenseArn {
			t.Fatalf("the second NEW agreement has the first's license %s", usage.LicenseArn)
		}
		cust := usage.CustomerIdentifier
		other := e.customer(catalog.DemoBuyerAccount1).LicenseArn
		for _, tt := range []struct {
			name, license string
			ts            time.Time
			want          string
		}{
			{"NoLicense", "", t0, meterd.StatusSuccess},
			{"OwnLicense", usage.LicenseArn, t0, meterd.StatusSuccess},
			{"BeforeOwnLicense", usage.LicenseArn, t0.Add(-time.Minute), meterd.EInvalidLicense},
			{"OtherCustomersLicense", other, t0, meterd.EInvalidLicense},
			{"UnknownLicense", "arn:aws:license-manager::111122223333:license:l-00000000000000000000000000000000", t0, meterd.EInvalidLicense},
			{"BeforeItsStart", future.LicenseArn, t0.Add(time.Minute), meterd.EInvalidLicense},
		} {
			if got := e.meter(cust, tt.license, tt.ts); got != tt.want {
				t.Errorf("%s: record at %v with LicenseArn %q = %s, want %s", tt.name, tt.ts, tt.license, got, tt.want)
			}
		}

		// A license starting inside an hour covers that whole hour: an
		// hourly job stamps the hour's start, botocore whole seconds.
		e.advance(25 * time.Minute)
		midHour := e.accept(contract(newBuyer)) // starts at t0+25m
		if got := e.meter(cust, midHour.LicenseArn, t0); got != meterd.StatusSuccess {
			t.Errorf("record at the start of the hour a license started in (t0+25m) = %s, want Success", got)
		}
		if got := e.meter(cust, midHour.LicenseArn, t0.Add(-time.Second)); got != meterd.EInvalidLicense {
			t.Errorf("record in the hour before a license started = %s, want InvalidLicenseException", got)
		}

		e.advance(3*time.Hour - 25*time.Minute) // t0+3h: the contract started at t0+2h
		if got := e.meter(cust, future.LicenseArn, t0.Add(2*time.Hour+time.Minute)); got != meterd.StatusSuccess {
			t.Errorf("record after the contract's start with its license = %s, want Success", got)
		}
		if _, err := e.market.Cancel(t.Context(), future.ID); err != nil {
			t.Fatal(err)
		}
		e.advance(90 * time.Minute) // t0+4h30: deprovisioned at t0+3h, its final hour over at t0+4h
		if got := e.meter(cust, future.LicenseArn, t0.Add(3*time.Hour+30*time.Minute)); got != meterd.StatusSuccess {
			t.Errorf("record inside the deprovisioned license's final hour = %s, want Success", got)
		}
		if got := e.meter(cust, future.LicenseArn, t0.Add(4*time.Hour+10*time.Minute)); got != meterd.EInvalidLicense {
			t.Errorf("record after the deprovisioned license's final hour = %s, want InvalidLicenseException", got)
		}
		licensed := 0
		err := e.l.Usage(t.Context(), meterd.UsageFilter{ProductCode: catalog.DemoProduct, CustomerIdentifier: cust,
			From: t0.Add(-time.Hour), To: t0.Add(5 * time.Hour)}, func(r *meterd.MeteringRecord) error {
			if r.LicenseArn == future.LicenseArn {
				licensed++
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if licensed != 2 {
			t.Errorf("%d stored records carry the contract's license, want the 2 metered against it", licensed)
		}
	})
}

// TestMeterConcurrentAgreements: a product with concurrent_agreements
// requires LicenseArn once the customer holds several active licenses.
func TestMeterConcurrentAgreements(t *testing.T) {
	f := catalog.Demo()
	f.Products[0].ConcurrentAgreements = true
	storesWith(t, f, func(t *testing.T, e *env) {
		usage := e.accept(marketplace.AcceptInput{Buyer: newBuyer, OfferID: catalog.DemoUsageOffer})
		cust := usage.CustomerIdentifier
		if got := e.meter(cust, "", t0); got != meterd.StatusSuccess {
			t.Errorf("one license, no LicenseArn = %s, want Success", got)
		}
		second := e.accept(contract(newBuyer))
		if got := e.meter(cust, "", t0); got != meterd.EInvalidLicense {
			t.Errorf("two active licenses, no LicenseArn = %s, want InvalidLicenseException", got)
		}
		if got := e.meter(cust, second.LicenseArn, t0); got != meterd.StatusSuccess {
			t.Errorf("two active licenses, LicenseArn of one = %s, want Success", got)
		}
		if got := e.meter(catalog.DemoCustomer1, "", t0); got != meterd.StatusSuccess {
			t.Errorf("another customer with one license, no LicenseArn = %s, want Success", got)
		}
	})
}
