package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/meterd/meterd"
)

// CreateAdminToken stores a new admin token. EConflict when a token of that
// name exists.
func (s *Store) CreateAdminToken(ctx context.Context, t *meterd.AdminToken) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO admin_tokens (name, role, hash, created_at_ms) VALUES (?, ?, ?, ?)`,
		t.Name, t.Role, t.Hash, ms(t.CreatedAt))
	if isUnique(err) {
		return meterd.Errorf(meterd.EConflict, "admin token %s already exists", t.Name)
	} else if err != nil {
		return fmt.Errorf("sqlite: create admin token: %w", err)
	}
	return nil
}

// PutAdminToken creates or replaces the token of t's name.
func (s *Store) PutAdminToken(ctx context.Context, t *meterd.AdminToken) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO admin_tokens (name, role, hash, created_at_ms) VALUES (?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET role = excluded.role, hash = excluded.hash, created_at_ms = excluded.created_at_ms`,
		t.Name, t.Role, t.Hash, ms(t.CreatedAt))
	if err != nil {
		return fmt.Errorf("sqlite: put admin token: %w", err)
	}
	return nil
}

// AdminTokens lists the admin tokens ordered by name.
func (s *Store) AdminTokens(ctx context.Context) ([]*meterd.AdminToken, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT name, role, hash, created_at_ms FROM admin_tokens ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: admin tokens: %w", err)
	}
	return collect(rows, func(rows *sql.Rows) (*meterd.AdminToken, error) {
		var t meterd.AdminToken
		var created int64
		if err := rows.Scan(&t.Name, &t.Role, &t.Hash, &created); err != nil {
			return nil, err
		}
		t.CreatedAt = fromMS(created)
		return &t, nil
	})
}

// DeleteAdminToken deletes the token of that name. ENotFound.
func (s *Store) DeleteAdminToken(ctx context.Context, name string) error {
	res, err := s.write.ExecContext(ctx, `DELETE FROM admin_tokens WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("sqlite: delete admin token: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlite: delete admin token: %w", err)
	} else if n == 0 {
		return meterd.Errorf(meterd.ENotFound, "admin token %s not found", name)
	}
	return nil
}
