// Package csvsafe writes CSV that a spreadsheet opens as data, never as
// formulas: OWASP's rule against CSV injection, in one place for every CSV
// meterd writes (usage exports, summaries, the relay's reports).
//
// A cell that starts with '=', '+', '-', '@', a tab or a carriage return is
// prefixed with a single quote, which spreadsheets take as "text follows".
// A cell that already starts with a quote is prefixed too, so that Uncell
// gives back exactly what Cell was given: meterd's own clients read the CSV
// they asked for back into values.
package csvsafe

import (
	"encoding/csv"
	"io"
)

// risky reports whether a cell starting with b must be prefixed.
func risky(b byte) bool {
	switch b {
	case '=', '+', '-', '@', '\t', '\r', '\'':
		return true
	}
	return false
}

// Cell returns s as a CSV cell that no spreadsheet evaluates.
func Cell(s string) string {
	if s != "" && risky(s[0]) {
		return "'" + s
	}
	return s
}

// Uncell is the inverse of Cell: it drops the quote Cell added.
func Uncell(s string) string {
	if len(s) >= 2 && s[0] == '\'' && risky(s[1]) {
		return s[1:]
	}
	return s
}

// Writer is a csv.Writer whose cells go through Cell.
type Writer struct {
	w   *csv.Writer
	row []string
}

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: csv.NewWriter(w)}
}

// Write writes one record, each cell through Cell. The record is not
// modified.
func (w *Writer) Write(record []string) error {
	w.row = w.row[:0]
	for _, c := range record {
		w.row = append(w.row, Cell(c))
	}
	return w.w.Write(w.row)
}

// WriteAll writes records and flushes.
func (w *Writer) WriteAll(records [][]string) error {
	for _, r := range records {
		if err := w.Write(r); err != nil {
			return err
		}
	}
	w.w.Flush()
	return w.w.Error()
}

// Flush writes buffered data to the underlying writer.
func (w *Writer) Flush() { w.w.Flush() }

// Error reports an error from a previous Write or Flush.
func (w *Writer) Error() error { return w.w.Error() }
