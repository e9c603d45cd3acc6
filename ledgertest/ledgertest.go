// Package ledgertest is the contract suite that every meterd.Ledger must
// pass. The SQLite and PostgreSQL stores run the same suite, so the rules of
// the ledger (duplicates, idempotency, filters, summaries) cannot drift apart.
//
// A store's test calls Run with a function that opens a fresh, empty store
// and registers its own cleanup:
//
//	func TestLedger(t *testing.T) {
//		ledgertest.Run(t, func(t *testing.T) meterd.Ledger {
//			s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "meterd.db"))
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// Conventions the suite fixes for every store: an update (PutAccount,
// PutProduct, PutCustomer) keeps the stored CreatedAt; times come back in UTC
// to the millisecond; ledger records do not reference catalog rows (the
// suite commits usage for customers that are not in the catalog); Seq never
// goes back, not even after Reset; a ClientToken is kept only for a record
// that was Committed, and its time is the record's ReceivedAt (which the
// ClientToken retention purge reads).
package ledgertest

import (
	"fmt"
	"testing"
	"time"

	"github.com/meterd/meterd"
)

// Open returns a fresh, empty store for one subtest; it registers its own
// cleanup with t.
type Open func(t *testing.T) meterd.Ledger

// Fixed instants: the suite never reads the wall clock, so its results do
// not depend on when it runs.
var (
	h0 = time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	h1 = h0.Add(time.Hour)
	h2 = h0.Add(2 * time.Hour)
)

// Catalog identities used by the seeded fixtures.
const (
	seller    = "111122223333"
	buyer1    = "444455556666"
	buyer2    = "777788889999"
	product1  = "demo-product"
	product2  = "other-product"
	customer1 = "cust-1"
	customer2 = "cust-2"
)

// Run runs the whole contract suite against stores made by open.
func Run(t *testing.T, open func(t *testing.T) meterd.Ledger) {
	t.Run("Accounts", func(t *testing.T) { testAccounts(t, open) })
	t.Run("AccessKeys", func(t *testing.T) { testAccessKeys(t, open) })
	t.Run("Products", func(t *testing.T) { testProducts(t, open) })
	t.Run("Customers", func(t *testing.T) { testCustomers(t, open) })
	t.Run("LicenseProducts", func(t *testing.T) { testLicenseProducts(t, open) })
	t.Run("RegistrationTokens", func(t *testing.T) { testRegistrationTokens(t, open) })
	t.Run("PublicKeys", func(t *testing.T) { testPublicKeys(t, open) })
	t.Run("Settings", func(t *testing.T) { testSettings(t, open) })
	t.Run("AdminTokens", func(t *testing.T) { testAdminTokens(t, open) })
	t.Run("Retention", func(t *testing.T) { testRetention(t, open) })
	t.Run("Purger", func(t *testing.T) { testPurger(t, open) })
	t.Run("Commit", func(t *testing.T) { testCommit(t, open) })
	t.Run("CommitMany", func(t *testing.T) { testCommitMany(t, open) })
	t.Run("Usage", func(t *testing.T) { testUsage(t, open) })
	t.Run("SummarizeUsage", func(t *testing.T) { testSummarizeUsage(t, open) })
	t.Run("SummarizeUsageAcrossDays", func(t *testing.T) { testSummarizeAcrossDays(t, open) })
	t.Run("TopCustomers", func(t *testing.T) { testTopCustomers(t, open) })
	t.Run("Reset", func(t *testing.T) { testReset(t, open) })
	t.Run("Market", func(t *testing.T) { testMarket(t, open) })
	t.Run("Ping", func(t *testing.T) {
		l := open(t)
		if err := l.Ping(t.Context()); err != nil {
			t.Fatalf("Ping() = %v, want nil", err)
		}
	})
}

// checkCode fails the test unless err carries the meterd error code want.
func checkCode(t *testing.T, what string, err error, want string) {
	t.Helper()
	if got := meterd.ErrorCode(err); got != want {
		t.Fatalf("%s: error code = %q (%v), want %q", what, got, err, want)
	}
}

// must fails the test on a non-nil error.
func must(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s = %v, want nil", what, err)
	}
}

// checkTime fails unless got is the instant want, in UTC.
func checkTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
	if !got.IsZero() && got.Location() != time.UTC {
		t.Errorf("%s location = %v, want UTC", what, got.Location())
	}
}

// recordID returns a deterministic id in the format of a MeteringRecordId
// (a UUID), so that stores with a uuid column accept it.
func recordID(n int) string {
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", n)
}

// seedCatalog stores a seller, two products and two customers of the first.
func seedCatalog(t *testing.T, l meterd.Ledger) {
	t.Helper()
	ctx := t.Context()
	for _, a := range []*meterd.Account{
		{ID: seller, Name: "Seller", CreatedAt: h0},
		{ID: buyer1, Name: "Buyer 1", CreatedAt: h0},
		{ID: buyer2, Name: "Buyer 2", CreatedAt: h0},
	} {
		must(t, "PutAccount", l.PutAccount(ctx, a))
	}
	for _, code := range []string{product1, product2} {
		must(t, "PutProduct", l.PutProduct(ctx, &meterd.Product{
			Code: code, SellerAccountID: seller, Type: meterd.ProductSaaS,
			Dimensions: []meterd.Dimension{{Name: "requests", Unit: "Requests"}, {Name: "storage_gb", Unit: "GB-Hours"}},
			CreatedAt:  h0,
		}))
	}
	for _, c := range []*meterd.Customer{
		{ProductCode: product1, CustomerIdentifier: customer1, CustomerAWSAccountID: buyer1},
		{ProductCode: product1, CustomerIdentifier: customer2, CustomerAWSAccountID: buyer2},
		{ProductCode: product2, CustomerIdentifier: customer1, CustomerAWSAccountID: buyer1},
	} {
		c.Status, c.Platform, c.StatusChangedAt, c.CreatedAt = meterd.StatusSubscribed, meterd.PlatformOther, h0, h0
		must(t, "PutCustomer", l.PutCustomer(ctx, c))
	}
}

// commit commits records and fails the test on an error or a wrong number
// of results.
func commit(t *testing.T, l meterd.Ledger, records ...*meterd.MeteringRecord) []meterd.CommitResult {
	t.Helper()
	res, err := l.Commit(t.Context(), records)
	if err != nil {
		t.Fatalf("Commit(%d records) = %v, want nil", len(records), err)
	}
	if len(res) != len(records) {
		t.Fatalf("Commit(%d records) returned %d results, want %d", len(records), len(res), len(records))
	}
	return res
}

// usagePaged returns the ids of the records matching f read limit at a
// time through the cursor, as the console and the admin API read them,
// until a page is short; at most maxPages pages, so that a cursor that
// does not advance ends the test rather than hangs it.
func usagePaged(t *testing.T, l meterd.Ledger, f meterd.UsageFilter, limit, maxPages int) []string {
	t.Helper()
	var out []string
	f.Limit = limit
	for range maxPages {
		page := usage(t, l, f)
		out = append(out, ids(page)...)
		if len(page) < limit {
			break
		}
		f.AfterSeq = page[len(page)-1].Seq
	}
	return out
}

// usage returns every record matching f.
func usage(t *testing.T, l meterd.Ledger, f meterd.UsageFilter) []*meterd.MeteringRecord {
	t.Helper()
	var out []*meterd.MeteringRecord
	err := l.Usage(t.Context(), f, func(r *meterd.MeteringRecord) error {
		out = append(out, r)
		return nil
	})
	if err != nil {
		t.Fatalf("Usage(%+v) = %v, want nil", f, err)
	}
	return out
}

// ids returns the ids of records, in order.
func ids(records []*meterd.MeteringRecord) []string {
	out := make([]string, len(records))
	for i, r := range records {
		out[i] = r.ID
	}
	return out
}
