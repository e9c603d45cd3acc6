package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/meterd/meterd/internal/meterdtest"
)

// cannedBatchResponse is a BatchMeterUsage answer of 25 Success results,
// shaped and sized like meterd's own.
func cannedBatchResponse() []byte {
	var b strings.Builder
	b.WriteString(`{"Results":[`)
	for i := range 25 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"MeteringRecordId":"0f6e2b1c-8d4a-4e3b-9c2d-%012d","Status":"Success",`+
			`"UsageRecord":{"CustomerIdentifier":"bench-c46179a2-%05d","Dimension":"requests","Quantity":1,"Timestamp":1763900000.123}}`, i, i)
	}
	b.WriteString(`],"UnprocessedRecords":[]}`)
	return []byte(b.String())
}

// BenchmarkLoadGeneratorCeiling measures the load generator alone: meterd
// bench's SDK client at concurrency 16 against a server that reads each
// request and answers from memory, storing and checking nothing. Its
// records/s is the most any server can be measured at on this machine, and
// cpu-µs/record (client and canned server, from getrusage) is what the load
// generator takes from the cores a server shares with it:
//
//	go test -run '^$' -bench LoadGeneratorCeiling -benchtime 100000x ./cmd/meterd
func BenchmarkLoadGeneratorCeiling(b *testing.B) {
	body := cannedBatchResponse()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-Requestid", "7c2e9f5a-3b1d-4c8e-9a6f-2d4b8e1c5f7a")
		w.Write(body)
	}))
	defer srv.Close()
	cfg, err := parseBench([]string{"--endpoint", srv.URL, "-c", "16", "-n", fmt.Sprint(b.N)}, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	bench := newBench(cfg)
	cpu0 := meterdtest.SelfCPU(b)
	b.ResetTimer()
	res := bench.run(b.Context())
	b.StopTimer()
	cpu := meterdtest.SelfCPU(b) - cpu0
	if len(res.errors) > 0 {
		b.Fatalf("errors: %v", res.errors)
	}
	if res.records != int64(b.N)*25 {
		b.Fatalf("records = %d, want %d", res.records, b.N*25)
	}
	b.ReportMetric(float64(res.records)/res.elapsed.Seconds(), "records/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(res.records), "cpu-µs/record")
	b.ReportMetric(cpu.Seconds()/res.elapsed.Seconds(), "cores")
}
