package console_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	mm "github.com/aws/aws-sdk-go-v2/service/marketplacemetering"
	"github.com/aws/aws-sdk-go-v2/service/marketplacemetering/types"
)

// sseEvent is one server-sent event.
type sseEvent struct{ id, event, data string }

// openTail opens the live tail's stream and returns its events as they
// come; the stream closes with the test.
func openTail(t *testing.T, s *testServer, c *http.Client, lastID string) <-chan sseEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/console/tail/events", nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("tail events = %d %s, want 200 text/event-stream", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	out := make(chan sseEvent, 100)
	go func() {
		defer resp.Body.Close()
		defer close(out)
		var ev sseEvent
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.event != "" {
					out <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[6:]
			}
		}
	}()
	return out
}

// nextRequest returns the stream's next request event.
func nextRequest(t *testing.T, events <-chan sseEvent) (sseEvent, map[string]any) {
	t.Helper()
	// A generous bound that only a broken stream reaches.
	timeout := time.After(time.Minute)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("the tail's stream ended")
			}
			if ev.event != "request" {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(ev.data), &m); err != nil {
				t.Fatalf("request event %q: %v", ev.data, err)
			}
			return ev, m
		case <-timeout:
			t.Fatal("no request event within a minute")
		}
	}
}

// TestLiveTail follows the AWS API requests on the live tail: a success
// and an error as the Go SDK sees them, in order, with the caller; a
// reconnect with Last-Event-ID resumes after that event; the dashboard
// counts the error in its hour; without a session there is no stream.
func TestLiveTail(t *testing.T) {
	s := startServer(t)
	anon := browser(t)
	resp, err := anon.Get(s.URL + "/console/tail/events")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("tail events without a session = %d, want 303 to login", resp.StatusCode)
	}

	c := browser(t)
	login(t, s, c, adminToken)
	events := openTail(t, s, c, "")
	s.meter(t, "demo-customer-1", 1, s.Clock.Now())
	first, ok := nextRequest(t, events)
	if ok["operation"] != "BatchMeterUsage" || ok["outcome"] != "ok" || ok["status"] != 200.0 || ok["account_id"] == "" || ok["access_key_id"] != "test" || ok["request_id"] == "" {
		t.Errorf("first request = %v, want BatchMeterUsage ok 200 from the demo seller's key", ok)
	}

	_, err = s.meteringClient().BatchMeterUsage(context.Background(), &mm.BatchMeterUsageInput{ProductCode: aws.String("no-such-product"),
		UsageRecords: []types.UsageRecord{{CustomerIdentifier: aws.String("demo-customer-1"), Dimension: aws.String("requests"), Quantity: aws.Int32(1), Timestamp: aws.Time(s.Clock.Now())}}})
	var apiErr interface{ ErrorCode() string }
	if !errors.As(err, &apiErr) {
		t.Fatalf("BatchMeterUsage of an unknown product: %v, want an AWS error", err)
	}
	_, failed := nextRequest(t, events)
	if failed["outcome"] != apiErr.ErrorCode() || failed["status"] == 200.0 {
		t.Errorf("second request = %v, want the SDK's error %s", failed, apiErr.ErrorCode())
	}

	// A reconnect from the first event gets the second from the backlog.
	again := openTail(t, s, c, first.id)
	if _, m := nextRequest(t, again); m["request_id"] != failed["request_id"] {
		t.Errorf("resumed after %s with %v, want the request after it", first.id, m)
	}

	// The page lists both; the dashboard counts the error in this hour.
	code, body, _ := get(t, c, s.URL+"/console/tail")
	if code != http.StatusOK || !strings.Contains(body, "<td>"+apiErr.ErrorCode()+"</td>") || !strings.Contains(body, "<td>BatchMeterUsage</td>") {
		t.Errorf("tail page = %d, want both requests listed", code)
	}
	_, body, _ = get(t, c, s.URL+"/console/")
	if want := "AWS API errors per hour by code, last 24 h (1 in all: " + apiErr.ErrorCode() + ")"; !strings.Contains(body, want) {
		t.Errorf("dashboard lacks %q", want)
	}
}
