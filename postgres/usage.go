package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/meterd/meterd"
)

// bind adds v to args and returns its placeholder.
func bind(args *[]any, v any) string {
	*args = append(*args, v)
	return "$" + strconv.Itoa(len(*args))
}

// usageWhere returns the WHERE clause (possibly empty) of metering_records
// m selecting the records of f, adding its arguments to args.
func usageWhere(f meterd.UsageFilter, args *[]any) string {
	var conds []string
	arg := func(v any) string { return bind(args, v) }
	if f.ProductCode != "" {
		conds = append(conds, "m.product_code = "+arg(f.ProductCode))
	}
	if f.CustomerIdentifier != "" {
		conds = append(conds, "m.customer_identifier = "+arg(f.CustomerIdentifier))
	}
	if f.Dimension != "" {
		conds = append(conds, "m.dimension = "+arg(f.Dimension))
	}
	if !f.From.IsZero() {
		conds = append(conds, "m.hour >= "+arg(f.From))
	}
	if !f.To.IsZero() {
		conds = append(conds, "m.hour < "+arg(f.To))
	}
	if f.AfterSeq > 0 {
		conds = append(conds, "m.seq > "+arg(f.AfterSeq))
	}
	if f.Tag != nil {
		conds = append(conds, "EXISTS (SELECT 1 FROM usage_tags t WHERE t.seq = m.seq AND t.key = "+arg(f.Tag.Key)+
			" AND t.value = "+arg(f.Tag.Value)+")")
	}
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

// Usage calls fn for each stored record matching f, in commit order,
// streaming the rows from the server, in one snapshot. Without a customer
// it reads the records in seq order between the bounds
// usage_dimension_hourly keeps for f's hours (windowSeqs), then the records
// after the watermark, and stops at the limit. A customer's records are
// found without an index of their own (which would cost every commit an
// entry): customerSeqs lists them.
func (s *Store) Usage(ctx context.Context, f meterd.UsageFilter, fn func(*meterd.MeteringRecord) error) error {
	var fnErr error
	err := s.readSnapshot(ctx, func(tx pgx.Tx) error {
		watermark, err := rollupWatermark(ctx, tx)
		if err != nil {
			return err
		}
		if f.CustomerIdentifier != "" {
			return customerUsage(ctx, tx, f, watermark, func(r *meterd.MeteringRecord) error {
				fnErr = fn(r)
				return fnErr
			})
		}
		first, last, err := windowSeqs(ctx, tx, f, watermark)
		if err != nil {
			return err
		}
		g := f
		g.AfterSeq, g.Tag = 0, nil
		return meterd.ReadUsageSeqRanges(f, first, last, watermark, func(seqs meterd.SeqRange, limit int) (int, error) {
			var args []any
			// The bounds as literals, as in summarizeTail, so that the
			// planner walks that range of the primary key (or of the
			// tag's index).
			from, order, where := "metering_records m", "m.seq", fmt.Sprintf(" WHERE m.seq > %d AND m.seq <= %d", seqs.After, seqs.Last)
			if f.Tag != nil {
				from, order = taggedRecords, "t.seq"
				where = fmt.Sprintf(" WHERE t.key = %s AND t.value = %s AND t.seq > %d AND t.seq <= %d",
					bind(&args, f.Tag.Key), bind(&args, f.Tag.Value), seqs.After, seqs.Last)
			}
			where += strings.Replace(usageWhere(g, &args), " WHERE", " AND", 1)
			return readRecordsFrom(ctx, tx, from, order, where, args, limit, func(r *meterd.MeteringRecord) error {
				fnErr = fn(r)
				return fnErr
			})
		})
	})
	if fnErr != nil {
		return fnErr
	} else if err != nil {
		return fmt.Errorf("postgres: usage: %w", err)
	}
	return nil
}

// readRecords calls fn for each record of metering_records m matching where
// (a WHERE clause) in seq order, at most limit (0 for all) of them, and
// returns how many.
func readRecords(ctx context.Context, tx pgx.Tx, where string, args []any, limit int, fn func(*meterd.MeteringRecord) error) (int, error) {
	return readRecordsFrom(ctx, tx, "metering_records m", "m.seq", where, args, limit, fn)
}

// taggedRecords is readRecordsFrom's from for the records of a tag
// (usage_tags t), ordered by t.seq: the tag's index (key, value, seq)
// gives its records in seq order, so a page of a rare tag reads that
// tag's records, not every record of the window. Each is probed by its
// seq: LATERAL with OFFSET 0 keeps the planner from a merge join, which
// walked every record from the range's start (1.3 s for a page at 10M).
const taggedRecords = "usage_tags t CROSS JOIN LATERAL (SELECT * FROM metering_records m WHERE m.seq = t.seq OFFSET 0) m"

// readRecordsFrom is readRecords over from, a FROM clause naming
// metering_records m, ordered by order (m.seq, or a column equal to it).
func readRecordsFrom(ctx context.Context, tx pgx.Tx, from, order, where string, args []any, limit int, fn func(*meterd.MeteringRecord) error) (int, error) {
	sql := `SELECT m.seq, m.id, m.operation, m.product_code, m.customer_identifier, m.customer_aws_account_id,
			m.license_arn, m.resource, m.dimension, m.hour, m.timestamp, m.quantity, m.allocations, m.caller_account_id,
			m.caller_access_key_id, m.client_token, m.request_hash, m.received_at
		FROM ` + from + where + " ORDER BY " + order
	if limit > 0 {
		sql += " LIMIT " + strconv.Itoa(limit)
	}
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var r meterd.MeteringRecord
		var allocs string
		if err := rows.Scan(&r.Seq, &r.ID, &r.Operation, &r.ProductCode, &r.CustomerIdentifier, &r.CustomerAWSAccountID,
			&r.LicenseArn, &r.Resource, &r.Dimension, &r.Hour, &r.Timestamp, &r.Quantity, &allocs, &r.CallerAccountID,
			&r.CallerAccessKeyID, &r.ClientToken, &r.RequestHash, &r.ReceivedAt); err != nil {
			return n, err
		}
		r.Hour, r.Timestamp, r.ReceivedAt = r.Hour.UTC(), r.Timestamp.UTC(), r.ReceivedAt.UTC()
		if r.Allocations, err = meterd.ParseCanonicalAllocations(allocs); err != nil {
			return n, fmt.Errorf("record %s: allocations: %w", r.ID, err)
		}
		n++
		if err := fn(&r); err != nil {
			return n, err
		}
	}
	return n, rows.Err()
}

// windowSeqs returns the lowest and highest seq of the records up to
// watermark in f's product, dimension and hours, from the bounds that
// usage_dimension_hourly's rows keep (migration 0062; an unknown one, NULL,
// widens the range to the ledger's start or the watermark); first > last
// when the rollups hold none.
func windowSeqs(ctx context.Context, tx pgx.Tx, f meterd.UsageFilter, watermark int64) (first, last int64, err error) {
	var args []any
	where := rollupHours(f, &args)
	var lo, hi *int64
	err = tx.QueryRow(ctx, fmt.Sprintf(`SELECT min(coalesce(d.first_seq, 0)), max(coalesce(d.last_seq, %d))
		FROM usage_dimension_hourly d`, watermark)+where, args...).Scan(&lo, &hi)
	if err != nil || lo == nil {
		return 1, 0, err
	}
	return *lo, min(*hi, watermark), nil
}

// rollupHours returns the WHERE clause of usage_dimension_hourly d selecting
// the rows of f's product and dimension whose hours hold records of f's
// window, adding its arguments to args: from the hour that holds From,
// since an AgentCore record's Hour is inside its hour.
func rollupHours(f meterd.UsageFilter, args *[]any) string {
	arg := func(v any) string {
		*args = append(*args, v)
		return "$" + strconv.Itoa(len(*args))
	}
	conds := []string{"d.records > 0"}
	if f.ProductCode != "" {
		conds = append(conds, "d.product_code = "+arg(f.ProductCode))
	}
	if f.Dimension != "" {
		conds = append(conds, "d.dimension = "+arg(f.Dimension))
	}
	if !f.From.IsZero() {
		conds = append(conds, "d.hour >= "+arg(meterd.Hour(f.From)))
	}
	if !f.To.IsZero() {
		conds = append(conds, "d.hour < "+arg(f.To))
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

// customerUsage calls fn for each record of f (which names a customer) in
// seq order, at most f.Limit: meterd.ReadCustomerUsage over the first seqs
// of f's hours in usage_dimension_hourly, customerSeqs reading a chunk of
// them, and the records after the watermark, in no rollup, last; the
// watermark is a literal, as in summarizeTail, so that the planner walks
// the end of the primary key.
func customerUsage(ctx context.Context, tx pgx.Tx, f meterd.UsageFilter, watermark int64, fn func(*meterd.MeteringRecord) error) error {
	var args []any
	where := rollupHours(f, &args)
	rows, err := tx.Query(ctx, fmt.Sprintf(`SELECT coalesce(d.first_seq, 0) AS f FROM usage_dimension_hourly d%s
		AND coalesce(d.last_seq, %d) > %d ORDER BY f`, where, watermark, f.AfterSeq), args...)
	if err != nil {
		return err
	}
	firsts, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return err
	}
	readHours := func(lo, hi int64, add func(*meterd.MeteringRecord)) error {
		var args []any
		where := usageWhere(f, &args)
		where += " AND m.seq IN (" + customerSeqs(f, watermark, lo, hi, &args) + ")"
		_, err := readRecords(ctx, tx, where, args, 0, func(r *meterd.MeteringRecord) error { add(r); return nil })
		return err
	}
	readTail := func(limit int, fn func(*meterd.MeteringRecord) error) error {
		var args []any
		where := " WHERE " + tailSeqs(watermark, f.TailLimit) + strings.Replace(usageWhere(f, &args), " WHERE", " AND", 1)
		_, err := readRecords(ctx, tx, where, args, limit, fn)
		return err
	}
	return meterd.ReadCustomerUsage(f, firsts, watermark, readHours, readTail, fn)
}

// customerSeqs returns a query of the seqs of f's customer's records up to
// the watermark in the hours whose first_seq is in [lo, hi] (a superset of
// f's: the caller applies f), adding its arguments to args.
// The rollups hold the records up to watermark: usage_hourly's rows of the
// customer name its hours and dimensions, found one key probe per hour and
// dimension of usage_dimension_hourly (of f's product, or of every
// product). In each, the duplicate key (product, hour, dimension,
// resource) gives the customer's BatchMeterUsage record, whose resource is
// the customer; when the rollup counts more records than that (MeterUsage
// records, keyed by the caller's access key or ClientToken), the partial
// index of those records by customer (migration 0081) gives the rest. The
// records after the watermark (the roller's lag) are the caller's. LATERAL
// with OFFSET 0 (which keeps the planner from flattening it into a join)
// keeps the hours' reads one range of an index each: joined, the planner
// hashed a scan of every record of the customer.
func customerSeqs(f meterd.UsageFilter, watermark, lo, hi int64, args *[]any) string {
	c := "$" + strconv.Itoa(len(*args)+1)
	*args = append(*args, f.CustomerIdentifier)
	where := rollupHours(f, args) + fmt.Sprintf(" AND coalesce(d.first_seq, 0) BETWEEN %d AND %d", lo, hi)
	wm := strconv.FormatInt(watermark, 10)
	return `WITH hours AS MATERIALIZED (
			SELECT d.product_code, d.hour, d.dimension, u.records FROM usage_dimension_hourly d
			JOIN usage_hourly u ON u.product_code = d.product_code AND u.hour = d.hour
				AND u.customer_identifier = ` + c + ` AND u.dimension = d.dimension` + where + `
		), probed AS MATERIALIZED (
			SELECT h.*, k.seq FROM hours h LEFT JOIN metering_records k ON k.product_code = h.product_code
				AND k.hour = h.hour AND k.dimension = h.dimension AND k.resource = ` + c + `
				AND k.customer_identifier = ` + c + ` AND k.seq <= ` + wm + `
		)
		SELECT seq FROM probed WHERE seq IS NOT NULL
		UNION ALL
		SELECT k.seq FROM probed p CROSS JOIN LATERAL (
			SELECT k.seq FROM metering_records k WHERE k.product_code = p.product_code
				AND k.customer_identifier = ` + c + ` AND k.dimension = p.dimension
				AND k.hour >= p.hour AND k.hour < p.hour + interval '1 hour'
				AND k.resource <> k.customer_identifier AND k.seq <= ` + wm + ` OFFSET 0
		) k WHERE p.records > CASE WHEN p.seq IS NULL THEN 0 ELSE 1 END`
}

// SummarizeUsage sums the records matching f grouped by "customer",
// "dimension", "hour" or "tag", one row per group and dimension, ordered by
// group then dimension. EInvalid for another grouping. Without a tag
// filter, a cursor or a bound inside an hour, it reads rollups instead of
// the records: by customer, usage_customer_monthly, usage_customer_daily
// and usage_hourly (summary.go); by dimension or hour without a customer
// filter, usage_dimension_hourly; otherwise usage_hourly.
func (s *Store) SummarizeUsage(ctx context.Context, f meterd.UsageFilter, by string) ([]meterd.UsageSummaryRow, error) {
	var group string
	switch by {
	case "customer":
		group = "customer_identifier"
	case "dimension":
		group = "dimension"
	case "hour":
		group = "hour"
	case "tag":
	default:
		return nil, meterd.Errorf(meterd.EInvalid, "cannot summarize usage by %q: want customer, dimension, hour or tag", by)
	}
	if by == "tag" && f.CustomerIdentifier != "" {
		// A customer's records, found through its rollup rows, rather
		// than every tagged record of the window.
		return meterd.SummarizeTags(func(fn func(*meterd.MeteringRecord) error) error { return s.Usage(ctx, f, fn) })
	}
	if by == "customer" && rollupServes(f) {
		out, err := s.summarizeByCustomer(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("postgres: summarize usage: %w", err)
		}
		return out, nil
	}
	var args []any
	var sql string
	// tailGroup is group over the records, for the records after the
	// rollups' watermark when a rollup answers; "" when none does.
	tailGroup := "m." + group
	if by == "hour" {
		tailGroup = "date_trunc('hour', m.hour)"
	}
	switch {
	case by == "tag" && rollupServes(f):
		// usage_tag_hourly: a row per product, hour, tag and dimension.
		// (A customer's tags were summed above, from its records.)
		sql = "SELECT m.key || '=' || m.value, m.dimension, sum(m.quantity)::bigint, sum(m.records)::bigint FROM usage_tag_hourly m" +
			usageWhere(f, &args)
		tailGroup = "t.key || '=' || t.value"
	case by == "tag":
		sql = `SELECT t.key || '=' || t.value, m.dimension, sum(t.quantity)::bigint, count(*)
			FROM metering_records m JOIN usage_tags t ON t.seq = m.seq` + usageWhere(f, &args)
		tailGroup = ""
	case rollupServes(f) && by != "customer" && f.CustomerIdentifier == "":
		// usage_dimension_hourly has one row per product, dimension and
		// hour, so a month is a few thousand rows whatever the number of
		// customers; usageWhere's columns (without a customer) are also its.
		sql = "SELECT m." + group + ", m.dimension, sum(m.quantity)::bigint, sum(m.records)::bigint FROM usage_dimension_hourly m" +
			usageWhere(f, &args)
	case rollupServes(f):
		// Filtered by a customer: usage_hourly keeps one row per customer,
		// dimension and hour. Its rows stand for whole hours, so it answers
		// any filter on its columns with hour-aligned bounds. (By customer,
		// summarizeByCustomer reads the daily and monthly rollups too.)
		sql = "SELECT m." + group + ", m.dimension, sum(m.quantity)::bigint, sum(m.records)::bigint FROM usage_hourly m" +
			usageWhere(f, &args)
	default:
		sql = "SELECT " + tailGroup + ", m.dimension, sum(m.quantity)::bigint, count(*) FROM metering_records m" + usageWhere(f, &args)
		tailGroup = ""
	}
	sql += " GROUP BY 1, 2 ORDER BY 1, 2"
	var out []meterd.UsageSummaryRow
	err := s.readSnapshot(ctx, func(tx pgx.Tx) error {
		var watermark int64
		if tailGroup != "" {
			var err error
			if watermark, err = rollupWatermark(ctx, tx); err != nil {
				return err
			}
		}
		rows, err := tx.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		if out, err = collectSummary(rows, by == "hour"); err != nil || tailGroup == "" {
			return err
		}
		tail, err := summarizeTail(ctx, tx, f, tailGroup, by == "tag", watermark, by == "hour")
		out = meterd.AddSummaryRows(out, tail)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: summarize usage: %w", err)
	}
	return out, nil
}

// rollupServes reports whether the hourly rollups hold the answer for f: no tag
// or cursor filter, and bounds on whole hours.
func rollupServes(f meterd.UsageFilter) bool {
	aligned := func(t time.Time) bool { return t.IsZero() || t.Equal(meterd.Hour(t)) }
	return f.Tag == nil && f.AfterSeq == 0 && aligned(f.From) && aligned(f.To)
}
