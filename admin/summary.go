package admin

import (
	"cmp"
	"context"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/internal/csvsafe"
)

// usageSummary sums usage by customer, dimension, hour or tag, with the
// amount (quantity × price) where a dimension involved has a price.
func (s *Server) usageSummary(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f, err := s.usageFilter(q)
	if err != nil {
		return err
	}
	by := cmp.Or(q.Get("by"), "dimension")
	switch by {
	case "customer", "dimension", "hour", "tag":
	default:
		return meterd.Errorf(CodeBadRequest, "by: %q is not customer, dimension, hour or tag", by)
	}
	format := cmp.Or(q.Get("format"), "json")
	if format != "json" && format != "csv" {
		return meterd.Errorf(CodeBadRequest, "format: %q is not json or csv", format)
	}
	rows, err := s.summarize(r.Context(), f, by)
	if err != nil {
		return err
	}
	if format == "json" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		return WriteSummaryJSON(w, rows)
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	cw := csvsafe.NewWriter(w)
	if by == "customer" {
		cw.Write([]string{by, "dimension", "quantity", "records", "amount"})
	} else {
		cw.Write([]string{by, "quantity", "records", "amount"})
	}
	for _, row := range rows {
		cells := []string{row.Group, strconv.FormatInt(row.Quantity, 10), strconv.FormatInt(row.Records, 10), row.Amount}
		if by == "customer" {
			cells = append([]string{row.Group, row.Dimension}, cells[1:]...)
		}
		cw.Write(cells)
	}
	cw.Flush()
	return cw.Error()
}

// groupSum accumulates one summary group across dimensions and products.
type groupSum struct {
	row    SummaryRow
	amount *big.Rat // nil while no priced dimension was seen
	scale  int      // decimal places of the amount: the largest of its prices
}

// price is a dimension's price, parsed once per summary rather than once
// per row (a summary by customer has tens of thousands of rows).
type price struct {
	rat   *big.Rat // nil when the dimension has no (valid) price
	scale int      // decimal places of the price
}

// prices returns p's dimensions' parsed prices by name, or nil when none
// has a price, so that an unpriced product costs no pricing work.
func prices(p *meterd.Product) map[string]price {
	var out map[string]price
	for _, d := range p.Dimensions {
		if d.Price == "" {
			continue
		}
		r, ok := new(big.Rat).SetString(d.Price)
		if !ok {
			continue // prices are validated when written; an odd one is left out
		}
		if out == nil {
			out = map[string]price{}
		}
		pr := price{rat: r}
		if _, frac, found := strings.Cut(d.Price, "."); found {
			pr.scale = len(frac)
		}
		out[d.Name] = pr
	}
	return out
}

// summarize merges Ledger.SummarizeUsage's rows (one per group and
// dimension) into one row per group, or per customer and dimension by
// customer (groupOf), so that quantities of different units are never
// added. Prices belong to a product's
// dimension, so without a product filter each product is summarized on its
// own and the results merged.
func (s *Server) summarize(ctx context.Context, f meterd.UsageFilter, by string) ([]SummaryRow, error) {
	var products []*meterd.Product
	if f.ProductCode != "" {
		p, err := s.Ledger.Product(ctx, f.ProductCode)
		if meterd.ErrorCode(err) == meterd.ENotFound {
			return []SummaryRow{}, nil // no product, no usage
		} else if err != nil {
			return nil, err
		}
		products = []*meterd.Product{p}
	} else {
		var err error
		if products, err = s.Ledger.Products(ctx); err != nil {
			return nil, err
		}
	}
	if len(products) == 1 {
		rows, err := s.Ledger.SummarizeUsage(ctx, f, by)
		if err != nil {
			return nil, err
		}
		return mergeAdjacent(rows, by, prices(products[0])), nil
	}
	var groups map[string]*groupSum
	for _, p := range products {
		pf := f
		pf.ProductCode = p.Code
		rows, err := s.Ledger.SummarizeUsage(ctx, pf, by)
		if err != nil {
			return nil, err
		}
		if groups == nil {
			groups = make(map[string]*groupSum, len(rows))
		}
		priced := prices(p)
		for _, row := range rows {
			key := groupOf(by, row)
			g := groups[key]
			if g == nil {
				g = &groupSum{row: newRow(by, row)}
				groups[key] = g
			}
			g.add(priced, row)
		}
	}
	out := make([]SummaryRow, 0, len(groups))
	for _, g := range groups {
		if g.amount != nil {
			g.row.Amount = g.amount.FloatString(g.scale)
		}
		out = append(out, g.row)
	}
	sortRows(out)
	return out, nil
}

// mergeAdjacent merges one product's rows, which SummarizeUsage orders by
// group, into one row per group without a map.
func mergeAdjacent(rows []meterd.UsageSummaryRow, by string, prices map[string]price) []SummaryRow {
	out := make([]SummaryRow, 0, len(rows))
	var g groupSum
	flush := func() {
		if g.amount != nil {
			g.row.Amount = g.amount.FloatString(g.scale)
		}
		out = append(out, g.row)
	}
	for i, row := range rows {
		if i == 0 || row.Group != g.row.Group || by == "customer" && row.Dimension != g.row.Dimension {
			if i > 0 {
				flush()
			}
			g = groupSum{row: newRow(by, row)}
		}
		g.add(prices, row)
	}
	if len(rows) > 0 {
		flush()
	}
	sortRows(out) // a store's collation may order groups otherwise
	return out
}

// groupOf is the key of the output row that a store's row adds to: its
// group, and by customer its dimension too.
func groupOf(by string, row meterd.UsageSummaryRow) string {
	if by == "customer" {
		return row.Group + "\x00" + row.Dimension
	}
	return row.Group
}

// newRow is the empty output row of a store's row.
func newRow(by string, row meterd.UsageSummaryRow) SummaryRow {
	out := SummaryRow{By: by, Group: row.Group}
	if by == "customer" {
		out.Dimension = row.Dimension
	}
	return out
}

// sortRows orders rows by group then dimension, byte-wise; a sorted slice
// costs one pass.
func sortRows(rows []SummaryRow) {
	byGroup := func(a, b SummaryRow) int {
		return cmp.Or(cmp.Compare(a.Group, b.Group), cmp.Compare(a.Dimension, b.Dimension))
	}
	if !slices.IsSortedFunc(rows, byGroup) {
		slices.SortFunc(rows, byGroup)
	}
}

// add adds one dimension's row to the group, priced by its product's
// prices.
func (g *groupSum) add(prices map[string]price, row meterd.UsageSummaryRow) {
	g.row.Quantity += row.Quantity
	g.row.Records += row.Records
	pr, ok := prices[row.Dimension]
	if !ok {
		return
	}
	if g.amount == nil {
		g.amount = new(big.Rat)
	}
	q := new(big.Rat).SetInt64(row.Quantity)
	g.amount.Add(g.amount, q.Mul(q, pr.rat))
	g.scale = max(g.scale, pr.scale)
}

// maxTopCustomers bounds the limit of a top customers' list.
const maxTopCustomers = 1000

// topCustomers lists the customers with the most records in a calendar
// month (the server clock's by default), from the monthly rollup.
func (s *Server) topCustomers(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	month := s.Clock.Now()
	if v := q.Get("month"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return meterd.Errorf(CodeBadRequest, "month: %q is not an RFC 3339 time", v)
		}
		month = t
	}
	limit := 10
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxTopCustomers {
			return meterd.Errorf(CodeBadRequest, "limit: %q is not a number from 1 to %d", v, maxTopCustomers)
		}
		limit = n
	}
	tail, err := tailLimit(q)
	if err != nil {
		return err
	}
	top, err := s.Ledger.TopCustomers(r.Context(), month.UTC(), limit, tail)
	if err != nil {
		return err
	}
	out := make([]TopCustomer, len(top))
	for i, c := range top {
		out[i] = TopCustomer{Product: c.ProductCode, Customer: c.CustomerIdentifier, Records: c.Records, Quantity: c.Quantity}
	}
	return writeJSON(w, http.StatusOK, out)
}

// tailLimit reads the tail_limit parameter (meterd.UsageFilter.TailLimit):
// 0 when absent.
func tailLimit(q url.Values) (int64, error) {
	v := q.Get("tail_limit")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 0, meterd.Errorf(CodeBadRequest, "tail_limit: %q is not a positive whole number", v)
	}
	return n, nil
}

// rollups says how far the rollups trail the ledger: the records a
// summary reads from the ledger itself, which tail_limit bounds.
func (s *Server) rollups(w http.ResponseWriter, r *http.Request) error {
	st, err := s.Ledger.Rollups(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, Rollups{Watermark: st.Watermark, LastSeq: st.LastSeq, Behind: st.Behind()})
}
