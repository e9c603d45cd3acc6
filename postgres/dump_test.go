package postgres_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meterd/meterd"
)

// pgBin returns the path of a PostgreSQL client program (pg_dump,
// pg_restore) of the installed server's version.
func pgBin(t *testing.T, name string) string {
	t.Helper()
	dir := "/usr/lib/postgresql/15/bin"
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dir = strings.TrimSpace(string(out))
	}
	return filepath.Join(dir, name)
}

// TestPgDumpRestore runs the backup procedure README gives for a
// PostgreSQL store: pg_dump --format=custom of a store holding records and
// an admin token, pg_restore --no-owner into a new empty database, and a
// store opened on it finds both, and keeps numbering records after the
// restored ones.
func TestPgDumpRestore(t *testing.T) {
	ctx := t.Context()
	from := cluster.NewDatabase(t)
	s := open(t, from)
	recs := []*meterd.MeteringRecord{record(1, 1, 5), record(2, 2, 7), record(3, 3, 11)}
	if _, err := s.Commit(ctx, recs); err != nil {
		t.Fatal(err)
	}
	tok := &meterd.AdminToken{Name: "ops", Role: meterd.RoleAdmin, Hash: meterd.HashAdminToken("t"), CreatedAt: recs[0].ReceivedAt}
	if err := s.CreateAdminToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	dump := filepath.Join(t.TempDir(), "meterd.dump")
	if out, err := exec.CommandContext(ctx, pgBin(t, "pg_dump"), "--format=custom", "--file", dump, from).CombinedOutput(); err != nil {
		t.Fatalf("pg_dump: %v: %s", err, out)
	}
	to := cluster.NewDatabase(t)
	if out, err := exec.CommandContext(ctx, pgBin(t, "pg_restore"), "--no-owner", "--exit-on-error", "--dbname", to, dump).CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v: %s", err, out)
	}

	r := open(t, to)
	var ids []string
	var last int64
	err := r.Usage(ctx, meterd.UsageFilter{}, func(rec *meterd.MeteringRecord) error {
		ids = append(ids, rec.ID)
		last = rec.Seq
		return nil
	})
	if err != nil || len(ids) != 3 || ids[0] != recs[0].ID || ids[2] != recs[2].ID {
		t.Fatalf("restored records = %v, %v; want the three committed", ids, err)
	}
	tokens, err := r.AdminTokens(ctx)
	if err != nil || len(tokens) != 1 || tokens[0].Name != "ops" || tokens[0].Hash != tok.Hash {
		t.Errorf("restored admin tokens = %v, %v; want ops", tokens, err)
	}
	if _, err := r.Commit(ctx, []*meterd.MeteringRecord{record(4, 4, 1)}); err != nil {
		t.Fatalf("Commit on the restored database = %v", err)
	}
	var seq int64
	r.Usage(ctx, meterd.UsageFilter{AfterSeq: last}, func(rec *meterd.MeteringRecord) error {
		seq = rec.Seq
		return nil
	})
	if seq <= last {
		t.Errorf("seq of a record committed after the restore = %d, want more than %d", seq, last)
	}
}
