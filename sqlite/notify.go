package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/meterd/meterd"
)

var _ meterd.NotifyStore = (*Store)(nil)

const subscriptionColumns = `id, product_code, account_id, topic, protocol, endpoint, raw, signature_version,
	insecure_skip_verify, confirmed, token, after_seq, created_at_ms`

// CreateSubscription stores a new subscription. EConflict when its id
// exists.
func (s *Store) CreateSubscription(ctx context.Context, sub *meterd.Subscription) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO notify_subscriptions (`+subscriptionColumns+`, created_seq)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, (SELECT coalesce(max(created_seq), 0) + 1 FROM notify_subscriptions))`,
		sub.ID, sub.ProductCode, sub.AccountID, sub.Topic, sub.Protocol, sub.Endpoint, sub.Raw, sub.SignatureVersion,
		sub.InsecureSkipVerify, sub.Confirmed, sub.Token, sub.AfterSeq, ms(sub.CreatedAt))
	if isUnique(err) {
		return meterd.Errorf(meterd.EConflict, "subscription %s already exists", sub.ID)
	} else if err != nil {
		return fmt.Errorf("sqlite: create subscription: %w", err)
	}
	return nil
}

func scanSubscription(row interface{ Scan(...any) error }) (*meterd.Subscription, error) {
	var sub meterd.Subscription
	var created int64
	err := row.Scan(&sub.ID, &sub.ProductCode, &sub.AccountID, &sub.Topic, &sub.Protocol, &sub.Endpoint, &sub.Raw,
		&sub.SignatureVersion, &sub.InsecureSkipVerify, &sub.Confirmed, &sub.Token, &sub.AfterSeq, &created)
	sub.CreatedAt = fromMS(created)
	return &sub, err
}

// Subscription returns a subscription by id. ENotFound.
func (s *Store) Subscription(ctx context.Context, id string) (*meterd.Subscription, error) {
	sub, err := scanSubscription(s.read.QueryRowContext(ctx, `SELECT `+subscriptionColumns+` FROM notify_subscriptions WHERE id = ?`, id))
	if err == sql.ErrNoRows {
		return nil, meterd.Errorf(meterd.ENotFound, "subscription %s not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: subscription: %w", err)
	}
	return sub, nil
}

// Subscriptions lists a product's subscriptions ("" for all), in the order
// they were made.
func (s *Store) Subscriptions(ctx context.Context, productCode string) ([]*meterd.Subscription, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+subscriptionColumns+` FROM notify_subscriptions
		WHERE ? = '' OR product_code = ? ORDER BY created_seq`, productCode, productCode)
	if err != nil {
		return nil, fmt.Errorf("sqlite: subscriptions: %w", err)
	}
	return collect(rows, func(rows *sql.Rows) (*meterd.Subscription, error) { return scanSubscription(rows) })
}

// ConfirmSubscription confirms the subscription whose token is token.
func (s *Store) ConfirmSubscription(ctx context.Context, id, token string, afterSeq int64) error {
	res, err := s.write.ExecContext(ctx, `UPDATE notify_subscriptions SET confirmed = 1, after_seq = ?
		WHERE id = ? AND token = ? AND NOT confirmed`, afterSeq, id, token)
	if err != nil {
		return fmt.Errorf("sqlite: confirm subscription: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var ok int
		if err := s.write.QueryRowContext(ctx, `SELECT count(*) FROM notify_subscriptions WHERE id = ? AND token = ?`, id, token).Scan(&ok); err != nil {
			return fmt.Errorf("sqlite: confirm subscription: %w", err)
		}
		if ok == 0 {
			return meterd.Errorf(meterd.ENotFound, "no subscription %s with that token", id)
		}
	}
	return nil
}

// DeleteSubscription deletes a subscription and its pending deliveries.
func (s *Store) DeleteSubscription(ctx context.Context, id string) error {
	return s.deleteTarget(ctx, "notify_subscriptions", "subscription", id)
}

// deleteTarget deletes the target id from table, and its pending
// deliveries, in one transaction.
func (s *Store) deleteTarget(ctx context.Context, table, what, id string) error {
	return transact(ctx, s.write, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("sqlite: delete %s: %w", what, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return meterd.Errorf(meterd.ENotFound, "%s %s not found", what, id)
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM notify_deliveries WHERE target = ? AND status = 'pending'`, id)
		return err
	})
}

const ruleColumns = `id, account_id, pattern, protocol, endpoint, header_name, header_value, insecure_skip_verify, after_seq, created_at_ms`

// CreateRule stores a new rule. EConflict when its id exists.
func (s *Store) CreateRule(ctx context.Context, r *meterd.Rule) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO notify_rules (`+ruleColumns+`, created_seq)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, (SELECT coalesce(max(created_seq), 0) + 1 FROM notify_rules))`,
		r.ID, r.AccountID, r.Pattern, r.Protocol, r.Endpoint, r.HeaderName, r.HeaderValue, r.InsecureSkipVerify, r.AfterSeq, ms(r.CreatedAt))
	if isUnique(err) {
		return meterd.Errorf(meterd.EConflict, "rule %s already exists", r.ID)
	} else if err != nil {
		return fmt.Errorf("sqlite: create rule: %w", err)
	}
	return nil
}

// Rules lists the rules in the order they were made.
func (s *Store) Rules(ctx context.Context) ([]*meterd.Rule, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+ruleColumns+` FROM notify_rules ORDER BY created_seq`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: rules: %w", err)
	}
	return collect(rows, func(rows *sql.Rows) (*meterd.Rule, error) {
		var r meterd.Rule
		var created int64
		err := rows.Scan(&r.ID, &r.AccountID, &r.Pattern, &r.Protocol, &r.Endpoint, &r.HeaderName, &r.HeaderValue,
			&r.InsecureSkipVerify, &r.AfterSeq, &created)
		r.CreatedAt = fromMS(created)
		return &r, err
	})
}

// DeleteRule deletes a rule and its pending deliveries. ENotFound.
func (s *Store) DeleteRule(ctx context.Context, id string) error {
	return s.deleteTarget(ctx, "notify_rules", "rule", id)
}

// LastEventSeq returns the newest outbox event's Seq, 0 when none.
func (s *Store) LastEventSeq(ctx context.Context) (int64, error) {
	var seq int64
	if err := s.write.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM market_events`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("sqlite: last event: %w", err)
	}
	return seq, nil
}

// UndispatchedEvents returns up to limit events not dispatched yet.
func (s *Store) UndispatchedEvents(ctx context.Context, limit int) ([]*meterd.Event, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT seq, id, channel, type, product_code, customer_identifier, agreement_id, payload, created_at_ms
		FROM market_events WHERE dispatched = 0 ORDER BY seq LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: undispatched events: %w", err)
	}
	return collect(rows, scanEvent)
}

func scanEvent(rows *sql.Rows) (*meterd.Event, error) {
	var e meterd.Event
	var created int64
	err := rows.Scan(&e.Seq, &e.ID, &e.Channel, &e.Type, &e.ProductCode, &e.CustomerIdentifier, &e.AgreementID, &e.Payload, &created)
	e.CreatedAt = fromMS(created)
	return &e, err
}

// AddDeliveries marks the events dispatched and stores their deliveries.
func (s *Store) AddDeliveries(ctx context.Context, seqs []int64, ds []*meterd.Delivery) error {
	return transact(ctx, s.write, func(tx *sql.Tx) error {
		for _, seq := range seqs {
			res, err := tx.ExecContext(ctx, `UPDATE market_events SET dispatched = 1 WHERE seq = ? AND dispatched = 0`, seq)
			if err != nil {
				return fmt.Errorf("sqlite: add deliveries: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return meterd.Errorf(meterd.EConflict, "event %d is already dispatched", seq)
			}
		}
		for _, d := range ds {
			err := tx.QueryRowContext(ctx, `INSERT INTO notify_deliveries (event_seq, target, customer_identifier, status, next_attempt_ms, created_at_ms, updated_at_ms)
				VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
				d.EventSeq, d.Target, d.CustomerIdentifier, meterd.DeliveryPending, ms(d.NextAttemptAt), ms(d.CreatedAt), ms(d.CreatedAt)).Scan(&d.ID)
			if isUnique(err) {
				return meterd.Errorf(meterd.EConflict, "event %d already has a delivery to %s", d.EventSeq, d.Target)
			} else if err != nil {
				return fmt.Errorf("sqlite: add deliveries: %w", err)
			}
			d.Status, d.UpdatedAt = meterd.DeliveryPending, d.CreatedAt
		}
		return nil
	})
}

const deliverySelect = `SELECT d.id, d.event_seq, d.target, d.customer_identifier, d.status, d.attempts, d.last_error,
	d.next_attempt_ms, d.created_at_ms, d.updated_at_ms,
	e.seq, e.id, e.channel, e.type, e.product_code, e.customer_identifier, e.agreement_id, e.payload, e.created_at_ms
	FROM notify_deliveries d JOIN market_events e ON e.seq = d.event_seq`

func scanDelivery(rows *sql.Rows) (*meterd.Delivery, error) {
	var d meterd.Delivery
	var e meterd.Event
	var next, created, updated, eCreated int64
	err := rows.Scan(&d.ID, &d.EventSeq, &d.Target, &d.CustomerIdentifier, &d.Status, &d.Attempts, &d.LastError,
		&next, &created, &updated,
		&e.Seq, &e.ID, &e.Channel, &e.Type, &e.ProductCode, &e.CustomerIdentifier, &e.AgreementID, &e.Payload, &eCreated)
	d.NextAttemptAt, d.CreatedAt, d.UpdatedAt, e.CreatedAt = fromMS(next), fromMS(created), fromMS(updated), fromMS(eCreated)
	d.Event = &e
	return &d, err
}

// LeaseDeliveries takes up to limit due, unheld deliveries, each the
// earliest pending one of its (target, customer), for owner. SQLite has
// one writer, so the select and the update in one transaction are atomic.
func (s *Store) LeaseDeliveries(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]*meterd.Delivery, error) {
	var out []*meterd.Delivery
	err := transact(ctx, s.write, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, deliverySelect+` WHERE d.status = 'pending' AND d.next_attempt_ms <= ? AND d.lease_until_ms <= ?
			AND NOT EXISTS (SELECT 1 FROM notify_deliveries p WHERE p.status = 'pending' AND p.target = d.target
				AND p.customer_identifier = d.customer_identifier AND p.event_seq < d.event_seq)
			ORDER BY d.event_seq, d.id LIMIT ?`, ms(now), ms(now), limit)
		if err != nil {
			return err
		}
		if out, err = collect(rows, scanDelivery); err != nil || len(out) == 0 {
			return err
		}
		ids := make([]any, 0, len(out)+2)
		ids = append(ids, owner, ms(now.Add(lease)))
		for _, d := range out {
			ids = append(ids, d.ID)
		}
		_, err = tx.ExecContext(ctx, `UPDATE notify_deliveries SET lease_owner = ?, lease_until_ms = ? WHERE id IN (`+placeholders(len(out))+`)`, ids...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: lease deliveries: %w", err)
	}
	return out, nil
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// FinishDeliveries stores the outcomes of owner's leased deliveries.
func (s *Store) FinishDeliveries(ctx context.Context, owner string, ds []*meterd.Delivery) error {
	err := transact(ctx, s.write, func(tx *sql.Tx) error {
		for _, d := range ds {
			if _, err := tx.ExecContext(ctx, `UPDATE notify_deliveries SET status = ?, attempts = ?, last_error = ?, next_attempt_ms = ?,
				updated_at_ms = ?, lease_owner = '', lease_until_ms = 0 WHERE id = ? AND lease_owner = ?`,
				d.Status, d.Attempts, d.LastError, ms(d.NextAttemptAt), ms(d.UpdatedAt), d.ID, owner); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: finish deliveries: %w", err)
	}
	return nil
}

// Deliveries lists the deliveries matching f in id order.
func (s *Store) Deliveries(ctx context.Context, f meterd.DeliveryFilter) ([]*meterd.Delivery, error) {
	q := deliverySelect + ` WHERE (? = '' OR d.status = ?) AND (? = '' OR d.target = ?) AND (? = 0 OR d.event_seq = ?) ORDER BY d.id`
	if f.Newest {
		q += ` DESC`
	}
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.read.QueryContext(ctx, q, f.Status, f.Status, f.Target, f.Target, f.EventSeq, f.EventSeq)
	if err != nil {
		return nil, fmt.Errorf("sqlite: deliveries: %w", err)
	}
	return collect(rows, scanDelivery)
}

// RetryDelivery makes a delivery pending again, due at now.
func (s *Store) RetryDelivery(ctx context.Context, id int64, now time.Time) (*meterd.Delivery, error) {
	var out *meterd.Delivery
	err := transact(ctx, s.write, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE notify_deliveries SET status = 'pending', attempts = 0, next_attempt_ms = ?,
			updated_at_ms = ?, lease_owner = '', lease_until_ms = 0 WHERE id = ?`, ms(now), ms(now), id)
		if err != nil {
			return fmt.Errorf("sqlite: retry delivery: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return meterd.Errorf(meterd.ENotFound, "delivery %d not found", id)
		}
		rows, err := tx.QueryContext(ctx, deliverySelect+` WHERE d.id = ?`, id)
		if err != nil {
			return fmt.Errorf("sqlite: retry delivery: %w", err)
		}
		ds, err := collect(rows, scanDelivery)
		if err != nil || len(ds) == 0 {
			return fmt.Errorf("sqlite: retry delivery: %d rows: %w", len(ds), err)
		}
		out = ds[0]
		return nil
	})
	return out, err
}
