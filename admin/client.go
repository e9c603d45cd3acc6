package admin

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/events"
	"github.com/meterd/meterd/internal/csvsafe"
	"github.com/meterd/meterd/internal/httpjson"
	"github.com/meterd/meterd/marketplace"
)

// Client is a client of the admin API. Its methods return *Error for
// answers with a 4xx or 5xx status.
type Client struct {
	BaseURL    string // such as http://127.0.0.1:4579
	Token      string // the admin token
	HTTPClient *http.Client
}

// NewClient returns a client of the server at baseURL using token.
func NewClient(baseURL, token string) *Client {
	return &Client{BaseURL: baseURL, Token: token, HTTPClient: &http.Client{}}
}

// Error is an error answer of the admin API.
type Error = httpjson.Error

// endpoint is the server c talks to.
func (c *Client) endpoint() httpjson.Endpoint {
	return httpjson.Endpoint{API: "admin API", BaseURL: c.BaseURL, Token: c.Token, HTTPClient: c.HTTPClient}
}

// do sends a request and returns the response of a 2xx answer; the caller
// closes its body. body, when non-nil, is sent as JSON.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body any) (*http.Response, error) {
	return c.endpoint().Do(ctx, method, path, query, body)
}

// call sends a request and decodes a JSON answer into out (unless nil).
func (c *Client) call(ctx context.Context, method, path string, query url.Values, body, out any) error {
	return c.endpoint().Call(ctx, method, path, query, body, out)
}

// p builds an API path from segments, escaping each.
func p(segments ...string) string {
	var b strings.Builder
	b.WriteString("/admin/v1")
	for _, s := range segments {
		b.WriteString("/")
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// Accounts lists the accounts.
func (c *Client) Accounts(ctx context.Context) ([]Account, error) {
	var out []Account
	return out, c.call(ctx, "GET", p("accounts"), nil, nil, &out)
}

// CreateAccount creates an account.
func (c *Client) CreateAccount(ctx context.Context, in AccountInput) (*Account, error) {
	var out Account
	return &out, c.call(ctx, "POST", p("accounts"), nil, in, &out)
}

// Account returns an account.
func (c *Client) Account(ctx context.Context, id string) (*Account, error) {
	var out Account
	return &out, c.call(ctx, "GET", p("accounts", id), nil, nil, &out)
}

// AccountKeys lists an account's access keys, without secrets.
func (c *Client) AccountKeys(ctx context.Context, accountID string) ([]AccessKey, error) {
	var out []AccessKey
	return out, c.call(ctx, "GET", p("accounts", accountID, "keys"), nil, nil, &out)
}

// CreateKey creates an access key of an account. The answer is the only
// place its secret is ever shown.
func (c *Client) CreateKey(ctx context.Context, accountID string, in AccessKeyInput) (*AccessKey, error) {
	var out AccessKey
	return &out, c.call(ctx, "POST", p("accounts", accountID, "keys"), nil, in, &out)
}

// Keys lists every access key, without secrets.
func (c *Client) Keys(ctx context.Context) ([]AccessKey, error) {
	var out []AccessKey
	return out, c.call(ctx, "GET", p("keys"), nil, nil, &out)
}

// DeleteKey deletes an access key.
func (c *Client) DeleteKey(ctx context.Context, id string) error {
	return c.call(ctx, "DELETE", p("keys", id), nil, nil, nil)
}

// Products lists the products.
func (c *Client) Products(ctx context.Context) ([]Product, error) {
	var out []Product
	return out, c.call(ctx, "GET", p("products"), nil, nil, &out)
}

// CreateProduct creates a product and its signing keys.
func (c *Client) CreateProduct(ctx context.Context, in ProductInput) (*Product, error) {
	var out Product
	return &out, c.call(ctx, "POST", p("products"), nil, in, &out)
}

// Product returns a product.
func (c *Client) Product(ctx context.Context, code string) (*Product, error) {
	var out Product
	return &out, c.call(ctx, "GET", p("products", code), nil, nil, &out)
}

// Dimensions lists a product's dimensions.
func (c *Client) Dimensions(ctx context.Context, code string) ([]Dimension, error) {
	var out []Dimension
	return out, c.call(ctx, "GET", p("products", code, "dimensions"), nil, nil, &out)
}

// AddDimension adds a dimension to a product.
func (c *Client) AddDimension(ctx context.Context, code string, d Dimension) (*Dimension, error) {
	var out Dimension
	return &out, c.call(ctx, "POST", p("products", code, "dimensions"), nil, d, &out)
}

// Customers lists a product's customers with their effective statuses.
func (c *Client) Customers(ctx context.Context, code string) ([]Customer, error) {
	var out []Customer
	return out, c.call(ctx, "GET", p("products", code, "customers"), nil, nil, &out)
}

// Subscribe subscribes a customer to a product, or resubscribes an
// existing one.
func (c *Client) Subscribe(ctx context.Context, code string, in SubscribeInput) (*Customer, error) {
	var out Customer
	return &out, c.call(ctx, "POST", p("products", code, "customers"), nil, in, &out)
}

// Customer returns a customer of a product.
func (c *Client) Customer(ctx context.Context, code, customer string) (*Customer, error) {
	var out Customer
	return &out, c.call(ctx, "GET", p("products", code, "customers", customer), nil, nil, &out)
}

// SetCustomerStatus sets a customer's status.
func (c *Client) SetCustomerStatus(ctx context.Context, code, customer, status string) (*Customer, error) {
	var out Customer
	return &out, c.call(ctx, "PATCH", p("products", code, "customers", customer), nil, CustomerPatch{Status: status}, &out)
}

// Unsubscribe starts a customer's unsubscribe: unsubscribe-pending, which
// becomes unsubscribed an hour later by the server clock.
func (c *Client) Unsubscribe(ctx context.Context, code, customer string) (*Customer, error) {
	return c.SetCustomerStatus(ctx, code, customer, "unsubscribe-pending")
}

// CreateToken mints a registration token for a customer, valid for ttl
// (0: the server's default, 4h).
func (c *Client) CreateToken(ctx context.Context, code, customer string, ttl time.Duration) (*Token, error) {
	in := TokenInput{Customer: customer}
	if ttl != 0 {
		in.TTL = ttl.String()
	}
	var out Token
	return &out, c.call(ctx, "POST", p("products", code, "tokens"), nil, in, &out)
}

// CreateAgreementToken mints a registration token for a customer bound to
// one of its agreements, whose license ResolveCustomer answers.
func (c *Client) CreateAgreementToken(ctx context.Context, code, customer, agreement string, ttl time.Duration) (*Token, error) {
	in := TokenInput{Customer: customer, Agreement: agreement}
	if ttl != 0 {
		in.TTL = ttl.String()
	}
	var out Token
	return &out, c.call(ctx, "POST", p("products", code, "tokens"), nil, in, &out)
}

// PublicKeys lists a product's RegisterUsage key versions.
func (c *Client) PublicKeys(ctx context.Context, code string) ([]PublicKey, error) {
	var out []PublicKey
	return out, c.call(ctx, "GET", p("products", code, "publickeys"), nil, nil, &out)
}

// RotatePublicKey creates a product's next key version and returns it.
func (c *Client) RotatePublicKey(ctx context.Context, code string) (*PublicKey, error) {
	var out PublicKey
	return &out, c.call(ctx, "POST", p("products", code, "publickeys"), nil, nil, &out)
}

// UsageQuery filters usage records. Zero fields are left to the server:
// From and To default to the last 31 days.
type UsageQuery struct {
	Product   string
	Customer  string
	Dimension string
	Tag       string // key=value
	From, To  time.Time
	After     string // a NextCursor
	Limit     int
	// TailLimit bounds the records a page of usage or a summary reads
	// after the rollups' watermark (0: all; see Rollups).
	TailLimit int64
}

// values returns the query string of q.
func (q UsageQuery) values() url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("product", q.Product)
	set("customer", q.Customer)
	set("dimension", q.Dimension)
	set("tag", q.Tag)
	set("after", q.After)
	if !q.From.IsZero() {
		v.Set("from", q.From.UTC().Format(time.RFC3339))
	}
	if !q.To.IsZero() {
		v.Set("to", q.To.UTC().Format(time.RFC3339))
	}
	if q.Limit != 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.TailLimit != 0 {
		v.Set("tail_limit", strconv.FormatInt(q.TailLimit, 10))
	}
	return v
}

// Usage returns one page of usage records (q.Limit, default 1000, at most
// 10000). Pass the page's NextCursor as q.After for the next one.
func (c *Client) Usage(ctx context.Context, q UsageQuery) (*UsagePage, error) {
	var out UsagePage
	return &out, c.call(ctx, "GET", p("usage"), q.values(), nil, &out)
}

// ExportUsage streams every matching record in format "csv" (with a header
// row) or "jsonl". The caller reads and closes the stream; a transfer the
// server broke off ends with an error, not a short EOF.
func (c *Client) ExportUsage(ctx context.Context, q UsageQuery, format string) (io.ReadCloser, error) {
	v := q.values()
	v.Set("format", format)
	resp, err := c.do(ctx, "GET", p("usage"), v, nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// UsageSummary sums usage grouped by "customer", "dimension", "hour" or
// "tag" ("" for dimension).
//
// It asks for the CSV form, which carries the same fields: a summary by
// customer has tens of thousands of rows, and decoding them as JSON (a
// SummaryRow.UnmarshalJSON each) took the CLI longer than the server took
// to compute them.
func (c *Client) UsageSummary(ctx context.Context, q UsageQuery, by string) ([]SummaryRow, error) {
	body, err := c.ExportUsageSummary(ctx, q, by)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	rows, err := readSummaryCSV(body)
	if err != nil {
		return nil, fmt.Errorf("admin API: GET %s: decode answer: %w", p("usage", "summary"), err)
	}
	return rows, nil
}

// TopCustomers lists the limit customers with the most records in the
// calendar month (UTC) that holds month (the server clock's when zero),
// most first; of the records after the rollups' watermark it counts at
// most tailLimit seqs (0: all; see Rollups).
func (c *Client) TopCustomers(ctx context.Context, month time.Time, limit int, tailLimit int64) ([]TopCustomer, error) {
	var m, tail string
	if !month.IsZero() {
		m = month.UTC().Format(time.RFC3339)
	}
	if tailLimit != 0 {
		tail = strconv.FormatInt(tailLimit, 10)
	}
	var out []TopCustomer
	return out, c.call(ctx, "GET", p("usage", "top"), query("month", m, "limit", strconv.Itoa(limit), "tail_limit", tail), nil, &out)
}

// Rollups says how far the rollups trail the ledger.
func (c *Client) Rollups(ctx context.Context) (*Rollups, error) {
	var out Rollups
	return &out, c.call(ctx, "GET", p("usage", "rollups"), nil, nil, &out)
}

// readSummaryCSV parses the CSV form of a usage summary: the header
// <by>,quantity,records,amount, then a row per group.
func readSummaryCSV(r io.Reader) ([]SummaryRow, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return nil, err
	}
	// By customer, a dimension column follows the group.
	withDimension := len(head) == 5 && head[1] == "dimension"
	if withDimension {
		head = append(head[:1:1], head[2:]...)
	}
	if len(head) != 4 || head[1] != "quantity" || head[2] != "records" || head[3] != "amount" {
		return nil, fmt.Errorf("header %q is not <by>,[dimension,]quantity,records,amount", head)
	}
	by := head[0]
	out := []SummaryRow{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		} else if err != nil {
			return nil, err
		}
		var dimension string
		if withDimension {
			if len(rec) != 5 {
				return nil, fmt.Errorf("row %q has %d cells, want 5", rec, len(rec))
			}
			dimension = csvsafe.Uncell(rec[1])
			rec = append(rec[:1:1], rec[2:]...)
		}
		row := SummaryRow{By: by, Group: csvsafe.Uncell(rec[0]), Dimension: dimension, Amount: rec[3]}
		if row.Quantity, err = strconv.ParseInt(rec[1], 10, 64); err != nil {
			return nil, fmt.Errorf("quantity of %s: %w", row.Group, err)
		}
		if row.Records, err = strconv.ParseInt(rec[2], 10, 64); err != nil {
			return nil, fmt.Errorf("records of %s: %w", row.Group, err)
		}
		out = append(out, row)
	}
}

// ExportUsageSummary returns the usage summary as CSV with the header row
// <by>,quantity,records,amount. The caller closes it.
func (c *Client) ExportUsageSummary(ctx context.Context, q UsageQuery, by string) (io.ReadCloser, error) {
	v := q.values()
	if by != "" {
		v.Set("by", by)
	}
	v.Set("format", "csv")
	resp, err := c.do(ctx, "GET", p("usage", "summary"), v, nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// Clock returns the server clock.
func (c *Client) Clock(ctx context.Context) (*ClockState, error) {
	var out ClockState
	return &out, c.call(ctx, "GET", p("clock"), nil, nil, &out)
}

// SetClock freezes the server clock at t.
func (c *Client) SetClock(ctx context.Context, t time.Time) (*ClockState, error) {
	var out ClockState
	return &out, c.call(ctx, "POST", p("clock"), nil, ClockInput{Set: &t}, &out)
}

// AdvanceClock moves the server clock by d (back for a negative d).
func (c *Client) AdvanceClock(ctx context.Context, d time.Duration) (*ClockState, error) {
	var out ClockState
	return &out, c.call(ctx, "POST", p("clock"), nil, ClockInput{Advance: d.String()}, &out)
}

// ResetClock returns the server clock to real time.
func (c *Client) ResetClock(ctx context.Context) (*ClockState, error) {
	var out ClockState
	return &out, c.call(ctx, "POST", p("clock"), nil, ClockInput{Reset: true}, &out)
}

// Reset empties the ledger and applies the server's catalog again.
func (c *Client) Reset(ctx context.Context) error {
	return c.call(ctx, "POST", p("reset"), nil, nil, nil)
}

// OpenAPI returns the OpenAPI 3.1 document of the admin API.
func (c *Client) OpenAPI(ctx context.Context) ([]byte, error) {
	resp, err := c.do(ctx, "GET", p("openapi.json"), nil, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// AdminTokens lists the admin tokens, without the tokens themselves.
func (c *Client) AdminTokens(ctx context.Context) ([]AdminToken, error) {
	var out []AdminToken
	return out, c.call(ctx, "GET", p("admin-tokens"), nil, nil, &out)
}

// CreateAdminToken creates an admin token. The answer is the only place the
// token is ever shown.
func (c *Client) CreateAdminToken(ctx context.Context, in AdminTokenInput) (*AdminToken, error) {
	var out AdminToken
	return &out, c.call(ctx, "POST", p("admin-tokens"), nil, in, &out)
}

// RevokeAdminToken deletes the admin token of that name.
func (c *Client) RevokeAdminToken(ctx context.Context, name string) error {
	return c.call(ctx, "DELETE", p("admin-tokens", name), nil, nil, nil)
}

// Backup writes a consistent copy of the server's SQLite store to w and
// returns its length. A body shorter than the server announced is an error.
func (c *Client) Backup(ctx context.Context, w io.Writer) (int64, error) {
	resp, err := c.do(ctx, "POST", p("backup"), nil, nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("admin API: backup: %w", err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return n, fmt.Errorf("admin API: backup: got %d of %d bytes", n, resp.ContentLength)
	}
	return n, nil
}

// Offers lists the offers of a product ("" for every product).
func (c *Client) Offers(ctx context.Context, product string) ([]meterd.Offer, error) {
	var out []meterd.Offer
	return out, c.call(ctx, "GET", p("offers"), query("product", product), nil, &out)
}

// Offer returns an offer.
func (c *Client) Offer(ctx context.Context, id string) (*meterd.Offer, error) {
	var out meterd.Offer
	return &out, c.call(ctx, "GET", p("offers", id), nil, nil, &out)
}

// CreateOffer creates an offer.
func (c *Client) CreateOffer(ctx context.Context, in OfferInput) (*meterd.Offer, error) {
	var out meterd.Offer
	return &out, c.call(ctx, "POST", p("offers"), nil, in, &out)
}

// AgreementQuery filters Agreements; empty fields match everything.
type AgreementQuery struct {
	Product, Buyer, Status, Offer, Customer string
}

// Agreements lists the agreements matching q.
func (c *Client) Agreements(ctx context.Context, q AgreementQuery) ([]meterd.Agreement, error) {
	var out []meterd.Agreement
	v := query("product", q.Product, "buyer", q.Buyer, "status", q.Status, "offer", q.Offer, "customer", q.Customer)
	return out, c.call(ctx, "GET", p("agreements"), v, nil, &out)
}

// Agreement returns an agreement.
func (c *Client) Agreement(ctx context.Context, id string) (*meterd.Agreement, error) {
	var out meterd.Agreement
	return &out, c.call(ctx, "GET", p("agreements", id), nil, nil, &out)
}

// AgreementTerms returns an agreement's accepted terms with the buyer's
// configuration.
func (c *Client) AgreementTerms(ctx context.Context, id string) ([]meterd.Term, error) {
	var out []meterd.Term
	return out, c.call(ctx, "GET", p("agreements", id, "terms"), nil, nil, &out)
}

// Accept accepts an offer as a buyer.
func (c *Client) Accept(ctx context.Context, in marketplace.AcceptInput) (*AcceptOutput, error) {
	var out AcceptOutput
	return &out, c.call(ctx, "POST", p("agreements"), nil, in, &out)
}

// Amend amends an ACTIVE agreement.
func (c *Client) Amend(ctx context.Context, id string, in marketplace.AmendInput) (*meterd.Agreement, error) {
	var out meterd.Agreement
	return &out, c.call(ctx, "POST", p("agreements", id, "amend"), nil, in, &out)
}

// Replace replaces an ACTIVE agreement by one on another offer; it returns
// the new agreement.
func (c *Client) Replace(ctx context.Context, id string, in marketplace.AcceptInput) (*meterd.Agreement, error) {
	var out meterd.Agreement
	return &out, c.call(ctx, "POST", p("agreements", id, "replace"), nil, in, &out)
}

// CancelAgreement cancels an ACTIVE agreement (as its buyer).
func (c *Client) CancelAgreement(ctx context.Context, id string) (*meterd.Agreement, error) {
	var out meterd.Agreement
	return &out, c.call(ctx, "POST", p("agreements", id, "cancel"), nil, struct{}{}, &out)
}

// TerminateAgreement terminates an ACTIVE agreement (as the seller or AWS).
func (c *Client) TerminateAgreement(ctx context.Context, id string) (*meterd.Agreement, error) {
	var out meterd.Agreement
	return &out, c.call(ctx, "POST", p("agreements", id, "terminate"), nil, struct{}{}, &out)
}

// EntitlementQuery filters Entitlements: values are OR'd within a field.
type EntitlementQuery struct {
	Product                                        string
	Customers, AWSAccountIDs, Dimensions, Licenses []string
}

// Entitlements lists a product's entitlements at the server clock's time.
func (c *Client) Entitlements(ctx context.Context, q EntitlementQuery) ([]meterd.Entitlement, error) {
	v := url.Values{"product": {q.Product}}
	for key, vals := range map[string][]string{"customer": q.Customers, "aws_account_id": q.AWSAccountIDs, "dimension": q.Dimensions, "license": q.Licenses} {
		for _, x := range vals {
			v.Add(key, x)
		}
	}
	var out []meterd.Entitlement
	return out, c.call(ctx, "GET", p("entitlements"), v, nil, &out)
}

// EventQuery filters Events: the outbox's rows of a product and a type
// (empty: every one) after the sequence number After, at most Limit of them
// (0: every one).
type EventQuery struct {
	Product, Type string
	After         int64
	Limit         int
}

// Events lists the outbox's rows (lifecycle events) in order.
func (c *Client) Events(ctx context.Context, q EventQuery) ([]meterd.Event, error) {
	v := query("product", q.Product, "type", q.Type)
	if q.After > 0 {
		v.Set("after", strconv.FormatInt(q.After, 10))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var out []meterd.Event
	return out, c.call(ctx, "GET", p("events"), v, nil, &out)
}

// query returns the non-empty name/value pairs as url.Values.
func query(pairs ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			v.Set(pairs[i], pairs[i+1])
		}
	}
	return v
}

// Queues lists the queues (of account, or every account's when "").
func (c *Client) Queues(ctx context.Context, account string) ([]Queue, error) {
	var out []Queue
	return out, c.call(ctx, "GET", p("queues"), query("account", account), nil, &out)
}

// CreateQueue creates a queue of an account, or returns the existing one.
func (c *Client) CreateQueue(ctx context.Context, in QueueInput) (*Queue, error) {
	var out Queue
	return &out, c.call(ctx, "POST", p("queues"), nil, in, &out)
}

// ReceiveQueue receives up to 10 messages of the queue named name,
// waiting up to wait (at most 20 s) for one; account may be "" when one
// account has a queue of that name.
func (c *Client) ReceiveQueue(ctx context.Context, account, name string, wait time.Duration) ([]events.Message, error) {
	v := query("account", account)
	if wait > 0 {
		v.Set("wait", wait.String())
	}
	var out []events.Message
	return out, c.call(ctx, "POST", p("queues", name, "receive"), v, struct{}{}, &out)
}

// PurgeQueue deletes every message of the queue named name.
func (c *Client) PurgeQueue(ctx context.Context, account, name string) error {
	return c.call(ctx, "POST", p("queues", name, "purge"), query("account", account), struct{}{}, nil)
}

// Subscriptions lists the subscriptions (of a product, or all when "").
func (c *Client) Subscriptions(ctx context.Context, product string) ([]Subscription, error) {
	var out []Subscription
	return out, c.call(ctx, "GET", p("subscriptions"), query("product", product), nil, &out)
}

// CreateSubscription subscribes an endpoint to a product's topic, or returns the
// subscription of the same spec that exists.
func (c *Client) CreateSubscription(ctx context.Context, in events.SubscriptionSpec) (*Subscription, error) {
	var out Subscription
	return &out, c.call(ctx, "POST", p("subscriptions"), nil, in, &out)
}

// DeleteSubscription deletes a subscription.
func (c *Client) DeleteSubscription(ctx context.Context, id string) error {
	return c.call(ctx, "DELETE", p("subscriptions", id), nil, nil, nil)
}

// Rules lists the EventBridge-style rules.
func (c *Client) Rules(ctx context.Context) ([]meterd.Rule, error) {
	var out []meterd.Rule
	return out, c.call(ctx, "GET", p("rules"), nil, nil, &out)
}

// CreateRule creates a rule, or returns the one of the same spec.
func (c *Client) CreateRule(ctx context.Context, in events.RuleSpec) (*meterd.Rule, error) {
	var out meterd.Rule
	return &out, c.call(ctx, "POST", p("rules"), nil, in, &out)
}

// DeleteRule deletes a rule.
func (c *Client) DeleteRule(ctx context.Context, id string) error {
	return c.call(ctx, "DELETE", p("rules", id), nil, nil, nil)
}

// Deliveries lists the deliveries of events to subscriptions and rules;
// status is "", pending, delivered or failed.
func (c *Client) Deliveries(ctx context.Context, status, target string) ([]meterd.Delivery, error) {
	var out []meterd.Delivery
	return out, c.call(ctx, "GET", p("deliveries"), query("status", status, "target", target), nil, &out)
}

// NewestDeliveries lists the limit newest deliveries of status ("" for
// any), newest first.
func (c *Client) NewestDeliveries(ctx context.Context, status string, limit int) ([]meterd.Delivery, error) {
	var out []meterd.Delivery
	return out, c.call(ctx, "GET", p("deliveries"), query("status", status, "limit", strconv.Itoa(limit), "order", "newest"), nil, &out)
}

// RetryDelivery sends a delivery again.
func (c *Client) RetryDelivery(ctx context.Context, id int64) (*meterd.Delivery, error) {
	var out meterd.Delivery
	return &out, c.call(ctx, "POST", p("deliveries", strconv.FormatInt(id, 10), "retry"), nil, struct{}{}, &out)
}
