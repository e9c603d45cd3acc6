package catalog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"

	"fmt"
	"math/big"
	"time"

	"github.com/meterd/meterd"
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
	prod := &meterd.Product{
		Code: p.Code, SellerAccountID: p.Seller, Type: p.Type, Regions: p.Regions,
		FulfillmentURL: p.FulfillmentURL, CreatedAt: now,
	}
	if old, err := l.Product(ctx, p.Code); err == nil {
		prod.CreatedAt = old.CreatedAt
	}
	for _, d := range p.Dimensions {
		prod.Dimensions = append(prod.Dimensions, meterd.Dimension{Name: d.Name, Unit: d.Unit, Price: d.Price})
	}
	if err := l.PutProduct(ctx, prod); err != nil {
		return fmt.Errorf("catalog: product %s: %w", p.Code, err)
	}
	for i, c := range p.Customers {
		if err := applyCustomer(ctx, l, prod, i, &c, now); err != nil {
			return fmt.Errorf("catalog: product %s customer %d: %w", p.Code, i, err)
		}
	}
	versions := p.PublicKeyVersions
	if versions == 0 {
		versions = 1
	}
	return EnsurePublicKeys(ctx, l, p.Code, versions, now)
}

func applyCustomer(ctx context.Context, l meterd.Ledger, p *meterd.Product, i int, c *Customer, now time.Time) error {
	cust := &meterd.Customer{
		ProductCode:          p.Code,
		CustomerIdentifier:   c.CustomerIdentifier,
		CustomerAWSAccountID: c.AWSAccountID,
		LicenseArn:           c.LicenseArn,
		Status:               c.Status,
		Platform:             c.Platform,
		StatusChangedAt:      now,
		CreatedAt:            now,
	}
	if cust.CustomerAWSAccountID == "" {
		cust.CustomerAWSAccountID = derivedAccountID(p.Code, i)
	}
	if cust.Status == "" {
		cust.Status = meterd.StatusSubscribed
	}
	if cust.Platform == "" {
		cust.Platform = meterd.DefaultPlatform(p.Type)
	}
	old, err := l.CustomerByAccount(ctx, p.Code, cust.CustomerAWSAccountID)
	if err == nil {
		if cust.CustomerIdentifier == "" {
			cust.CustomerIdentifier = old.CustomerIdentifier
		}
		if cust.LicenseArn == "" {
			cust.LicenseArn = old.LicenseArn
		}
		cust.CreatedAt = old.CreatedAt
		if old.Status == cust.Status {
			cust.StatusChangedAt = old.StatusChangedAt
		}
	} else if meterd.ErrorCode(err) != meterd.ENotFound {
		return err
	}
	if cust.CustomerIdentifier == "" {
		cust.CustomerIdentifier = "cust-" + derive(p.Code, cust.CustomerAWSAccountID)[:12]
	}
	if cust.LicenseArn == "" {
		cust.LicenseArn = fmt.Sprintf("arn:aws:license-manager::%s:license:l-%s", p.SellerAccountID, derive(p.Code, cust.CustomerIdentifier)[:32])
	}
	return l.PutCustomer(ctx, cust)
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
