package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/meterd/meterd"
)

// PutAccount creates or updates an account; an update keeps CreatedAt.
func (s *Store) PutAccount(ctx context.Context, a *meterd.Account) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO accounts (id, name, created_at_ms) VALUES (?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name`, a.ID, a.Name, ms(a.CreatedAt))
	s.cache.invalidate()
	if err != nil {
		return fmt.Errorf("sqlite: put account %s: %w", a.ID, err)
	}
	return nil
}

// Accounts lists the accounts ordered by id.
func (s *Store) Accounts(ctx context.Context) ([]*meterd.Account, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, name, created_at_ms FROM accounts ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: accounts: %w", err)
	}
	return collect(rows, func(rows *sql.Rows) (*meterd.Account, error) {
		var a meterd.Account
		var created int64
		err := rows.Scan(&a.ID, &a.Name, &created)
		a.CreatedAt = fromMS(created)
		return &a, err
	})
}

// PutAccessKey creates or replaces an access key. EInvalid when its account
// does not exist.
func (s *Store) PutAccessKey(ctx context.Context, k *meterd.AccessKey) error {
	_, err := s.write.ExecContext(ctx, `INSERT OR REPLACE INTO access_keys (id, secret, session_token, account_id, created_at_ms)
		VALUES (?, ?, ?, ?, ?)`, k.ID, k.Secret, k.SessionToken, k.AccountID, ms(k.CreatedAt))
	s.cache.invalidate()
	if isForeignKey(err) {
		return meterd.Errorf(meterd.EInvalid, "account %s does not exist", k.AccountID)
	} else if err != nil {
		return fmt.Errorf("sqlite: put access key: %w", err)
	}
	return nil
}

const accessKeyColumns = `id, secret, session_token, account_id, created_at_ms`

func scanAccessKey(row interface{ Scan(...any) error }) (*meterd.AccessKey, error) {
	var k meterd.AccessKey
	var created int64
	err := row.Scan(&k.ID, &k.Secret, &k.SessionToken, &k.AccountID, &created)
	k.CreatedAt = fromMS(created)
	return &k, err
}

// AccessKey returns the key with the given id. ENotFound.
func (s *Store) AccessKey(ctx context.Context, id string) (*meterd.AccessKey, error) {
	if k, ok := s.cache.accessKey(id); ok {
		return k, nil
	}
	gen := s.cache.generation()
	k, err := scanAccessKey(s.reads.accessKey.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, meterd.Errorf(meterd.ENotFound, "access key %s not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: access key: %w", err)
	}
	s.cache.putAccessKey(gen, k)
	return k, nil
}

// AccessKeys lists the keys of an account ("" for every account), by id.
func (s *Store) AccessKeys(ctx context.Context, accountID string) ([]*meterd.AccessKey, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+accessKeyColumns+` FROM access_keys
		WHERE ? = '' OR account_id = ? ORDER BY id`, accountID, accountID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: access keys: %w", err)
	}
	return collect(rows, func(rows *sql.Rows) (*meterd.AccessKey, error) { return scanAccessKey(rows) })
}

// DeleteAccessKey deletes a key. ENotFound.
func (s *Store) DeleteAccessKey(ctx context.Context, id string) error {
	res, err := s.write.ExecContext(ctx, `DELETE FROM access_keys WHERE id = ?`, id)
	s.cache.invalidate()
	if err != nil {
		return fmt.Errorf("sqlite: delete access key: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlite: delete access key: %w", err)
	} else if n == 0 {
		return meterd.Errorf(meterd.ENotFound, "access key %s not found", id)
	}
	return nil
}

// PutProduct creates or updates a product and replaces its dimensions; an
// update keeps CreatedAt. EInvalid when the seller account does not exist.
func (s *Store) PutProduct(ctx context.Context, p *meterd.Product) error {
	regions, err := json.Marshal(p.Regions)
	if err != nil {
		return fmt.Errorf("sqlite: put product: %w", err)
	}
	err = transact(ctx, s.write, func(tx *sql.Tx) error {
		// An upsert, not INSERT OR REPLACE: a replace would delete the row
		// and cascade to the product's customers.
		if _, err := tx.ExecContext(ctx, `INSERT INTO products (code, seller_account_id, type, regions, fulfillment_url, created_at_ms,
				entity_id, concurrent_agreements)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (code) DO UPDATE SET seller_account_id = excluded.seller_account_id, type = excluded.type,
				regions = excluded.regions, fulfillment_url = excluded.fulfillment_url, entity_id = excluded.entity_id,
				concurrent_agreements = excluded.concurrent_agreements`,
			p.Code, p.SellerAccountID, p.Type, string(regions), p.FulfillmentURL, ms(p.CreatedAt), p.ID, p.ConcurrentAgreements); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM dimensions WHERE product_code = ?`, p.Code); err != nil {
			return err
		}
		for i, d := range p.Dimensions {
			if _, err := tx.ExecContext(ctx, `INSERT INTO dimensions (product_code, position, name, unit, price, contract, value_type)
				VALUES (?, ?, ?, ?, ?, ?, ?)`,
				p.Code, i, d.Name, d.Unit, d.Price, d.Contract, d.ValueType); err != nil {
				return err
			}
		}
		return nil
	})
	s.cache.invalidate()
	if isForeignKey(err) {
		return meterd.Errorf(meterd.EInvalid, "seller account %s does not exist", p.SellerAccountID)
	} else if err != nil {
		return fmt.Errorf("sqlite: put product %s: %w", p.Code, err)
	}
	return nil
}

// Product returns a product with its dimensions. ENotFound.
func (s *Store) Product(ctx context.Context, code string) (*meterd.Product, error) {
	if p, ok := s.cache.product(code); ok {
		return p, nil
	}
	gen := s.cache.generation()
	p, err := s.readProduct(ctx, code)
	if err == nil {
		s.cache.putProduct(gen, p)
	}
	return p, err
}

// readProduct reads a product with its dimensions from the database.
func (s *Store) readProduct(ctx context.Context, code string) (*meterd.Product, error) {
	rows, err := s.reads.product.QueryContext(ctx, code)
	if err != nil {
		return nil, fmt.Errorf("sqlite: product %s: %w", code, err)
	}
	defer rows.Close()
	var p *meterd.Product
	for rows.Next() {
		var q meterd.Product
		var regions string
		var created int64
		var name, unit, price, valueType sql.NullString
		var contract sql.NullBool
		if err := rows.Scan(&q.Code, &q.SellerAccountID, &q.Type, &regions, &q.FulfillmentURL, &created, &q.ID, &q.ConcurrentAgreements,
			&name, &unit, &price, &contract, &valueType); err != nil {
			return nil, fmt.Errorf("sqlite: product %s: %w", code, err)
		}
		if p == nil {
			q.CreatedAt = fromMS(created)
			if err := json.Unmarshal([]byte(regions), &q.Regions); err != nil {
				return nil, fmt.Errorf("sqlite: product %s: %w", code, err)
			}
			p = &q
		}
		if name.Valid {
			p.Dimensions = append(p.Dimensions, meterd.Dimension{Name: name.String, Unit: unit.String, Price: price.String,
				Contract: contract.Bool, ValueType: valueType.String})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: product %s: %w", code, err)
	}
	if p == nil {
		return nil, meterd.Errorf(meterd.ENotFound, "product %s not found", code)
	}
	return p, nil
}

// Products lists the products ordered by code.
func (s *Store) Products(ctx context.Context) ([]*meterd.Product, error) {
	var out []*meterd.Product
	err := s.readTx(ctx, func(tx *sql.Tx) (err error) {
		out, err = queryProducts(ctx, tx, ``)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: products: %w", err)
	}
	return out, nil
}

// queryProducts reads the products selected by where, with their dimensions.
func queryProducts(ctx context.Context, tx *sql.Tx, where string, args ...any) ([]*meterd.Product, error) {
	rows, err := tx.QueryContext(ctx, `SELECT code, seller_account_id, type, regions, fulfillment_url, created_at_ms,
			entity_id, concurrent_agreements
		FROM products `+where+` ORDER BY code`, args...)
	if err != nil {
		return nil, err
	}
	products, err := collect(rows, func(rows *sql.Rows) (*meterd.Product, error) {
		var p meterd.Product
		var regions string
		var created int64
		if err := rows.Scan(&p.Code, &p.SellerAccountID, &p.Type, &regions, &p.FulfillmentURL, &created, &p.ID, &p.ConcurrentAgreements); err != nil {
			return nil, err
		}
		p.CreatedAt = fromMS(created)
		return &p, json.Unmarshal([]byte(regions), &p.Regions)
	})
	if err != nil {
		return nil, err
	}
	byCode := make(map[string]*meterd.Product, len(products))
	for _, p := range products {
		byCode[p.Code] = p
	}
	rows, err = tx.QueryContext(ctx, `SELECT product_code, name, unit, price, contract, value_type FROM dimensions
		WHERE product_code IN (SELECT code FROM products `+where+`) ORDER BY product_code, position`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var code string
		var d meterd.Dimension
		if err := rows.Scan(&code, &d.Name, &d.Unit, &d.Price, &d.Contract, &d.ValueType); err != nil {
			return nil, err
		}
		if p := byCode[code]; p != nil {
			p.Dimensions = append(p.Dimensions, d)
		}
	}
	return products, rows.Err()
}

// collect scans every row with scan and closes rows.
func collect[T any](rows *sql.Rows, scan func(*sql.Rows) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
