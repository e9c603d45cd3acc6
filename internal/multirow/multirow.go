// Package multirow runs a statement over many rows as few statements of
// many rows each: one statement of 64 rows costs far less than 64 of one
// (most of a small statement's cost in SQLite is its start and end, not its
// b-tree work; in PostgreSQL each statement is a round trip). The ledger's
// SQLite store and both relay stores use it.
package multirow

import (
	"context"
	"database/sql"
	"strings"
)

// Stmt is one statement prepared once for each of its chunk sizes of rows.
type Stmt struct {
	sizes  []int // largest first, the last 1
	perRow int   // values per row
	bySize map[int]*sql.Stmt
}

// Prepare prepares `head row, row, ... tail` on db for each of sizes rows
// (largest first, ending in 1): n rows then go as n/sizes[0] statements of
// sizes[0] rows, then the next size down, and so on. row holds perRow
// placeholders; adapt, when not nil, rewrites each statement's text for the
// database (the relay writes SQLite's ? and adapts them for PostgreSQL).
func Prepare(ctx context.Context, db *sql.DB, sizes []int, head, row, tail string, perRow int, adapt func(string) string) (*Stmt, error) {
	m := &Stmt{sizes: sizes, perRow: perRow, bySize: make(map[int]*sql.Stmt, len(sizes))}
	for _, n := range sizes {
		q := head + " " + strings.Repeat(row+", ", n-1) + row + " " + tail
		if adapt != nil {
			q = adapt(q)
		}
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			m.Close()
			return nil, err
		}
		m.bySize[n] = st
	}
	return m, nil
}

// Stmt returns the statement of n rows, nil if n is not one of m's sizes.
func (m *Stmt) Stmt(n int) *sql.Stmt { return m.bySize[n] }

// Close closes the statements that were prepared; m may be nil.
func (m *Stmt) Close() {
	if m == nil {
		return
	}
	for _, st := range m.bySize {
		st.Close()
	}
}

// Tx binds prepared statements to one transaction, each when first used:
// binding (and closing at commit) a statement costs about 1 µs, and a
// transaction often uses few of a store's statements.
type Tx struct {
	ctx   context.Context
	tx    *sql.Tx
	bound map[*sql.Stmt]*sql.Stmt
}

// NewTx returns a Tx binding statements to tx.
func NewTx(ctx context.Context, tx *sql.Tx) *Tx {
	return &Tx{ctx: ctx, tx: tx, bound: map[*sql.Stmt]*sql.Stmt{}}
}

// Stmt returns s bound to the transaction.
func (t *Tx) Stmt(s *sql.Stmt) *sql.Stmt {
	b, ok := t.bound[s]
	if !ok {
		b = t.tx.StmtContext(t.ctx, s)
		t.bound[s] = b
	}
	return b
}

// Chunks calls fn for successive chunks of args (m's perRow values a row),
// each with the statement of its size bound to the transaction.
func (t *Tx) Chunks(m *Stmt, args []any, fn func(st *sql.Stmt, chunk []any) error) error {
	rows := len(args) / m.perRow
	for _, n := range m.sizes {
		for ; rows >= n; rows -= n {
			if err := fn(t.Stmt(m.bySize[n]), args[:n*m.perRow]); err != nil {
				return err
			}
			args = args[n*m.perRow:]
		}
	}
	return nil
}

// Exec runs m over args, chunk by chunk.
func (t *Tx) Exec(m *Stmt, args []any) error {
	return t.Chunks(m, args, func(st *sql.Stmt, chunk []any) error {
		_, err := st.ExecContext(t.ctx, chunk...)
		return err
	})
}

// Query runs m over args, chunk by chunk, and calls scan for each row of
// the answers.
func (t *Tx) Query(m *Stmt, args []any, scan func(*sql.Rows) error) error {
	return t.Chunks(m, args, func(st *sql.Stmt, chunk []any) error {
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
