package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/meterd/meterd"
)

// PutCustomer creates or updates a customer; an update keeps CreatedAt.
// ENotFound when the product does not exist; EConflict when another customer
// of the product has the same AWS account.
func (s *Store) PutCustomer(ctx context.Context, c *meterd.Customer) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO customers (product_code, customer_identifier, customer_aws_account_id,
			license_arn, status, platform, status_changed_at_ms, created_at_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (product_code, customer_identifier) DO UPDATE SET
			customer_aws_account_id = excluded.customer_aws_account_id, license_arn = excluded.license_arn,
			status = excluded.status, platform = excluded.platform, status_changed_at_ms = excluded.status_changed_at_ms`,
		c.ProductCode, c.CustomerIdentifier, c.CustomerAWSAccountID, c.LicenseArn, c.Status, c.Platform,
		ms(c.StatusChangedAt), ms(c.CreatedAt))
	s.cache.invalidate()
	switch {
	case isForeignKey(err):
		return meterd.Errorf(meterd.ENotFound, "product %s not found", c.ProductCode)
	case isUnique(err):
		return meterd.Errorf(meterd.EConflict, "product %s already has a customer with AWS account %s", c.ProductCode, c.CustomerAWSAccountID)
	case err != nil:
		return fmt.Errorf("sqlite: put customer: %w", err)
	}
	return nil
}

const customerColumns = `product_code, customer_identifier, customer_aws_account_id, license_arn, status, platform,
	status_changed_at_ms, created_at_ms`

func scanCustomer(row interface{ Scan(...any) error }) (*meterd.Customer, error) {
	var c meterd.Customer
	var changed, created int64
	err := row.Scan(&c.ProductCode, &c.CustomerIdentifier, &c.CustomerAWSAccountID, &c.LicenseArn, &c.Status, &c.Platform,
		&changed, &created)
	c.StatusChangedAt, c.CreatedAt = fromMS(changed), fromMS(created)
	return &c, err
}

// Customer returns a customer by identifier. ENotFound.
func (s *Store) Customer(ctx context.Context, productCode, customerIdentifier string) (*meterd.Customer, error) {
	if c, ok := s.cache.customer(productCode, customerIdentifier, false); ok {
		return c, nil
	}
	gen := s.cache.generation()
	c, err := scanCustomer(s.reads.customer.QueryRowContext(ctx, productCode, customerIdentifier))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, meterd.Errorf(meterd.ENotFound, "customer %s of product %s not found", customerIdentifier, productCode)
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: customer: %w", err)
	}
	s.cache.putCustomers(gen, c)
	return c, nil
}

// CustomerByAccount returns a product's customer by AWS account id. ENotFound.
func (s *Store) CustomerByAccount(ctx context.Context, productCode, awsAccountID string) (*meterd.Customer, error) {
	if c, ok := s.cache.customer(productCode, awsAccountID, true); ok {
		return c, nil
	}
	gen := s.cache.generation()
	c, err := scanCustomer(s.reads.customerByAccount.QueryRowContext(ctx, productCode, awsAccountID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, meterd.Errorf(meterd.ENotFound, "no customer of product %s has AWS account %s", productCode, awsAccountID)
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: customer by account: %w", err)
	}
	s.cache.putCustomers(gen, c)
	return c, nil
}

// CustomersByKeys returns the product's customers whose identifier is in
// identifiers or whose AWS account id is in awsAccountIDs, ordered by
// identifier. The keys travel as two JSON arrays read by json_each, so one
// prepared statement serves every batch size.
func (s *Store) CustomersByKeys(ctx context.Context, productCode string, identifiers, awsAccountIDs []string) ([]*meterd.Customer, error) {
	accounts := meterd.MatchableAccounts(awsAccountIDs)
	if len(identifiers) == 0 && len(accounts) == 0 {
		return nil, nil
	}
	if custs, ok := s.cachedCustomers(productCode, identifiers, accounts); ok {
		return custs, nil
	}
	gen := s.cache.generation()
	ids, err := json.Marshal(identifiers)
	if err != nil {
		return nil, fmt.Errorf("sqlite: customers by keys: %w", err)
	}
	accs, err := json.Marshal(accounts)
	if err != nil {
		return nil, fmt.Errorf("sqlite: customers by keys: %w", err)
	}
	rows, err := s.reads.customersByKeys.QueryContext(ctx, productCode, string(ids), string(accs))
	if err != nil {
		return nil, fmt.Errorf("sqlite: customers by keys: %w", err)
	}
	custs, err := collect(rows, func(rows *sql.Rows) (*meterd.Customer, error) { return scanCustomer(rows) })
	if err != nil {
		return nil, err
	}
	s.cache.putCustomers(gen, custs...)
	return custs, nil
}

// cachedCustomers answers CustomersByKeys from the cache when it holds a
// customer for every key; ok is false otherwise.
func (s *Store) cachedCustomers(productCode string, identifiers, accounts []string) (custs []*meterd.Customer, ok bool) {
	seen := make(map[string]bool, len(identifiers))
	add := func(key string, byAccount bool) bool {
		c, ok := s.cache.customer(productCode, key, byAccount)
		if ok && !seen[c.CustomerIdentifier] {
			seen[c.CustomerIdentifier] = true
			custs = append(custs, c)
		}
		return ok
	}
	for _, id := range identifiers {
		if !add(id, false) {
			return nil, false
		}
	}
	for _, a := range accounts {
		if !add(a, true) {
			return nil, false
		}
	}
	slices.SortFunc(custs, func(a, b *meterd.Customer) int { return strings.Compare(a.CustomerIdentifier, b.CustomerIdentifier) })
	return custs, true
}

// Customers lists a product's customers ordered by identifier.
func (s *Store) Customers(ctx context.Context, productCode string) ([]*meterd.Customer, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+customerColumns+` FROM customers
		WHERE product_code = ? ORDER BY customer_identifier`, productCode)
	if err != nil {
		return nil, fmt.Errorf("sqlite: customers: %w", err)
	}
	return collect(rows, func(rows *sql.Rows) (*meterd.Customer, error) { return scanCustomer(rows) })
}

// PutRegistrationToken stores a new registration token.
func (s *Store) PutRegistrationToken(ctx context.Context, t *meterd.RegistrationToken) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO registration_tokens (token, product_code, customer_identifier, license_arn, expires_at_ms, created_at_ms)
		VALUES (?, ?, ?, ?, ?, ?)`, t.Token, t.ProductCode, t.CustomerIdentifier, t.LicenseArn, ms(t.ExpiresAt), ms(t.CreatedAt))
	if isUnique(err) {
		return meterd.Errorf(meterd.EConflict, "registration token already exists")
	} else if err != nil {
		return fmt.Errorf("sqlite: put registration token: %w", err)
	}
	return nil
}

// RegistrationToken returns a token. ENotFound.
func (s *Store) RegistrationToken(ctx context.Context, token string) (*meterd.RegistrationToken, error) {
	var t meterd.RegistrationToken
	var expires, created int64
	err := s.read.QueryRowContext(ctx, `SELECT token, product_code, customer_identifier, license_arn, expires_at_ms, created_at_ms
		FROM registration_tokens WHERE token = ?`, token).Scan(&t.Token, &t.ProductCode, &t.CustomerIdentifier, &t.LicenseArn, &expires, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, meterd.Errorf(meterd.ENotFound, "registration token not found")
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: registration token: %w", err)
	}
	t.ExpiresAt, t.CreatedAt = fromMS(expires), fromMS(created)
	return &t, nil
}

// PutPublicKey creates or updates the key (ProductCode, Version).
func (s *Store) PutPublicKey(ctx context.Context, k *meterd.PublicKey) error {
	var rotated *int64
	if k.RotatedAt != nil {
		v := ms(*k.RotatedAt)
		rotated = &v
	}
	_, err := s.write.ExecContext(ctx, `INSERT INTO public_keys (product_code, version, private_key, public_key_pem, created_at_ms, rotated_at_ms)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (product_code, version) DO UPDATE SET private_key = excluded.private_key,
			public_key_pem = excluded.public_key_pem, created_at_ms = excluded.created_at_ms, rotated_at_ms = excluded.rotated_at_ms`,
		k.ProductCode, k.Version, k.PrivateKey, k.PublicKeyPEM, ms(k.CreatedAt), rotated)
	if err != nil {
		return fmt.Errorf("sqlite: put public key: %w", err)
	}
	return nil
}

// PublicKeys lists a product's key versions in ascending order.
func (s *Store) PublicKeys(ctx context.Context, productCode string) ([]*meterd.PublicKey, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT product_code, version, private_key, public_key_pem, created_at_ms, rotated_at_ms
		FROM public_keys WHERE product_code = ? ORDER BY version`, productCode)
	if err != nil {
		return nil, fmt.Errorf("sqlite: public keys: %w", err)
	}
	return collect(rows, func(rows *sql.Rows) (*meterd.PublicKey, error) {
		var k meterd.PublicKey
		var created int64
		var rotated sql.NullInt64
		if err := rows.Scan(&k.ProductCode, &k.Version, &k.PrivateKey, &k.PublicKeyPEM, &created, &rotated); err != nil {
			return nil, err
		}
		k.CreatedAt = fromMS(created)
		if rotated.Valid {
			t := fromMS(rotated.Int64)
			k.RotatedAt = &t
		}
		return &k, nil
	})
}

// Setting returns a server setting. ENotFound.
func (s *Store) Setting(ctx context.Context, name string) (string, error) {
	var v string
	err := s.read.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = ?`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", meterd.Errorf(meterd.ENotFound, "setting %s not found", name)
	} else if err != nil {
		return "", fmt.Errorf("sqlite: setting: %w", err)
	}
	return v, nil
}

// PutSetting creates or replaces a server setting.
func (s *Store) PutSetting(ctx context.Context, name, value string) error {
	if _, err := s.write.ExecContext(ctx, `INSERT OR REPLACE INTO settings (name, value) VALUES (?, ?)`, name, value); err != nil {
		return fmt.Errorf("sqlite: put setting: %w", err)
	}
	return nil
}

// InitSetting stores value unless the setting exists, and returns the
// stored value.
func (s *Store) InitSetting(ctx context.Context, name, value string) (string, error) {
	var v string
	err := s.write.QueryRowContext(ctx, `INSERT INTO settings (name, value) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET value = settings.value RETURNING value`, name, value).Scan(&v)
	if err != nil {
		return "", fmt.Errorf("sqlite: init setting: %w", err)
	}
	return v, nil
}

// Reset deletes the catalog and the ledger in one transaction; settings are
// kept. Sequence numbers are not reused afterwards.
func (s *Store) Reset(ctx context.Context) error {
	defer s.cache.invalidate()
	err := transact(ctx, s.write, func(tx *sql.Tx) error {
		for _, table := range []string{
			"notify_deliveries", "notify_subscriptions", "notify_rules", "queue_messages", "queues",
			"market_due", "market_events", "agreement_quantities", "agreement_requests", "licenses", "agreements", "offers",
			"usage_customer_monthly", "usage_customer_daily", "usage_dimension_hourly", "usage_hourly", "usage_tag_hourly", "usage_tags", "client_tokens", "metering_records",
			"registration_tokens", "public_keys", "customers", "dimensions", "products", "access_keys", "accounts",
		} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: reset: %w", err)
	}
	return nil
}

// LicenseProducts implements meterd.Ledger: customers_license (migration
// 0040) and the licenses table's key make each ARN an index lookup.
func (s *Store) LicenseProducts(ctx context.Context, licenseArns []string) (map[string]string, error) {
	out := make(map[string]string, len(licenseArns))
	if len(licenseArns) == 0 {
		return out, nil
	}
	arns, err := json.Marshal(licenseArns)
	if err != nil {
		return nil, fmt.Errorf("sqlite: license products: %w", err)
	}
	rows, err := s.read.QueryContext(ctx, `SELECT license_arn, product_code FROM customers
			WHERE license_arn IN (SELECT value FROM json_each(?1)) AND license_arn <> ''
		UNION SELECT arn, product_code FROM licenses WHERE arn IN (SELECT value FROM json_each(?1))`, string(arns))
	if err != nil {
		return nil, fmt.Errorf("sqlite: license products: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var arn, code string
		if err := rows.Scan(&arn, &code); err != nil {
			return nil, fmt.Errorf("sqlite: license products: %w", err)
		}
		out[arn] = code
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: license products: %w", err)
	}
	return out, nil
}
