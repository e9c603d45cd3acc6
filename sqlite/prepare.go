package sqlite

import (
	"context"
	"database/sql"
)

// chunkSizes are the row counts of the multi-row statements (the records'
// insert and the rollups' upserts), largest first: n rows go as n/64
// statements of 64 rows, then at most three each of 16, 4 and 1.
var chunkSizes = []int{64, 16, 4, 1}

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
