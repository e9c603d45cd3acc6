package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/meterd/meterd"
)

var _ meterd.QueueStore = (*Store)(nil)

// CreateQueue stores a new queue. EConflict when the account has one of
// that name.
func (s *Store) CreateQueue(ctx context.Context, q *meterd.Queue) error {
	attrs, err := json.Marshal(q.Attributes)
	if err != nil {
		return fmt.Errorf("sqlite: create queue: %w", err)
	}
	_, err = s.write.ExecContext(ctx, `INSERT INTO queues (account_id, name, attributes, created_at_ms) VALUES (?, ?, ?, ?)`,
		q.AccountID, q.Name, string(attrs), ms(q.CreatedAt))
	if isUnique(err) {
		return meterd.Errorf(meterd.EConflict, "queue %s of account %s already exists", q.Name, q.AccountID)
	} else if err != nil {
		return fmt.Errorf("sqlite: create queue: %w", err)
	}
	return nil
}

// Queue returns the account's queue of that name. ENotFound.
func (s *Store) Queue(ctx context.Context, accountID, name string) (*meterd.Queue, error) {
	q, err := scanQueue(s.read.QueryRowContext(ctx, `SELECT account_id, name, attributes, created_at_ms FROM queues
		WHERE account_id = ? AND name = ?`, accountID, name))
	if err == sql.ErrNoRows {
		return nil, meterd.Errorf(meterd.ENotFound, "queue %s of account %s not found", name, accountID)
	}
	return q, err
}

// Queues lists the account's queues (every account's when accountID is
// empty) whose name starts with prefix, by account and name.
func (s *Store) Queues(ctx context.Context, accountID, prefix string) ([]*meterd.Queue, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT account_id, name, attributes, created_at_ms FROM queues
		WHERE (? = '' OR account_id = ?) AND substr(name, 1, length(?)) = ? ORDER BY account_id, name`,
		accountID, accountID, prefix, prefix)
	if err != nil {
		return nil, fmt.Errorf("sqlite: queues: %w", err)
	}
	return collect(rows, func(rows *sql.Rows) (*meterd.Queue, error) { return scanQueue(rows) })
}

func scanQueue(row interface{ Scan(...any) error }) (*meterd.Queue, error) {
	var q meterd.Queue
	var attrs string
	var created int64
	if err := row.Scan(&q.AccountID, &q.Name, &attrs, &created); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(attrs), &q.Attributes); err != nil {
		return nil, fmt.Errorf("sqlite: queue %s attributes: %w", q.Name, err)
	}
	if q.Attributes == nil {
		q.Attributes = map[string]string{}
	}
	q.CreatedAt = fromMS(created)
	return &q, nil
}

// SetQueueAttributes merges attrs into the queue's attributes. ENotFound.
func (s *Store) SetQueueAttributes(ctx context.Context, accountID, name string, attrs map[string]string) error {
	return transact(ctx, s.write, func(tx *sql.Tx) error {
		var cur string
		err := tx.QueryRowContext(ctx, `SELECT attributes FROM queues WHERE account_id = ? AND name = ?`, accountID, name).Scan(&cur)
		if err == sql.ErrNoRows {
			return meterd.Errorf(meterd.ENotFound, "queue %s of account %s not found", name, accountID)
		} else if err != nil {
			return fmt.Errorf("sqlite: set queue attributes: %w", err)
		}
		merged := map[string]string{}
		if err := json.Unmarshal([]byte(cur), &merged); err != nil || merged == nil {
			merged = map[string]string{}
		}
		for k, v := range attrs {
			merged[k] = v
		}
		b, _ := json.Marshal(merged)
		_, err = tx.ExecContext(ctx, `UPDATE queues SET attributes = ? WHERE account_id = ? AND name = ?`, string(b), accountID, name)
		return err
	})
}

// DeleteQueue deletes the queue and its messages. ENotFound.
func (s *Store) DeleteQueue(ctx context.Context, accountID, name string) error {
	return transact(ctx, s.write, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM queues WHERE account_id = ? AND name = ?`, accountID, name)
		if err != nil {
			return fmt.Errorf("sqlite: delete queue: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return meterd.Errorf(meterd.ENotFound, "queue %s of account %s not found", name, accountID)
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM queue_messages WHERE account_id = ? AND queue = ?`, accountID, name)
		return err
	})
}

// PurgeQueue deletes every message of the queue. ENotFound.
func (s *Store) PurgeQueue(ctx context.Context, accountID, name string) error {
	return transact(ctx, s.write, func(tx *sql.Tx) error {
		if err := queueExists(ctx, tx, accountID, name); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM queue_messages WHERE account_id = ? AND queue = ?`, accountID, name)
		return err
	})
}

func queueExists(ctx context.Context, tx *sql.Tx, accountID, name string) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM queues WHERE account_id = ? AND name = ?`, accountID, name).Scan(&one)
	if err == sql.ErrNoRows {
		return meterd.Errorf(meterd.ENotFound, "queue %s of account %s not found", name, accountID)
	}
	return err
}

// SendMessages appends msgs to the queue in order, all or none. ENotFound;
// EConflict for a MessageID already in the queue.
func (s *Store) SendMessages(ctx context.Context, accountID, name string, msgs []*meterd.QueueMessage) error {
	return transact(ctx, s.write, func(tx *sql.Tx) error {
		if err := queueExists(ctx, tx, accountID, name); err != nil {
			return err
		}
		for _, m := range msgs {
			_, err := tx.ExecContext(ctx, `INSERT INTO queue_messages (account_id, queue, message_id, body, message_attributes,
				sent_at_ms, visible_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				accountID, name, m.MessageID, m.Body, m.MessageAttributes, ms(m.SentAt), ms(m.VisibleAt))
			if isUnique(err) {
				return meterd.Errorf(meterd.EConflict, "message %s already in queue %s", m.MessageID, name)
			} else if err != nil {
				return fmt.Errorf("sqlite: send message: %w", err)
			}
		}
		return nil
	})
}

// ReceiveMessages takes up to max messages visible at now, oldest first,
// and hides them until now+visibility. The one write connection makes the
// select and the update one unit. ENotFound.
func (s *Store) ReceiveMessages(ctx context.Context, accountID, name string, now time.Time, max int, visibility time.Duration) ([]*meterd.QueueMessage, error) {
	var out []*meterd.QueueMessage
	err := transact(ctx, s.write, func(tx *sql.Tx) error {
		if err := queueExists(ctx, tx, accountID, name); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT seq, message_id, body, message_attributes, sent_at_ms, receive_count, first_received_at_ms
			FROM queue_messages WHERE account_id = ? AND queue = ? AND visible_at_ms <= ? ORDER BY seq LIMIT ?`,
			accountID, name, ms(now), max)
		if err != nil {
			return err
		}
		var seqs []int64
		out, err = collect(rows, func(rows *sql.Rows) (*meterd.QueueMessage, error) {
			var m meterd.QueueMessage
			var seq, sent, first int64
			if err := rows.Scan(&seq, &m.MessageID, &m.Body, &m.MessageAttributes, &sent, &m.ReceiveCount, &first); err != nil {
				return nil, err
			}
			seqs = append(seqs, seq)
			m.SentAt = fromMS(sent)
			m.ReceiveCount++
			m.FirstReceivedAt = fromMS(first)
			if first == 0 {
				m.FirstReceivedAt = fromMS(ms(now))
			}
			m.VisibleAt = fromMS(ms(now.Add(visibility)))
			return &m, nil
		})
		if err != nil {
			return err
		}
		for i, seq := range seqs {
			if _, err := tx.ExecContext(ctx, `UPDATE queue_messages SET visible_at_ms = ?, receive_count = ?, first_received_at_ms = ?
				WHERE seq = ?`, ms(out[i].VisibleAt), out[i].ReceiveCount, ms(out[i].FirstReceivedAt), seq); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: receive messages: %w", err)
	}
	return out, nil
}

// DeleteMessage deletes the message if receiveCount is its latest receive.
// ENotFound when the queue does not exist.
func (s *Store) DeleteMessage(ctx context.Context, accountID, name, messageID string, receiveCount int) error {
	return transact(ctx, s.write, func(tx *sql.Tx) error {
		if err := queueExists(ctx, tx, accountID, name); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM queue_messages WHERE account_id = ? AND queue = ? AND message_id = ? AND receive_count = ?`,
			accountID, name, messageID, receiveCount)
		return err
	})
}

// ChangeMessageVisibility moves an in-flight message's VisibleAt.
// ENotFound for the queue or the receipt; EConflict when not in flight.
func (s *Store) ChangeMessageVisibility(ctx context.Context, accountID, name, messageID string, receiveCount int, now, visibleAt time.Time) error {
	return transact(ctx, s.write, func(tx *sql.Tx) error {
		if err := queueExists(ctx, tx, accountID, name); err != nil {
			return err
		}
		var visible int64
		err := tx.QueryRowContext(ctx, `SELECT visible_at_ms FROM queue_messages WHERE account_id = ? AND queue = ? AND message_id = ? AND receive_count = ?`,
			accountID, name, messageID, receiveCount).Scan(&visible)
		if err == sql.ErrNoRows {
			return meterd.Errorf(meterd.ENotFound, "message %s (receive %d) not in queue %s", messageID, receiveCount, name)
		} else if err != nil {
			return err
		}
		if visible <= ms(now) {
			return meterd.Errorf(meterd.EConflict, "message %s is not in flight", messageID)
		}
		_, err = tx.ExecContext(ctx, `UPDATE queue_messages SET visible_at_ms = ? WHERE account_id = ? AND queue = ? AND message_id = ?`,
			ms(visibleAt), accountID, name, messageID)
		return err
	})
}

// QueueCounts returns the numbers of visible and in-flight messages at now.
// ENotFound.
func (s *Store) QueueCounts(ctx context.Context, accountID, name string, now time.Time) (visible, inFlight int, err error) {
	err = s.readTx(ctx, func(tx *sql.Tx) error {
		if err := queueExists(ctx, tx, accountID, name); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(visible_at_ms <= ?), 0), COALESCE(SUM(visible_at_ms > ?), 0)
			FROM queue_messages WHERE account_id = ? AND queue = ?`, ms(now), ms(now), accountID, name).Scan(&visible, &inFlight)
	})
	return visible, inFlight, err
}
