package relay

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd"
)

// newTestRelay returns a relay on a new store with its clock frozen at now,
// its API on an httptest server, and a client of it.
func newTestRelay(t *testing.T, cfg Config, now time.Time) (*Relay, *Client) {
	t.Helper()
	s, _ := openStore(t)
	cfg.Store = s
	if cfg.Token == "" {
		cfg.Token = "secret"
	}
	if cfg.Clock == nil {
		cfg.Clock = &meterd.ServerClock{}
	}
	cfg.Clock.Set(now)
	r := New(cfg)
	srv := httptest.NewServer(r.Handler())
	t.Cleanup(srv.Close)
	return r, NewClient(srv.URL, cfg.Token)
}

func TestPostEvents(t *testing.T) {
	ctx := context.Background()
	now := t0.Add(30 * time.Minute)
	_, c := newTestRelay(t, Config{Products: []string{"demo-product"}}, now)
	ts := now.Add(-time.Minute).Format(time.RFC3339)
	tests := []struct {
		name string
		body string
		want []Result
	}{
		{"Array", `[{"id":"a1","product_code":"demo-product","customer_identifier":"c1","dimension":"requests","quantity":3,"timestamp":"` + ts + `","tags":{"team":"a"}},
			{"id":"a1","product_code":"demo-product","customer_identifier":"c1","dimension":"requests","quantity":3,"timestamp":"` + ts + `"}]`,
			[]Result{{ID: "a1", Status: "accepted"}, {ID: "a1", Status: "duplicate"}}},
		{"JSONLines", `{"id":"l1","product_code":"demo-product","customer_aws_account_id":"444455556666","dimension":"requests","quantity":1,"timestamp":"` + ts + `"}
not json
{"id":"l2","product_code":"demo-product","customer_identifier":"c1","dimension":"requests","quantity":2,"timestamp":"` + ts + `"}
`, []Result{{ID: "l1", Status: "accepted"}, {Status: "rejected"}, {ID: "l2", Status: "accepted"}}},
		{"BadEventsRefusedOneByOne", `[
			{"id":"b1","product_code":"other","customer_identifier":"c1","dimension":"requests","quantity":1,"timestamp":"` + ts + `"},
			{"id":"b2","product_code":"demo-product","customer_identifier":"c1","dimension":"requests","quantity":1.5,"timestamp":"` + ts + `"},
			{"id":"b3","product_code":"demo-product","customer_identifier":"c1","dimension":"requests","quantity":-1,"timestamp":"` + ts + `"},
			{"id":"b4","product_code":"demo-product","customer_identifier":"c1","dimension":"requests","quantity":1,"timestamp":"` + now.Add(-6*time.Hour).Format(time.RFC3339) + `"},
			{"id":"b5","product_code":"demo-product","dimension":"requests","quantity":1,"timestamp":"` + ts + `"},
			{"id":"b6","product_code":"demo-product","customer_identifier":"c1","dimension":"requests","quantity":1,"timestamp":"` + ts + `","tags":{"bad tag!":"x"}},
			{"id":"b7","product_code":"demo-product","customer_identifier":"c1","dimension":"requests","quantity":"1","timestamp":"` + ts + `"},
			{"id":"b8","product_code":"demo-product","customer_identifier":"c1","dimension":"requests","quantity":4,"timestamp":"` + ts + `"}]`,
			[]Result{{ID: "b1", Status: "rejected"}, {ID: "b2", Status: "rejected"}, {ID: "b3", Status: "rejected"}, {ID: "b4", Status: "rejected"},
				{ID: "b5", Status: "rejected"}, {ID: "b6", Status: "rejected"}, {ID: "b7", Status: "rejected"}, {ID: "b8", Status: "accepted"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.SendRaw(ctx, []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("results = %+v, want %d results", got, len(tt.want))
			}
			for i := range got {
				if got[i].ID != tt.want[i].ID || got[i].Status != tt.want[i].Status {
					t.Errorf("result %d = %+v, want %s %s", i, got[i], tt.want[i].ID, tt.want[i].Status)
				}
				if (got[i].Status == StatusRejected) != (got[i].Error != "") {
					t.Errorf("result %d = %+v: error given exactly when rejected", i, got[i])
				}
			}
		})
	}
	recs, err := c.Report(ctx, t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, r := range recs {
		sum += r.Quantity
	}
	if sum != 3+1+2+4 {
		t.Errorf("stored quantity = %d, want %d", sum, 3+1+2+4)
	}
}

func TestPostEventsErrors(t *testing.T) {
	ctx := context.Background()
	_, c := newTestRelay(t, Config{}, t0)
	tests := []struct {
		name   string
		client *Client
		body   string
		status int
	}{
		{"NoToken", &Client{BaseURL: c.BaseURL}, `[]`, http.StatusUnauthorized},
		{"WrongToken", &Client{BaseURL: c.BaseURL, Token: "nope"}, `[]`, http.StatusUnauthorized},
		{"Empty", c, ``, http.StatusBadRequest},
		{"BrokenArray", c, `[{"id":`, http.StatusBadRequest},
		{"Garbage", c, `hello`, http.StatusBadRequest},
		{"PrettyPrintedObject", c, "{\n  \"id\": \"x\"\n}", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.client.SendRaw(ctx, []byte(tt.body))
			var e *Error
			if !errors.As(err, &e) || e.Status != tt.status {
				t.Errorf("SendRaw(%q) = %v, want status %d", tt.body, err, tt.status)
			}
		})
	}
}

// TestBearerScheme: the scheme of the Authorization header is
// case-insensitive, as in meterd's admin API; the token is not.
func TestBearerScheme(t *testing.T) {
	_, c := newTestRelay(t, Config{}, t0)
	for _, tt := range []struct {
		header string
		status int
	}{
		{"Bearer secret", http.StatusOK},
		{"bearer secret", http.StatusOK},
		{"BEARER  secret ", http.StatusOK},
		{"Bearer SECRET", http.StatusUnauthorized},
		{"Basic secret", http.StatusUnauthorized},
		{"Bearer", http.StatusUnauthorized},
		{"Bearersecret", http.StatusUnauthorized},
		{"", http.StatusUnauthorized},
	} {
		req, err := http.NewRequest("GET", c.BaseURL+"/v1/status", nil)
		if err != nil {
			t.Fatal(err)
		}
		if tt.header != "" {
			req.Header.Set("Authorization", tt.header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("Authorization %q: status %d, want %d", tt.header, resp.StatusCode, tt.status)
		}
	}
}

func TestClockRoutes(t *testing.T) {
	ctx := context.Background()
	r, c := newTestRelay(t, Config{}, t0)
	st, err := c.AdvanceClock(ctx, 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Now.Equal(t0.Add(2*time.Hour)) || !st.Frozen {
		t.Errorf("AdvanceClock = %+v, want %s frozen", st, t0.Add(2*time.Hour))
	}
	if got := r.Clock().Now(); !got.Equal(t0.Add(2 * time.Hour)) {
		t.Errorf("relay clock = %s, want %s", got, t0.Add(2*time.Hour))
	}
	if st, err = c.ResetClock(ctx); err != nil || st.Frozen {
		t.Errorf("ResetClock = %+v, %v, want not frozen", st, err)
	}
}

func TestMetricsEndpoint(t *testing.T) {
	ctx := context.Background()
	r, c := newTestRelay(t, Config{}, t0.Add(10*time.Minute))
	if _, err := c.Send(ctx, []Event{ev("m1", "c1", "requests", 1, t0, nil), ev("m1", "c1", "requests", 1, t0, nil)}); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{`meterd_relay_events_total{result="accepted"} 1`, `meterd_relay_events_total{result="duplicate"} 1`} {
		if !strings.Contains(body, want) {
			t.Errorf("GET /metrics has no %q:\n%s", want, body)
		}
	}
}
