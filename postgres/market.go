package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/internal/pgtx"
)

// ApplyMarketChange writes a marketplace transition in one transaction; see
// meterd.Ledger. The transaction first locks the one row of
// market_sequence, so that market changes of every process run one at a
// time and event seqs follow commit order; the unique keys of agreements
// still decide a race between two acceptances of the same request. The
// statements go in one pipelined batch, so that a catalog's thousands of
// agreements cost one round trip.
func (s *Store) ApplyMarketChange(ctx context.Context, ch *meterd.MarketChange) error {
	err := s.Transact(ctx, func(tx pgx.Tx) error { return applyMarketChange(ctx, tx, ch) })
	var e *meterd.Error
	switch {
	case errors.As(err, &e):
		return e
	case pgtx.Is(err, pgtx.ForeignKeyViolation):
		return meterd.Errorf(meterd.ENotFound, "the product of the change does not exist")
	case pgtx.Is(err, pgtx.UniqueViolation):
		return meterd.Errorf(meterd.EConflict, "a concurrent change made this agreement, event or customer first")
	case err != nil:
		return fmt.Errorf("postgres: apply market change: %w", err)
	}
	return nil
}

// check is what a batched statement's result must satisfy.
type check func(n int64) error

func applyMarketChange(ctx context.Context, tx pgx.Tx, ch *meterd.MarketChange) error {
	var first int64
	if err := tx.QueryRow(ctx, `UPDATE market_sequence SET next = next + $1 WHERE id = 1 RETURNING next - $1`,
		int64(len(ch.Events))).Scan(&first); err != nil {
		return err
	}
	b := &pgx.Batch{}
	var checks []check
	queue := func(c check, sql string, args ...any) {
		b.Queue(sql, args...)
		checks = append(checks, c)
	}
	if err := queueAcceptedRequests(queue, ch.Accepted); err != nil {
		return err
	}
	for _, d := range ch.Unschedule {
		queue(func(n int64) error {
			if n == 0 {
				return meterd.Errorf(meterd.EConflict, "transition %s of %s was already applied", d.Kind, d.Ref)
			}
			return nil
		}, `DELETE FROM market_due WHERE kind = $1 AND ref = $2`, d.Kind, d.Ref)
	}
	for _, d := range ch.Drop {
		queue(nil, `DELETE FROM market_due WHERE kind = $1 AND ref = $2`, d.Kind, d.Ref)
	}
	for _, o := range ch.Offers {
		o.CreatedAt = ms(o.CreatedAt)
		doc, err := json.Marshal(o)
		if err != nil {
			return err
		}
		queue(nil, `INSERT INTO offers (id, product_code, proposal_id, doc, created_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (id) DO UPDATE SET proposal_id = excluded.proposal_id, doc = excluded.doc`,
			o.ID, o.ProductCode, o.AgreementProposalID, string(doc), o.CreatedAt)
	}
	for _, c := range ch.Customers {
		queue(nil, `INSERT INTO customers (product_code, customer_identifier, customer_aws_account_id,
				license_arn, status, platform, status_changed_at, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (product_code, customer_identifier) DO UPDATE SET
				customer_aws_account_id = excluded.customer_aws_account_id, license_arn = excluded.license_arn,
				status = excluded.status, platform = excluded.platform, status_changed_at = excluded.status_changed_at`,
			c.ProductCode, c.CustomerIdentifier, c.CustomerAWSAccountID, c.LicenseArn, c.Status, c.Platform,
			ms(c.StatusChangedAt), ms(c.CreatedAt))
	}
	for _, a := range ch.Insert {
		a.RoundTimes()
		if a.Version == 0 {
			a.Version = 1
		}
		if err := queueAgreement(queue, a, -1); err != nil {
			return err
		}
	}
	for _, u := range ch.Update {
		u.Agreement.RoundTimes()
		u.Agreement.Version = u.ExpectVersion + 1
		if err := queueAgreement(queue, u.Agreement, u.ExpectVersion); err != nil {
			return err
		}
	}
	for _, l := range ch.Licenses {
		l.RoundTimes()
		doc, err := json.Marshal(l)
		if err != nil {
			return err
		}
		queue(func(n int64) error {
			if n == 0 {
				return meterd.Errorf(meterd.EConflict, "license %s is another customer's", l.Arn)
			}
			return nil
		}, `INSERT INTO licenses (arn, product_code, customer_identifier, start_time, doc) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (arn) DO UPDATE SET start_time = excluded.start_time, doc = excluded.doc
			WHERE licenses.product_code = excluded.product_code AND licenses.customer_identifier = excluded.customer_identifier`,
			l.Arn, l.ProductCode, l.CustomerIdentifier, l.StartTime, string(doc))
	}
	for i, e := range ch.Events {
		e.CreatedAt, e.Seq = ms(e.CreatedAt), first+int64(i)
		queue(nil, `INSERT INTO market_events (seq, id, channel, type, product_code, customer_identifier, agreement_id, payload, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			e.Seq, e.ID, e.Channel, e.Type, e.ProductCode, e.CustomerIdentifier, e.AgreementID, e.Payload, e.CreatedAt)
	}
	for _, d := range ch.Schedule {
		queue(nil, `INSERT INTO market_due (kind, ref, product_code, due_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (kind, ref) DO UPDATE SET due_at = excluded.due_at`, d.Kind, d.Ref, d.ProductCode, ms(d.At))
	}
	br := tx.SendBatch(ctx, b)
	for _, c := range checks {
		tag, err := br.Exec()
		if err != nil {
			br.Close()
			return err
		}
		if c != nil {
			if err := c(tag.RowsAffected()); err != nil {
				br.Close()
				return err
			}
		}
	}
	return br.Close()
}

// queueAgreement queues the insert (expect < 0) or the versioned update of
// a, and the rewrite of its quantity rows.
func queueAgreement(queue func(check, string, ...any), a *meterd.Agreement, expect int64) error {
	doc, err := json.Marshal(a)
	if err != nil {
		return err
	}
	var key *string
	if a.RequestKey != "" {
		key = &a.RequestKey
	}
	if expect < 0 {
		queue(nil, `INSERT INTO agreements (id, product_code, offer_id, buyer_account_id, seller_account_id,
				customer_identifier, license_arn, status, request_key, acceptance_time, start_time, end_time, version, doc)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
			a.ID, a.ProductCode, a.OfferID, a.BuyerAccountID, a.SellerAccountID, a.CustomerIdentifier, a.LicenseArn, a.Status,
			key, a.AcceptanceTime, a.StartTime, a.EndTime, a.Version, string(doc))
	} else {
		queue(func(n int64) error {
			if n == 0 {
				return meterd.Errorf(meterd.EConflict, "agreement %s was changed by another request (version %d expected)", a.ID, expect)
			}
			return nil
		}, `UPDATE agreements SET offer_id = $1, customer_identifier = $2, license_arn = $3, status = $4,
				start_time = $5, end_time = $6, version = $7, doc = $8 WHERE id = $9 AND version = $10`,
			a.OfferID, a.CustomerIdentifier, a.LicenseArn, a.Status, a.StartTime, a.EndTime, a.Version, string(doc), a.ID, expect)
		queue(nil, `DELETE FROM agreement_quantities WHERE agreement_id = $1`, a.ID)
	}
	if len(a.Dimensions) == 0 {
		return nil
	}
	names := make([]string, len(a.Dimensions))
	quantities := make([]int64, len(a.Dimensions))
	booleans := make([]bool, len(a.Dimensions))
	for i, d := range a.Dimensions {
		names[i], quantities[i], booleans[i] = d.Name, d.Quantity, d.ValueType == meterd.ValueBoolean
	}
	queue(nil, `INSERT INTO agreement_quantities (product_code, customer_identifier, dimension, license_arn, agreement_id,
			customer_aws_account_id, quantity, is_boolean, active, start_time, end_time)
		SELECT $1, $2, d.name, $3, $4,
			coalesce((SELECT customer_aws_account_id FROM customers WHERE product_code = $1 AND customer_identifier = $2), ''),
			d.quantity, d.is_boolean, $5, $6, $7
		FROM unnest($8::text[], $9::bigint[], $10::boolean[]) AS d(name, quantity, is_boolean)`,
		a.ProductCode, a.CustomerIdentifier, a.LicenseArn, a.ID, a.Status == meterd.AgreementActive, a.StartTime, a.EndTime,
		names, quantities, booleans)
	return nil
}

// Offer returns an offer by id. ENotFound.
func (s *Store) Offer(ctx context.Context, id string) (*meterd.Offer, error) {
	return one(ctx, s, "offer "+id, `SELECT doc FROM offers WHERE id = $1`, []any{id}, scanDoc[meterd.Offer])
}

// OfferByProposal returns the offer of an agreement proposal id. ENotFound.
func (s *Store) OfferByProposal(ctx context.Context, proposalID string) (*meterd.Offer, error) {
	return one(ctx, s, "agreement proposal "+proposalID, `SELECT doc FROM offers WHERE proposal_id = $1`, []any{proposalID}, scanDoc[meterd.Offer])
}

// Offers lists a product's offers ("" for every product).
func (s *Store) Offers(ctx context.Context, productCode string) ([]*meterd.Offer, error) {
	return list(ctx, s, "offers", `SELECT doc FROM offers WHERE $1 = '' OR product_code = $1
		ORDER BY product_code, created_at, id`, []any{productCode}, scanDoc[meterd.Offer])
}

func scanDoc[T any](row pgx.CollectableRow) (*T, error) {
	var doc string
	if err := row.Scan(&doc); err != nil {
		return nil, err
	}
	var v T
	return &v, json.Unmarshal([]byte(doc), &v)
}

func scanAgreement(row pgx.CollectableRow) (*meterd.Agreement, error) {
	var doc string
	var key *string
	if err := row.Scan(&doc, &key); err != nil {
		return nil, err
	}
	var a meterd.Agreement
	if err := json.Unmarshal([]byte(doc), &a); err != nil {
		return nil, err
	}
	if key != nil {
		a.RequestKey = *key
	}
	return &a, nil
}

// Agreement returns an agreement by id. ENotFound.
func (s *Store) Agreement(ctx context.Context, id string) (*meterd.Agreement, error) {
	return one(ctx, s, "agreement "+id, `SELECT doc, request_key FROM agreements WHERE id = $1`, []any{id}, scanAgreement)
}

// AgreementByRequest returns the agreement a request key made. ENotFound.
func (s *Store) AgreementByRequest(ctx context.Context, productCode, requestKey string) (*meterd.Agreement, error) {
	return one(ctx, s, "agreement of request "+requestKey,
		`SELECT doc, request_key FROM agreements WHERE product_code = $1 AND request_key = $2`,
		[]any{productCode, requestKey}, scanAgreement)
}

// Agreements lists the agreements matching f by acceptance time, then id.
func (s *Store) Agreements(ctx context.Context, f meterd.AgreementFilter) ([]*meterd.Agreement, error) {
	q, args := agreementQuery(`SELECT doc, request_key FROM agreements`, f)
	return list(ctx, s, "agreements", q+" ORDER BY acceptance_time, id", args, scanAgreement)
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
			args = append(args, c.v)
			where = append(where, c.col+" = $"+strconv.Itoa(len(args)))
		}
	}
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	return q, args
}

// AgreementEnds lists the id, product and end of the agreements matching f.
func (s *Store) AgreementEnds(ctx context.Context, f meterd.AgreementFilter) ([]meterd.AgreementEnd, error) {
	q, args := agreementQuery(`SELECT id, product_code, end_time FROM agreements`, f)
	return list(ctx, s, "agreement ends", q, args, func(row pgx.CollectableRow) (meterd.AgreementEnd, error) {
		var e meterd.AgreementEnd
		err := row.Scan(&e.ID, &e.ProductCode, &e.EndTime)
		if e.EndTime != nil {
			t := e.EndTime.UTC()
			e.EndTime = &t
		}
		return e, err
	})
}

// License returns a license by ARN. ENotFound.
func (s *Store) License(ctx context.Context, arn string) (*meterd.License, error) {
	return one(ctx, s, "license "+arn, `SELECT doc FROM licenses WHERE arn = $1`, []any{arn}, scanDoc[meterd.License])
}

// Licenses lists a product's licenses of a customer ("" for every one).
func (s *Store) Licenses(ctx context.Context, productCode, customerIdentifier string) ([]*meterd.License, error) {
	return list(ctx, s, "licenses", `SELECT doc FROM licenses WHERE product_code = $1 AND ($2 = '' OR customer_identifier = $2)
		ORDER BY start_time, arn`, []any{productCode, customerIdentifier}, scanDoc[meterd.License])
}

// Entitlements returns the entitlements matching f in (customer,
// dimension, license) order.
func (s *Store) Entitlements(ctx context.Context, f meterd.EntitlementFilter) ([]*meterd.Entitlement, error) {
	q := `SELECT customer_identifier, dimension, license_arn, agreement_id, customer_aws_account_id, quantity, is_boolean, end_time
		FROM agreement_quantities WHERE product_code = $1 AND active AND start_time <= $2 AND (end_time IS NULL OR end_time > $2)`
	args := []any{f.ProductCode, ms(f.At)}
	for _, c := range []struct {
		col  string
		vals []string
	}{
		{"customer_identifier", f.CustomerIdentifiers}, {"customer_aws_account_id", f.AWSAccountIDs},
		{"dimension", f.Dimensions}, {"license_arn", f.LicenseArns},
	} {
		if len(c.vals) > 0 {
			args = append(args, c.vals)
			q += " AND " + c.col + " = ANY($" + strconv.Itoa(len(args)) + ")"
		}
	}
	if f.After != nil {
		n := len(args)
		args = append(args, f.After.CustomerIdentifier, f.After.Dimension, f.After.LicenseArn)
		q += fmt.Sprintf(" AND (customer_identifier, dimension, license_arn) > ($%d, $%d, $%d)", n+1, n+2, n+3)
	}
	q += " ORDER BY customer_identifier, dimension, license_arn"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	return list(ctx, s, "entitlements", q, args, func(row pgx.CollectableRow) (*meterd.Entitlement, error) {
		e := meterd.Entitlement{ProductCode: f.ProductCode}
		var d meterd.AgreementDimension
		var boolean bool
		var end *time.Time
		if err := row.Scan(&e.CustomerIdentifier, &e.Dimension, &e.LicenseArn, &e.AgreementID, &e.CustomerAWSAccountID,
			&d.Quantity, &boolean, &end); err != nil {
			return nil, err
		}
		if boolean {
			d.ValueType = meterd.ValueBoolean
		}
		e.IntegerValue, e.BooleanValue = d.Entitlement()
		if end != nil {
			t := end.UTC()
			e.ExpirationDate = &t
		}
		return &e, nil
	})
}

// Events lists the outbox rows matching f in Seq order.
func (s *Store) Events(ctx context.Context, f meterd.EventFilter) ([]*meterd.Event, error) {
	q := `SELECT seq, id, channel, type, product_code, customer_identifier, agreement_id, payload, created_at
		FROM market_events WHERE seq > $1 AND ($2 = '' OR product_code = $2) AND ($3 = '' OR type = $3) ORDER BY seq`
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	return list(ctx, s, "events", q, []any{f.AfterSeq, f.ProductCode, f.Type}, func(row pgx.CollectableRow) (*meterd.Event, error) {
		var e meterd.Event
		err := row.Scan(&e.Seq, &e.ID, &e.Channel, &e.Type, &e.ProductCode, &e.CustomerIdentifier, &e.AgreementID, &e.Payload, &e.CreatedAt)
		e.CreatedAt = e.CreatedAt.UTC()
		return &e, err
	})
}

// DueTransitions returns the transitions due at or before t, earliest first.
func (s *Store) DueTransitions(ctx context.Context, t time.Time, limit int) ([]meterd.Due, error) {
	q := `SELECT kind, ref, product_code, due_at FROM market_due WHERE due_at <= $1 ORDER BY due_at, kind, ref`
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	return list(ctx, s, "due transitions", q, []any{ms(t)}, func(row pgx.CollectableRow) (meterd.Due, error) {
		var d meterd.Due
		err := row.Scan(&d.Kind, &d.Ref, &d.ProductCode, &d.At)
		d.At = d.At.UTC()
		return d, err
	})
}

// NextDue returns the time of the earliest scheduled transition.
func (s *Store) NextDue(ctx context.Context) (time.Time, bool, error) {
	at, err := one(ctx, s, "next due", `SELECT min(due_at) FROM market_due`, nil, pgx.RowTo[*time.Time])
	if err != nil || at == nil {
		return time.Time{}, false, err
	}
	return at.UTC(), true, nil
}
