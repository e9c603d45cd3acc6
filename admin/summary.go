package admin

import (
	"cmp"
	"context"
	"encoding/csv"
	"math/big"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/meterd/meterd"
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
		return writeJSON(w, http.StatusOK, rows)
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	cw := csv.NewWriter(w)
	cw.Write([]string{by, "quantity", "records", "amount"})
	for _, row := range rows {
		cw.Write([]string{row.Group, strconv.FormatInt(row.Quantity, 10), strconv.FormatInt(row.Records, 10), row.Amount})
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

// summarize merges Ledger.SummarizeUsage's rows (one per group and
// dimension) into one row per group. Prices belong to a product's
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
	groups := map[string]*groupSum{}
	for _, p := range products {
		pf := f
		pf.ProductCode = p.Code
		rows, err := s.Ledger.SummarizeUsage(ctx, pf, by)
		if err != nil {
			return nil, err
		}
		for _, row := range rows {
			g := groups[row.Group]
			if g == nil {
				g = &groupSum{row: SummaryRow{By: by, Group: row.Group}}
				groups[row.Group] = g
			}
			g.add(p, row)
		}
	}
	out := make([]SummaryRow, 0, len(groups))
	for _, g := range groups {
		if g.amount != nil {
			g.row.Amount = g.amount.FloatString(g.scale)
		}
		out = append(out, g.row)
	}
	slices.SortFunc(out, func(a, b SummaryRow) int { return cmp.Compare(a.Group, b.Group) })
	return out, nil
}

// add adds one dimension's row of product p to the group.
func (g *groupSum) add(p *meterd.Product, row meterd.UsageSummaryRow) {
	g.row.Quantity += row.Quantity
	g.row.Records += row.Records
	d, ok := p.Dimension(row.Dimension)
	if !ok || d.Price == "" {
		return
	}
	price, ok := new(big.Rat).SetString(d.Price)
	if !ok {
		return // prices are validated when written; an odd one is left out
	}
	if g.amount == nil {
		g.amount = new(big.Rat)
	}
	g.amount.Add(g.amount, price.Mul(price, new(big.Rat).SetInt64(row.Quantity)))
	if _, frac, found := strings.Cut(d.Price, "."); found {
		g.scale = max(g.scale, len(frac))
	}
}
