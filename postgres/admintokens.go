package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/meterd/meterd"
	"github.com/meterd/meterd/internal/pgtx"
)

// CreateAdminToken stores a new admin token. EConflict when a token of that
// name exists.
func (s *Store) CreateAdminToken(ctx context.Context, t *meterd.AdminToken) error {
	err := s.exec(ctx, "create admin token", `INSERT INTO admin_tokens (name, role, hash, created_at) VALUES ($1, $2, $3, $4)`,
		t.Name, t.Role, t.Hash, ms(t.CreatedAt))
	if pgtx.Is(err, pgtx.UniqueViolation) {
		return meterd.Errorf(meterd.EConflict, "admin token %s already exists", t.Name)
	}
	return err
}

// PutAdminToken creates or replaces the token of t's name.
func (s *Store) PutAdminToken(ctx context.Context, t *meterd.AdminToken) error {
	return s.exec(ctx, "put admin token", `INSERT INTO admin_tokens (name, role, hash, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (name) DO UPDATE SET role = excluded.role, hash = excluded.hash, created_at = excluded.created_at`,
		t.Name, t.Role, t.Hash, ms(t.CreatedAt))
}

// AdminTokens lists the admin tokens ordered by name.
func (s *Store) AdminTokens(ctx context.Context) ([]*meterd.AdminToken, error) {
	return list(ctx, s, "admin tokens", `SELECT name, role, hash, created_at FROM admin_tokens ORDER BY name`, nil,
		func(row pgx.CollectableRow) (*meterd.AdminToken, error) {
			var t meterd.AdminToken
			err := row.Scan(&t.Name, &t.Role, &t.Hash, &t.CreatedAt)
			t.CreatedAt = t.CreatedAt.UTC()
			return &t, err
		})
}

// DeleteAdminToken deletes the token of that name. ENotFound.
func (s *Store) DeleteAdminToken(ctx context.Context, name string) error {
	return s.Transact(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM admin_tokens WHERE name = $1", name)
		if err != nil {
			return fmt.Errorf("postgres: delete admin token: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return meterd.Errorf(meterd.ENotFound, "admin token %s not found", name)
		}
		return nil
	})
}
