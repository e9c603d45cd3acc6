package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/meterd/meterd"
)

// PutAgreementRequest stores a new agreement request, or returns the one
// stored with the buyer's ClientToken, in one transaction.
func (s *Store) PutAgreementRequest(ctx context.Context, r *meterd.AgreementRequest) (*meterd.AgreementRequest, error) {
	r.CreatedAt = r.CreatedAt.UTC().Truncate(time.Millisecond)
	doc, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("sqlite: agreement request %s: %w", r.ID, err)
	}
	var token sql.NullString
	if r.ClientToken != "" {
		token = sql.NullString{String: r.ClientToken, Valid: true}
	}
	var stored string
	err = transact(ctx, s.write, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO agreement_requests (id, buyer_account_id, client_token, doc, created_at_ms)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (buyer_account_id, client_token) DO NOTHING RETURNING doc`,
			r.ID, r.BuyerAccountID, token, string(doc), ms(r.CreatedAt)).Scan(&stored)
		if errors.Is(err, sql.ErrNoRows) {
			err = tx.QueryRowContext(ctx, `SELECT doc FROM agreement_requests WHERE buyer_account_id = ? AND client_token = ?`,
				r.BuyerAccountID, token).Scan(&stored)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: put agreement request %s: %w", r.ID, err)
	}
	var out meterd.AgreementRequest
	if err := json.Unmarshal([]byte(stored), &out); err != nil {
		return nil, fmt.Errorf("sqlite: agreement request %s: %w", r.ID, err)
	}
	return &out, nil
}

// AgreementRequest returns an agreement request by id. ENotFound.
func (s *Store) AgreementRequest(ctx context.Context, id string) (*meterd.AgreementRequest, error) {
	return oneDoc[meterd.AgreementRequest](ctx, s, "agreement request "+id, `SELECT doc FROM agreement_requests WHERE id = ?`, id)
}

// acceptRequests marks a market change's accepted requests, refusing one
// accepted before (another process won).
func acceptRequests(ctx context.Context, tx *sql.Tx, accepted []*meterd.AgreementRequest) error {
	for _, r := range accepted {
		r.AcceptedAt = r.AcceptedAt.UTC().Truncate(time.Millisecond)
		doc, err := json.Marshal(r)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE agreement_requests SET doc = ?, accepted = 1 WHERE id = ? AND accepted = 0`, string(doc), r.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return meterd.Errorf(meterd.EConflict, "agreement request %s was accepted already, or does not exist", r.ID)
		}
	}
	return nil
}
