package csvsafe_test

import (
	"encoding/csv"
	"strings"
	"testing"

	"github.com/meterd/meterd/internal/csvsafe"
)

func TestCell(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"Plain", "cust-1", "cust-1"},
		{"Empty", "", ""},
		{"Number", "42", "42"},
		{"Equals", "=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"},
		{"Plus", "+1+1", "'+1+1"},
		{"Minus", "-2+3", "'-2+3"},
		{"At", "@SUM(A1)", "'@SUM(A1)"},
		{"Tab", "\t=1", "'\t=1"},
		{"CarriageReturn", "\r=1", "'\r=1"},
		{"Quote", "'=1", "''=1"},
		{"QuoteAlone", "'", "''"},
		{"Inside", "team==a", "team==a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := csvsafe.Cell(tt.in); got != tt.want {
				t.Errorf("Cell(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if got := csvsafe.Uncell(tt.want); got != tt.in {
				t.Errorf("Uncell(%q) = %q, want %q", tt.want, got, tt.in)
			}
		})
	}
}

func TestWriter(t *testing.T) {
	var b strings.Builder
	w := csvsafe.NewWriter(&b)
	rec := []string{"=1+1", "ok", "@x"}
	if err := w.WriteAll([][]string{{"group", "quantity"}, rec}); err != nil {
		t.Fatalf("WriteAll = %v, want nil", err)
	}
	if want := "group,quantity\n'=1+1,ok,'@x\n"; b.String() != want {
		t.Errorf("written = %q, want %q", b.String(), want)
	}
	if rec[0] != "=1+1" {
		t.Errorf("Write modified its record: %q", rec)
	}
}

// FuzzCell checks that Uncell inverts Cell, that no cell Cell returns
// starts with a formula character, and that the CSV round trip keeps it.
func FuzzCell(f *testing.F) {
	for _, s := range []string{"", "=1", "'", "''=", "-", "\t", "a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := csvsafe.Cell(s)
		if got := csvsafe.Uncell(c); got != s {
			t.Fatalf("Uncell(Cell(%q)) = %q", s, got)
		}
		if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			t.Fatalf("Cell(%q) = %q starts with a formula character", s, c)
		}
		var b strings.Builder
		w := csvsafe.NewWriter(&b)
		if err := w.WriteAll([][]string{{s}}); err != nil {
			return // csv refuses nothing, but an error is not this target's concern
		}
		recs, err := csv.NewReader(strings.NewReader(b.String())).ReadAll()
		if err != nil || len(recs) != 1 || len(recs[0]) != 1 {
			return // encoding/csv does not round-trip every string (a lone "\r", an empty line)
		}
		if got := csvsafe.Uncell(recs[0][0]); got != s && !strings.ContainsRune(s, '\r') {
			t.Fatalf("CSV round trip of %q = %q", s, got)
		}
	})
}
