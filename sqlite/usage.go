package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/meterd/meterd"
)

const recordColumns = `r.seq, r.id, r.operation, r.product_code, r.customer_identifier, r.customer_aws_account_id,
	r.license_arn, r.resource, r.dimension, r.hour, r.timestamp_ms, r.quantity, r.allocations, r.caller_account_id,
	r.caller_access_key_id, r.client_token, r.request_hash, r.received_at_ms`

func scanRecord(rows *sql.Rows) (*meterd.MeteringRecord, error) {
	var r meterd.MeteringRecord
	var hour, timestamp, received int64
	var allocs string
	if err := rows.Scan(&r.Seq, &r.ID, &r.Operation, &r.ProductCode, &r.CustomerIdentifier, &r.CustomerAWSAccountID,
		&r.LicenseArn, &r.Resource, &r.Dimension, &hour, &timestamp, &r.Quantity, &allocs, &r.CallerAccountID,
		&r.CallerAccessKeyID, &r.ClientToken, &r.RequestHash, &received); err != nil {
		return nil, err
	}
	r.Hour, r.Timestamp, r.ReceivedAt = time.Unix(hour, 0).UTC(), fromMS(timestamp), fromMS(received)
	var err error
	r.Allocations, err = meterd.ParseCanonicalAllocations(allocs)
	return &r, err
}

// ceilUnix returns t in unix seconds rounded up, so that for a whole-second
// hour h, h >= ceilUnix(t) exactly when h is not before t.
func ceilUnix(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

// recordWhere returns the WHERE clause (over metering_records r) and its
// arguments for f, without Limit.
func recordWhere(f meterd.UsageFilter) (string, []any) {
	var conds []string
	var args []any
	add := func(cond string, a ...any) {
		conds = append(conds, cond)
		args = append(args, a...)
	}
	if f.ProductCode != "" {
		add(`r.product_code = ?`, f.ProductCode)
	}
	if f.CustomerIdentifier != "" {
		add(`r.customer_identifier = ?`, f.CustomerIdentifier)
	}
	if f.Dimension != "" {
		add(`r.dimension = ?`, f.Dimension)
	}
	if f.Tag != nil {
		add(`EXISTS (SELECT 1 FROM usage_tags t WHERE t.seq = r.seq AND t.key = ? AND t.value = ?)`, f.Tag.Key, f.Tag.Value)
	}
	if !f.From.IsZero() {
		add(`r.hour >= ?`, ceilUnix(f.From))
	}
	if !f.To.IsZero() {
		add(`r.hour < ?`, ceilUnix(f.To))
	}
	if f.AfterSeq > 0 {
		add(`r.seq > ?`, f.AfterSeq)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// Usage calls fn for each stored record matching f, in commit order, in
// one snapshot. Left to itself, SQLite takes the duplicate key's index for
// a product and hours and sorts every record in them by seq, for a page of
// 50 (seconds at ten million records). Without a customer, Usage walks the
// records in seq order between the bounds usage_dimension_hourly keeps for
// f's hours (windowSeqs), then the records after the watermark, and stops
// at the limit. A customer's records are found without an index of their
// own (which would cost every commit an entry): customerSeqs lists them.
// NOT INDEXED leaves the rowid, seq: both read the records by seq.
func (s *Store) Usage(ctx context.Context, f meterd.UsageFilter, fn func(*meterd.MeteringRecord) error) error {
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		watermark, err := rollupWatermark(ctx, tx)
		if err != nil {
			return err
		}
		if f.CustomerIdentifier != "" {
			return customerUsage(ctx, tx, f, watermark, fn)
		}
		first, last, err := windowSeqs(ctx, tx, f, watermark)
		if err != nil {
			return err
		}
		g := f
		g.AfterSeq, g.Tag = 0, nil
		rest, args := recordWhere(g)
		rest = strings.Replace(rest, ` WHERE`, ` AND`, 1)
		from, order, where, tag := `metering_records r NOT INDEXED`, `r.seq`, ` WHERE r.seq > ? AND r.seq <= ?`, []any{}
		if f.Tag != nil {
			from, order, where, tag = taggedRecords, `t.seq`, ` WHERE t.key = ? AND t.value = ? AND t.seq > ? AND t.seq <= ?`, []any{f.Tag.Key, f.Tag.Value}
		}
		return meterd.ReadUsageSeqRanges(f, first, last, watermark, func(seqs meterd.SeqRange, limit int) (int, error) {
			return readRecordsFrom(ctx, tx, from, order, where+rest, append(append(tag, seqs.After, seqs.Last), args...), limit, fn)
		})
	})
	var cb callbackError
	if errors.As(err, &cb) {
		return cb.err
	} else if err != nil {
		return fmt.Errorf("sqlite: usage: %w", err)
	}
	return nil
}

// readRecords calls fn for each record of metering_records r matching where
// (a WHERE clause) in seq order, at most limit (0 for all) of them, and returns how many.
func readRecords(ctx context.Context, tx *sql.Tx, where string, args []any, limit int, fn func(*meterd.MeteringRecord) error) (int, error) {
	return readRecordsFrom(ctx, tx, `metering_records r NOT INDEXED`, `r.seq`, where, args, limit, fn)
}

// taggedRecords is readRecordsFrom's from for the records of a tag,
// ordered by t.seq, where binds t.key and t.value: the tag's index gives
// its records in seq order, so a page of a rare tag reads that tag's
// records, not every record of the window, and a page of a common one
// its first entries. (CROSS JOIN keeps SQLite from starting with
// metering_records; ordered by r.seq it would sort every match.)
const taggedRecords = `usage_tags t INDEXED BY usage_tags_tag CROSS JOIN metering_records r ON r.seq = t.seq`

// readRecordsFrom is readRecords over from, a FROM clause naming
// metering_records r, ordered by order (r.seq, or a column equal to it).
func readRecordsFrom(ctx context.Context, tx *sql.Tx, from, order, where string, args []any, limit int, fn func(*meterd.MeteringRecord) error) (int, error) {
	q := `SELECT ` + recordColumns + ` FROM ` + from + where + ` ORDER BY ` + order
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return n, err
		}
		n++
		if err := fn(r); err != nil {
			if _, ok := err.(callbackError); !ok {
				err = callbackError{err}
			}
			return n, err
		}
	}
	return n, rows.Err()
}

// callbackError carries the error of Usage's fn out of its transaction
// unwrapped.
type callbackError struct{ err error }

func (e callbackError) Error() string { return e.err.Error() }

// windowSeqs returns the lowest and highest seq of the records up to
// watermark in f's product, dimension and hours, from the bounds that
// usage_dimension_hourly's rows keep (migration 0062; an unknown one, NULL,
// widens the range to the ledger's start or the watermark); first > last
// when the rollups hold none.
func windowSeqs(ctx context.Context, tx *sql.Tx, f meterd.UsageFilter, watermark int64) (first, last int64, err error) {
	where, args := rollupHours(f)
	var lo, hi sql.NullInt64
	err = tx.QueryRowContext(ctx, `SELECT MIN(coalesce(d.first_seq, 0)), MAX(coalesce(d.last_seq, ?))
		FROM usage_dimension_hourly d`+where, append([]any{watermark}, args...)...).Scan(&lo, &hi)
	if err != nil || !lo.Valid {
		return 1, 0, err
	}
	return lo.Int64, min(hi.Int64, watermark), nil
}

// rollupHours returns the WHERE clause (over usage_dimension_hourly d) and
// its arguments selecting the rows of f's product and dimension whose hours
// hold records of f's window: from the hour that holds From, since an
// AgentCore record's Hour is inside its hour.
func rollupHours(f meterd.UsageFilter) (string, []any) {
	conds := []string{`d.records > 0`}
	var args []any
	if f.ProductCode != "" {
		conds, args = append(conds, `d.product_code = ?`), append(args, f.ProductCode)
	}
	if f.Dimension != "" {
		conds, args = append(conds, `d.dimension = ?`), append(args, f.Dimension)
	}
	if !f.From.IsZero() {
		conds, args = append(conds, `d.hour >= ?`), append(args, meterd.Hour(f.From).Unix())
	}
	if !f.To.IsZero() {
		conds, args = append(conds, `d.hour < ?`), append(args, ceilUnix(f.To))
	}
	return ` WHERE ` + strings.Join(conds, ` AND `), args
}

// customerUsage calls fn for each record of f (which names a customer) in
// seq order, at most f.Limit: meterd.ReadCustomerUsage over the first seqs
// of f's hours in usage_dimension_hourly, customerSeqs reading a chunk of
// them, and the records after the watermark, in no rollup, last.
func customerUsage(ctx context.Context, tx *sql.Tx, f meterd.UsageFilter, watermark int64, fn func(*meterd.MeteringRecord) error) error {
	where, args := rollupHours(f)
	rows, err := tx.QueryContext(ctx, `SELECT coalesce(d.first_seq, 0) AS f FROM usage_dimension_hourly d`+where+
		` AND coalesce(d.last_seq, ?) > ? ORDER BY f`, append(args, watermark, f.AfterSeq)...)
	if err != nil {
		return err
	}
	var firsts []int64
	for rows.Next() {
		var first int64
		if err := rows.Scan(&first); err != nil {
			rows.Close()
			return err
		}
		firsts = append(firsts, first)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	recWhere, recArgs := recordWhere(f)
	readHours := func(lo, hi int64, add func(*meterd.MeteringRecord)) error {
		seqs, seqArgs := customerSeqs(f, watermark, lo, hi)
		_, err := readRecords(ctx, tx, recWhere+` AND r.seq IN (`+seqs+`)`, append(slices.Clip(recArgs), seqArgs...), 0,
			func(r *meterd.MeteringRecord) error { add(r); return nil })
		return err
	}
	readTail := func(limit int, fn func(*meterd.MeteringRecord) error) error {
		tail, tailArgs := tailSeqs(watermark, f.TailLimit)
		_, err := readRecords(ctx, tx, recWhere+` AND `+tail, append(slices.Clip(recArgs), tailArgs...), limit, fn)
		return err
	}
	return meterd.ReadCustomerUsage(f, firsts, watermark, readHours, readTail, func(r *meterd.MeteringRecord) error {
		if err := fn(r); err != nil {
			return callbackError{err}
		}
		return nil
	})
}

// customerSeqs returns a query of the seqs of f's customer's records up to
// the watermark in the hours whose first_seq is in [lo, hi] (a superset of
// f's: the caller applies f) and its arguments. The rollups
// hold the records up to watermark: usage_hourly's rows of the customer
// name its hours and dimensions, found one key probe per hour and
// dimension of usage_dimension_hourly (of f's product, or of every
// product). In each, the duplicate key (product, hour, dimension,
// resource) gives the customer's BatchMeterUsage record, whose resource is
// the customer; when the rollup counts more records than that (MeterUsage
// records, keyed by the caller's access key or ClientToken), the index of
// those records by customer (migration 0081) gives the rest. The records
// after the watermark (the roller's lag) are the caller's. CROSS JOIN
// keeps SQLite's join order, the rollup's hours first, and +k.seq keeps it
// from walking the records below the watermark by seq: either costs the
// whole ledger.
func customerSeqs(f meterd.UsageFilter, watermark, lo, hi int64) (string, []any) {
	where, args := rollupHours(f)
	where += ` AND coalesce(d.first_seq, 0) BETWEEN ? AND ?`
	args = append(args, lo, hi)
	c := f.CustomerIdentifier
	q := `WITH hours AS MATERIALIZED (
			SELECT d.product_code, d.hour, d.dimension, u.records FROM usage_dimension_hourly d
			CROSS JOIN usage_hourly u ON u.product_code = d.product_code AND u.hour = d.hour
				AND u.customer_identifier = ? AND u.dimension = d.dimension` + where + `
		), probed AS MATERIALIZED (
			SELECT h.*, k.seq FROM hours h LEFT JOIN metering_records k ON k.product_code = h.product_code
				AND k.hour = h.hour AND k.dimension = h.dimension AND k.resource = ? AND k.customer_identifier = ? AND k.seq <= ?
		)
		SELECT seq FROM probed WHERE seq IS NOT NULL
		UNION ALL
		SELECT k.seq FROM probed p CROSS JOIN metering_records k INDEXED BY metering_records_not_by_customer
			ON k.product_code = p.product_code AND k.customer_identifier = ? AND k.dimension = p.dimension
			AND k.hour >= p.hour AND k.hour < p.hour + 3600
			WHERE p.records > (p.seq IS NOT NULL) AND k.resource <> k.customer_identifier AND +k.seq <= ?`
	args = append([]any{c}, args...)
	return q, append(args, c, c, watermark, c, watermark)
}

// hourAligned reports whether t is zero or the start of an hour.
func hourAligned(t time.Time) bool {
	return t.IsZero() || (t.Unix()%3600 == 0 && t.Nanosecond() == 0)
}

// SummarizeUsage sums the records matching f grouped by "customer",
// "dimension", "hour" or "tag". Without a tag filter, a cursor or a bound
// inside an hour, it reads rollups instead of the records: by customer,
// usage_customer_monthly, usage_customer_daily and usage_hourly
// (summary.go); by dimension or hour without a customer filter,
// usage_dimension_hourly; otherwise usage_hourly.
func (s *Store) SummarizeUsage(ctx context.Context, f meterd.UsageFilter, by string) ([]meterd.UsageSummaryRow, error) {
	// group is the grouping expression over metering_records r; the
	// rollup's hour column is already truncated.
	var group, rollupGroup string
	switch by {
	case "customer":
		group, rollupGroup = "r.customer_identifier", "r.customer_identifier"
	case "dimension":
		group, rollupGroup = "r.dimension", "r.dimension"
	case "hour":
		group, rollupGroup = "r.hour - r.hour % 3600", "r.hour"
	case "tag":
		group = "tg.key || '=' || tg.value"
	default:
		return nil, meterd.Errorf(meterd.EInvalid, "cannot group usage by %q: use customer, dimension, hour or tag", by)
	}
	if by == "tag" && f.CustomerIdentifier != "" {
		// A customer's records, found through its rollup rows, rather
		// than every tagged record of the window.
		return meterd.SummarizeTags(func(fn func(*meterd.MeteringRecord) error) error { return s.Usage(ctx, f, fn) })
	}
	if by == "customer" && f.Tag == nil && f.AfterSeq == 0 && hourAligned(f.From) && hourAligned(f.To) {
		out, err := s.summarizeByCustomer(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("sqlite: summarize usage: %w", err)
		}
		return out, nil
	}
	scan := func(rows *sql.Rows) (meterd.UsageSummaryRow, error) {
		var row meterd.UsageSummaryRow
		if by == "hour" {
			var h int64
			err := rows.Scan(&h, &row.Dimension, &row.Quantity, &row.Records)
			row.Group = time.Unix(h, 0).UTC().Format(time.RFC3339)
			return row, err
		}
		err := rows.Scan(&row.Group, &row.Dimension, &row.Quantity, &row.Records)
		return row, err
	}
	where, args := recordWhere(f)
	var q string
	rollup := true
	switch {
	case by == "tag" && f.Tag == nil && f.AfterSeq == 0 && hourAligned(f.From) && hourAligned(f.To):
		// usage_tag_hourly: a row per product, hour, tag and dimension.
		// (A customer's tags were summed above, from its records.)
		q = `SELECT r.key || '=' || r.value AS g, r.dimension, SUM(r.quantity), SUM(r.records) FROM usage_tag_hourly r`
	case by == "tag":
		q = `SELECT ` + group + ` AS g, r.dimension, SUM(tg.quantity), COUNT(*)
			FROM usage_tags tg JOIN metering_records r ON r.seq = tg.seq`
		rollup = false
	case by != "customer" && f.CustomerIdentifier == "" && f.Tag == nil && f.AfterSeq == 0 &&
		hourAligned(f.From) && hourAligned(f.To):
		// usage_dimension_hourly has one row per product, dimension and
		// hour, so a month is a few thousand rows whatever the number of
		// customers. recordWhere's columns (without a customer) are also its.
		q = `SELECT ` + rollupGroup + ` AS g, r.dimension, SUM(r.quantity), SUM(r.records) FROM usage_dimension_hourly r`
	case f.Tag == nil && f.AfterSeq == 0 && hourAligned(f.From) && hourAligned(f.To):
		// Filtered by a customer: usage_hourly keeps one row per customer,
		// dimension and hour. recordWhere's columns are also usage_hourly's.
		q = `SELECT ` + rollupGroup + ` AS g, r.dimension, SUM(r.quantity), SUM(r.records) FROM usage_hourly r`
	default:
		q = `SELECT ` + group + ` AS g, r.dimension, SUM(r.quantity), COUNT(*) FROM metering_records r`
		rollup = false
	}
	q += where + ` GROUP BY g, r.dimension ORDER BY g, r.dimension`
	var out []meterd.UsageSummaryRow
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var watermark int64
		if rollup {
			var err error
			if watermark, err = rollupWatermark(ctx, tx); err != nil {
				return err
			}
		}
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		if out, err = collect(rows, scan); err != nil || !rollup {
			return err
		}
		tail, err := summarizeTail(ctx, tx, f, group, by == "tag", watermark, scan)
		out = meterd.AddSummaryRows(out, tail)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: summarize usage: %w", err)
	}
	return out, nil
}

// tailSeqs is the condition on metering_records r of the records after
// the watermark, at most limit seqs of them (0: all).
func tailSeqs(watermark, limit int64) (string, []any) {
	if limit > 0 {
		return `r.seq > ? AND r.seq <= ?`, []any{watermark, watermark + limit}
	}
	return `r.seq > ?`, []any{watermark}
}

// summarizeTail sums the records matching f after the rollups' watermark,
// grouped by group (an expression over metering_records r) and dimension:
// what the rollups do not hold yet. NOT INDEXED keeps SQLite from walking
// the duplicate key's index for f's product and hours: the tail is the end
// of the table's seq order, a range of its rowid, which stays allowed.
func summarizeTail(ctx context.Context, tx *sql.Tx, f meterd.UsageFilter, group string, tags bool, watermark int64,
	scan func(*sql.Rows) (meterd.UsageSummaryRow, error)) ([]meterd.UsageSummaryRow, error) {
	where, args := recordWhere(f)
	tail, tailArgs := tailSeqs(watermark, f.TailLimit)
	if where == "" {
		where = ` WHERE ` + tail
	} else {
		where = ` WHERE ` + tail + ` AND` + strings.TrimPrefix(where, " WHERE")
	}
	from, quantity := `metering_records r NOT INDEXED`, `r.quantity`
	if tags {
		// Each record once per tag, with the quantity given to it.
		from, quantity = `metering_records r NOT INDEXED JOIN usage_tags tg ON tg.seq = r.seq`, `tg.quantity`
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+group+` AS g, r.dimension, SUM(`+quantity+`), COUNT(*)
		FROM `+from+where+` GROUP BY g, r.dimension`, append(tailArgs, args...)...)
	if err != nil {
		return nil, err
	}
	return collect(rows, scan)
}
