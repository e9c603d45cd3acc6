package admin

import (
	"encoding/csv"
	"reflect"
	"strings"
	"testing"

	"github.com/meterd/meterd"
)

// TestCSVNeutralisesFormulas checks OWASP's rule against CSV injection on
// the admin API's CSV: a customer identifier or tag starting with '=', '+',
// '-' or '@' reaches the usage export and the summaries as a cell prefixed
// with a quote, and the client reads the summary back unquoted.
func TestCSVNeutralisesFormulas(t *testing.T) {
	f := newFixture(t)
	f.commit(t, record("=HYPERLINK(\"http://evil\")", "requests", meterd.Hour(t0), 7, meterd.Tag{Key: "@team", Value: "-a"}))

	_, body := f.raw(t, "GET", "/admin/v1/usage?format=csv", "Bearer "+testToken, "")
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	must(t, "read export CSV", err)
	if len(rows) != 2 || rows[1][3] != "'=HYPERLINK(\"http://evil\")" {
		t.Errorf("export CSV = %q, want the customer cell prefixed with a quote", rows)
	}

	for _, tt := range []struct{ by, cell, group, dimension string }{
		{"tag", "'@team=-a", "@team=-a", ""},
		{"customer", "'=HYPERLINK(\"http://evil\")", "=HYPERLINK(\"http://evil\")", "requests"},
	} {
		t.Run(tt.by, func(t *testing.T) {
			_, body := f.raw(t, "GET", "/admin/v1/usage/summary?format=csv&by="+tt.by, "Bearer "+testToken, "")
			rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
			must(t, "read summary CSV", err)
			if len(rows) != 2 || rows[1][0] != tt.cell {
				t.Errorf("summary CSV by %s = %q, want the group cell %q", tt.by, rows, tt.cell)
			}
			got, err := f.c.UsageSummary(f.ctx, UsageQuery{}, tt.by)
			must(t, "UsageSummary", err)
			want := []SummaryRow{{By: tt.by, Group: tt.group, Dimension: tt.dimension, Quantity: 7, Records: 1}}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("UsageSummary(by %s) = %+v, want %+v", tt.by, got, want)
			}
		})
	}
}
