package main

import (
	"bytes"
	"io"
	"strconv"
	"testing"
)

// writeCounter counts the Write calls that reach it.
type writeCounter struct {
	bytes.Buffer
	writes int
}

func (w *writeCounter) Write(p []byte) (int, error) {
	w.writes++
	return w.Buffer.Write(p)
}

// TestPrintBuffered checks that a big table reaches stdout in a few writes
// and reads as print writes it, in each output format.
func TestPrintBuffered(t *testing.T) {
	tab := &table{header: []string{"customer", "quantity", "records", "amount"}}
	var rows []map[string]string
	for i := range 5000 {
		tab.add("customer-"+strconv.Itoa(i), strconv.Itoa(i*7), "3", "")
		rows = append(rows, map[string]string{"customer": "customer-" + strconv.Itoa(i)})
	}
	for _, output := range []string{"table", "csv", "json"} {
		t.Run(output, func(t *testing.T) {
			var want bytes.Buffer
			if err := (&cli{stdout: &want, stderr: io.Discard, output: output}).print(rows, tab); err != nil {
				t.Fatal(err)
			}
			got := &writeCounter{}
			if err := (&cli{stdout: got, stderr: io.Discard, output: output}).printBuffered(rows, tab); err != nil {
				t.Fatalf("printBuffered = %v, want nil", err)
			}
			if got.String() != want.String() {
				t.Errorf("printBuffered wrote %d bytes that differ from print's %d", got.Len(), want.Len())
			}
			if max := want.Len()/(64<<10) + 2; got.writes > max {
				t.Errorf("printBuffered made %d writes for %d bytes, want at most %d", got.writes, got.Len(), max)
			}
		})
	}
}

// TestWriteCSVNeutralisesFormulas checks that --output csv prefixes a cell
// starting with a formula character with a quote (OWASP's rule against CSV
// injection), so that a tag or customer never runs in a spreadsheet.
func TestWriteCSVNeutralisesFormulas(t *testing.T) {
	tab := &table{header: []string{"tag", "quantity"}}
	tab.add("=cmd|'/c calc'!A1", "7")
	tab.add("team=a", "3")
	var b bytes.Buffer
	if err := writeCSV(&b, tab); err != nil {
		t.Fatalf("writeCSV = %v, want nil", err)
	}
	if want := "tag,quantity\n'=cmd|'/c calc'!A1,7\nteam=a,3\n"; b.String() != want {
		t.Errorf("writeCSV = %q, want %q", b.String(), want)
	}
}
