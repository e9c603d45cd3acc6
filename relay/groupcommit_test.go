package relay

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestStoreGroupCommit: concurrent Ingest calls, which share transactions,
// are each answered with their own results, an id sent by every call is
// accepted once, and after reopening the store every accepted event is
// counted.
func TestStoreGroupCommit(t *testing.T) { eachStore(t, testStoreGroupCommit) }

func testStoreGroupCommit(t *testing.T, dsn string) {
	ctx := context.Background()
	s := openDSN(t, dsn)
	now := t0.Add(30 * time.Minute)
	const calls, perCall = 64, 5
	var wg sync.WaitGroup
	results := make([][]Result, calls)
	errs := make([]error, calls)
	for c := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			events := []Event{ev("shared", "c0", "requests", 1, t0, nil)}
			for i := range perCall {
				events = append(events, ev(fmt.Sprintf("e%d-%d", c, i), fmt.Sprintf("c%d", c%8), "requests", int64(i+1), t0.Add(time.Duration(i)*time.Minute), nil))
			}
			results[c], errs[c] = s.Ingest(ctx, events, now, LateCurrentHour)
		}()
	}
	wg.Wait()
	sharedAccepted := 0
	for c := range calls {
		if errs[c] != nil {
			t.Fatalf("call %d: %v", c, errs[c])
		}
		if len(results[c]) != perCall+1 {
			t.Fatalf("call %d: %d results, want %d", c, len(results[c]), perCall+1)
		}
		if results[c][0].Status == StatusAccepted {
			sharedAccepted++
		}
		for i, r := range results[c][1:] {
			if want := fmt.Sprintf("e%d-%d", c, i); r.ID != want || r.Status != StatusAccepted {
				t.Errorf("call %d result %d = %s %s, want %s accepted", c, i+1, r.ID, r.Status, want)
			}
		}
	}
	if sharedAccepted != 1 {
		t.Errorf("the id every call sent was accepted %d times, want once", sharedAccepted)
	}
	s.Close()
	s = openDSN(t, dsn)
	recs, err := s.Records(ctx, t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var events, quantity int64
	for _, r := range recs {
		events += r.Events
		quantity += r.Quantity
	}
	if want := int64(calls*perCall + 1); events != want {
		t.Errorf("stored %d events, want %d", events, want)
	}
	if want := int64(calls*(1+2+3+4+5) + 1); quantity != want {
		t.Errorf("stored quantity %d, want %d", quantity, want)
	}
}

// TestStoreGroupCommitFailure: when a group's shared transaction fails for
// one call's events, the other calls of the group are committed and
// answered, and only that call gets the error.
func TestStoreGroupCommitFailure(t *testing.T) { eachStore(t, testStoreGroupCommitFailure) }

func testStoreGroupCommitFailure(t *testing.T, dsn string) {
	ctx := context.Background()
	s := openDSN(t, dsn)
	now := t0.Add(30 * time.Minute)
	failure := errors.New("the statement failed")
	ingestFault = func(e *Event) error {
		if e.ID == "bad" {
			return failure
		}
		return nil
	}
	t.Cleanup(func() { ingestFault = nil })
	call := func(events ...Event) *ingestCall {
		return &ingestCall{ctx: ctx, events: events, now: now, late: LateCurrentHour, done: make(chan struct{})}
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	gone := call(ev("gone", "c1", "requests", 100, t0, nil))
	gone.ctx = canceled
	group := []*ingestCall{
		call(ev("g1", "c1", "requests", 1, t0, nil), ev("g2", "c2", "requests", 2, t0, nil)),
		call(ev("b1", "c1", "requests", 10, t0, nil), ev("bad", "c1", "requests", 20, t0, nil)),
		gone,
		call(ev("g3", "c1", "requests", 4, t0, nil)),
	}
	s.ingestGroup(group)
	for i, c := range group {
		<-c.done
		switch {
		case i == 1:
			if !errors.Is(c.err, failure) || c.results != nil {
				t.Errorf("the failing call: %v, %v, want %v and no results", c.results, c.err, failure)
			}
		case i == 2:
			if !errors.Is(c.err, context.Canceled) {
				t.Errorf("the canceled call: %v, want context.Canceled", c.err)
			}
		default:
			if c.err != nil || len(c.results) != len(c.events) {
				t.Fatalf("call %d: %v, %v, want a result per event", i, c.results, c.err)
			}
			for _, r := range c.results {
				if r.Status != StatusAccepted {
					t.Errorf("call %d: %s %s, want accepted", i, r.ID, r.Status)
				}
			}
		}
	}
	recs, err := s.Records(ctx, t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, r := range recs {
		got[r.Customer] = r.Quantity
	}
	if got["c1"] != 5 || got["c2"] != 2 || len(got) != 2 {
		t.Errorf("stored quantities %v, want c1 5 and c2 2: the good calls' events only", got)
	}
}
