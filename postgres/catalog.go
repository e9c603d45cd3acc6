package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/internal/pgtx"
)

// PutAccount creates or updates an account, keeping its creation time.
func (s *Store) PutAccount(ctx context.Context, a *meterd.Account) error {
	return s.exec(ctx, "put account", `INSERT INTO accounts (id, name, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name`, a.ID, a.Name, ms(a.CreatedAt))
}

// Accounts lists the accounts ordered by id.
func (s *Store) Accounts(ctx context.Context) ([]*meterd.Account, error) {
	return list(ctx, s, "accounts", "SELECT id, name, created_at FROM accounts ORDER BY id", nil,
		func(row pgx.CollectableRow) (*meterd.Account, error) {
			var a meterd.Account
			err := row.Scan(&a.ID, &a.Name, &a.CreatedAt)
			a.CreatedAt = a.CreatedAt.UTC()
			return &a, err
		})
}

// PutAccessKey creates or replaces an access key. EInvalid when its account
// does not exist.
func (s *Store) PutAccessKey(ctx context.Context, k *meterd.AccessKey) error {
	err := s.exec(ctx, "put access key", `INSERT INTO access_keys (id, secret, session_token, account_id, created_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id) DO UPDATE SET secret = excluded.secret, session_token = excluded.session_token,
			account_id = excluded.account_id, created_at = excluded.created_at`,
		k.ID, k.Secret, k.SessionToken, k.AccountID, ms(k.CreatedAt))
	if pgtx.Is(err, pgtx.ForeignKeyViolation) {
		return meterd.Errorf(meterd.EInvalid, "account %s does not exist", k.AccountID)
	}
	return err
}

const accessKeyColumns = "id, secret, session_token, account_id, created_at"

func scanAccessKey(row pgx.CollectableRow) (*meterd.AccessKey, error) {
	var k meterd.AccessKey
	err := row.Scan(&k.ID, &k.Secret, &k.SessionToken, &k.AccountID, &k.CreatedAt)
	k.CreatedAt = k.CreatedAt.UTC()
	return &k, err
}

// AccessKey returns the key with the given id. ENotFound.
func (s *Store) AccessKey(ctx context.Context, id string) (*meterd.AccessKey, error) {
	return one(ctx, s, "access key "+id, "SELECT "+accessKeyColumns+" FROM access_keys WHERE id = $1", []any{id}, scanAccessKey)
}

// AccessKeys lists the keys of an account ("" for every account), by id.
func (s *Store) AccessKeys(ctx context.Context, accountID string) ([]*meterd.AccessKey, error) {
	return list(ctx, s, "access keys", "SELECT "+accessKeyColumns+" FROM access_keys WHERE $1 = '' OR account_id = $1 ORDER BY id",
		[]any{accountID}, scanAccessKey)
}

// DeleteAccessKey deletes a key. ENotFound.
func (s *Store) DeleteAccessKey(ctx context.Context, id string) error {
	return s.Transact(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM access_keys WHERE id = $1", id)
		if err != nil {
			return fmt.Errorf("postgres: delete access key: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return meterd.Errorf(meterd.ENotFound, "access key %s not found", id)
		}
		return nil
	})
}

// PutRegistrationToken stores a new registration token.
func (s *Store) PutRegistrationToken(ctx context.Context, t *meterd.RegistrationToken) error {
	return s.exec(ctx, "put registration token", `INSERT INTO registration_tokens
		(token, product_code, customer_identifier, license_arn, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (token) DO UPDATE SET product_code = excluded.product_code, customer_identifier = excluded.customer_identifier,
			license_arn = excluded.license_arn, expires_at = excluded.expires_at, created_at = excluded.created_at`,
		t.Token, t.ProductCode, t.CustomerIdentifier, t.LicenseArn, ms(t.ExpiresAt), ms(t.CreatedAt))
}

// RegistrationToken returns a token. ENotFound.
func (s *Store) RegistrationToken(ctx context.Context, token string) (*meterd.RegistrationToken, error) {
	return one(ctx, s, "registration token", `SELECT token, product_code, customer_identifier, license_arn, expires_at, created_at
		FROM registration_tokens WHERE token = $1`, []any{token},
		func(row pgx.CollectableRow) (*meterd.RegistrationToken, error) {
			var t meterd.RegistrationToken
			err := row.Scan(&t.Token, &t.ProductCode, &t.CustomerIdentifier, &t.LicenseArn, &t.ExpiresAt, &t.CreatedAt)
			t.ExpiresAt, t.CreatedAt = t.ExpiresAt.UTC(), t.CreatedAt.UTC()
			return &t, err
		})
}

// PutPublicKey creates or updates the key (ProductCode, Version).
func (s *Store) PutPublicKey(ctx context.Context, k *meterd.PublicKey) error {
	var rotated *time.Time
	if k.RotatedAt != nil {
		r := ms(*k.RotatedAt)
		rotated = &r
	}
	return s.exec(ctx, "put public key", `INSERT INTO public_keys
		(product_code, version, private_key, public_key_pem, created_at, rotated_at) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (product_code, version) DO UPDATE SET private_key = excluded.private_key,
			public_key_pem = excluded.public_key_pem, rotated_at = excluded.rotated_at`,
		k.ProductCode, k.Version, k.PrivateKey, k.PublicKeyPEM, ms(k.CreatedAt), rotated)
}

// PublicKeys lists a product's key versions in ascending order.
func (s *Store) PublicKeys(ctx context.Context, productCode string) ([]*meterd.PublicKey, error) {
	return list(ctx, s, "public keys", `SELECT product_code, version, private_key, public_key_pem, created_at, rotated_at
		FROM public_keys WHERE product_code = $1 ORDER BY version`, []any{productCode},
		func(row pgx.CollectableRow) (*meterd.PublicKey, error) {
			var k meterd.PublicKey
			err := row.Scan(&k.ProductCode, &k.Version, &k.PrivateKey, &k.PublicKeyPEM, &k.CreatedAt, &k.RotatedAt)
			k.CreatedAt = k.CreatedAt.UTC()
			if k.RotatedAt != nil {
				r := k.RotatedAt.UTC()
				k.RotatedAt = &r
			}
			return &k, err
		})
}

// Setting returns a server setting. ENotFound.
func (s *Store) Setting(ctx context.Context, name string) (string, error) {
	return one(ctx, s, "setting "+name, "SELECT value FROM settings WHERE name = $1", []any{name}, pgx.RowTo[string])
}

// PutSetting creates or replaces a server setting.
func (s *Store) PutSetting(ctx context.Context, name, value string) error {
	return s.exec(ctx, "put setting", `INSERT INTO settings (name, value) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, value)
}

// InitSetting stores value unless the setting exists, and returns the
// stored value, in one statement.
func (s *Store) InitSetting(ctx context.Context, name, value string) (string, error) {
	// DO UPDATE with an unchanged value (not DO NOTHING) so that RETURNING
	// yields the row that won, whoever inserted it.
	return one(ctx, s, "init setting "+name, `INSERT INTO settings (name, value) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET value = settings.value RETURNING value`, []any{name, value}, pgx.RowTo[string])
}

// Reset deletes the catalog and the ledger; settings are kept, and so is
// ledger_sequence, so seq never goes back.
func (s *Store) Reset(ctx context.Context) error {
	return s.exec(ctx, "reset", `TRUNCATE notify_deliveries, notify_subscriptions, notify_rules, queue_messages, queues, market_due, market_events, agreement_quantities, agreement_requests, licenses, agreements, offers,
		metering_records, client_tokens, usage_tags, usage_hourly, usage_dimension_hourly, usage_tag_hourly,
		usage_customer_daily, usage_customer_monthly,
		registration_tokens, public_keys, customers, dimensions, products, access_keys, accounts`)
}

// exec runs one statement in its own transaction. Server errors are
// returned unwrapped-by-code so callers can test their SQLSTATE.
func (s *Store) exec(ctx context.Context, what, sql string, args ...any) error {
	err := s.Transact(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, sql, args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: %s: %w", what, err)
	}
	return nil
}

// one returns the single row of a query, or ENotFound naming what. The
// query runs alone, outside an explicit transaction (see the package doc).
func one[T any](ctx context.Context, s *Store, what, sql string, args []any, scan pgx.RowToFunc[T]) (T, error) {
	var v T
	err := s.retry(ctx, func() error {
		rows, err := s.pool.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		v, err = pgx.CollectExactlyOneRow(rows, scan)
		return err
	})
	if err != nil {
		return v, notFound(err, what)
	}
	return v, nil
}

// list returns every row of a query, run alone like one's.
func list[T any](ctx context.Context, s *Store, what, sql string, args []any, scan pgx.RowToFunc[T]) ([]T, error) {
	var out []T
	err := s.retry(ctx, func() error {
		rows, err := s.pool.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, scan)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, err)
	}
	return out, nil
}
