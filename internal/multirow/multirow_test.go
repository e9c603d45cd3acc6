package multirow_test

import (
	"context"
	"database/sql"
	"slices"
	"testing"

	"github.com/meterd/meterd/internal/multirow"
	_ "modernc.org/sqlite"
)

// TestChunks: rows go as the largest chunks first, every row once and in
// order, and Query reads every chunk's answers.
func TestChunks(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+t.TempDir()+"/t.db")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	insert, err := multirow.Prepare(ctx, db, []int{4, 1}, `INSERT INTO t (a, b) VALUES`, `(?, ?)`, `RETURNING a`, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer insert.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var args []any
	for i := range 11 {
		args = append(args, i, string(rune('a'+i)))
	}
	mtx := multirow.NewTx(ctx, tx)
	var sizes []int
	if err := mtx.Chunks(insert, args, func(st *sql.Stmt, chunk []any) error {
		sizes = append(sizes, len(chunk)/2)
		_, err := st.ExecContext(ctx, chunk...)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if want := []int{4, 4, 1, 1, 1}; !slices.Equal(sizes, want) {
		t.Errorf("chunks of %v rows, want %v", sizes, want)
	}
	if mtx.Stmt(insert.Stmt(4)) != mtx.Stmt(insert.Stmt(4)) {
		t.Error("a statement was bound to the transaction twice")
	}
	var got []int
	args = args[:0]
	for i := 11; i < 16; i++ {
		args = append(args, i, "x")
	}
	if err := mtx.Query(insert, args, func(rows *sql.Rows) error {
		var a int
		err := rows.Scan(&a)
		got = append(got, a)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if want := []int{11, 12, 13, 14, 15}; !slices.Equal(got, want) {
		t.Errorf("Query read %v, want %v", got, want)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var n int
	var bs string
	if err := db.QueryRow(`SELECT count(*), group_concat(b, '') FROM (SELECT b FROM t WHERE a < 11 ORDER BY a)`).Scan(&n, &bs); err != nil {
		t.Fatal(err)
	}
	if n != 11 || bs != "abcdefghijk" {
		t.Errorf("stored %d rows %q, want 11 rows abcdefghijk", n, bs)
	}
}
