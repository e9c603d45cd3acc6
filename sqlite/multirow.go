package sqlite

import (
	"context"
	"database/sql"
	"strings"
)

// chunkSizes are the row counts of the multi-row statements, largest first:
// n rows go as n/64 statements of 64 rows, then at most three each of 16, 4
// and 1. One statement of 64 rows costs far less than 64 statements of one:
// most of a small statement's cost in SQLite is its start and end, not its
// b-tree work.
var chunkSizes = []int{64, 16, 4, 1}

// multiStmt is one INSERT prepared once for each of chunkSizes rows.
type multiStmt struct {
	perRow int // values per row
	bySize map[int]*sql.Stmt
	bind   func(*sql.Stmt) *sql.Stmt // nil, or what inTx was given
}

// prepareMulti prepares head VALUES row, row, ... tail for each chunk size;
// row holds perRow placeholders.
// preparer prepares statements on db until the first error, which it
// keeps, so a list of statements reads as a list of assignments.
type preparer struct {
	ctx context.Context
	db  *sql.DB
	err error
}

func (p *preparer) prep(q string) *sql.Stmt {
	if p.err != nil {
		return nil
	}
	s, err := p.db.PrepareContext(p.ctx, q)
	p.err = err
	return s
}

// closeStmts closes the statements that were prepared.
func closeStmts(stmts ...*sql.Stmt) {
	for _, s := range stmts {
		if s != nil {
			s.Close()
		}
	}
}

func prepareMulti(ctx context.Context, db *sql.DB, head, row, tail string, perRow int) (*multiStmt, error) {
	m := &multiStmt{perRow: perRow, bySize: map[int]*sql.Stmt{}}
	for _, n := range chunkSizes {
		q := head + " VALUES " + strings.Repeat(row+", ", n-1) + row + " " + tail
		s, err := db.PrepareContext(ctx, q)
		if err != nil {
			m.close()
			return nil, err
		}
		m.bySize[n] = s
	}
	return m, nil
}

func (m *multiStmt) close() {
	if m == nil {
		return
	}
	for _, s := range m.bySize {
		s.Close()
	}
}

// inTx returns m with its statements bound by bind (to a transaction) when
// first used.
func (m *multiStmt) inTx(bind func(*sql.Stmt) *sql.Stmt) *multiStmt {
	return &multiStmt{perRow: m.perRow, bySize: m.bySize, bind: bind}
}

// chunks calls fn for successive chunks of args (perRow values a row) with
// the statement of the chunk's size.
func (m *multiStmt) chunks(args []any, fn func(st *sql.Stmt, args []any) error) error {
	rows := len(args) / m.perRow
	for _, n := range chunkSizes {
		for ; rows >= n; rows -= n {
			st := m.bySize[n]
			if m.bind != nil {
				st = m.bind(st)
			}
			if err := fn(st, args[:n*m.perRow]); err != nil {
				return err
			}
			args = args[n*m.perRow:]
		}
	}
	return nil
}

// exec runs the rows of args in chunks.
func (m *multiStmt) exec(ctx context.Context, args []any) error {
	return m.chunks(args, func(st *sql.Stmt, args []any) error {
		_, err := st.ExecContext(ctx, args...)
		return err
	})
}
