package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/meterd/meterd"
)

// ApplyMarketChange writes a marketplace transition in one transaction; see
// meterd.Ledger. It updates the agreements given in ch.Update (their
// Version incremented) and rounds the times it stores.
func (s *Store) ApplyMarketChange(ctx context.Context, ch *meterd.MarketChange) error {
	err := transact(ctx, s.write, func(tx *sql.Tx) error { return applyMarketChange(ctx, tx, ch) })
	if len(ch.Customers) > 0 {
		s.cache.invalidate()
	}
	var e *meterd.Error
	switch {
	case errors.As(err, &e):
		return e
	case isForeignKey(err):
		return meterd.Errorf(meterd.ENotFound, "the product of the change does not exist")
	case isUnique(err):
		return meterd.Errorf(meterd.EConflict, "a concurrent change made this agreement, event or customer first")
	case err != nil:
		return fmt.Errorf("sqlite: apply market change: %w", err)
	}
	return nil
}

func applyMarketChange(ctx context.Context, tx *sql.Tx, ch *meterd.MarketChange) error {
	if err := acceptRequests(ctx, tx, ch.Accepted); err != nil {
		return err
	}
	for _, d := range ch.Unschedule {
		res, err := tx.ExecContext(ctx, `DELETE FROM market_due WHERE kind = ? AND ref = ?`, d.Kind, d.Ref)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return meterd.Errorf(meterd.EConflict, "transition %s of %s was already applied", d.Kind, d.Ref)
		}
	}
	for _, d := range ch.Drop {
		if _, err := tx.ExecContext(ctx, `DELETE FROM market_due WHERE kind = ? AND ref = ?`, d.Kind, d.Ref); err != nil {
			return err
		}
	}
	for _, o := range ch.Offers {
		o.CreatedAt = o.CreatedAt.UTC().Truncate(time.Millisecond)
		doc, err := json.Marshal(o)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO offers (id, product_code, proposal_id, doc, created_at_ms) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET proposal_id = excluded.proposal_id, doc = excluded.doc`,
			o.ID, o.ProductCode, o.AgreementProposalID, string(doc), ms(o.CreatedAt)); err != nil {
			return err
		}
	}
	for _, c := range ch.Customers {
		if err := upsertCustomer(ctx, tx, c); err != nil {
			return err
		}
	}
	for _, a := range ch.Insert {
		a.RoundTimes()
		if a.Version == 0 {
			a.Version = 1
		}
		if err := writeAgreement(ctx, tx, a, -1); err != nil {
			return err
		}
	}
	for _, u := range ch.Update {
		u.Agreement.RoundTimes()
		u.Agreement.Version = u.ExpectVersion + 1
		if err := writeAgreement(ctx, tx, u.Agreement, u.ExpectVersion); err != nil {
			return err
		}
	}
	for _, l := range ch.Licenses {
		l.RoundTimes()
		doc, err := json.Marshal(l)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO licenses (arn, product_code, customer_identifier, start_ms, doc) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (arn) DO UPDATE SET start_ms = excluded.start_ms, doc = excluded.doc
			WHERE licenses.product_code = excluded.product_code AND licenses.customer_identifier = excluded.customer_identifier`,
			l.Arn, l.ProductCode, l.CustomerIdentifier, ms(l.StartTime), string(doc))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return meterd.Errorf(meterd.EConflict, "license %s is another customer's", l.Arn)
		}
	}
	for _, e := range ch.Events {
		e.CreatedAt = e.CreatedAt.UTC().Truncate(time.Millisecond)
		if err := tx.QueryRowContext(ctx, `INSERT INTO market_events (id, channel, type, product_code, customer_identifier, agreement_id, payload, created_at_ms)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
			e.ID, e.Channel, e.Type, e.ProductCode, e.CustomerIdentifier, e.AgreementID, e.Payload, ms(e.CreatedAt)).Scan(&e.Seq); err != nil {
			return err
		}
	}
	for _, d := range ch.Schedule {
		if _, err := tx.ExecContext(ctx, `INSERT INTO market_due (kind, ref, product_code, due_ms) VALUES (?, ?, ?, ?)
			ON CONFLICT (kind, ref) DO UPDATE SET due_ms = excluded.due_ms`, d.Kind, d.Ref, d.ProductCode, ms(d.At)); err != nil {
			return err
		}
	}
	return nil
}

// upsertCustomer is PutCustomer's statement inside a transaction.
func upsertCustomer(ctx context.Context, tx *sql.Tx, c *meterd.Customer) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO customers (product_code, customer_identifier, customer_aws_account_id,
			license_arn, status, platform, status_changed_at_ms, created_at_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (product_code, customer_identifier) DO UPDATE SET
			customer_aws_account_id = excluded.customer_aws_account_id, license_arn = excluded.license_arn,
			status = excluded.status, platform = excluded.platform, status_changed_at_ms = excluded.status_changed_at_ms`,
		c.ProductCode, c.CustomerIdentifier, c.CustomerAWSAccountID, c.LicenseArn, c.Status, c.Platform,
		ms(c.StatusChangedAt), ms(c.CreatedAt))
	return err
}

// writeAgreement inserts a (expect < 0) or updates it where its stored
// version is expect, and rewrites its quantity rows.
func writeAgreement(ctx context.Context, tx *sql.Tx, a *meterd.Agreement, expect int64) error {
	doc, err := json.Marshal(a)
	if err != nil {
		return err
	}
	var end *int64
	if a.EndTime != nil {
		v := ms(*a.EndTime)
		end = &v
	}
	var key *string
	if a.RequestKey != "" {
		key = &a.RequestKey
	}
	if expect < 0 {
		_, err = tx.ExecContext(ctx, `INSERT INTO agreements (id, product_code, offer_id, buyer_account_id, seller_account_id,
				customer_identifier, license_arn, status, request_key, acceptance_ms, start_ms, end_ms, version, doc)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.ProductCode, a.OfferID, a.BuyerAccountID, a.SellerAccountID, a.CustomerIdentifier, a.LicenseArn, a.Status,
			key, ms(a.AcceptanceTime), ms(a.StartTime), end, a.Version, string(doc))
		if isUnique(err) {
			return meterd.Errorf(meterd.EConflict, "agreement %s, or one for the same request, already exists", a.ID)
		} else if err != nil {
			return err
		}
	} else {
		res, err := tx.ExecContext(ctx, `UPDATE agreements SET offer_id = ?, customer_identifier = ?, license_arn = ?, status = ?,
				start_ms = ?, end_ms = ?, version = ?, doc = ? WHERE id = ? AND version = ?`,
			a.OfferID, a.CustomerIdentifier, a.LicenseArn, a.Status, ms(a.StartTime), end, a.Version, string(doc), a.ID, expect)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return meterd.Errorf(meterd.EConflict, "agreement %s was changed by another request (version %d expected)", a.ID, expect)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM agreement_quantities WHERE agreement_id = ?`, a.ID); err != nil {
			return err
		}
	}
	var account string
	if err := tx.QueryRowContext(ctx, `SELECT customer_aws_account_id FROM customers WHERE product_code = ? AND customer_identifier = ?`,
		a.ProductCode, a.CustomerIdentifier).Scan(&account); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	for _, d := range a.Dimensions {
		if _, err := tx.ExecContext(ctx, `INSERT INTO agreement_quantities (product_code, customer_identifier, dimension, license_arn,
				agreement_id, customer_aws_account_id, quantity, boolean, active, start_ms, end_ms)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ProductCode, a.CustomerIdentifier, d.Name, a.LicenseArn, a.ID, account, d.Quantity,
			d.ValueType == meterd.ValueBoolean, a.Status == meterd.AgreementActive, ms(a.StartTime), end); err != nil {
			return err
		}
	}
	return nil
}

// Offer returns an offer by id. ENotFound.
func (s *Store) Offer(ctx context.Context, id string) (*meterd.Offer, error) {
	return oneDoc[meterd.Offer](ctx, s, "offer "+id, `SELECT doc FROM offers WHERE id = ?`, id)
}

// OfferByProposal returns the offer of an agreement proposal id. ENotFound.
func (s *Store) OfferByProposal(ctx context.Context, proposalID string) (*meterd.Offer, error) {
	return oneDoc[meterd.Offer](ctx, s, "agreement proposal "+proposalID, `SELECT doc FROM offers WHERE proposal_id = ?`, proposalID)
}

// Offers lists a product's offers ("" for every product).
func (s *Store) Offers(ctx context.Context, productCode string) ([]*meterd.Offer, error) {
	return docs[meterd.Offer](ctx, s, "offers", `SELECT doc FROM offers WHERE ? = '' OR product_code = ?
		ORDER BY product_code, created_at_ms, id`, productCode, productCode)
}

// Agreement returns an agreement by id. ENotFound.
func (s *Store) Agreement(ctx context.Context, id string) (*meterd.Agreement, error) {
	return oneAgreement(ctx, s, "agreement "+id, `SELECT doc, request_key FROM agreements WHERE id = ?`, id)
}

// AgreementByRequest returns the agreement a request key made. ENotFound.
func (s *Store) AgreementByRequest(ctx context.Context, productCode, requestKey string) (*meterd.Agreement, error) {
	return oneAgreement(ctx, s, "agreement of request "+requestKey,
		`SELECT doc, request_key FROM agreements WHERE product_code = ? AND request_key = ?`, productCode, requestKey)
}

func oneAgreement(ctx context.Context, s *Store, what, query string, args ...any) (*meterd.Agreement, error) {
	var doc string
	var key sql.NullString
	err := s.read.QueryRowContext(ctx, query, args...).Scan(&doc, &key)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, meterd.Errorf(meterd.ENotFound, "%s not found", what)
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	var a meterd.Agreement
	if err := json.Unmarshal([]byte(doc), &a); err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	a.RequestKey = key.String
	return &a, nil
}

// Agreements lists the agreements matching f by acceptance time, then id.
func (s *Store) Agreements(ctx context.Context, f meterd.AgreementFilter) ([]*meterd.Agreement, error) {
	q, args := agreementQuery(`SELECT doc, request_key FROM agreements`, f)
	rows, err := s.read.QueryContext(ctx, q+` ORDER BY acceptance_ms, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: agreements: %w", err)
	}
	return collect(rows, func(rows *sql.Rows) (*meterd.Agreement, error) {
		var doc string
		var key sql.NullString
		if err := rows.Scan(&doc, &key); err != nil {
			return nil, err
		}
		var a meterd.Agreement
		err := json.Unmarshal([]byte(doc), &a)
		a.RequestKey = key.String
		return &a, err
	})
}

// agreementQuery appends f's conditions to a query of the agreements
// table; only the fields set become clauses.
func agreementQuery(q string, f meterd.AgreementFilter) (string, []any) {
	var where []string
	var args []any
	for _, c := range []struct{ col, v string }{
		{"product_code", f.ProductCode}, {"buyer_account_id", f.BuyerAccountID}, {"seller_account_id", f.SellerAccountID},
		{"customer_identifier", f.CustomerIdentifier}, {"offer_id", f.OfferID}, {"status", f.Status}, {"license_arn", f.LicenseArn},
	} {
		if c.v != "" {
			where = append(where, c.col+" = ?")
			args = append(args, c.v)
		}
	}
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	return q, args
}

// AgreementEnds lists the id, product and end of the agreements matching f.
func (s *Store) AgreementEnds(ctx context.Context, f meterd.AgreementFilter) ([]meterd.AgreementEnd, error) {
	q, args := agreementQuery(`SELECT id, product_code, end_ms FROM agreements`, f)
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: agreement ends: %w", err)
	}
	ends, err := collect(rows, func(rows *sql.Rows) (meterd.AgreementEnd, error) {
		var e meterd.AgreementEnd
		var end sql.NullInt64
		err := rows.Scan(&e.ID, &e.ProductCode, &end)
		if end.Valid {
			t := fromMS(end.Int64)
			e.EndTime = &t
		}
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: agreement ends: %w", err)
	}
	return ends, nil
}

// License returns a license by ARN. ENotFound.
func (s *Store) License(ctx context.Context, arn string) (*meterd.License, error) {
	return oneDoc[meterd.License](ctx, s, "license "+arn, `SELECT doc FROM licenses WHERE arn = ?`, arn)
}

// Licenses lists a product's licenses of a customer ("" for every one).
func (s *Store) Licenses(ctx context.Context, productCode, customerIdentifier string) ([]*meterd.License, error) {
	return docs[meterd.License](ctx, s, "licenses", `SELECT doc FROM licenses
		WHERE product_code = ? AND (? = '' OR customer_identifier = ?) ORDER BY start_ms, arn`,
		productCode, customerIdentifier, customerIdentifier)
}

// Entitlements returns the entitlements matching f in (customer,
// dimension, license) order. Only the filters given become clauses, so
// that each query uses the index that fits it.
func (s *Store) Entitlements(ctx context.Context, f meterd.EntitlementFilter) ([]*meterd.Entitlement, error) {
	at := ms(f.At)
	q := `SELECT customer_identifier, dimension, license_arn, agreement_id, customer_aws_account_id, quantity, boolean, end_ms
		FROM agreement_quantities WHERE product_code = ? AND active = 1 AND start_ms <= ? AND (end_ms IS NULL OR end_ms > ?)`
	args := []any{f.ProductCode, at, at}
	in := func(col string, vals []string) {
		if len(vals) == 0 {
			return
		}
		q += " AND " + col + " IN (?" + strings.Repeat(", ?", len(vals)-1) + ")"
		for _, v := range vals {
			args = append(args, v)
		}
	}
	in("customer_identifier", f.CustomerIdentifiers)
	in("customer_aws_account_id", f.AWSAccountIDs)
	in("dimension", f.Dimensions)
	in("license_arn", f.LicenseArns)
	if f.After != nil {
		q += " AND (customer_identifier, dimension, license_arn) > (?, ?, ?)"
		args = append(args, f.After.CustomerIdentifier, f.After.Dimension, f.After.LicenseArn)
	}
	q += " ORDER BY customer_identifier, dimension, license_arn"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: entitlements: %w", err)
	}
	return collect(rows, func(rows *sql.Rows) (*meterd.Entitlement, error) {
		e := meterd.Entitlement{ProductCode: f.ProductCode}
		var d meterd.AgreementDimension
		var boolean bool
		var end sql.NullInt64
		if err := rows.Scan(&e.CustomerIdentifier, &e.Dimension, &e.LicenseArn, &e.AgreementID, &e.CustomerAWSAccountID,
			&d.Quantity, &boolean, &end); err != nil {
			return nil, err
		}
		if boolean {
			d.ValueType = meterd.ValueBoolean
		}
		e.IntegerValue, e.BooleanValue = d.Entitlement()
		if end.Valid {
			t := fromMS(end.Int64)
			e.ExpirationDate = &t
		}
		return &e, nil
	})
}

// Events lists the outbox rows matching f in Seq order.
func (s *Store) Events(ctx context.Context, f meterd.EventFilter) ([]*meterd.Event, error) {
	q := `SELECT seq, id, channel, type, product_code, customer_identifier, agreement_id, payload, created_at_ms
		FROM market_events WHERE seq > ? AND (? = '' OR product_code = ?) AND (? = '' OR type = ?) ORDER BY seq`
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.read.QueryContext(ctx, q, f.AfterSeq, f.ProductCode, f.ProductCode, f.Type, f.Type)
	if err != nil {
		return nil, fmt.Errorf("sqlite: events: %w", err)
	}
	return collect(rows, func(rows *sql.Rows) (*meterd.Event, error) {
		var e meterd.Event
		var created int64
		err := rows.Scan(&e.Seq, &e.ID, &e.Channel, &e.Type, &e.ProductCode, &e.CustomerIdentifier, &e.AgreementID, &e.Payload, &created)
		e.CreatedAt = fromMS(created)
		return &e, err
	})
}

// DueTransitions returns the transitions due at or before t, earliest first.
func (s *Store) DueTransitions(ctx context.Context, t time.Time, limit int) ([]meterd.Due, error) {
	q := `SELECT kind, ref, product_code, due_ms FROM market_due WHERE due_ms <= ? ORDER BY due_ms, kind, ref`
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	rows, err := s.read.QueryContext(ctx, q, ms(t))
	if err != nil {
		return nil, fmt.Errorf("sqlite: due transitions: %w", err)
	}
	return collect(rows, func(rows *sql.Rows) (meterd.Due, error) {
		var d meterd.Due
		var at int64
		err := rows.Scan(&d.Kind, &d.Ref, &d.ProductCode, &at)
		d.At = fromMS(at)
		return d, err
	})
}

// NextDue returns the time of the earliest scheduled transition.
func (s *Store) NextDue(ctx context.Context) (time.Time, bool, error) {
	var at sql.NullInt64
	if err := s.read.QueryRowContext(ctx, `SELECT min(due_ms) FROM market_due`).Scan(&at); err != nil {
		return time.Time{}, false, fmt.Errorf("sqlite: next due: %w", err)
	}
	if !at.Valid {
		return time.Time{}, false, nil
	}
	return fromMS(at.Int64), true, nil
}

// oneDoc reads the JSON document of one row. ENotFound naming what.
func oneDoc[T any](ctx context.Context, s *Store, what, query string, args ...any) (*T, error) {
	var doc string
	err := s.read.QueryRowContext(ctx, query, args...).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, meterd.Errorf(meterd.ENotFound, "%s not found", what)
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	var v T
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	return &v, nil
}

// docs reads the JSON documents of every row of a query.
func docs[T any](ctx context.Context, s *Store, what, query string, args ...any) ([]*T, error) {
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	return collect(rows, func(rows *sql.Rows) (*T, error) {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, err
		}
		var v T
		return &v, json.Unmarshal([]byte(doc), &v)
	})
}
