package admin

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/internal/csvsafe"
)

// Usage listing limits and defaults.
const (
	defaultLimit  = 1000
	maxLimit      = 10000
	defaultPeriod = 31 * 24 * time.Hour
	// flushEvery is how many streamed records go out between flushes, and
	// between extensions of the write deadline.
	flushEvery = 1000
	// streamWriteTimeout is how long one flush of a stream may take; the
	// deadline moves on with every flush so long exports are not cut off.
	streamWriteTimeout = time.Minute
)

// usageCSVHeader is the header row of the CSV export.
var usageCSVHeader = []string{
	"id", "operation", "product_code", "customer_identifier", "customer_aws_account_id", "license_arn",
	"dimension", "hour", "timestamp", "quantity", "allocations", "caller_account_id", "received_at", "seq",
}

// errStop ends a Ledger.Usage iteration early; it never reaches a client.
var errStop = errors.New("stop")

// usageFilter reads the filters of a usage query (400 for a malformed one).
// From and To default to the 31 days before the server clock's now, on
// hour boundaries (which lets the store read its hourly rollup); To
// includes the current hour and the next, into which a timestamp within
// the future skew may fall.
func (s *Server) usageFilter(q url.Values) (meterd.UsageFilter, error) {
	now := s.Clock.Now()
	f := meterd.UsageFilter{
		ProductCode:        q.Get("product"),
		CustomerIdentifier: q.Get("customer"),
		Dimension:          q.Get("dimension"),
		From:               meterd.Hour(now).Add(-defaultPeriod),
		To:                 meterd.Hour(now).Add(2 * time.Hour),
	}
	if tag := q.Get("tag"); tag != "" {
		k, v, ok := strings.Cut(tag, "=")
		if !ok || k == "" {
			return f, meterd.Errorf(CodeBadRequest, "tag: %q is not key=value", tag)
		}
		f.Tag = &meterd.Tag{Key: k, Value: v}
	}
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return f, meterd.Errorf(CodeBadRequest, "%s: %q is not an RFC 3339 time such as 2026-11-23T07:00:00Z", p.name, v)
			}
			*p.t = t.UTC()
		}
	}
	if !f.From.Before(f.To) {
		return f, meterd.Errorf(CodeBadRequest, "from (%s) must be before to (%s)", f.From.Format(time.RFC3339), f.To.Format(time.RFC3339))
	}
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return f, meterd.Errorf(CodeBadRequest, "after: %q is not a cursor", v)
		}
		f.AfterSeq = n
	}
	var err error
	f.TailLimit, err = tailLimit(q)
	return f, err
}

// limit reads the limit parameter: def when absent, 1 to max otherwise
// (max 0: no maximum).
func limit(q url.Values, def, maxN int) (int, error) {
	v := q.Get("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	switch {
	case maxN > 0 && (err != nil || n < 1 || n > maxN):
		return 0, meterd.Errorf(CodeBadRequest, "limit: %q is not a whole number from 1 to %d", v, maxN)
	case err != nil || n < 1:
		return 0, meterd.Errorf(CodeBadRequest, "limit: %q is not a positive whole number", v)
	}
	return n, nil
}

// usage lists records: a page of JSON, or every matching record streamed
// as CSV or JSON lines.
func (s *Server) usage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f, err := s.usageFilter(q)
	if err != nil {
		return err
	}
	switch format := q.Get("format"); format {
	case "", "json":
		n, err := limit(q, defaultLimit, maxLimit)
		if err != nil {
			return err
		}
		return s.usagePage(w, r, f, n)
	case "csv", "jsonl":
		// A stream has no maximum; an explicit limit still applies.
		if f.Limit, err = limit(q, 0, 0); err != nil {
			return err
		}
		return s.usageStream(w, r, f, format)
	default:
		return meterd.Errorf(CodeBadRequest, "format: %q is not json, csv or jsonl", format)
	}
}

// usagePage answers one page; it reads one record more than the page to
// know whether another page follows.
func (s *Server) usagePage(w http.ResponseWriter, r *http.Request, f meterd.UsageFilter, n int) error {
	f.Limit = n + 1
	page := UsagePage{Records: []UsageRecord{}}
	more := false
	err := s.Ledger.Usage(r.Context(), f, func(rec *meterd.MeteringRecord) error {
		if len(page.Records) == n {
			more = true
			return errStop
		}
		page.Records = append(page.Records, usageRecordJSON(rec))
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return err
	}
	if more {
		page.NextCursor = strconv.FormatInt(page.Records[n-1].Seq, 10)
	}
	return writeJSON(w, http.StatusOK, &page)
}

// usageStream writes every matching record as it is read from the store,
// flushing periodically, so memory stays flat however many there are. Once
// the first byte is out the status cannot change: an error then aborts the
// connection, so the client sees a broken transfer rather than a short
// file.
func (s *Server) usageStream(w http.ResponseWriter, r *http.Request, f meterd.UsageFilter, format string) error {
	rc := http.NewResponseController(w)
	rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "application/jsonl")
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)

	bw := bufio.NewWriterSize(w, 32<<10)
	write := jsonlWriter(bw)
	if format == "csv" {
		write = csvWriter(bw)
	}
	n := 0
	err := s.Ledger.Usage(r.Context(), f, func(rec *meterd.MeteringRecord) error {
		if err := write(rec); err != nil {
			return err
		}
		if n++; n%flushEvery == 0 {
			return flush(bw, rc)
		}
		return nil
	})
	if err == nil {
		err = write(nil)
	}
	if err == nil {
		err = flush(bw, rc)
	}
	if err != nil {
		s.Logger.Error("admin: usage export", "format", format, "records", n, "err", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}

// flush sends what is buffered to the client and extends the deadline.
func flush(bw *bufio.Writer, rc *http.ResponseController) error {
	if err := bw.Flush(); err != nil {
		return err
	}
	rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
	if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}

// csvWriter returns a function writing one record per row after a header
// row; a nil record flushes the CSV writer.
func csvWriter(w io.Writer) func(*meterd.MeteringRecord) error {
	cw := csvsafe.NewWriter(w)
	header := false
	row := make([]string, len(usageCSVHeader))
	return func(rec *meterd.MeteringRecord) error {
		if !header {
			header = true
			if err := cw.Write(usageCSVHeader); err != nil {
				return err
			}
		}
		if rec == nil {
			cw.Flush()
			return cw.Error()
		}
		u := usageRecordJSON(rec)
		allocs, err := json.Marshal(u.Allocations)
		if err != nil {
			return err
		}
		row = append(row[:0], u.ID, u.Operation, u.ProductCode, u.CustomerIdentifier, u.CustomerAWSAccountID,
			u.LicenseArn, u.Dimension, u.Hour.Format(time.RFC3339), u.Timestamp.Format(time.RFC3339Nano),
			strconv.FormatInt(u.Quantity, 10), string(allocs), u.CallerAccountID,
			u.ReceivedAt.Format(time.RFC3339Nano), strconv.FormatInt(u.Seq, 10))
		if err := cw.Write(row); err != nil {
			return err
		}
		// The CSV writer buffers too; hand its rows on at every record so
		// that flush, which sees only bw, sends them.
		cw.Flush()
		return cw.Error()
	}
}

// jsonlWriter returns a function writing one JSON object per line; a nil
// record is a no-op.
func jsonlWriter(w io.Writer) func(*meterd.MeteringRecord) error {
	enc := json.NewEncoder(w)
	return func(rec *meterd.MeteringRecord) error {
		if rec == nil {
			return nil
		}
		return enc.Encode(usageRecordJSON(rec))
	}
}
