package relay

import (
	"context"
	"database/sql"
	"strings"
)

// chunkSizes are the row counts of the multi-row statements, largest first:
// n rows go as n/256 statements of 256 rows, then at most three each of 64,
// 16, 4 and 1. One statement of many rows costs far less than as many
// statements of one: in SQLite most of a small statement's cost is its
// start and end, and in PostgreSQL each statement is a round trip.
var chunkSizes = []int{256, 64, 16, 4, 1}

// multiStmt is one statement prepared once per store for each of
// chunkSizes rows: head, the rows' placeholders separated by commas, tail.
type multiStmt struct {
	perRow int // values per row
	bySize map[int]*sql.Stmt
}

// prepareMulti prepares head row, row, ... tail for each chunk size; row
// holds perRow placeholders (written as SQLite's ?, adapted by Store.q).
func (s *Store) prepareMulti(ctx context.Context, head, row, tail string, perRow int) (*multiStmt, error) {
	m := &multiStmt{perRow: perRow, bySize: map[int]*sql.Stmt{}}
	for _, n := range chunkSizes {
		q := head + " " + strings.Repeat(row+", ", n-1) + row + " " + tail
		st, err := s.db.PrepareContext(ctx, s.q(q))
		if err != nil {
			m.close()
			return nil, err
		}
		m.bySize[n] = st
	}
	return m, nil
}

func (m *multiStmt) close() {
	if m == nil {
		return
	}
	for _, st := range m.bySize {
		st.Close()
	}
}

// txStmts binds a store's multi-row statements to one transaction, each
// once.
type txStmts struct {
	ctx   context.Context
	tx    *sql.Tx
	bound map[*sql.Stmt]*sql.Stmt
}

// chunks calls fn for successive chunks of args (perRow values a row),
// each with the statement of its size bound to the transaction.
func (t *txStmts) chunks(m *multiStmt, args []any, fn func(st *sql.Stmt, chunk []any) error) error {
	for len(args) > 0 {
		rows := len(args) / m.perRow
		n := chunkSizes[len(chunkSizes)-1]
		for _, size := range chunkSizes {
			if size <= rows {
				n = size
				break
			}
		}
		st := m.bySize[n]
		if t.bound[st] == nil {
			t.bound[st] = t.tx.StmtContext(t.ctx, st)
		}
		if err := fn(t.bound[st], args[:n*m.perRow]); err != nil {
			return err
		}
		args = args[n*m.perRow:]
	}
	return nil
}

// exec runs m over args, chunk by chunk.
func (t *txStmts) exec(m *multiStmt, args []any) error {
	return t.chunks(m, args, func(st *sql.Stmt, chunk []any) error {
		_, err := st.ExecContext(t.ctx, chunk...)
		return err
	})
}

// query runs m over args, chunk by chunk, and calls scan for each row of
// the answers.
func (t *txStmts) query(m *multiStmt, args []any, scan func(*sql.Rows) error) error {
	return t.chunks(m, args, func(st *sql.Stmt, chunk []any) error {
		rows, err := st.QueryContext(t.ctx, chunk...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}
