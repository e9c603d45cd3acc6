package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/meterdtest"
	"github.com/meterd/meterd/relay"
)

// relayProcess is a `meterd relay serve` process on a fixed address, so that
// it can be killed and started again on the same data directory.
type relayProcess struct {
	t      *testing.T
	bin    string
	args   []string
	url    string
	clock  time.Time // the relay clock at start
	cmd    *exec.Cmd
	exited chan struct{}
}

// start runs the process and waits for its banner.
func (p *relayProcess) start() {
	p.t.Helper()
	p.cmd = exec.Command(p.bin, append([]string{"relay", "serve", "--clock", p.clock.Format(time.RFC3339)}, p.args...)...)
	p.cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test")
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		p.t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.exited = make(chan struct{})
	go func() { p.cmd.Wait(); close(p.exited) }()
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "meterd relay is listening on "); ok {
			p.url = strings.Fields(rest)[0]
			go io.Copy(io.Discard, stdout)
			return
		}
	}
	p.t.Fatalf("meterd relay serve exited without its banner")
}

// kill stops the process with SIGKILL, as a crash would.
func (p *relayProcess) kill() {
	p.cmd.Process.Kill()
	<-p.exited
}

// TestRelayKilled kills the relay process with SIGKILL during intake and
// during submission, and starts it again each time: every event is still
// counted exactly once in meterd's ledger.
func TestRelayKilled(t *testing.T) {
	ctx := context.Background()
	h0 := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	now := h0.Add(50 * time.Minute)
	bin := meterdtest.Build(t)
	up := meterdtest.Serve(t, bin)
	adm := admin.NewClient(up.URL, up.AdminToken)
	if _, err := adm.SetClock(ctx, now); err != nil {
		t.Fatal(err)
	}
	p := &relayProcess{t: t, bin: bin, clock: now, args: []string{"--listen", meterdtest.FreeAddr(t), "--data", t.TempDir(),
		"--token", "tok", "--upstream-endpoint", up.URL}}
	p.start()
	t.Cleanup(p.kill)
	rc := relay.NewClient(p.url, "tok")
	// The relay clock lives in memory: --clock sets it at every start,
	// before the submitter's first pass.
	restart := func() {
		t.Helper()
		p.clock = now
		p.start()
	}

	want := map[string]int64{}
	const batches, perBatch = 8, 1000
	batch := func(b int) []relay.Event {
		var events []relay.Event
		for i := range perBatch {
			n := b*perBatch + i
			q := int64(n%3 + 1)
			events = append(events, relay.Event{ID: fmt.Sprintf("k-%d", n), ProductCode: "demo-product",
				CustomerIdentifier: []string{"demo-customer-1", "demo-customer-2"}[n%2], Dimension: "requests",
				Quantity: &q, Timestamp: h0.Add(time.Duration(n%50) * time.Minute)})
		}
		return events
	}
	for b := range batches {
		for _, e := range batch(b) {
			want[e.CustomerIdentifier] += *e.Quantity
		}
	}
	for b := range batches {
		events := batch(b)
		if b%3 == 1 {
			// Kill the relay while this batch is in flight, then send it
			// again: whatever was stored before the kill is a duplicate.
			done := make(chan error, 1)
			go func() { _, err := rc.Send(ctx, events); done <- err }()
			p.kill()
			<-done
			restart()
		}
		rs, err := rc.Send(ctx, events)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if r.Status != relay.StatusAccepted && r.Status != relay.StatusDuplicate {
				t.Fatalf("batch %d: %+v, want accepted or duplicate", b, r)
			}
		}
	}

	// Close the hour, and kill the relay while it submits.
	now = h0.Add(time.Hour + 10*time.Minute)
	if _, err := adm.SetClock(ctx, now); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.SetClock(ctx, now); err != nil {
		t.Fatal(err)
	}
	p.kill()
	restart()
	st := waitRelayDrained(t, ctx, rc)
	if st.Events != batches*perBatch || st.Outcomes[relay.OutcomeSuccess] != 2 {
		t.Errorf("relay status = %+v, want %d events, 2 Success", st, batches*perBatch)
	}
	checkMeterdQuantities(t, ctx, adm, h0, now, want)
}
