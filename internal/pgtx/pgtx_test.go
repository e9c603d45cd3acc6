package pgtx

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestCodes(t *testing.T) {
	serial := fmt.Errorf("commit: %w", &pgconn.PgError{Code: SerializationFailure})
	for _, tt := range []struct {
		name               string
		err                error
		conflict, creation bool
	}{
		{"serialization failure, wrapped", serial, true, false},
		{"deadlock", &pgconn.PgError{Code: DeadlockDetected}, true, false},
		{"duplicate table", &pgconn.PgError{Code: DuplicateTable}, false, true},
		{"unique violation", &pgconn.PgError{Code: UniqueViolation}, false, true},
		{"foreign key", &pgconn.PgError{Code: ForeignKeyViolation}, false, false},
		{"not from the server", errors.New("40001"), false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Conflict(tt.err); got != tt.conflict {
				t.Errorf("Conflict = %v, want %v", got, tt.conflict)
			}
			if got := CreateRace(tt.err); got != tt.creation {
				t.Errorf("CreateRace = %v, want %v", got, tt.creation)
			}
		})
	}
}

func TestRetry(t *testing.T) {
	again, final := errors.New("again"), errors.New("final")
	retryable := func(err error) bool { return err == again }
	for _, tt := range []struct {
		name     string
		results  []error // fn's answers, in turn
		attempts int
		want     error
		calls    int
	}{
		{"succeeds at once", []error{nil}, 5, nil, 1},
		{"succeeds after conflicts", []error{again, again, nil}, 5, nil, 3},
		{"stops at a final error", []error{again, final, nil}, 5, final, 2},
		{"gives up after attempts", []error{again, again, again, nil}, 3, again, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			err := Retry(context.Background(), tt.attempts, time.Microsecond, retryable, func() error {
				calls++
				return tt.results[calls-1]
			})
			if err != tt.want || calls != tt.calls {
				t.Errorf("Retry = %v after %d calls, want %v after %d", err, calls, tt.want, tt.calls)
			}
		})
	}
	t.Run("context done", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		calls := 0
		err := Retry(ctx, 5, time.Hour, retryable, func() error { calls++; return again })
		if err != again || calls != 1 {
			t.Errorf("Retry with a done context = %v after %d calls, want again after 1", err, calls)
		}
	})
}
