package postgres

import (
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/internal/meterdtest"
	"github.com/meterd/meterd/pgtest"
)

// recordColumns are metering_records' columns in the order of
// queueInsertRecords' arrays.
var recordColumns = []string{"id", "operation", "product_code", "customer_identifier", "customer_aws_account_id",
	"license_arn", "resource", "dimension", "hour", "timestamp", "quantity", "allocations", "caller_account_id",
	"caller_access_key_id", "client_token", "request_hash", "received_at", "seq"}

// copyInsertRecords is the alternative to queueInsertRecords that issue 18
// asked to measure: COPY the records into a temporary staging table of the
// connection, then INSERT ... SELECT ... ON CONFLICT from it.
func copyInsertRecords(b *testing.B, tx pgx.Tx, recs []*meterd.MeteringRecord, seqs []int64, allocs []string) int64 {
	ctx := b.Context()
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"staging_records"}, recordColumns, pgx.CopyFromSlice(len(recs), func(i int) ([]any, error) {
		r := recs[i]
		return []any{r.ID, r.Operation, r.ProductCode, r.CustomerIdentifier, r.CustomerAWSAccountID, r.LicenseArn,
			r.Resource, r.Dimension, ms(r.Hour), ms(r.Timestamp), r.Quantity, allocs[i], r.CallerAccountID,
			r.CallerAccessKeyID, r.ClientToken, r.RequestHash, ms(r.ReceivedAt), seqs[i]}, nil
	}))
	if err != nil {
		b.Fatal(err)
	}
	tag, err := tx.Exec(ctx, `INSERT INTO metering_records (seq, id, operation, product_code, customer_identifier,
			customer_aws_account_id, license_arn, resource, dimension, hour, timestamp, quantity, allocations,
			caller_account_id, caller_access_key_id, client_token, request_hash, received_at)
		SELECT seq, id, operation, product_code, customer_identifier, customer_aws_account_id, license_arn, resource,
			dimension, hour, timestamp, quantity, allocations, caller_account_id, caller_access_key_id, client_token,
			request_hash, received_at FROM staging_records
		ON CONFLICT (product_code, hour, dimension, resource) DO NOTHING`)
	if err != nil {
		b.Fatal(err)
	}
	return tag.RowsAffected()
}

// BenchmarkInsertRecords compares the records' insert of a group commit as
// one unnest statement (what write sends) and as a COPY into a staging
// table followed by INSERT ... SELECT, for groups of 25 to 2,000 new
// records: each op is a transaction of one group, committed, on one
// connection (the store's one writer), with the ledger_sequence update
// sent alongside as write does. It reports records/s and CPU per record of
// this process and of PostgreSQL.
//
//	go test -run '^$' -bench InsertRecords -benchtime 2s ./postgres/
func BenchmarkInsertRecords(b *testing.B) {
	c := pgtest.Start(b)
	for _, n := range []int{25, 100, 400, 2000} {
		for _, method := range []string{"unnest", "copy"} {
			b.Run(fmt.Sprintf("%d/%s", n, method), func(b *testing.B) {
				ctx := b.Context()
				s, err := Open(ctx, c.NewDatabase(b))
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				s.StopRoller()
				conn, err := s.pool.Acquire(ctx)
				if err != nil {
					b.Fatal(err)
				}
				defer conn.Release()
				if _, err := conn.Exec(ctx, `CREATE TEMP TABLE staging_records (LIKE metering_records) ON COMMIT DELETE ROWS`); err != nil {
					b.Fatal(err)
				}
				h0 := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
				groups := make([][]*meterd.MeteringRecord, b.N)
				for g := range groups {
					groups[g] = make([]*meterd.MeteringRecord, n)
					for i := range n {
						k := g*n + i
						groups[g][i] = &meterd.MeteringRecord{
							ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", k), Operation: meterd.OpBatchMeterUsage,
							ProductCode: "demo-product", CustomerIdentifier: fmt.Sprintf("cust-%d", k%400),
							Resource: fmt.Sprintf("cust-%d", k%400), Dimension: "requests", Hour: h0.Add(-time.Duration(k/400) * time.Hour),
							Timestamp: h0, Quantity: 1, CallerAccountID: "111122223333", CallerAccessKeyID: "test", ReceivedAt: h0,
						}
					}
				}
				allocs := make([]string, n)
				for i := range allocs {
					allocs[i] = meterd.CanonicalAllocations(nil)
				}
				seqs := make([]int64, n)
				b.ResetTimer()
				self0, pg0 := meterdtest.SelfCPU(b), meterdtest.FamilyCPU(c.PID())
				for g, recs := range groups {
					for i := range seqs {
						seqs[i] = int64(g*n + i + 1)
					}
					tx, err := conn.Begin(ctx)
					if err != nil {
						b.Fatal(err)
					}
					var stored int64
					if method == "unnest" {
						batch := &pgx.Batch{}
						batch.Queue("UPDATE ledger_sequence SET next = $1 WHERE id = 1", int64(g*n+n+1))
						queueInsertRecords(batch, recs, seqs, allocs).Exec(func(tag pgconn.CommandTag) error {
							stored = tag.RowsAffected()
							return nil
						})
						if err := tx.SendBatch(ctx, batch).Close(); err != nil {
							b.Fatal(err)
						}
					} else {
						if _, err := tx.Exec(ctx, "UPDATE ledger_sequence SET next = $1 WHERE id = 1", int64(g*n+n+1)); err != nil {
							b.Fatal(err)
						}
						stored = copyInsertRecords(b, tx, recs, seqs, allocs)
					}
					if stored != int64(n) {
						b.Fatalf("stored %d of %d records", stored, n)
					}
					if err := tx.Commit(ctx); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				perRecord := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(b.N*n) }
				b.ReportMetric(perRecord(meterdtest.SelfCPU(b)-self0), "store-cpu-µs/record")
				b.ReportMetric(perRecord(meterdtest.FamilyCPU(c.PID())-pg0), "postgres-cpu-µs/record")
				b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "records/s")
			})
		}
	}
}
