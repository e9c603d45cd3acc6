package admin

import (
	"bytes"
	"encoding/json"
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
			if err := WriteSummaryJSON(&got, tt.rows); err != nil {
				t.Fatalf("WriteSummaryJSON = %v, want nil", err)
			}
			if got.String() != want.Body.String() {
				t.Errorf("WriteSummaryJSON =\n%s\nwant (encoding/json)\n%s", got.String(), want.Body.String())
			}
		})
	}
}

// TestSummaryRowMarshalJSON checks MarshalJSON against encoding/json's own
// encoding of the group and of summaryRowWire.
func TestSummaryRowMarshalJSON(t *testing.T) {
	tests := []struct {
		name string
		row  SummaryRow
	}{
		{name: "plain", row: SummaryRow{By: "customer", Group: "c-1", Quantity: 7, Records: 2}},
		{name: "amount", row: SummaryRow{By: "dimension", Group: "requests", Quantity: 36, Records: 3, Amount: "0.0036"}},
		{name: "escapes", row: SummaryRow{By: "tag", Group: "k=<\"v\">&\n\u00e9", Quantity: -1, Records: 1, Amount: "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			by, _ := json.Marshal(tt.row.By)
			group, _ := json.Marshal(tt.row.Group)
			rest, _ := json.Marshal(summaryRowWire{tt.row.Quantity, tt.row.Records, tt.row.Amount})
			want := "{" + string(by) + ":" + string(group) + "," + string(rest[1:])
			got, err := tt.row.MarshalJSON()
			if err != nil || string(got) != want {
				t.Errorf("MarshalJSON() = %s, %v; want %s", got, err, want)
			}
			var back SummaryRow
			if err := json.Unmarshal(got, &back); err != nil || back != tt.row {
				t.Errorf("Unmarshal(MarshalJSON()) = %+v, %v; want %+v", back, err, tt.row)
			}
		})
	}
}
