package relay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"
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
		{"TenThousandNonObjects", "[" + strings.Repeat("1,", maxEventsPerRequest-1) + "1]", http.StatusOK, "not a JSON object", 16 << 20},
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
	events := make([]Event, maxEventsPerRequest+1)
	for i := range events {
		events[i] = ev(fmt.Sprintf("e%d", i), "c1", "requests", 1, now, nil)
	}
	if _, err := c.Send(t.Context(), events); err == nil || !strings.Contains(err.Error(), "more than 10000 events") {
		t.Errorf("Send of 10001 events = %v, want a 400 saying more than 10000 events", err)
	}
	rs, err := c.Send(t.Context(), events[:maxEventsPerRequest])
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Status != StatusAccepted {
			t.Fatalf("event %+v, want accepted", r)
		}
	}
}

// FuzzDecodeEvents feeds arbitrary bodies to the POST /v1/events decoder:
// it never panics, returns at most maxEventsPerRequest events, and for a
// body that is a JSON array returns one result per element (or refuses
// the body for having too many).
func FuzzDecodeEvents(f *testing.F) {
	ts := t0.Format(time.RFC3339)
	for _, seed := range []string{
		`[{"id":"a","product_code":"p","customer_identifier":"c","dimension":"d","quantity":3,"timestamp":"` + ts + `","tags":{"t":"x"}}]`,
		`{"id":"a","quantity":1}` + "\n" + `{"id":"b","quantity":"2"}` + "\n" + `not json`,
		`[1, "x", null, [], {"id": 5}, {"quantity": 1e3}, {"tags": {"a": 1}}]`,
		`[{"id":"q","quantity":99999999999999999999}]`,
		`{"id":"t","tags":{"a":"1","b":"2","c":"3","d":"4","e":"5","f":"6"}}`,
		` [ ] `, `[`, `[]x`, "\n\n", `{`, `[{"id":"x","timestamp":"yesterday"}]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		items, err := decodeEvents(bytes.NewReader(body))
		if err != nil {
			if items != nil {
				t.Fatalf("decodeEvents = %d items and error %v, want none with an error", len(items), err)
			}
			return
		}
		if len(items) > maxEventsPerRequest {
			t.Fatalf("decodeEvents = %d items, more than %d", len(items), maxEventsPerRequest)
		}
		for _, it := range items {
			if it.Err == nil && it.Event.Tags != nil && len(it.Event.Tags) > maxTagsPerAllocation {
				t.Fatalf("event with %d tags decoded, want an error beyond %d", len(it.Event.Tags), maxTagsPerAllocation)
			}
		}
		var elems []json.RawMessage
		if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) > 0 && trimmed[0] == '[' {
			if json.Unmarshal(body, &elems) != nil {
				t.Fatalf("decodeEvents took %q, which is not a JSON array", body)
			}
			if len(items) != len(elems) {
				t.Fatalf("decodeEvents = %d items for an array of %d", len(items), len(elems))
			}
		}
	})
}
