package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/meterd/meterd/admin"
)

// runUsage runs meterd usage: the records of the usage ledger.
func runUsage(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const filters = "[--product C] [--customer X] [--dimension D] [--tag K=V] [--from T] [--to T]"
	return runNoun(ctx, noun{
		name:    "usage",
		summary: "records of the usage ledger: list, sum, export",
		verbs: []verb{
			{"list", filters + " [--limit N]", "list usage records", usageList},
			{"summary", filters + " [--by customer|dimension|hour|tag]", "sum quantities and amounts by a group", usageSummary},
			{"export", "--format json|csv|jsonl " + filters, "stream every matching record to stdout", usageExport},
			{"rollups", "", "how far the rollups that summaries read trail the ledger", usageRollups},
		},
	}, args, stdout, stderr)
}

// usageFilters declares the filter flags of the usage verbs on fs and
// returns a function building the query once fs is parsed.
func (c *cli) usageFilters(fs *flag.FlagSet) func() (admin.UsageQuery, error) {
	var q admin.UsageQuery
	var from, to string
	fs.StringVar(&q.Product, "product", "", "only this product")
	fs.StringVar(&q.Customer, "customer", "", "only this customer identifier")
	fs.StringVar(&q.Dimension, "dimension", "", "only this dimension")
	fs.StringVar(&q.Tag, "tag", "", "only records with an allocation tagged K=V")
	fs.StringVar(&from, "from", "", "from this hour on, RFC 3339 (default: 31 days ago)")
	fs.StringVar(&to, "to", "", "before this time, RFC 3339 (default: now)")
	return func() (admin.UsageQuery, error) {
		var err error
		if q.Tag != "" && !strings.Contains(q.Tag, "=") {
			return q, c.usagef("--tag: %q is not K=V", q.Tag)
		}
		if q.From, err = c.parseTime("--from", from); err != nil {
			return q, err
		}
		q.To, err = c.parseTime("--to", to)
		return q, err
	}
}

func usageList(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Lists the usage records that match the filters, oldest hour first, at most\n" +
		"--limit of them. For more, use \"meterd usage export\".")
	query := c.usageFilters(fs)
	limit := fs.Int("limit", 1000, "print at most this many records (0: all)")
	if _, err := c.parse(fs, args, 0); err != nil {
		return err
	}
	q, err := query()
	if err != nil {
		return err
	}
	if *limit < 0 {
		return c.usagef("--limit: must not be negative")
	}
	client, err := c.client()
	if err != nil {
		return err
	}
	records := []admin.UsageRecord{}
	more := false
	for {
		q.Limit = 10000
		if *limit > 0 {
			q.Limit = min(q.Limit, *limit-len(records))
		}
		page, err := client.Usage(ctx, q)
		if err != nil {
			return err
		}
		records = append(records, page.Records...)
		more = page.NextCursor != ""
		if !more || *limit > 0 && len(records) >= *limit {
			break
		}
		q.After = page.NextCursor
	}
	if more {
		fmt.Fprintf(c.stderr, "%s: showing the first %d records; use --limit or \"meterd usage export\" for more\n", c.command, len(records))
	}
	t := &table{header: []string{"id", "product_code", "customer_identifier", "dimension", "hour", "quantity", "tags", "operation"}}
	for _, r := range records {
		t.add(r.ID, r.ProductCode, r.CustomerIdentifier, r.Dimension, timeText(r.Hour), strconv.FormatInt(r.Quantity, 10), tagsText(r.Allocations), r.Operation)
	}
	return c.printBuffered(records, t)
}

// printBuffered is print through a buffer. These tables have thousands of
// rows, and tabwriter writes every cell and its padding on its own: to an
// unbuffered stdout that was a system call each, 0.2 s for 10,000 rows.
func (c *cli) printBuffered(v any, t *table) error {
	bw := bufio.NewWriterSize(c.stdout, 64<<10)
	out := *c
	out.stdout = bw
	err := out.print(v, t)
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	return err
}

// tagsText shows a record's allocations as QUANTITY{K=V,...} separated by
// spaces.
func tagsText(allocs []admin.Allocation) string {
	var parts []string
	for _, a := range allocs {
		tags := make([]string, len(a.Tags))
		for i, t := range a.Tags {
			tags[i] = t.Key + "=" + t.Value
		}
		parts = append(parts, fmt.Sprintf("%d{%s}", a.Quantity, strings.Join(tags, ",")))
	}
	return strings.Join(parts, " ")
}

func usageSummary(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Sums the matching usage by customer, dimension, hour or tag: quantity, number of\n" +
		"records, and the amount (quantity × price) where the dimensions have prices. By\n" +
		"customer there is one row per customer and dimension, with a dimension column, since\n" +
		"quantities of different dimensions have different units.")
	query := c.usageFilters(fs)
	by := fs.String("by", "dimension", "group by customer, dimension, hour or tag")
	if _, err := c.parse(fs, args, 0); err != nil {
		return err
	}
	q, err := query()
	if err != nil {
		return err
	}
	switch *by {
	case "customer", "dimension", "hour", "tag":
	default:
		return c.usagef("--by: %q is not customer, dimension, hour or tag", *by)
	}
	client, err := c.client()
	if err != nil {
		return err
	}
	rows, err := client.UsageSummary(ctx, q, *by)
	if err != nil {
		return err
	}
	t := &table{header: []string{*by, "quantity", "records", "amount"}}
	if *by == "customer" {
		t.header = []string{*by, "dimension", "quantity", "records", "amount"}
	}
	for _, r := range rows {
		if *by == "customer" {
			t.add(r.Group, r.Dimension, strconv.FormatInt(r.Quantity, 10), strconv.FormatInt(r.Records, 10), r.Amount)
		} else {
			t.add(r.Group, strconv.FormatInt(r.Quantity, 10), strconv.FormatInt(r.Records, 10), r.Amount)
		}
	}
	if c.output == "json" {
		// What print writes, without encoding/json's passes over each row.
		return admin.WriteSummaryJSON(c.stdout, rows)
	}
	return c.printBuffered(rows, t)
}

func usageRollups(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Prints the rollups' watermark (every record up to that seq is in the rollups that\n" +
		"summaries read), the ledger's last seq, and how many records the rollups trail it by:\n" +
		"each summary reads those from the ledger itself. A number that keeps growing means\n" +
		"the roller is stopped or cannot keep up (see meterd_store_rollup_lag_records).")
	if _, err := c.parse(fs, args, 0); err != nil {
		return err
	}
	client, err := c.client()
	if err != nil {
		return err
	}
	st, err := client.Rollups(ctx)
	if err != nil {
		return err
	}
	t := &table{header: []string{"watermark", "last_seq", "behind"}}
	t.add(strconv.FormatInt(st.Watermark, 10), strconv.FormatInt(st.LastSeq, 10), strconv.FormatInt(st.Behind, 10))
	return c.print(st, t)
}

func usageExport(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Streams every matching record to stdout as it comes from the server, in\n" +
		"--format csv (with a header row), jsonl (one JSON object a line) or json (one\n" +
		"array). Memory stays flat however many records there are. --output does not apply.")
	query := c.usageFilters(fs)
	format := fs.String("format", "", "json, csv or jsonl (required)")
	if _, err := c.parse(fs, args, 0); err != nil {
		return err
	}
	q, err := query()
	if err != nil {
		return err
	}
	if err := c.required("format", *format); err != nil {
		return err
	}
	wire := *format
	switch *format {
	case "csv", "jsonl":
	case "json":
		wire = "jsonl"
	default:
		return c.usagef("--format: %q is not json, csv or jsonl", *format)
	}
	client, err := c.client()
	if err != nil {
		return err
	}
	body, err := client.ExportUsage(ctx, q, wire)
	if err != nil {
		return err
	}
	defer body.Close()
	if *format == "json" {
		err = jsonArray(c.stdout, body)
	} else {
		_, err = io.Copy(c.stdout, body)
	}
	if err != nil {
		return fmt.Errorf("export broken off: %w", err)
	}
	return nil
}

// jsonArray copies JSON lines from r to w as one JSON array, a line at a
// time, so that memory does not grow with the number of records.
func jsonArray(w io.Writer, r io.Reader) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	sep := "[\n"
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			continue
		}
		bw.WriteString(sep)
		bw.Write(line)
		sep = ",\n"
	}
	if err := sc.Err(); err != nil {
		bw.Flush()
		return err
	}
	if sep == "[\n" {
		bw.WriteString("[")
	}
	bw.WriteString("\n]\n")
	return bw.Flush()
}
