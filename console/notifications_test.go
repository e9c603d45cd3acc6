package console_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/events"
)

// waitDeliveries returns the deliveries once ok accepts them; the
// dispatcher runs on its own loop. The bound is one only a stuck
// dispatcher reaches.
func waitDeliveries(t *testing.T, s *testServer, ok func([]meterd.Delivery) bool) []meterd.Delivery {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		ds, err := s.Admin.Deliveries(context.Background(), "", "")
		if err != nil {
			t.Fatal(err)
		}
		if ok(ds) {
			return ds
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d deliveries, not as wanted within a minute", len(ds))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestNotifications shows the subscriptions, queues and deliveries (with
// each event's body and last error) and retries a delivery that failed.
func TestNotifications(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	// A rule's HTTP target that fails every event.
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "the seller's endpoint is down", http.StatusInternalServerError)
	}))
	t.Cleanup(endpoint.Close)
	if _, err := s.Admin.CreateQueue(ctx, admin.QueueInput{Account: "111122223333", Name: "console-events"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Admin.CreateSubscription(ctx, events.SubscriptionSpec{Product: "demo-product", Topic: "subscription", Protocol: "sqs", Endpoint: "console-events"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Admin.CreateRule(ctx, events.RuleSpec{Account: "111122223333", Protocol: "http", Endpoint: endpoint.URL + "/events"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Admin.Subscribe(ctx, "demo-product", admin.SubscribeInput{AWSAccountID: "123456789012", CustomerIdentifier: "console-customer"}); err != nil {
		t.Fatal(err)
	}
	var failing meterd.Delivery
	waitDeliveries(t, s, func(ds []meterd.Delivery) bool {
		var delivered bool
		for _, d := range ds {
			delivered = delivered || d.Status == meterd.DeliveryDelivered && d.CustomerIdentifier == "console-customer"
			if d.Status != meterd.DeliveryDelivered && d.LastError != "" {
				failing = d
			}
		}
		return delivered && failing.ID != 0
	})

	c := browser(t)
	_, csrf := login(t, s, c, adminToken)
	code, body, _ := get(t, c, s.URL+"/console/notifications")
	for _, want := range []string{"<code>console-events</code>", "<code>" + endpoint.URL + "/events</code>", "<td>console-events</td>",
		"<td>console-customer</td><td>delivered</td>", "subscribe-success", `&#34;action&#34;:&#34;subscribe-success&#34;`,
		`aria-label="Retry delivery ` + strconv.FormatInt(failing.ID, 10) + `"`} {
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("notifications page = %d, lacks %q", code, want)
		}
	}
	// The page's bounded read: the newest first, as many as asked; a bad
	// order or limit is the admin API's 422, as a bad status is.
	all, err := s.Admin.Deliveries(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if newest, err := s.Admin.NewestDeliveries(ctx, "", 1); err != nil || len(newest) != 1 || newest[0].ID != all[len(all)-1].ID {
		t.Errorf("NewestDeliveries(1) = %v, %v, want the last of %d", newest, err, len(all))
	}
	for _, q := range []string{"order=up", "limit=0", "limit=x"} {
		req, _ := http.NewRequest("GET", s.URL+"/admin/v1/deliveries?"+q, nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("GET /admin/v1/deliveries?%s = %v, %v, want 422", q, resp, err)
		} else {
			resp.Body.Close()
		}
	}
	_, body, _ = get(t, c, s.URL+"/console/")
	m := regexp.MustCompile(`>(\d+) failed</a> for good, <a href="/console/notifications\?status=pending">(\d+) pending`).FindStringSubmatch(body)
	if m == nil || m[1]+m[2] == "00" {
		t.Errorf("dashboard deliveries = %q, want the failing one counted", m)
	}
	_, body, _ = get(t, c, s.URL+"/console/notifications?status=delivered")
	if strings.Contains(body, "Retry delivery") {
		t.Errorf("the delivered deliveries offer a retry")
	}

	resp, body := post(t, c, s.URL+"/console/deliveries/"+strconv.FormatInt(failing.ID, 10)+"/retry", url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "delivery+"+strconv.FormatInt(failing.ID, 10)) {
		t.Fatalf("retry = %d %s: %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	waitDeliveries(t, s, func(ds []meterd.Delivery) bool {
		for _, d := range ds {
			if d.ID == failing.ID {
				return d.Attempts > failing.Attempts
			}
		}
		return false
	})
	if resp, _ := post(t, c, s.URL+"/console/deliveries/nope/retry", url.Values{"csrf": {csrf}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("retry of delivery nope = %d, want 400", resp.StatusCode)
	}
	if resp, _ := post(t, c, s.URL+"/console/deliveries/"+strconv.FormatInt(failing.ID, 10)+"/retry", url.Values{"csrf": {"forged"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("retry with a forged CSRF token = %d, want 403", resp.StatusCode)
	}
}
