package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/meterd/meterd"
	"github.com/meterd/meterd/internal/pgtx"
)

var _ meterd.QueueStore = (*Store)(nil)

// CreateQueue stores a new queue. EConflict when the account has one of
// that name.
func (s *Store) CreateQueue(ctx context.Context, q *meterd.Queue) error {
	attrs, err := json.Marshal(q.Attributes)
	if err != nil {
		return fmt.Errorf("postgres: create queue: %w", err)
	}
	err = s.exec(ctx, "create queue", `INSERT INTO queues (account_id, name, attributes, created_at) VALUES ($1, $2, $3, $4)`,
		q.AccountID, q.Name, string(attrs), ms(q.CreatedAt))
	if pgtx.Is(err, pgtx.UniqueViolation) {
		return meterd.Errorf(meterd.EConflict, "queue %s of account %s already exists", q.Name, q.AccountID)
	}
	return err
}

func scanQueue(row pgx.CollectableRow) (*meterd.Queue, error) {
	var q meterd.Queue
	var attrs string
	if err := row.Scan(&q.AccountID, &q.Name, &attrs, &q.CreatedAt); err != nil {
		return nil, err
	}
	q.CreatedAt = q.CreatedAt.UTC()
	if err := json.Unmarshal([]byte(attrs), &q.Attributes); err != nil {
		return nil, fmt.Errorf("queue %s attributes: %w", q.Name, err)
	}
	if q.Attributes == nil {
		q.Attributes = map[string]string{}
	}
	return &q, nil
}

// Queue returns the account's queue of that name. ENotFound.
func (s *Store) Queue(ctx context.Context, accountID, name string) (*meterd.Queue, error) {
	return one(ctx, s, "queue "+name+" of account "+accountID, `SELECT account_id, name, attributes, created_at FROM queues
		WHERE account_id = $1 AND name = $2`, []any{accountID, name}, scanQueue)
}

// Queues lists the account's queues (every account's when accountID is
// empty) whose name starts with prefix, by account and name.
func (s *Store) Queues(ctx context.Context, accountID, prefix string) ([]*meterd.Queue, error) {
	return list(ctx, s, "queues", `SELECT account_id, name, attributes, created_at FROM queues
		WHERE ($1 = '' OR account_id = $1) AND left(name, length($2)) = $2 ORDER BY account_id, name`,
		[]any{accountID, prefix}, scanQueue)
}

// lockQueue locks the queue's row for the transaction, or ENotFound.
func lockQueue(ctx context.Context, tx pgx.Tx, accountID, name string) (string, error) {
	var attrs string
	err := tx.QueryRow(ctx, `SELECT attributes FROM queues WHERE account_id = $1 AND name = $2 FOR SHARE`, accountID, name).Scan(&attrs)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", meterd.Errorf(meterd.ENotFound, "queue %s of account %s not found", name, accountID)
	}
	return attrs, err
}

// SetQueueAttributes merges attrs into the queue's attributes. ENotFound.
func (s *Store) SetQueueAttributes(ctx context.Context, accountID, name string, attrs map[string]string) error {
	return s.Transact(ctx, func(tx pgx.Tx) error {
		var cur string
		err := tx.QueryRow(ctx, `SELECT attributes FROM queues WHERE account_id = $1 AND name = $2 FOR UPDATE`, accountID, name).Scan(&cur)
		if errors.Is(err, pgx.ErrNoRows) {
			return meterd.Errorf(meterd.ENotFound, "queue %s of account %s not found", name, accountID)
		} else if err != nil {
			return fmt.Errorf("postgres: set queue attributes: %w", err)
		}
		merged := map[string]string{}
		if err := json.Unmarshal([]byte(cur), &merged); err != nil || merged == nil {
			merged = map[string]string{}
		}
		for k, v := range attrs {
			merged[k] = v
		}
		b, _ := json.Marshal(merged)
		_, err = tx.Exec(ctx, `UPDATE queues SET attributes = $1 WHERE account_id = $2 AND name = $3`, string(b), accountID, name)
		return err
	})
}

// DeleteQueue deletes the queue and its messages. ENotFound.
func (s *Store) DeleteQueue(ctx context.Context, accountID, name string) error {
	return s.Transact(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM queues WHERE account_id = $1 AND name = $2`, accountID, name)
		if err != nil {
			return fmt.Errorf("postgres: delete queue: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return meterd.Errorf(meterd.ENotFound, "queue %s of account %s not found", name, accountID)
		}
		_, err = tx.Exec(ctx, `DELETE FROM queue_messages WHERE account_id = $1 AND queue = $2`, accountID, name)
		return err
	})
}

// PurgeQueue deletes every message of the queue. ENotFound.
func (s *Store) PurgeQueue(ctx context.Context, accountID, name string) error {
	return s.Transact(ctx, func(tx pgx.Tx) error {
		if _, err := lockQueue(ctx, tx, accountID, name); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM queue_messages WHERE account_id = $1 AND queue = $2`, accountID, name)
		return err
	})
}

// SendMessages appends msgs to the queue in order, all or none. ENotFound;
// EConflict for a MessageID already in the queue.
func (s *Store) SendMessages(ctx context.Context, accountID, name string, msgs []*meterd.QueueMessage) error {
	err := s.Transact(ctx, func(tx pgx.Tx) error {
		if _, err := lockQueue(ctx, tx, accountID, name); err != nil {
			return err
		}
		for _, m := range msgs {
			if _, err := tx.Exec(ctx, `INSERT INTO queue_messages (account_id, queue, message_id, body, message_attributes, sent_at, visible_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, accountID, name, m.MessageID, m.Body, m.MessageAttributes, ms(m.SentAt), ms(m.VisibleAt)); err != nil {
				return err
			}
		}
		return nil
	})
	if pgtx.Is(err, pgtx.UniqueViolation) {
		return meterd.Errorf(meterd.EConflict, "a message id is already in queue %s", name)
	}
	return err
}

// ReceiveMessages takes up to max messages visible at now, oldest first,
// and hides them until now+visibility. SKIP LOCKED lets several processes
// receive from one queue at once without ever taking the same message.
// ENotFound.
func (s *Store) ReceiveMessages(ctx context.Context, accountID, name string, now time.Time, max int, visibility time.Duration) ([]*meterd.QueueMessage, error) {
	var out []*meterd.QueueMessage
	err := s.Transact(ctx, func(tx pgx.Tx) error {
		if _, err := lockQueue(ctx, tx, accountID, name); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `UPDATE queue_messages m SET visible_at = $4, receive_count = m.receive_count + 1,
				first_received_at = COALESCE(m.first_received_at, $3)
			FROM (SELECT seq FROM queue_messages WHERE account_id = $1 AND queue = $2 AND visible_at <= $3
				ORDER BY seq LIMIT $5 FOR UPDATE SKIP LOCKED) pick
			WHERE m.seq = pick.seq
			RETURNING m.seq, m.message_id, m.body, m.message_attributes, m.sent_at, m.visible_at, m.receive_count, m.first_received_at`,
			accountID, name, ms(now), ms(now.Add(visibility)), max)
		if err != nil {
			return err
		}
		type row struct {
			seq int64
			m   meterd.QueueMessage
		}
		got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
			var x row
			err := r.Scan(&x.seq, &x.m.MessageID, &x.m.Body, &x.m.MessageAttributes, &x.m.SentAt, &x.m.VisibleAt, &x.m.ReceiveCount, &x.m.FirstReceivedAt)
			x.m.SentAt, x.m.VisibleAt, x.m.FirstReceivedAt = x.m.SentAt.UTC(), x.m.VisibleAt.UTC(), x.m.FirstReceivedAt.UTC()
			return x, err
		})
		if err != nil {
			return err
		}
		// RETURNING does not keep the subquery's order.
		for i := 1; i < len(got); i++ {
			for j := i; j > 0 && got[j].seq < got[j-1].seq; j-- {
				got[j], got[j-1] = got[j-1], got[j]
			}
		}
		out = out[:0]
		for i := range got {
			out = append(out, &got[i].m)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: receive messages: %w", err)
	}
	return out, nil
}

// DeleteMessage deletes the message if receiveCount is its latest receive.
// ENotFound when the queue does not exist.
func (s *Store) DeleteMessage(ctx context.Context, accountID, name, messageID string, receiveCount int) error {
	return s.Transact(ctx, func(tx pgx.Tx) error {
		if _, err := lockQueue(ctx, tx, accountID, name); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM queue_messages WHERE account_id = $1 AND queue = $2 AND message_id = $3 AND receive_count = $4`,
			accountID, name, messageID, receiveCount)
		return err
	})
}

// ChangeMessageVisibility moves an in-flight message's VisibleAt.
// ENotFound for the queue or the receipt; EConflict when not in flight.
func (s *Store) ChangeMessageVisibility(ctx context.Context, accountID, name, messageID string, receiveCount int, now, visibleAt time.Time) error {
	return s.Transact(ctx, func(tx pgx.Tx) error {
		if _, err := lockQueue(ctx, tx, accountID, name); err != nil {
			return err
		}
		var visible time.Time
		err := tx.QueryRow(ctx, `SELECT visible_at FROM queue_messages WHERE account_id = $1 AND queue = $2 AND message_id = $3 AND receive_count = $4 FOR UPDATE`,
			accountID, name, messageID, receiveCount).Scan(&visible)
		if errors.Is(err, pgx.ErrNoRows) {
			return meterd.Errorf(meterd.ENotFound, "message %s (receive %d) not in queue %s", messageID, receiveCount, name)
		} else if err != nil {
			return err
		}
		if !visible.After(ms(now)) {
			return meterd.Errorf(meterd.EConflict, "message %s is not in flight", messageID)
		}
		_, err = tx.Exec(ctx, `UPDATE queue_messages SET visible_at = $1 WHERE account_id = $2 AND queue = $3 AND message_id = $4`,
			ms(visibleAt), accountID, name, messageID)
		return err
	})
}

// QueueCounts returns the numbers of visible and in-flight messages at now.
// ENotFound.
func (s *Store) QueueCounts(ctx context.Context, accountID, name string, now time.Time) (visible, inFlight int, err error) {
	err = s.Transact(ctx, func(tx pgx.Tx) error {
		if _, err := lockQueue(ctx, tx, accountID, name); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT count(*) FILTER (WHERE visible_at <= $3), count(*) FILTER (WHERE visible_at > $3)
			FROM queue_messages WHERE account_id = $1 AND queue = $2`, accountID, name, ms(now)).Scan(&visible, &inFlight)
	})
	return visible, inFlight, err
}
