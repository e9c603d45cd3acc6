package meterd

import (
	"math"
	"slices"
	"strings"
	"time"
)

// Grain is the time unit of one of the rollups that summaries by customer
// read, coarsest first: calendar months, days and hours (UTC). Both stores
// keep one rollup per grain, summed per product, customer and dimension.
type Grain int

// The grains, coarsest first; the hourly rollup is exact for any
// whole-hour window.
const (
	GrainMonth Grain = iota
	GrainDay
	GrainHour
)

// Start returns the start of the grain's unit holding t, in unix seconds.
func (g Grain) Start(t int64) int64 {
	switch g {
	case GrainMonth:
		y, m, _ := time.Unix(t, 0).UTC().Date()
		return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC).Unix()
	case GrainDay:
		return t - t%(24*3600)
	default:
		return t - t%3600
	}
}

// next returns the start of the unit after the one starting at u.
func (g Grain) next(u int64) int64 {
	switch g {
	case GrainMonth:
		return time.Unix(u, 0).UTC().AddDate(0, 1, 0).Unix()
	case GrainDay:
		return u + 24*3600
	default:
		return u + 3600
	}
}

// Unbounded ends of a SummaryRange, in unix seconds.
const (
	NoFrom = math.MinInt64
	NoTo   = math.MaxInt64
)

// SummaryRange is one range [From, To) of unix seconds of one grain's
// rollup, whose sums are added (Sign 1) or subtracted (Sign -1).
type SummaryRange struct {
	Grain          Grain
	From, To, Sign int64
}

// PlanSummaryRanges returns ranges whose signed sums are the sums over the
// whole-hour window [from, to) (NoFrom and NoTo for an open end). At each
// grain, each bound moves to the nearer unit boundary; the grain's rollup
// serves the whole units between them and the next grain the pieces between
// each bound and where it moved (added when the boundary is inside the
// window, subtracted when outside). So a month reads one month of the
// monthly rollup, the days nearest its ends (at most about 15 at each) and
// the hours nearest its bounds (at most 12 at each), rather than a row per
// day or hour of each customer.
func PlanSummaryRanges(from, to int64) []SummaryRange {
	return planSummaryRanges(from, to, 1, GrainMonth, nil)
}

func planSummaryRanges(from, to, sign int64, g Grain, out []SummaryRange) []SummaryRange {
	if from >= to {
		return out
	}
	if g == GrainHour {
		return append(out, SummaryRange{g, from, to, sign})
	}
	nearest := func(t int64, unbounded bool) int64 {
		if unbounded {
			return t
		}
		u := g.Start(t)
		if n := g.next(u); t-u > n-t {
			return n
		}
		return u
	}
	a, b := nearest(from, from == NoFrom), nearest(to, to == NoTo)
	if a >= b {
		return planSummaryRanges(from, to, sign, g+1, out)
	}
	out = append(out, SummaryRange{g, a, b, sign})
	out = planSummaryRanges(from, a, sign, g+1, out)  // a moved forward: add [from, a)
	out = planSummaryRanges(a, from, -sign, g+1, out) // a moved back: subtract [a, from)
	out = planSummaryRanges(b, to, sign, g+1, out)    // b moved back: add [b, to)
	out = planSummaryRanges(to, b, -sign, g+1, out)   // b moved forward: subtract [to, b)
	return out
}

// WidenSummaryWindow returns the window [from, to) with an end made open
// (NoFrom, NoTo) where the rollups hold no hour beyond it: first and last
// are the first and last hours they hold, in unix seconds. The sums are the
// same, and an open end lets PlanSummaryRanges read the month's row rather
// than the days and hours near the bound: at the current end of a ledger,
// the admin API's default window (to the hour after the next) reads the
// current month's one row per customer and dimension, not up to 15 days
// and 12 hours of rows.
func WidenSummaryWindow(from, to, first, last int64) (int64, int64) {
	if from <= first {
		from = NoFrom
	}
	if to > last {
		to = NoTo
	}
	return from, to
}

// SummaryWindow returns f's bounds as PlanSummaryRanges takes them.
func SummaryWindow(f UsageFilter) (from, to int64) {
	from, to = NoFrom, NoTo
	if !f.From.IsZero() {
		from = f.From.Unix()
	}
	if !f.To.IsZero() {
		to = f.To.Unix()
	}
	return from, to
}

// FinishCustomerSummary drops the groups whose records all lie in
// subtracted ranges (so not in the window) from the signed sums of a
// planned summary by customer, and sorts the rest by customer and
// dimension, bytewise.
func FinishCustomerSummary(rows []UsageSummaryRow) []UsageSummaryRow {
	rows = slices.DeleteFunc(rows, func(r UsageSummaryRow) bool { return r.Records <= 0 })
	sortSummaryRows(rows)
	return rows
}

func sortSummaryRows(rows []UsageSummaryRow) {
	slices.SortFunc(rows, func(a, b UsageSummaryRow) int {
		if c := strings.Compare(a.Group, b.Group); c != 0 {
			return c
		}
		return strings.Compare(a.Dimension, b.Dimension)
	})
}

// AddSummaryRows returns the rows of a summary (sorted by group and
// dimension, bytewise) with the rows of tail added: the sums of the same
// group and dimension added up, new ones in their place. Stores whose
// rollups trail the ledger behind a watermark add the summary of the
// records after it (the tail) to what the rollups give.
func AddSummaryRows(rows, tail []UsageSummaryRow) []UsageSummaryRow {
	if len(tail) == 0 {
		return rows
	}
	type key struct{ group, dimension string }
	at := make(map[key]int, len(rows))
	for i, r := range rows {
		at[key{r.Group, r.Dimension}] = i
	}
	for _, t := range tail {
		if i, ok := at[key{t.Group, t.Dimension}]; ok {
			rows[i].Quantity += t.Quantity
			rows[i].Records += t.Records
			continue
		}
		at[key{t.Group, t.Dimension}] = len(rows)
		rows = append(rows, t)
	}
	sortSummaryRows(rows)
	return rows
}

// TagQuantity is a tag of a record and the quantity its allocations give
// it.
type TagQuantity struct {
	Tag
	Quantity int64
}

// RecordTags returns r's tags in the order they first appear, each with
// the quantity of the allocations that carry it (summed: two allocations
// may share a tag, team=a with env=x and team=a with env=y). They are the
// rows a store keeps for a summary by tag: a record counts once per tag.
func RecordTags(r *MeteringRecord) []TagQuantity {
	var out []TagQuantity
	var at map[Tag]int // out's index of each tag: a record may carry thousands
	for _, a := range r.Allocations {
		var q int64
		if a.AllocatedUsageQuantity != nil {
			q = *a.AllocatedUsageQuantity
		}
		for _, t := range a.Tags {
			if i, ok := at[t]; ok {
				out[i].Quantity += q
				continue
			}
			if at == nil {
				at = map[Tag]int{}
			}
			at[t] = len(out)
			out = append(out, TagQuantity{t, q})
		}
	}
	return out
}

// SummarizeTags is a summary by tag (key=value) and dimension of the
// records read calls fn with, sorted as a store sorts one. Stores sum a
// customer's records this way: read through the customer's rollup rows,
// they are a few thousand at most, where the ledger's tags are millions.
func SummarizeTags(read func(fn func(*MeteringRecord) error) error) ([]UsageSummaryRow, error) {
	type key struct{ group, dimension string }
	at := map[key]int{}
	var rows []UsageSummaryRow
	err := read(func(r *MeteringRecord) error {
		for _, t := range RecordTags(r) {
			k := key{t.Key + "=" + t.Value, r.Dimension}
			i, ok := at[k]
			if !ok {
				i = len(rows)
				at[k] = i
				rows = append(rows, UsageSummaryRow{Group: k.group, Dimension: k.dimension})
			}
			rows[i].Quantity += t.Quantity
			rows[i].Records++
		}
		return nil
	})
	sortSummaryRows(rows)
	return rows, err
}
