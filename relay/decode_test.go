package relay

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd/relay/wire"
)

// allocatedBy returns the bytes allocated while f ran (this test's
// goroutine does nearly all the work; the bound asserted is loose enough
// for the rest).
func allocatedBy(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestPostEventsMemory sends the bodies of issue 19's memory finding (an
// 8 MB array of 4 million non-object elements, and the same as JSON lines)
// and bodies built to make a decoder build large values (one event with
// an 8 MB unknown member, one with a million tags): each costs less than
// 10 times its size, and too many events answer 400 with a clear message.
// The relay used to take 2.96 GB and answer 644 MB for the first. A small
// body of the most events allowed costs the events' fixed size: 10,000
// results, under 16 MB in all.
func TestPostEventsMemory(t *testing.T) {
	now := t0.Add(30 * time.Minute)
	r, _ := newTestRelay(t, Config{}, now)
	h := r.Handler()
	ts := now.Format(time.RFC3339)
	event := func(id, extra string) string {
		return `{"id":"` + id + `","product_code":"p","customer_identifier":"c","dimension":"d","quantity":1,"timestamp":"` + ts + `"` + extra + `}`
	}
	const n = 4000000
	array := "[" + strings.Repeat("1,", n-1) + "1]"
	lines := strings.Repeat("1\n", n)
	var tags strings.Builder
	for i := range 1000000 {
		if i > 0 {
			tags.WriteByte(',')
		}
		fmt.Fprintf(&tags, `"k%d":"v"`, i)
	}
	tests := []struct {
		name   string
		body   string
		status int
		want   string // in the answer
		most   uint64 // bytes it may allocate; 0: 10× the body
	}{
		{"Array4MNonObjects", array, http.StatusBadRequest, "more than 10000 events in one request", 0},
		{"Lines4MNonObjects", lines, http.StatusBadRequest, "more than 10000 events in one request", 0},
		{"UnknownMember8MB", "[" + event("u1", `,"junk":[`+strings.Repeat("1,", n-1)+`1]`) + "]", http.StatusOK, `"accepted"`, 0},
		{"MillionTags", "[" + event("t1", `,"tags":{`+tags.String()+`}`) + "]", http.StatusOK, "more than 5 tags", 0},
		{"TenThousandNonObjects", "[" + strings.Repeat("1,", wire.MaxEvents-1) + "1]", http.StatusOK, "not a JSON object", 16 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(tt.body)
			var rec *httptest.ResponseRecorder
			alloc := allocatedBy(func() {
				req := httptest.NewRequest("POST", "/v1/events", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer secret")
				rec = httptest.NewRecorder()
				h.ServeHTTP(rec, req)
			})
			if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.want) {
				t.Fatalf("POST %s = %d %.300s, want %d with %q", tt.name, rec.Code, rec.Body.String(), tt.status, tt.want)
			}
			t.Logf("%d-byte body: %d bytes allocated (%.2f× the body), %d-byte answer", len(body), alloc, float64(alloc)/float64(len(body)), rec.Body.Len())
			most := tt.most
			if most == 0 {
				most = 10 * uint64(len(body))
			}
			if alloc > most {
				t.Errorf("POST %s allocated %d bytes for a %d-byte body, more than %d", tt.name, alloc, len(body), most)
			}
		})
	}
}

// TestPostEventsLimit: 10,000 events are taken, 10,001 are refused whole.
func TestPostEventsLimit(t *testing.T) {
	now := t0.Add(30 * time.Minute)
	_, c := newTestRelay(t, Config{}, now)
	events := make([]Event, wire.MaxEvents+1)
	for i := range events {
		events[i] = ev(fmt.Sprintf("e%d", i), "c1", "requests", 1, now, nil)
	}
	if _, err := c.Send(t.Context(), events); err == nil || !strings.Contains(err.Error(), "more than 10000 events") {
		t.Errorf("Send of 10001 events = %v, want a 400 saying more than 10000 events", err)
	}
	rs, err := c.Send(t.Context(), events[:wire.MaxEvents])
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Status != StatusAccepted {
			t.Fatalf("event %+v, want accepted", r)
		}
	}
}
