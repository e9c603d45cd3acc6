package sqlite_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/catalog"
	"github.com/meterd/meterd/sqlite"
)

// openDemo opens a store holding the demo catalog.
func openDemo(t *testing.T) *sqlite.Store {
	t.Helper()
	s := open(t)
	if err := catalog.Apply(t.Context(), s, catalog.Demo(), time.Now()); err != nil {
		t.Fatalf("Apply(demo) = %v, want nil", err)
	}
	return s
}

// TestCacheAnswersRepeatedLookups checks that the request path's lookups
// are served from memory after the first read.
func TestCacheAnswersRepeatedLookups(t *testing.T) {
	s := openDemo(t)
	ctx := t.Context()
	lookups := func() {
		t.Helper()
		if _, err := s.AccessKey(ctx, "buyer"); err != nil {
			t.Fatalf("AccessKey(buyer) = %v, want nil", err)
		}
		if _, err := s.Product(ctx, catalog.DemoProduct); err != nil {
			t.Fatalf("Product = %v, want nil", err)
		}
		if _, err := s.CustomerByAccount(ctx, catalog.DemoProduct, catalog.DemoBuyerAccount1); err != nil {
			t.Fatalf("CustomerByAccount = %v, want nil", err)
		}
		if _, err := s.Customer(ctx, catalog.DemoProduct, catalog.DemoCustomer2); err != nil {
			t.Fatalf("Customer = %v, want nil", err)
		}
		if got, err := s.CustomersByKeys(ctx, catalog.DemoProduct, []string{catalog.DemoCustomer2}, []string{catalog.DemoBuyerAccount1}); err != nil || len(got) != 2 {
			t.Fatalf("CustomersByKeys = %d customers, %v; want 2, nil", len(got), err)
		}
	}
	lookups()
	hits0, misses0 := sqlite.CacheCounts(s)
	lookups()
	hits1, misses1 := sqlite.CacheCounts(s)
	if misses1 != misses0 {
		t.Errorf("cache misses on the second round = %d, want 0", misses1-misses0)
	}
	if hits1-hits0 < 5 {
		t.Errorf("cache hits on the second round = %d, want at least 5", hits1-hits0)
	}
}

// TestCacheSeesCatalogWrites reads each cached item, changes it through the
// store, and reads it again: the second read must see the change.
func TestCacheSeesCatalogWrites(t *testing.T) {
	const (
		product = catalog.DemoProduct
		acct1   = catalog.DemoBuyerAccount1
	)
	tests := []struct {
		name   string
		change func(ctx context.Context, s *sqlite.Store) error
		check  func(ctx context.Context, t *testing.T, s *sqlite.Store)
	}{
		{
			name: "rotated secret",
			change: func(ctx context.Context, s *sqlite.Store) error {
				return s.PutAccessKey(ctx, &meterd.AccessKey{ID: "buyer", Secret: "rotated", AccountID: acct1})
			},
			check: func(ctx context.Context, t *testing.T, s *sqlite.Store) {
				if k, err := s.AccessKey(ctx, "buyer"); err != nil || k.Secret != "rotated" {
					t.Errorf("AccessKey(buyer) = %+v, %v; want secret rotated", k, err)
				}
			},
		},
		{
			name:   "deleted key",
			change: func(ctx context.Context, s *sqlite.Store) error { return s.DeleteAccessKey(ctx, "buyer") },
			check: func(ctx context.Context, t *testing.T, s *sqlite.Store) {
				if _, err := s.AccessKey(ctx, "buyer"); meterd.ErrorCode(err) != meterd.ENotFound {
					t.Errorf("AccessKey(buyer) error = %v, want ENotFound", err)
				}
			},
		},
		{
			name: "product dimensions replaced",
			change: func(ctx context.Context, s *sqlite.Store) error {
				return s.PutProduct(ctx, &meterd.Product{Code: product, SellerAccountID: catalog.DemoSellerAccount,
					Type: meterd.ProductSaaS, Regions: []string{"eu-west-1"}, Dimensions: []meterd.Dimension{{Name: "only", Unit: "Units"}}})
			},
			check: func(ctx context.Context, t *testing.T, s *sqlite.Store) {
				p, err := s.Product(ctx, product)
				if err != nil || len(p.Dimensions) != 1 || p.Dimensions[0].Name != "only" || len(p.Regions) != 1 {
					t.Errorf("Product = %+v, %v; want the one dimension only in eu-west-1", p, err)
				}
			},
		},
		{
			name: "customer unsubscribed and moved to another account",
			change: func(ctx context.Context, s *sqlite.Store) error {
				return s.PutCustomer(ctx, &meterd.Customer{ProductCode: product, CustomerIdentifier: catalog.DemoCustomer1,
					CustomerAWSAccountID: "999900001111", Status: meterd.StatusUnsubscribed})
			},
			check: func(ctx context.Context, t *testing.T, s *sqlite.Store) {
				if c, err := s.Customer(ctx, product, catalog.DemoCustomer1); err != nil || c.Status != meterd.StatusUnsubscribed {
					t.Errorf("Customer = %+v, %v; want unsubscribed", c, err)
				}
				if _, err := s.CustomerByAccount(ctx, product, acct1); meterd.ErrorCode(err) != meterd.ENotFound {
					t.Errorf("CustomerByAccount(old account) error = %v, want ENotFound", err)
				}
				got, err := s.CustomersByKeys(ctx, product, []string{catalog.DemoCustomer1}, nil)
				if err != nil || len(got) != 1 || got[0].Status != meterd.StatusUnsubscribed {
					t.Errorf("CustomersByKeys = %+v, %v; want the unsubscribed customer", got, err)
				}
			},
		},
		{
			name:   "reset",
			change: func(ctx context.Context, s *sqlite.Store) error { return s.Reset(ctx) },
			check: func(ctx context.Context, t *testing.T, s *sqlite.Store) {
				if _, err := s.AccessKey(ctx, "buyer"); meterd.ErrorCode(err) != meterd.ENotFound {
					t.Errorf("AccessKey after Reset error = %v, want ENotFound", err)
				}
				if _, err := s.Product(ctx, product); meterd.ErrorCode(err) != meterd.ENotFound {
					t.Errorf("Product after Reset error = %v, want ENotFound", err)
				}
				if got, err := s.CustomersByKeys(ctx, product, []string{catalog.DemoCustomer1}, []string{acct1}); err != nil || len(got) != 0 {
					t.Errorf("CustomersByKeys after Reset = %d customers, %v; want none", len(got), err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openDemo(t)
			ctx := t.Context()
			// Fill the cache with everything the checks read.
			s.AccessKey(ctx, "buyer")
			s.Product(ctx, product)
			s.Customer(ctx, product, catalog.DemoCustomer1)
			s.CustomerByAccount(ctx, product, acct1)
			s.CustomersByKeys(ctx, product, []string{catalog.DemoCustomer1}, []string{acct1})
			if err := tt.change(ctx, s); err != nil {
				t.Fatalf("change = %v, want nil", err)
			}
			tt.check(ctx, t, s)
		})
	}
}

// TestCacheHandsOutCopies changes what lookups returned and reads again.
func TestCacheHandsOutCopies(t *testing.T) {
	s := openDemo(t)
	ctx := t.Context()
	for range 2 { // the first round reads the database, the second the cache
		k, err := s.AccessKey(ctx, "buyer")
		if err != nil || k.Secret != "buyer" {
			t.Fatalf("AccessKey(buyer) = %+v, %v; want secret buyer", k, err)
		}
		k.Secret = "changed by a caller"
		p, err := s.Product(ctx, catalog.DemoProduct)
		if err != nil || p.Dimensions[0].Name != "requests" {
			t.Fatalf("Product = %+v, %v; want first dimension requests", p, err)
		}
		p.Dimensions[0].Name = "changed by a caller"
		c, err := s.CustomerByAccount(ctx, catalog.DemoProduct, catalog.DemoBuyerAccount1)
		if err != nil || c.Status != meterd.StatusSubscribed {
			t.Fatalf("CustomerByAccount = %+v, %v; want subscribed", c, err)
		}
		c.Status = "changed by a caller"
	}
}

// TestCacheConcurrentWrites rotates a key while other goroutines read it:
// once PutAccessKey has returned, every read sees the new secret. With
// -race it checks the cache's locking; TestCacheDropsRacingRead checks the
// race it guards against deterministically.
func TestCacheConcurrentWrites(t *testing.T) {
	s := openDemo(t)
	ctx := t.Context()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.AccessKey(ctx, "buyer"); err != nil {
					t.Errorf("AccessKey(buyer) = %v, want nil", err)
					return
				}
			}
		}()
	}
	defer func() {
		close(stop)
		wg.Wait()
	}()
	for i := range 30 {
		secret := fmt.Sprintf("secret-%d", i)
		if err := s.PutAccessKey(ctx, &meterd.AccessKey{ID: "buyer", Secret: secret, AccountID: catalog.DemoBuyerAccount1}); err != nil {
			t.Fatalf("PutAccessKey = %v, want nil", err)
		}
		for range 3 {
			if k, err := s.AccessKey(ctx, "buyer"); err != nil || k.Secret != secret {
				t.Fatalf("AccessKey(buyer) after rotation %d = %+v, %v; want secret %s", i, k, err, secret)
			}
		}
	}
}
