package server

import (
	"context"
	"database/sql"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/pgtest"
	"github.com/meterd/meterd/postgres"
	"github.com/meterd/meterd/sqlite"
)

// TestReadyzCannotCommit is the finding of issue 19 item 7: /readyz asked
// the store for a read only, so a store that could read but not commit (a
// full disk) was "ready" while every request failed. Each store is made
// unable to commit by a write lock held from another connection (SQLite:
// BEGIN IMMEDIATE; PostgreSQL: LOCK TABLE settings), the reads still
// working: /readyz must answer 503 then, and 200 again once the lock is
// gone. The write probe runs at most every readyProbeEvery: the test moves
// the probe's clock, never sleeps.
func TestReadyzCannotCommit(t *testing.T) {
	tests := []struct {
		name string
		open func(t *testing.T) (meterd.Ledger, func(t *testing.T) (release func()))
	}{
		{"SQLite", func(t *testing.T) (meterd.Ledger, func(t *testing.T) func()) {
			path := filepath.Join(t.TempDir(), "meterd.db")
			s, err := sqlite.Open(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s, func(t *testing.T) func() {
				db, err := sql.Open("sqlite", "file:"+path+"?_txlock=immediate")
				if err != nil {
					t.Fatal(err)
				}
				tx, err := db.Begin()
				if err != nil {
					t.Fatal(err)
				}
				return func() { tx.Rollback(); db.Close() }
			}
		}},
		{"PostgreSQL", func(t *testing.T) (meterd.Ledger, func(t *testing.T) func()) {
			url := pgtest.Start(t).NewDatabase(t)
			s, err := postgres.Open(t.Context(), url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s, func(t *testing.T) func() {
				conn, err := pgx.Connect(t.Context(), url)
				if err != nil {
					t.Fatal(err)
				}
				tx, err := conn.Begin(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if _, err := tx.Exec(t.Context(), `LOCK TABLE settings IN EXCLUSIVE MODE`); err != nil {
					t.Fatal(err)
				}
				return func() { tx.Rollback(context.Background()); conn.Close(context.Background()) }
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, lock := tt.open(t)
			now := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
			rd := &readiness{ledger: l, logger: slog.New(slog.DiscardHandler), now: func() time.Time { return now }}
			ready := func(t *testing.T, want int, body string) {
				t.Helper()
				w := httptest.NewRecorder()
				rd.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/readyz", nil))
				if w.Code != want || !strings.Contains(w.Body.String(), body) {
					t.Fatalf("GET /readyz = %d %q, want %d %q", w.Code, w.Body, want, body)
				}
			}
			ready(t, 200, "ok")
			if v, err := l.Setting(t.Context(), settingReadyProbe); err != nil || v != now.Format(time.RFC3339Nano) {
				t.Errorf("probe setting = %q, %v, want %s: the probe writes", v, err, now.Format(time.RFC3339Nano))
			}

			release := lock(t)
			now = now.Add(time.Second) // within readyProbeEvery: the outcome is kept, nothing is written
			ready(t, 200, "ok")
			now = now.Add(readyProbeEvery)
			ready(t, 503, "store cannot commit")
			if err := l.Ping(t.Context()); err != nil {
				t.Errorf("Ping while the store cannot commit = %v, want nil: reads still work", err)
			}
			release()
			now = now.Add(time.Second)
			ready(t, 503, "store cannot commit") // kept, until the next probe
			now = now.Add(readyProbeEvery)
			ready(t, 200, "ok")
		})
	}
}
