package admin

import (
	"bytes"
	"net/http/httptest"
	"testing"
)

// TestWriteSummaryJSON checks that the hand-written summary JSON is byte for
// byte what the JSON encoder writes for the same rows.
func TestWriteSummaryJSON(t *testing.T) {
	tests := []struct {
		name string
		rows []SummaryRow
	}{
		{name: "empty", rows: []SummaryRow{}},
		{name: "one row", rows: []SummaryRow{{By: "customer", Group: "c-1", Quantity: 7, Records: 2}}},
		{name: "amounts and escapes", rows: []SummaryRow{
			{By: "tag", Group: `team=a"b\c`, Quantity: 1, Records: 1, Amount: "0.25"},
			{By: "tag", Group: "<html>&\x01\u00e9\u2028", Quantity: -3, Records: 9, Amount: "12"},
			{By: "hour", Group: "2026-11-23T07:00:00Z", Quantity: 1 << 62, Records: 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := httptest.NewRecorder()
			if err := writeJSON(want, 200, tt.rows); err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := writeSummaryJSON(&got, tt.rows); err != nil {
				t.Fatalf("writeSummaryJSON = %v, want nil", err)
			}
			if got.String() != want.Body.String() {
				t.Errorf("writeSummaryJSON =\n%s\nwant (encoding/json)\n%s", got.String(), want.Body.String())
			}
		})
	}
}
