package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/meterd/meterd"
)

// TestCacheDropsRacingRead replays a lookup that read the database before a
// catalog write and tries to keep its value after the write: the cache must
// not keep it, or the old secret would be served until the next write.
func TestCacheDropsRacingRead(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "meterd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.PutAccount(ctx, &meterd.Account{ID: "111122223333"}))
	must(s.PutAccessKey(ctx, &meterd.AccessKey{ID: "k", Secret: "old", AccountID: "111122223333"}))

	gen := s.cache.generation() // the lookup starts
	old, err := scanAccessKey(s.reads.accessKey.QueryRowContext(ctx, "k"))
	must(err)
	must(s.PutAccessKey(ctx, &meterd.AccessKey{ID: "k", Secret: "new", AccountID: "111122223333"}))
	s.cache.putAccessKey(gen, old) // the lookup ends after the write
	s.cache.putCustomers(gen, &meterd.Customer{ProductCode: "p", CustomerIdentifier: "c", CustomerAWSAccountID: "444455556666"})
	s.cache.putProduct(gen, &meterd.Product{Code: "p"})

	if k, err := s.AccessKey(ctx, "k"); err != nil || k.Secret != "new" {
		t.Errorf("AccessKey(k) = %+v, %v; want secret new", k, err)
	}
	if _, ok := s.cache.customer("p", "c", false); ok {
		t.Error("cache kept a customer read before a write")
	}
	if _, ok := s.cache.product("p"); ok {
		t.Error("cache kept a product read before a write")
	}
}
