package relay

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/meterd/meterd/internal/httpjson"
)

// ReportRow is one aggregate in the relay's report: per hour, product,
// customer and dimension, its events and quantity and what became of it.
type ReportRow struct {
	Hour             time.Time `json:"hour"`
	Product          string    `json:"product_code"`
	Customer         string    `json:"customer"`
	Dimension        string    `json:"dimension"`
	Events           int64     `json:"events"`
	Quantity         int64     `json:"quantity"`
	State            string    `json:"state"` // open, frozen or submitted
	Submitted        bool      `json:"submitted"`
	Outcome          string    `json:"outcome,omitempty"`
	MeteringRecordID string    `json:"metering_record_id,omitempty"`
	Attempts         int       `json:"attempts"`
	LastError        string    `json:"last_error,omitempty"`
	Quarantined      string    `json:"quarantined,omitempty"` // why it cannot be sent
}

func reportRow(rec *Record) ReportRow {
	return ReportRow{
		Hour: rec.Hour, Product: rec.Product, Customer: rec.Customer, Dimension: rec.Dimension,
		Events: rec.Events, Quantity: rec.Quantity, State: rec.State, Submitted: rec.State == StateSubmitted,
		Outcome: rec.Outcome, MeteringRecordID: rec.MeteringRecordID, Attempts: rec.Attempts, LastError: rec.LastError,
		Quarantined: rec.Quarantined,
	}
}

// Client is a client of a relay's API. Its methods return *Error for
// answers with a 4xx or 5xx status.
type Client struct {
	BaseURL    string // such as http://127.0.0.1:4580
	Token      string // the relay's bearer token
	HTTPClient *http.Client
}

// NewClient returns a client of the relay at baseURL using token.
func NewClient(baseURL, token string) *Client {
	return &Client{BaseURL: baseURL, Token: token, HTTPClient: &http.Client{Timeout: 5 * time.Minute}}
}

// Error is an error answer of the relay's API.
type Error = httpjson.Error

// call sends a request with a JSON body (when body is non-nil; a []byte is
// sent as is) and decodes a JSON answer into out.
func (c *Client) call(ctx context.Context, method, path string, query url.Values, body, out any) error {
	e := httpjson.Endpoint{API: "relay API", BaseURL: c.BaseURL, Token: c.Token, HTTPClient: c.HTTPClient}
	return e.Call(ctx, method, path, query, body, out)
}

// Send posts events and returns one result per event, in order. An error
// means none of them is known to be stored: send them again (repeated ids
// are counted once).
func (c *Client) Send(ctx context.Context, events []Event) ([]Result, error) {
	var out EventsResponse
	if err := c.call(ctx, "POST", "/v1/events", nil, events, &out); err != nil {
		return nil, err
	}
	if len(out.Results) != len(events) {
		return nil, fmt.Errorf("relay API: %d results for %d events", len(out.Results), len(events))
	}
	return out.Results, nil
}

// SendRaw posts a body as is (a JSON array or JSON lines).
func (c *Client) SendRaw(ctx context.Context, body []byte) ([]Result, error) {
	var out EventsResponse
	return out.Results, c.call(ctx, "POST", "/v1/events", nil, body, &out)
}

// Status returns the outbox's status.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	var out Status
	return &out, c.call(ctx, "GET", "/v1/status", nil, nil, &out)
}

// Report returns the aggregates of the hours in [from, to); zero times
// take the relay's defaults (the last 31 days).
func (c *Client) Report(ctx context.Context, from, to time.Time) ([]ReportRow, error) {
	q := url.Values{}
	if !from.IsZero() {
		q.Set("from", from.UTC().Format(time.RFC3339))
	}
	if !to.IsZero() {
		q.Set("to", to.UTC().Format(time.RFC3339))
	}
	var out []ReportRow
	return out, c.call(ctx, "GET", "/v1/report", q, nil, &out)
}

// Clock returns the relay clock.
func (c *Client) Clock(ctx context.Context) (*ClockState, error) {
	var out ClockState
	return &out, c.call(ctx, "GET", "/admin/v1/clock", nil, nil, &out)
}

// SetClock freezes the relay clock at t.
func (c *Client) SetClock(ctx context.Context, t time.Time) (*ClockState, error) {
	var out ClockState
	return &out, c.call(ctx, "POST", "/admin/v1/clock", nil, ClockInput{Set: &t}, &out)
}

// AdvanceClock moves the relay clock by d.
func (c *Client) AdvanceClock(ctx context.Context, d time.Duration) (*ClockState, error) {
	var out ClockState
	return &out, c.call(ctx, "POST", "/admin/v1/clock", nil, ClockInput{Advance: d.String()}, &out)
}

// ResetClock returns the relay clock to real time.
func (c *Client) ResetClock(ctx context.Context) (*ClockState, error) {
	var out ClockState
	return &out, c.call(ctx, "POST", "/admin/v1/clock", nil, ClockInput{Reset: true}, &out)
}

// Requeue sends again the records of outcome (default Failed) whose hour
// is in [from, to) (zero times: no bound) and returns how many.
func (c *Client) Requeue(ctx context.Context, outcome string, from, to time.Time) (int64, error) {
	in := RequeueInput{Outcome: outcome}
	if !from.IsZero() {
		in.From = &from
	}
	if !to.IsZero() {
		in.To = &to
	}
	var out RequeueOutput
	return out.Requeued, c.call(ctx, "POST", "/admin/v1/requeue", nil, in, &out)
}

// Reset empties the relay's store (for tests).
func (c *Client) Reset(ctx context.Context) error {
	return c.call(ctx, "POST", "/admin/v1/reset", nil, struct{}{}, nil)
}
