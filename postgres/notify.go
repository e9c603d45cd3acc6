package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/meterd/meterd"
	"github.com/meterd/meterd/internal/pgtx"
)

var _ meterd.NotifyStore = (*Store)(nil)

const subscriptionColumns = `id, product_code, account_id, topic, protocol, endpoint, raw, signature_version,
	insecure_skip_verify, confirmed, token, after_seq, created_at`

// CreateSubscription stores a new subscription. EConflict when its id
// exists.
func (s *Store) CreateSubscription(ctx context.Context, sub *meterd.Subscription) error {
	err := s.exec(ctx, "create subscription", `INSERT INTO notify_subscriptions (`+subscriptionColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		sub.ID, sub.ProductCode, sub.AccountID, sub.Topic, sub.Protocol, sub.Endpoint, sub.Raw, sub.SignatureVersion,
		sub.InsecureSkipVerify, sub.Confirmed, sub.Token, sub.AfterSeq, ms(sub.CreatedAt))
	if pgtx.Is(err, pgtx.UniqueViolation) {
		return meterd.Errorf(meterd.EConflict, "subscription %s already exists", sub.ID)
	}
	return err
}

func scanSubscription(row pgx.CollectableRow) (*meterd.Subscription, error) {
	var sub meterd.Subscription
	err := row.Scan(&sub.ID, &sub.ProductCode, &sub.AccountID, &sub.Topic, &sub.Protocol, &sub.Endpoint, &sub.Raw,
		&sub.SignatureVersion, &sub.InsecureSkipVerify, &sub.Confirmed, &sub.Token, &sub.AfterSeq, &sub.CreatedAt)
	sub.CreatedAt = sub.CreatedAt.UTC()
	return &sub, err
}

// Subscription returns a subscription by id. ENotFound.
func (s *Store) Subscription(ctx context.Context, id string) (*meterd.Subscription, error) {
	return one(ctx, s, "subscription "+id, `SELECT `+subscriptionColumns+` FROM notify_subscriptions WHERE id = $1`,
		[]any{id}, scanSubscription)
}

// Subscriptions lists a product's subscriptions ("" for all), in the order
// they were made (created_seq, from a sequence).
func (s *Store) Subscriptions(ctx context.Context, productCode string) ([]*meterd.Subscription, error) {
	return list(ctx, s, "subscriptions", `SELECT `+subscriptionColumns+` FROM notify_subscriptions
		WHERE $1 = '' OR product_code = $1 ORDER BY created_seq`, []any{productCode}, scanSubscription)
}

// ConfirmSubscription confirms the subscription whose token is token.
func (s *Store) ConfirmSubscription(ctx context.Context, id, token string, afterSeq int64) error {
	return s.Transact(ctx, func(tx pgx.Tx) error {
		var confirmed bool
		err := tx.QueryRow(ctx, `SELECT confirmed FROM notify_subscriptions WHERE id = $1 AND token = $2 FOR UPDATE`, id, token).Scan(&confirmed)
		if err == pgx.ErrNoRows {
			return meterd.Errorf(meterd.ENotFound, "no subscription %s with that token", id)
		} else if err != nil || confirmed {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE notify_subscriptions SET confirmed = true, after_seq = $1 WHERE id = $2`, afterSeq, id)
		return err
	})
}

// DeleteSubscription deletes a subscription and its pending deliveries.
func (s *Store) DeleteSubscription(ctx context.Context, id string) error {
	return s.deleteTarget(ctx, "notify_subscriptions", "subscription", id)
}

func (s *Store) deleteTarget(ctx context.Context, table, what, id string) error {
	return s.Transact(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("postgres: delete %s: %w", what, err)
		}
		if tag.RowsAffected() == 0 {
			return meterd.Errorf(meterd.ENotFound, "%s %s not found", what, id)
		}
		_, err = tx.Exec(ctx, `DELETE FROM notify_deliveries WHERE target = $1 AND status = 'pending'`, id)
		return err
	})
}

const ruleColumns = `id, account_id, pattern, protocol, endpoint, header_name, header_value, insecure_skip_verify, after_seq, created_at`

// CreateRule stores a new rule. EConflict when its id exists.
func (s *Store) CreateRule(ctx context.Context, r *meterd.Rule) error {
	err := s.exec(ctx, "create rule", `INSERT INTO notify_rules (`+ruleColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		r.ID, r.AccountID, r.Pattern, r.Protocol, r.Endpoint, r.HeaderName, r.HeaderValue, r.InsecureSkipVerify, r.AfterSeq, ms(r.CreatedAt))
	if pgtx.Is(err, pgtx.UniqueViolation) {
		return meterd.Errorf(meterd.EConflict, "rule %s already exists", r.ID)
	}
	return err
}

// Rules lists the rules in the order they were made.
func (s *Store) Rules(ctx context.Context) ([]*meterd.Rule, error) {
	return list(ctx, s, "rules", `SELECT `+ruleColumns+` FROM notify_rules ORDER BY created_seq`, nil,
		func(row pgx.CollectableRow) (*meterd.Rule, error) {
			var r meterd.Rule
			err := row.Scan(&r.ID, &r.AccountID, &r.Pattern, &r.Protocol, &r.Endpoint, &r.HeaderName, &r.HeaderValue,
				&r.InsecureSkipVerify, &r.AfterSeq, &r.CreatedAt)
			r.CreatedAt = r.CreatedAt.UTC()
			return &r, err
		})
}

// DeleteRule deletes a rule and its pending deliveries. ENotFound.
func (s *Store) DeleteRule(ctx context.Context, id string) error {
	return s.deleteTarget(ctx, "notify_rules", "rule", id)
}

// LastEventSeq returns the newest outbox event's Seq, 0 when none.
func (s *Store) LastEventSeq(ctx context.Context) (int64, error) {
	return one(ctx, s, "last event", `SELECT coalesce(max(seq), 0) FROM market_events`, nil, pgx.RowTo[int64])
}

const eventColumns = `seq, id, channel, type, product_code, customer_identifier, agreement_id, payload, created_at`

func scanEvent(row pgx.CollectableRow) (*meterd.Event, error) {
	var e meterd.Event
	err := row.Scan(&e.Seq, &e.ID, &e.Channel, &e.Type, &e.ProductCode, &e.CustomerIdentifier, &e.AgreementID, &e.Payload, &e.CreatedAt)
	e.CreatedAt = e.CreatedAt.UTC()
	return &e, err
}

// UndispatchedEvents returns up to limit events not dispatched yet.
func (s *Store) UndispatchedEvents(ctx context.Context, limit int) ([]*meterd.Event, error) {
	return list(ctx, s, "undispatched events", `SELECT `+eventColumns+` FROM market_events WHERE NOT dispatched ORDER BY seq LIMIT $1`,
		[]any{limit}, scanEvent)
}

// AddDeliveries marks the events dispatched and stores their deliveries.
// Two processes dispatching one event both update its row: the second
// waits for the first's commit, then finds it dispatched and writes
// nothing.
func (s *Store) AddDeliveries(ctx context.Context, seqs []int64, ds []*meterd.Delivery) error {
	return s.Transact(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE market_events SET dispatched = true WHERE seq = ANY($1) AND NOT dispatched`, seqs)
		if err != nil {
			return fmt.Errorf("postgres: add deliveries: %w", err)
		}
		if tag.RowsAffected() != int64(len(seqs)) {
			return meterd.Errorf(meterd.EConflict, "%d of %d events are already dispatched", int64(len(seqs))-tag.RowsAffected(), len(seqs))
		}
		for _, d := range ds {
			err := tx.QueryRow(ctx, `INSERT INTO notify_deliveries (event_seq, target, customer_identifier, status, next_attempt_at, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id`,
				d.EventSeq, d.Target, d.CustomerIdentifier, meterd.DeliveryPending, ms(d.NextAttemptAt), ms(d.CreatedAt)).Scan(&d.ID)
			if pgtx.Is(err, pgtx.UniqueViolation) {
				return meterd.Errorf(meterd.EConflict, "event %d already has a delivery to %s", d.EventSeq, d.Target)
			} else if err != nil {
				return fmt.Errorf("postgres: add deliveries: %w", err)
			}
			d.Status, d.CreatedAt = meterd.DeliveryPending, ms(d.CreatedAt)
			d.UpdatedAt, d.NextAttemptAt = d.CreatedAt, ms(d.NextAttemptAt)
		}
		return nil
	})
}

const deliverySelect = `SELECT d.id, d.event_seq, d.target, d.customer_identifier, d.status, d.attempts, d.last_error,
	d.next_attempt_at, d.created_at, d.updated_at,
	e.seq, e.id, e.channel, e.type, e.product_code, e.customer_identifier, e.agreement_id, e.payload, e.created_at
	FROM notify_deliveries d JOIN market_events e ON e.seq = d.event_seq`

func scanDelivery(row pgx.CollectableRow) (*meterd.Delivery, error) {
	var d meterd.Delivery
	var e meterd.Event
	err := row.Scan(&d.ID, &d.EventSeq, &d.Target, &d.CustomerIdentifier, &d.Status, &d.Attempts, &d.LastError,
		&d.NextAttemptAt, &d.CreatedAt, &d.UpdatedAt,
		&e.Seq, &e.ID, &e.Channel, &e.Type, &e.ProductCode, &e.CustomerIdentifier, &e.AgreementID, &e.Payload, &e.CreatedAt)
	d.NextAttemptAt, d.CreatedAt, d.UpdatedAt, e.CreatedAt = d.NextAttemptAt.UTC(), d.CreatedAt.UTC(), d.UpdatedAt.UTC(), e.CreatedAt.UTC()
	d.Event = &e
	return &d, err
}

// LeaseDeliveries takes up to limit due, unheld deliveries, each the
// earliest pending one of its (target, customer), for owner. The row lease
// (lease_owner, lease_until), taken with FOR UPDATE SKIP LOCKED, is what
// keeps processes sharing the database from delivering one row twice: a
// row another process is leasing is skipped, and one it leased is not due.
func (s *Store) LeaseDeliveries(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]*meterd.Delivery, error) {
	var out []*meterd.Delivery
	err := s.Transact(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE notify_deliveries SET lease_owner = $1, lease_until = $2 WHERE id IN (
			SELECT d.id FROM notify_deliveries d WHERE d.status = 'pending' AND d.next_attempt_at <= $3 AND d.lease_until <= $3
				AND NOT EXISTS (SELECT 1 FROM notify_deliveries p WHERE p.status = 'pending' AND p.target = d.target
					AND p.customer_identifier = d.customer_identifier AND p.event_seq < d.event_seq)
				ORDER BY d.event_seq, d.id LIMIT $4 FOR UPDATE SKIP LOCKED)
			RETURNING id`, owner, ms(now.Add(lease)), ms(now), limit)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil || len(ids) == 0 {
			out = nil
			return err
		}
		rows, err = tx.Query(ctx, deliverySelect+` WHERE d.id = ANY($1) ORDER BY d.event_seq, d.id`, ids)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, scanDelivery)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: lease deliveries: %w", err)
	}
	return out, nil
}

// FinishDeliveries stores the outcomes of owner's leased deliveries.
func (s *Store) FinishDeliveries(ctx context.Context, owner string, ds []*meterd.Delivery) error {
	err := s.Transact(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, d := range ds {
			b.Queue(`UPDATE notify_deliveries SET status = $1, attempts = $2, last_error = $3, next_attempt_at = $4,
				updated_at = $5, lease_owner = '', lease_until = 'epoch' WHERE id = $6 AND lease_owner = $7`,
				d.Status, d.Attempts, d.LastError, ms(d.NextAttemptAt), ms(d.UpdatedAt), d.ID, owner)
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return fmt.Errorf("postgres: finish deliveries: %w", err)
	}
	return nil
}

// Deliveries lists the deliveries matching f in id order.
func (s *Store) Deliveries(ctx context.Context, f meterd.DeliveryFilter) ([]*meterd.Delivery, error) {
	q := deliverySelect + ` WHERE ($1 = '' OR d.status = $1) AND ($2 = '' OR d.target = $2) AND ($3 = 0 OR d.event_seq = $3) ORDER BY d.id`
	if f.Newest {
		q += ` DESC`
	}
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	return list(ctx, s, "deliveries", q, []any{f.Status, f.Target, f.EventSeq}, scanDelivery)
}

// RetryDelivery makes a delivery pending again, due at now.
func (s *Store) RetryDelivery(ctx context.Context, id int64, now time.Time) (*meterd.Delivery, error) {
	var out *meterd.Delivery
	err := s.Transact(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE notify_deliveries SET status = 'pending', attempts = 0, next_attempt_at = $1,
			updated_at = $1, lease_owner = '', lease_until = 'epoch' WHERE id = $2`, ms(now), id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return meterd.Errorf(meterd.ENotFound, "delivery %d not found", id)
		}
		rows, err := tx.Query(ctx, deliverySelect+` WHERE d.id = $1`, id)
		if err != nil {
			return err
		}
		out, err = pgx.CollectExactlyOneRow(rows, scanDelivery)
		return err
	})
	return out, err
}
