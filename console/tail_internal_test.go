package console

import (
	"strconv"
	"testing"
	"time"

	"github.com/meterd/meterd/awsjson"
)

// TestRequestLogSlowReader: a reader that never reads does not hold up
// Observe; it keeps a full queue and counts what it missed, and the
// backlog keeps the newest requests in order.
func TestRequestLogSlowReader(t *testing.T) {
	var l requestLog
	stuck := l.subscribe()
	now := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	const n = 10_000
	for i := range n {
		l.observe(awsjson.Outcome{RequestID: strconv.Itoa(i), Operation: "MeterUsage", Status: 200, Start: now}, now)
	}
	if got := len(stuck.queue); got != tailBuffer {
		t.Errorf("queue of the stuck reader = %d, want %d", got, tailBuffer)
	}
	if got := l.takeMissed(stuck); got != n-tailBuffer {
		t.Errorf("missed = %d, want %d", got, n-tailBuffer)
	}
	if got := l.takeMissed(stuck); got != 0 {
		t.Errorf("missed after taking = %d, want 0", got)
	}
	b := l.backlog(0)
	if len(b) != tailBacklog || b[0].Seq != n-tailBacklog+1 || b[len(b)-1].Seq != n || b[len(b)-1].RequestID != strconv.Itoa(n-1) {
		t.Errorf("backlog = %d requests from %d to %d, want the last %d", len(b), b[0].Seq, b[len(b)-1].Seq, tailBacklog)
	}
	if got := l.backlog(n - 3); len(got) != 3 {
		t.Errorf("backlog after %d = %d requests, want 3", n-3, len(got))
	}
	l.unsubscribe(stuck)
	if len(l.readers) != 0 {
		t.Errorf("readers after unsubscribe = %d", len(l.readers))
	}
}

func TestRequestLogReadersBounded(t *testing.T) {
	var l requestLog
	for i := range maxTailReaders {
		if l.subscribe() == nil {
			t.Fatalf("subscribe %d refused, want %d allowed", i, maxTailReaders)
		}
	}
	if l.subscribe() != nil {
		t.Errorf("subscribe beyond %d allowed", maxTailReaders)
	}
}

// TestErrorsPerHour counts errors in their hour, forgets hours older than
// a day and caps the codes of an hour.
func TestErrorsPerHour(t *testing.T) {
	var l requestLog
	start := time.Date(2026, 12, 1, 0, 10, 0, 0, time.UTC)
	fail := func(at time.Time, code string) {
		l.observe(awsjson.Outcome{Operation: "BatchMeterUsage", Code: code, Status: 400, Start: at}, at)
	}
	fail(start, "ThrottlingException")
	fail(start.Add(time.Hour), "ThrottlingException")
	fail(start.Add(time.Hour), "InvalidProductCodeException")
	l.observe(awsjson.Outcome{Operation: "MeterUsage", Status: 200, Start: start}, start) // a success is no error
	s := l.errorsPerHour(start.Add(time.Hour), 24)
	if s.Total != 3 || len(s.Codes) != 2 || s.Codes[0] != "InvalidProductCodeException" {
		t.Fatalf("errors = %+v, want 3 of 2 codes", s)
	}
	if got := s.Counts["ThrottlingException"][22:]; got[0] != 1 || got[1] != 1 {
		t.Errorf("ThrottlingException in the last two hours = %v, want [1 1]", got)
	}
	if s.Hours[23] != start.Truncate(time.Hour).Add(time.Hour).Unix() {
		t.Errorf("last hour = %d, want the hour of now", s.Hours[23])
	}

	// A day later the first hour is forgotten.
	later := start.Add(24 * time.Hour)
	fail(later, "ThrottlingException")
	if _, ok := l.errors[start.Truncate(time.Hour).Unix()]; ok {
		t.Errorf("the hour of %s is still kept a day later", start)
	}
	if s := l.errorsPerHour(later, 24); s.Total != 3 {
		t.Errorf("errors of the last 24 h at %s = %d, want 3", later, s.Total)
	}

	// Codes beyond the cap of an hour count as "other".
	for i := range maxCodesPerHour + 5 {
		fail(later, "Code"+strconv.Itoa(i))
	}
	if codes := l.errors[later.Truncate(time.Hour).Unix()]; len(codes) != maxCodesPerHour+1 || codes["other"] != 6 {
		t.Errorf("codes in one hour = %d, other = %d; want %d and 6", len(codes), codes["other"], maxCodesPerHour+1)
	}
}
