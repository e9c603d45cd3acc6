package awsjson

import (
	"fmt"
	"strings"
	"testing"

	"github.com/meterd/meterd"
)

// BenchmarkServeHTTPBatchMeterUsage measures the protocol cost of a
// 25-record BatchMeterUsage request (the operation itself is a fixture).
func BenchmarkServeHTTPBatchMeterUsage(b *testing.B) {
	var recs []string
	for i := range 25 {
		recs = append(recs, fmt.Sprintf(`{"CustomerIdentifier":"cust-%d","Dimension":"requests","Quantity":%d,"Timestamp":1767323045.678}`, i, i))
	}
	body := `{"ProductCode":"demo-product","UsageRecords":[` + strings.Join(recs, ",") + `]}`
	h, _ := newTestHandler(&fakeService{echo: true})
	b.ReportAllocs()
	for b.Loop() {
		w := serve(h, newRequest(meterd.OpBatchMeterUsage, body))
		if w.Code != 200 {
			b.Fatalf("status = %d", w.Code)
		}
	}
}
