package postgres_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// unportable matches the SQL that CockroachDB lacks, which the store must
// not send: LOCK TABLE (and its short form LOCK name), advisory locks, and
// LISTEN/NOTIFY.
var unportable = regexp.MustCompile(`(?is)\bLOCK\s+(TABLE|ONLY)\b|\bLOCK\s+[\w."]+\s*(;|\bIN\b|$)` +
	`|\bpg_\w*advisory\w*|\bpg_notify\b|\b(UN)?LISTEN\b|\bNOTIFY\b`)

func TestUnportablePattern(t *testing.T) {
	tests := []struct {
		name string
		sql  string
		want bool
	}{
		{"LockTable", "LOCK TABLE metering_records IN SHARE ROW EXCLUSIVE MODE", true},
		{"LockTableLower", "lock table schema_migrations in exclusive mode", true},
		{"LockShort", "LOCK metering_records IN EXCLUSIVE MODE", true},
		{"LockShortBare", "LOCK metering_records;", true},
		{"LockOnly", "LOCK ONLY metering_records", true},
		{"AdvisoryXact", "SELECT pg_advisory_xact_lock(42)", true},
		{"AdvisoryTry", "SELECT pg_try_advisory_lock(42)", true},
		{"Listen", "LISTEN commits", true},
		{"Unlisten", "UNLISTEN *", true},
		{"Notify", "NOTIFY commits, 'x'", true},
		{"PgNotify", "SELECT pg_notify('commits', 'x')", true},
		{"ForUpdate", "SELECT next FROM ledger_sequence WHERE id = 1 FOR UPDATE", false},
		{"Insert", "INSERT INTO schema_migrations (version) VALUES (0) ON CONFLICT (version) DO NOTHING", false},
		{"Truncate", "TRUNCATE metering_records, client_tokens", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := unportable.MatchString(tt.sql); got != tt.want {
				t.Errorf("unportable.MatchString(%q) = %v, want %v", tt.sql, got, tt.want)
			}
		})
	}
}

// TestPortableSQL scans every statement the package can send, the embedded
// migrations and the string constants of its Go source, and fails on SQL
// that CockroachDB lacks (see unportable), so that none comes back.
func TestPortableSQL(t *testing.T) {
	var sources []sqlSource
	sources = append(sources, migrationSQL(t)...)
	sources = append(sources, goSQL(t)...)
	var migrations, selects int
	for _, s := range sources {
		if strings.HasSuffix(s.where, ".sql") {
			migrations++
		}
		if strings.Contains(strings.ToUpper(s.sql), "SELECT") {
			selects++
		}
		if loc := unportable.FindStringIndex(s.sql); loc != nil {
			context := s.sql[max(0, loc[0]-40):min(len(s.sql), loc[1]+40)]
			t.Errorf("%s: %q is not portable to CockroachDB (in %q)", s.where, s.sql[loc[0]:loc[1]], context)
		}
	}
	// The scan must have found the SQL, or it proves nothing.
	if migrations < 3 || selects < 10 {
		t.Errorf("scanned %d migrations and %d strings with SELECT, want at least 3 and 10", migrations, selects)
	}
}

// sqlSource is a piece of SQL and where it was found.
type sqlSource struct{ where, sql string }

// migrationSQL returns the migrations (the files the package embeds)
// without their comments, which may name what they avoid.
func migrationSQL(t *testing.T) []sqlSource {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("migrations", "*.sql"))
	if err != nil {
		t.Fatal(err)
	}
	comment := regexp.MustCompile(`--[^\n]*`)
	var out []sqlSource
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, sqlSource{p, comment.ReplaceAllString(string(b), "")})
	}
	return out
}

// goSQL returns the string constants of the package's non-test Go files,
// each chain of literals joined by + as one string (with a space standing
// for any operand that is not a literal), so that a statement built in
// pieces is seen whole.
func goSQL(t *testing.T) []sqlSource {
	t.Helper()
	paths, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var out []sqlSource
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch e := n.(type) {
			case *ast.BinaryExpr:
				if e.Op != token.ADD {
					return true
				}
				out = append(out, sqlSource{fset.Position(e.Pos()).String(), concat(e)})
			case *ast.BasicLit:
				if e.Kind == token.STRING {
					out = append(out, sqlSource{fset.Position(e.Pos()).String(), unquote(t, e)})
				}
			}
			return true
		})
	}
	return out
}

// concat joins the string literals of a chain of + in order, a space
// standing for each other operand.
func concat(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.BinaryExpr:
		if e.Op == token.ADD {
			return concat(e.X) + concat(e.Y)
		}
	case *ast.ParenExpr:
		return concat(e.X)
	case *ast.BasicLit:
		if e.Kind == token.STRING {
			s, err := strconv.Unquote(e.Value)
			if err == nil {
				return s
			}
		}
	}
	return " "
}

func unquote(t *testing.T, lit *ast.BasicLit) string {
	t.Helper()
	s, err := strconv.Unquote(lit.Value)
	if err != nil {
		t.Fatalf("strconv.Unquote(%s) = %v", lit.Value, err)
	}
	return s
}
