package console

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/faults"
)

// chart is one uPlot chart's data: hour starts (Unix seconds) and the
// records of each hour.
type chart struct {
	Product string    `json:"product"`
	Span    string    `json:"span"` // "24 h" or "7 d"
	Hours   []int64   `json:"hours"`
	Records []float64 `json:"records"`
	Total   int64     `json:"total"`
}

// DefaultTailLimit is how many of the records after the rollups'
// watermark a page reads from the ledger. A roller keeping up leaves a
// few thousand there at most; one stopped or far behind (after a restore,
// or while it fails) leaves millions, and reading them made the dashboard
// take seconds.
const DefaultTailLimit = 20_000

// lag is how far the rollups trail the ledger when a page reads only part
// of the records after their watermark.
type lag struct {
	Behind int64 // records after the watermark
	Read   int64 // seqs of them the page reads
}

// LeftOut is at most how many records the page leaves out.
func (l lag) LeftOut() int64 { return l.Behind - l.Read }

// tailLimit returns the TailLimit for a page's usage reads: 0 (read every
// record) while the rollups trail the ledger by at most c.TailLimit, and
// that limit, with what it leaves out, when they trail it by more.
func (c *Console) tailLimit(ctx context.Context, cl *admin.Client) (int64, *lag, error) {
	st, err := cl.Rollups(ctx)
	if err != nil {
		return 0, nil, err
	}
	limit := cmp.Or(c.TailLimit, DefaultTailLimit)
	if st.Behind <= limit {
		return 0, nil, nil
	}
	return limit, &lag{Behind: st.Behind, Read: limit}, nil
}

// maxDeliveriesCounted bounds the dashboard's counts of failed and
// pending deliveries.
const maxDeliveriesCounted = 1000

type dashboardData struct {
	Now       time.Time
	Charts    []chart
	ChartJSON template.JS // the charts for the chart script, as JSON
	Top       []admin.TopCustomer
	Month     time.Time   // the start of the month of Top
	Failed    string      // deliveries of events that failed for good: a count, "1000+" past maxDeliveriesCounted
	Pending   string      // deliveries waiting for their next attempt, likewise
	Errors    errorSeries // API errors per hour, last 24 h, counted by this process
	ErrorJSON template.JS
}

// dashboard shows records per hour per product for 24 h and 7 d, from the
// usage summary by hour (read from the rollups), and the top customers.
func (c *Console) dashboard(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	cl := c.client(s)
	now, err := serverNow(ctx, cl)
	if err != nil {
		return err
	}
	products, err := cl.Products(ctx)
	if err != nil {
		return err
	}
	tail, lagging, err := c.tailLimit(ctx, cl)
	if err != nil {
		return err
	}
	hour := now.Truncate(time.Hour)
	to := hour.Add(time.Hour)
	d := dashboardData{Now: now}
	for _, p := range products {
		for _, span := range []struct {
			name  string
			hours int
		}{{"24 h", 24}, {"7 d", 7 * 24}} {
			from := to.Add(-time.Duration(span.hours) * time.Hour)
			rows, err := cl.UsageSummary(ctx, admin.UsageQuery{Product: p.Code, From: from, To: to, TailLimit: tail}, "hour")
			if err != nil {
				return err
			}
			d.Charts = append(d.Charts, hourly(p.Code, span.name, from, span.hours, rows))
		}
	}
	// This month: the store sums the monthly rollup's rows of the month
	// and sends the ten first, where a summary by customer sent every
	// customer's row for the page to sort (with 10,000 customers, 260 ms of
	// a million records' page).
	d.Month = time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	if d.Top, err = cl.TopCustomers(ctx, d.Month, 10, tail); err != nil {
		return err
	}
	// Deliveries not made, counted up to maxDeliveriesCounted: the
	// delivered ones, every event ever sent, would be an unbounded read,
	// and so would a backlog of pending ones.
	d.Failed, d.Pending = "0", "0"
	for _, st := range []struct {
		status string
		n      *string
	}{{meterd.DeliveryFailed, &d.Failed}, {meterd.DeliveryPending, &d.Pending}} {
		ds, err := cl.NewestDeliveries(ctx, st.status, maxDeliveriesCounted+1)
		var ae *admin.Error
		if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
			break // the store keeps no notifications
		} else if err != nil {
			return err
		}
		*st.n = strconv.Itoa(len(ds))
		if len(ds) > maxDeliveriesCounted {
			*st.n = strconv.Itoa(maxDeliveriesCounted) + "+"
		}
	}
	b, err := json.Marshal(d.Charts)
	if err != nil {
		return err
	}
	d.ChartJSON = template.JS(b)
	d.Errors = c.requests.errorsPerHour(c.now(), 24)
	if b, err = json.Marshal(d.Errors); err != nil {
		return err
	}
	d.ErrorJSON = template.JS(b)
	c.render(w, http.StatusOK, "dashboard", page{Title: "Dashboard", Nav: "dashboard", CSRF: s.csrf, ReadOnly: s.readOnly, Lag: lagging, Data: d})
	return nil
}

// hourly lays rows of a summary by hour on n hours from from, with a zero
// for each hour without usage.
func hourly(product, span string, from time.Time, n int, rows []admin.SummaryRow) chart {
	ch := chart{Product: product, Span: span, Hours: make([]int64, n), Records: make([]float64, n)}
	for i := range n {
		ch.Hours[i] = from.Add(time.Duration(i) * time.Hour).Unix()
	}
	for _, row := range rows {
		t, err := time.Parse(time.RFC3339, row.Group)
		if err != nil {
			continue
		}
		if i := int(t.Sub(from) / time.Hour); i >= 0 && i < n {
			ch.Records[i] += float64(row.Records)
			ch.Total += row.Records
		}
	}
	return ch
}

// usageFilters are the explorer's filters as the form has them.
type usageFilters struct {
	Product, Customer, Dimension, Tag, From, To string
}

type usageData struct {
	Filters  usageFilters
	Products []admin.Product
	Records  []admin.UsageRecord
	Next     template.URL // the next page, or ""
	CSV      template.URL // the CSV export of every matching record
	Tags     template.URL // the breakdown by tag of the matching records
}

// pageSize is how many records a page of the explorer shows.
const pageSize = 50

// usage is the usage explorer: filters, a page of records, the next
// page's link and the CSV export's.
func (c *Console) usage(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	cl := c.client(s)
	qv := r.URL.Query()
	f := filtersOf(qv)
	q, err := f.query()
	if err != nil {
		c.render(w, http.StatusBadRequest, "error", page{Title: "Usage", CSRF: s.csrf, ReadOnly: s.readOnly, Error: err.Error()})
		return nil
	}
	q.After, q.Limit = qv.Get("after"), pageSize
	products, err := cl.Products(ctx)
	if err != nil {
		return err
	}
	var lagging *lag
	if q.TailLimit, lagging, err = c.tailLimit(ctx, cl); err != nil {
		return err
	}
	res, err := cl.Usage(ctx, q)
	if err != nil {
		return err
	}
	d := usageData{Filters: f, Products: products, Records: res.Records, CSV: link("/console/usage.csv", f.values()), Tags: link("/console/usage/tags", f.values())}
	if res.NextCursor != "" {
		next := f.values()
		next.Set("after", res.NextCursor)
		d.Next = link("/console/usage", next)
	}
	c.render(w, http.StatusOK, "usage", page{Title: "Usage", Nav: "usage", CSRF: s.csrf, ReadOnly: s.readOnly, Lag: lagging, Data: d})
	return nil
}

// filtersOf reads the explorer's filters from a query string.
func filtersOf(qv url.Values) usageFilters {
	return usageFilters{Product: qv.Get("product"), Customer: qv.Get("customer"), Dimension: qv.Get("dimension"), Tag: qv.Get("tag"), From: qv.Get("from"), To: qv.Get("to")}
}

type usageTagsData struct {
	Filters usageFilters
	Back    template.URL // the explorer with these filters
	Rows    []tagRow
}

// tagRow is a tag's sums and a link to its records.
type tagRow struct {
	admin.SummaryRow
	Records template.URL
}

// link is path with the query v, for a template's href: html/template
// would escape a query string's = and & put after a literal ?.
func link(path string, v url.Values) template.URL {
	if len(v) == 0 {
		return template.URL(path)
	}
	return template.URL(path + "?" + v.Encode())
}

// usageTags breaks the filtered usage down by tag (key=value) with the
// admin API's summary by tag. That summary reads the records' tags, not
// a rollup, so it is asked for with a link rather than drawn with every
// page of the explorer.
func (c *Console) usageTags(w http.ResponseWriter, r *http.Request, s *session) error {
	f := filtersOf(r.URL.Query())
	q, err := f.query()
	if err != nil {
		return err
	}
	cl := c.client(s)
	var lagging *lag
	if q.TailLimit, lagging, err = c.tailLimit(r.Context(), cl); err != nil {
		return err
	}
	rows, err := cl.UsageSummary(r.Context(), q, "tag")
	if err != nil {
		return err
	}
	d := usageTagsData{Filters: f, Back: link("/console/usage", f.values())}
	for _, row := range rows {
		v := f.values()
		v.Set("tag", row.Group)
		d.Rows = append(d.Rows, tagRow{SummaryRow: row, Records: link("/console/usage", v)})
	}
	c.render(w, http.StatusOK, "usagetags", page{Title: "Usage by tag", Nav: "usage", CSRF: s.csrf, ReadOnly: s.readOnly, Lag: lagging, Data: d})
	return nil
}

// query is the admin client's query of the filters. From and To are
// datetime-local values (UTC) or RFC 3339 times.
func (f usageFilters) query() (admin.UsageQuery, error) {
	q := admin.UsageQuery{Product: f.Product, Customer: f.Customer, Dimension: f.Dimension, Tag: f.Tag}
	for _, p := range []struct {
		name, v string
		t       *time.Time
	}{{"from", f.From, &q.From}, {"to", f.To, &q.To}} {
		if p.v == "" {
			continue
		}
		t, err := parseTime(p.v)
		if err != nil {
			return q, err
		}
		*p.t = t
	}
	return q, nil
}

// parseTime reads an RFC 3339 time or a datetime-local value taken as UTC.
func parseTime(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, &formError{"the time " + strconv.Quote(v) + " is not of the form 2026-11-23T07:00 (UTC)"}
}

type formError struct{ msg string }

func (e *formError) Error() string { return e.msg }

// values is the filters' query string, empty ones left out.
func (f usageFilters) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"product": f.Product, "customer": f.Customer, "dimension": f.Dimension, "tag": f.Tag, "from": f.From, "to": f.To} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// usageCSV streams the admin API's CSV export of the filtered usage,
// served by the admin handler itself with the session's token.
func (c *Console) usageCSV(w http.ResponseWriter, r *http.Request, s *session) error {
	qv := r.URL.Query()
	f := filtersOf(qv)
	q, err := f.query()
	if err != nil {
		c.render(w, http.StatusBadRequest, "error", page{Title: "Usage", CSRF: s.csrf, ReadOnly: s.readOnly, Error: err.Error()})
		return nil
	}
	v := url.Values{"format": {"csv"}}
	for k, vs := range map[string]string{"product": q.Product, "customer": q.Customer, "dimension": q.Dimension, "tag": q.Tag} {
		if vs != "" {
			v.Set(k, vs)
		}
	}
	if !q.From.IsZero() {
		v.Set("from", q.From.Format(time.RFC3339))
	}
	if !q.To.IsZero() {
		v.Set("to", q.To.Format(time.RFC3339))
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, "/admin/v1/usage?"+v.Encode(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	w.Header().Set("Content-Disposition", `attachment; filename="usage.csv"`)
	c.Admin.ServeHTTP(w, req)
	return nil
}

type faultsData struct {
	Rules      []admin.FaultRule
	Operations []string // the operations a rule can name
}

func (c *Console) faults(w http.ResponseWriter, r *http.Request, s *session) error {
	rules, err := c.client(s).Faults(r.Context())
	if err != nil {
		return err
	}
	c.render(w, http.StatusOK, "faults", page{Title: "Faults", Nav: "faults", CSRF: s.csrf, ReadOnly: s.readOnly, Flash: r.URL.Query().Get("done"), Data: faultsData{Rules: rules, Operations: faults.Operations()}})
	return nil
}

func (c *Console) addFault(w http.ResponseWriter, r *http.Request, s *session) error {
	spec := admin.FaultSpec{
		Operation: r.PostFormValue("operation"), Product: r.PostFormValue("product"),
		Customer: r.PostFormValue("customer"), Dimension: r.PostFormValue("dimension"),
		Account: r.PostFormValue("account"), Error: r.PostFormValue("error"),
	}
	spec.Latency, spec.DropResponse = strings.TrimSpace(r.PostFormValue("latency")), r.PostFormValue("drop_response") != ""
	spec.Duplicate = r.PostFormValue("duplicate") != ""
	for _, f := range []struct {
		name string
		p    *float64
	}{{"unprocessed", &spec.Unprocessed}, {"probability", &spec.Probability}} {
		if v := strings.TrimSpace(r.PostFormValue(f.name)); v != "" {
			p, err := strconv.ParseFloat(v, 64)
			// ParseFloat reads NaN and Inf, which JSON cannot carry to the
			// admin API.
			if err != nil || math.IsNaN(p) || math.IsInf(p, 0) {
				return &formError{f.name + ": " + strconv.Quote(v) + " is not a probability between 0 and 1"}
			}
			*f.p = p
		}
	}
	if v := strings.TrimSpace(r.PostFormValue("count")); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return &formError{"count: " + strconv.Quote(v) + " is not a whole number of requests"}
		}
		spec.Count = n
	}
	rule, err := c.client(s).AddFault(r.Context(), spec)
	if err != nil {
		return err
	}
	redirectFlash(w, r, "/console/faults", "added rule "+rule.ID)
	return nil
}

func (c *Console) deleteFault(w http.ResponseWriter, r *http.Request, s *session) error {
	id := r.PostFormValue("id")
	if err := c.client(s).DeleteFault(r.Context(), id); err != nil {
		return err
	}
	redirectFlash(w, r, "/console/faults", "deleted rule "+id)
	return nil
}

func (c *Console) clearFaults(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := c.client(s).ClearFaults(r.Context()); err != nil {
		return err
	}
	redirectFlash(w, r, "/console/faults", "cleared every rule")
	return nil
}

func (c *Console) clock(w http.ResponseWriter, r *http.Request, s *session) error {
	st, err := c.client(s).Clock(r.Context())
	if err != nil {
		return err
	}
	c.render(w, http.StatusOK, "clock", page{Title: "Server clock", Nav: "clock", CSRF: s.csrf, ReadOnly: s.readOnly, Flash: r.URL.Query().Get("done"), Data: st})
	return nil
}

// moveClock advances the server clock by a duration, or resets it to
// real time.
func (c *Console) moveClock(w http.ResponseWriter, r *http.Request, s *session) error {
	cl := c.client(s)
	var st *admin.ClockState
	var err error
	switch r.PostFormValue("action") {
	case "reset":
		st, err = cl.ResetClock(r.Context())
	case "set":
		t, perr := parseTime(r.PostFormValue("at"))
		if perr != nil {
			return perr
		}
		st, err = cl.SetClock(r.Context(), t)
	default:
		d, perr := time.ParseDuration(r.PostFormValue("advance"))
		if perr != nil {
			return &formError{"advance: " + strconv.Quote(r.PostFormValue("advance")) + " is not a duration such as 1h or 30m"}
		}
		st, err = cl.AdvanceClock(r.Context(), d)
	}
	if err != nil {
		return err
	}
	redirectFlash(w, r, "/console/clock", "the server clock is now "+st.Now.UTC().Format(time.RFC3339))
	return nil
}
