package cluster_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	mm "github.com/aws/aws-sdk-go-v2/service/marketplacemetering"
	"github.com/aws/aws-sdk-go-v2/service/marketplacemetering/types"

	"github.com/meterd/meterd/internal/meterdtest"
)

// Ingest benchmark shape (the project's performance targets, README): 16 concurrent
// Go SDK clients, 25 distinct records per BatchMeterUsage request.
const (
	benchClients   = 16
	benchBatch     = 25
	benchCustomers = 16
	// benchWindow is the server's --past-window: ten years of hours make
	// room for benchCustomers*2*87600 distinct keys, about 2.8 million.
	benchWindow = 87600 * time.Hour
)

// BenchmarkIngestSQLite measures BatchMeterUsage ingest through the meterd
// binary on its embedded SQLite store.
func BenchmarkIngestSQLite(b *testing.B) {
	benchIngest(b, 0, "--store", "sqlite")
}

// BenchmarkIngestPostgres measures BatchMeterUsage ingest through the meterd
// binary on PostgreSQL over loopback.
func BenchmarkIngestPostgres(b *testing.B) {
	benchIngest(b, cluster.PID(), "--store", cluster.NewDatabase(b))
}

// benchCatalog writes a catalog with the demo seller and a product with
// benchCustomers customers, and returns its path.
func benchCatalog(b *testing.B) string {
	b.Helper()
	var sb strings.Builder
	sb.WriteString(`accounts:
  - id: "111122223333"
    access_keys:
      - {id: test, secret: test}
products:
  - code: demo-product
    seller: "111122223333"
    type: saas
    dimensions:
      - {name: requests}
      - {name: storage_gb}
    customers:
`)
	for i := range benchCustomers {
		fmt.Fprintf(&sb, "      - {customer_identifier: bench-%02d}\n", i)
	}
	path := filepath.Join(b.TempDir(), "catalog.yaml")
	if err := os.WriteFile(path, []byte(sb.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	return path
}

// benchIngest starts one server with the store flags and runs the load as a
// sub-benchmark, so that the server is started once however many times the
// testing package runs the load. It reports records/s.
//
// Besides records/s it reports the CPU time per record of the load
// generator (this process), of meterd and, given the pid of a PostgreSQL
// server (postmaster, 0 for none), of PostgreSQL: on a machine
// they share, their sum bounds the records/s its cores allow.
func benchIngest(b *testing.B, postmaster int, storeFlags ...string) {
	bin := meterdtest.Build(b)
	args := append(storeFlags, "--catalog", benchCatalog(b), "--past-window", benchWindow.String(),
		"--admin-token", adminToken)
	srv := meterdtest.Serve(b, bin, args...)
	client := newClient(srv.URL, sellerKey, sellerSecret, clientOptions{conns: 2 * benchClients})
	base := time.Now().UTC().Truncate(time.Hour)
	keys := int64(benchCustomers * 2 * (benchWindow/time.Hour - 2))
	var next atomic.Int64 // next record number, across runs: keys never repeat

	// record returns record number n; consecutive numbers are distinct keys.
	record := func(n int64) types.UsageRecord {
		customer := fmt.Sprintf("bench-%02d", n%benchCustomers)
		dimension := []string{"requests", "storage_gb"}[(n/benchCustomers)%2]
		hour := base.Add(-time.Duration(1+n/(2*benchCustomers)) * time.Hour)
		return usageRecord(customer, dimension, hour.Add(time.Minute), int32(1+n%100))
	}

	b.Run(fmt.Sprintf("c%dx%d", benchClients, benchBatch), func(b *testing.B) {
		if next.Load()+int64(b.N*benchBatch) > keys {
			b.Fatalf("%d more records would exceed the %d distinct keys; use a shorter -benchtime", b.N*benchBatch, keys)
		}
		var requests atomic.Int64
		var wg sync.WaitGroup
		client0, meterd0, pg0 := meterdtest.SelfCPU(b), meterdtest.ProcessCPU(srv.PID(), false), time.Duration(0)
		if postmaster != 0 {
			pg0 = meterdtest.FamilyCPU(postmaster)
		}
		b.ResetTimer()
		for range benchClients {
			wg.Go(func() {
				recs := make([]types.UsageRecord, benchBatch)
				for requests.Add(1) <= int64(b.N) {
					first := next.Add(benchBatch) - benchBatch
					for i := range recs {
						recs[i] = record(first + int64(i))
					}
					out, err := client.BatchMeterUsage(b.Context(), &mm.BatchMeterUsageInput{
						ProductCode: aws.String(product), UsageRecords: recs})
					if err == nil {
						err = checkAllSuccess(out, benchBatch)
					}
					if err != nil {
						b.Errorf("BatchMeterUsage = %v", err)
						return
					}
				}
			})
		}
		wg.Wait()
		b.StopTimer()
		records := float64(b.N * benchBatch)
		b.ReportMetric(records/b.Elapsed().Seconds(), "records/s")
		perRecord := func(d time.Duration) float64 { return float64(d.Microseconds()) / records }
		b.ReportMetric(perRecord(meterdtest.SelfCPU(b)-client0), "client-cpu-µs/record")
		b.ReportMetric(perRecord(meterdtest.ProcessCPU(srv.PID(), false)-meterd0), "meterd-cpu-µs/record")
		if postmaster != 0 {
			b.ReportMetric(perRecord(meterdtest.FamilyCPU(postmaster)-pg0), "postgres-cpu-µs/record")
		}
	})
}
