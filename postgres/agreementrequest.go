package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/meterd/meterd"
)

// PutAgreementRequest stores a new agreement request, or returns the one
// stored with the buyer's ClientToken, in one transaction.
func (s *Store) PutAgreementRequest(ctx context.Context, r *meterd.AgreementRequest) (*meterd.AgreementRequest, error) {
	r.CreatedAt = ms(r.CreatedAt)
	doc, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("postgres: agreement request %s: %w", r.ID, err)
	}
	var token *string
	if r.ClientToken != "" {
		token = &r.ClientToken
	}
	var stored string
	err = s.Transact(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO agreement_requests (id, buyer_account_id, client_token, doc, created_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (buyer_account_id, client_token) DO NOTHING RETURNING doc`,
			r.ID, r.BuyerAccountID, token, string(doc), r.CreatedAt).Scan(&stored)
		if errors.Is(err, pgx.ErrNoRows) {
			err = tx.QueryRow(ctx, `SELECT doc FROM agreement_requests WHERE buyer_account_id = $1 AND client_token = $2`,
				r.BuyerAccountID, token).Scan(&stored)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: put agreement request %s: %w", r.ID, err)
	}
	var out meterd.AgreementRequest
	if err := json.Unmarshal([]byte(stored), &out); err != nil {
		return nil, fmt.Errorf("postgres: agreement request %s: %w", r.ID, err)
	}
	return &out, nil
}

// AgreementRequest returns an agreement request by id. ENotFound.
func (s *Store) AgreementRequest(ctx context.Context, id string) (*meterd.AgreementRequest, error) {
	return one(ctx, s, "agreement request "+id, `SELECT doc FROM agreement_requests WHERE id = $1`, []any{id}, scanDoc[meterd.AgreementRequest])
}

// queueAcceptedRequests queues the marking of a market change's accepted
// requests, refusing one accepted before (another process won).
func queueAcceptedRequests(queue func(c check, sql string, args ...any), accepted []*meterd.AgreementRequest) error {
	for _, r := range accepted {
		r.AcceptedAt = ms(r.AcceptedAt)
		doc, err := json.Marshal(r)
		if err != nil {
			return err
		}
		queue(func(n int64) error {
			if n == 0 {
				return meterd.Errorf(meterd.EConflict, "agreement request %s was accepted already, or does not exist", r.ID)
			}
			return nil
		}, `UPDATE agreement_requests SET doc = $1, accepted = TRUE WHERE id = $2 AND NOT accepted`, string(doc), r.ID)
	}
	return nil
}
