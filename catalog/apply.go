package catalog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"

	"fmt"
	"math/big"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/marketplace"
	"github.com/meterd/meterd/metering"
)

// Apply writes the catalog into the ledger. It is idempotent: applying the
// same file twice changes nothing. Values the file leaves out (customer
// identifiers, account ids, license ARNs) are derived from the product and
// position, or kept from the ledger, so they are stable across restarts.
// Signing keys are created only for versions that do not exist yet.
func Apply(ctx context.Context, l meterd.Ledger, f *File, now time.Time) error {
	for _, a := range f.Accounts {
		if err := applyAccount(ctx, l, &a, now); err != nil {
			return err
		}
	}
	if err := applyNotifications(ctx, l, f, now); err != nil {
		return err
	}
	for _, p := range f.Products {
		if err := applyProduct(ctx, l, &p, now); err != nil {
			return err
		}
	}
	return nil
}

func applyAccount(ctx context.Context, l meterd.Ledger, a *Account, now time.Time) error {
	if err := l.PutAccount(ctx, &meterd.Account{ID: a.ID, Name: a.Name, CreatedAt: now}); err != nil {
		return fmt.Errorf("catalog: account %s: %w", a.ID, err)
	}
	for _, k := range a.AccessKeys {
		key := &meterd.AccessKey{ID: k.ID, Secret: k.Secret, SessionToken: k.SessionToken, AccountID: a.ID, CreatedAt: now}
		if old, err := l.AccessKey(ctx, k.ID); err == nil {
			key.CreatedAt = old.CreatedAt
		}
		if err := l.PutAccessKey(ctx, key); err != nil {
			return fmt.Errorf("catalog: access key %s: %w", k.ID, err)
		}
	}
	return nil
}

func applyProduct(ctx context.Context, l meterd.Ledger, p *Product, now time.Time) error {
	prod := p.product(now)
	if old, err := l.Product(ctx, p.Code); err == nil {
		prod.CreatedAt = old.CreatedAt
		if p.ID == "" && old.ID != "" {
			prod.ID = old.ID
		}
	}
	if err := l.PutProduct(ctx, prod); err != nil {
		return fmt.Errorf("catalog: product %s: %w", p.Code, err)
	}
	cp := &marketplace.CatalogProduct{Product: prod}
	for i := range p.Offers {
		cp.Offers = append(cp.Offers, p.Offers[i].spec())
	}
	for i, c := range p.Customers {
		cp.Customers = append(cp.Customers, catalogCustomer(prod, i, &c))
	}
	for i := range p.Agreements {
		cp.Agreements = append(cp.Agreements, p.Agreements[i].input())
	}
	market := &marketplace.Service{Ledger: l, Clock: fixedClock(now)}
	if err := market.ApplyCatalog(ctx, cp); err != nil {
		return fmt.Errorf("catalog: product %s: %w", p.Code, err)
	}
	versions := p.PublicKeyVersions
	if versions == 0 {
		versions = 1
	}
	return EnsurePublicKeys(ctx, l, p.Code, versions, now)
}

// fixedClock is the instant a catalog is applied at.
type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

// catalogCustomer fills in the values a customers: entry leaves out,
// derived from the product and position so that they are stable.
func catalogCustomer(p *meterd.Product, i int, c *Customer) marketplace.CatalogCustomer {
	out := marketplace.CatalogCustomer{AWSAccountID: c.AWSAccountID, CustomerIdentifier: c.CustomerIdentifier,
		LicenseArn: c.LicenseArn, Status: c.Status, Platform: c.Platform}
	if out.AWSAccountID == "" {
		out.AWSAccountID = derivedAccountID(p.Code, i)
	}
	if out.CustomerIdentifier == "" {
		out.CustomerIdentifier = "cust-" + derive(p.Code, out.AWSAccountID)[:12]
	}
	if out.Platform == "" {
		out.Platform = meterd.DefaultPlatform(p.Type)
	}
	return out
}

// EnsurePublicKeys makes sure the product has signing key versions 1..n,
// creating the missing ones; every version but the newest is marked rotated.
func EnsurePublicKeys(ctx context.Context, l meterd.Ledger, code string, n int64, now time.Time) error {
	keys, err := l.PublicKeys(ctx, code)
	if err != nil {
		return err
	}
	have := map[int64]*meterd.PublicKey{}
	for _, k := range keys {
		have[k.Version] = k
	}
	for v := int64(1); v <= n; v++ {
		k := have[v]
		if k == nil {
			if k, err = metering.NewPublicKey(code, v, now); err != nil {
				return err
			}
		} else if v == n || k.RotatedAt != nil {
			continue
		}
		if v < n && k.RotatedAt == nil {
			k.RotatedAt = &now
		}
		if err := l.PutPublicKey(ctx, k); err != nil {
			return fmt.Errorf("catalog: public key %s v%d: %w", code, v, err)
		}
	}
	return nil
}

// derive returns a stable hex digest of its parts, for generated values.
func derive(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// derivedAccountID is the 12-digit AWS account id of the i-th customer of a
// product when the catalog gives none.
func derivedAccountID(code string, i int) string {
	n, _ := new(big.Int).SetString(derive(code, fmt.Sprint(i)), 16)
	n.Mod(n, big.NewInt(1e12))
	return fmt.Sprintf("%012d", n)
}

// Empty reports whether the ledger holds no account yet: a first start.
func Empty(ctx context.Context, l meterd.Ledger) (bool, error) {
	accounts, err := l.Accounts(ctx)
	if err != nil {
		return false, err
	}
	return len(accounts) == 0, nil
}
