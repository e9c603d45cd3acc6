package admin

import (
	"bufio"
	"encoding/json"
	"io"
	"strconv"
)

// WriteSummaryJSON writes rows as a json.Encoder indenting by two spaces
// would (an indented array of SummaryRow.MarshalJSON objects), byte for
// byte, but in one pass through a buffer: a summary by customer has tens of
// thousands of rows, and the encoder's path (a MarshalJSON call per row,
// then validating and re-indenting its output) cost more than reading them
// from the store.
func WriteSummaryJSON(w io.Writer, rows []SummaryRow) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if len(rows) == 0 {
		bw.WriteString("[]\n")
		return bw.Flush()
	}
	var b []byte
	for i, r := range rows {
		b = b[:0]
		if i == 0 {
			b = append(b, "[\n"...)
		}
		b = append(b, "  {\n    "...)
		b = appendJSONString(b, r.By)
		b = append(b, ": "...)
		b = appendJSONString(b, r.Group)
		if r.Dimension != "" {
			b = append(b, ",\n    \"dimension\": "...)
			b = appendJSONString(b, r.Dimension)
		}
		b = append(b, ",\n    \"quantity\": "...)
		b = strconv.AppendInt(b, r.Quantity, 10)
		b = append(b, ",\n    \"records\": "...)
		b = strconv.AppendInt(b, r.Records, 10)
		if r.Amount != "" {
			b = append(b, ",\n    \"amount\": "...)
			b = appendJSONString(b, r.Amount)
		}
		b = append(b, "\n  }"...)
		if i < len(rows)-1 {
			b = append(b, ",\n"...)
		} else {
			b = append(b, "\n]\n"...)
		}
		if _, err := bw.Write(b); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// appendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it (HTML characters included).
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
