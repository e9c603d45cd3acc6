package relay

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// groupCrashEnv names the store the child process of TestGroupCommitCrash
// writes to.
const groupCrashEnv = "METERD_TEST_RELAY_GROUP_CRASH"

// TestGroupCommitCrash kills (SIGKILL) a process whose 32 goroutines ingest
// single events, so that groups are being committed, and checks after
// reopening the store that every event the child was answered for is
// stored: nothing acknowledged is lost.
func TestGroupCommitCrash(t *testing.T) {
	if path := os.Getenv(groupCrashEnv); path != "" {
		groupCrashChild(path)
		return
	}
	path := filepath.Join(t.TempDir(), "relay.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestGroupCommitCrash$", "-test.count=1")
	cmd.Env = append(os.Environ(), groupCrashEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[string]bool{}
	lines := bufio.NewScanner(out)
	for len(acked) < 500 && lines.Scan() {
		acked[lines.Text()] = true
	}
	cmd.Process.Kill()
	cmd.Wait()
	if len(acked) < 500 {
		t.Fatalf("the child acknowledged %d events before it ended, want 500", len(acked))
	}
	s := openDSN(t, path)
	rows, err := s.db.Query(`SELECT id FROM events`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	stored := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		stored[id] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for id := range acked {
		if !stored[id] {
			t.Errorf("event %s was acknowledged but is not stored", id)
		}
	}
}

// groupCrashChild ingests single events from 32 goroutines until killed,
// printing each event's id once Ingest has answered it.
func groupCrashChild(path string) {
	s, err := Open(context.Background(), path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var mu sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	now := t0.Add(30 * time.Minute)
	for g := range 32 {
		go func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("g%d-%d", g, i)
				rs, err := s.Ingest(context.Background(), []Event{ev(id, fmt.Sprintf("c%d", g), "requests", 1, t0, nil)}, now, LateCurrentHour)
				if err != nil || rs[0].Status != StatusAccepted {
					fmt.Fprintln(os.Stderr, id, err, rs)
					os.Exit(1)
				}
				mu.Lock()
				fmt.Fprintln(w, id)
				w.Flush()
				mu.Unlock()
			}
		}()
	}
	select {}
}
