package sqlite_test

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"
)

// BenchmarkRecordKeys asks whether integer surrogates for product,
// customer and dimension (issue 18 item 1) would pay on SQLite, before any
// store code is changed: it writes records shaped like metering_records
// (every column, its duplicate key) and their usage_hourly rows (one per
// BatchMeterUsage record, the roller's largest share), 64 rows a statement
// and 400 records a transaction as a group commit of 16 requests would, in
// WAL mode with synchronous=FULL and the writer's 16 MiB cache, once with
// the text keys of today's schema and once with integer ids in the keys
// (the ids come from a map in memory, as a store would keep them). The
// records are meterd bench's: 400 customers, two dimensions, hours going
// back. text-no-hourly leaves the usage_hourly rows out, to show their
// share.
//
//	go test -run '^$' -bench RecordKeys -benchtime 200000x ./sqlite
func BenchmarkRecordKeys(b *testing.B) {
	b.Run("text", func(b *testing.B) { benchRecordKeys(b, false, true) })
	b.Run("integer", func(b *testing.B) { benchRecordKeys(b, true, true) })
	// What the hourly rollup costs: its key repeats the record's for a
	// BatchMeterUsage record, whose resource is its customer.
	b.Run("text-no-hourly", func(b *testing.B) { benchRecordKeys(b, false, false) })
}

func benchRecordKeys(b *testing.B, integer, withHourly bool) {
	db := benchDB(b, 16384)
	keyType := "TEXT"
	if integer {
		keyType = "INTEGER"
	}
	schema := strings.ReplaceAll(`CREATE TABLE metering_records (
		seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, operation TEXT NOT NULL,
		product_code $KEY NOT NULL, customer_identifier $KEY NOT NULL, customer_aws_account_id TEXT NOT NULL,
		license_arn TEXT NOT NULL, resource $KEY NOT NULL, dimension $KEY NOT NULL, hour INTEGER NOT NULL,
		timestamp_ms INTEGER NOT NULL, quantity INTEGER NOT NULL, allocations TEXT NOT NULL,
		caller_account_id TEXT NOT NULL, caller_access_key_id TEXT NOT NULL, client_token TEXT NOT NULL,
		request_hash TEXT NOT NULL, received_at_ms INTEGER NOT NULL,
		UNIQUE (product_code, hour, dimension, resource));
	CREATE TABLE usage_hourly (
		product_code $KEY NOT NULL, hour INTEGER NOT NULL, customer_identifier $KEY NOT NULL, dimension $KEY NOT NULL,
		quantity INTEGER NOT NULL, records INTEGER NOT NULL,
		PRIMARY KEY (product_code, hour, customer_identifier, dimension)) WITHOUT ROWID;`, "$KEY", keyType)
	if _, err := db.Exec(schema); err != nil {
		b.Fatal(err)
	}
	const perStmt, perTx = 64, 400
	prepare := func(head, row, tail string) *sql.Stmt {
		st, err := db.Prepare(head + " VALUES " + strings.TrimSuffix(strings.Repeat(row+",", perStmt), ",") + " " + tail)
		if err != nil {
			b.Fatal(err)
		}
		return st
	}
	insert := prepare(`INSERT INTO metering_records (id, operation, product_code, customer_identifier,
		customer_aws_account_id, license_arn, resource, dimension, hour, timestamp_ms, quantity, allocations,
		caller_account_id, caller_access_key_id, client_token, request_hash, received_at_ms)`,
		`(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		`ON CONFLICT (product_code, hour, dimension, resource) DO NOTHING RETURNING id, seq`)
	defer insert.Close()
	upsert := prepare(`INSERT INTO usage_hourly (product_code, hour, customer_identifier, dimension, quantity, records)`,
		`(?, ?, ?, ?, ?, ?)`,
		`ON CONFLICT (product_code, hour, customer_identifier, dimension) DO UPDATE SET quantity = quantity + excluded.quantity, records = records + excluded.records`)
	defer upsert.Close()
	ids := map[string]int64{}
	key := func(s string) any {
		if !integer {
			return s
		}
		id, ok := ids[s]
		if !ok {
			id = int64(len(ids) + 1)
			ids[s] = id
		}
		return id
	}
	dims := []string{"requests", "storage_gb"}
	start := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	var records, hourly []any
	n := 0
	b.ResetTimer()
	cpu0 := cpuTime(b)
	for n < b.N {
		tx, err := db.Begin()
		if err != nil {
			b.Fatal(err)
		}
		ins, ups := tx.Stmt(insert), tx.Stmt(upsert)
		for range (perTx + perStmt - 1) / perStmt {
			records, hourly = records[:0], hourly[:0]
			for range perStmt {
				customer := fmt.Sprintf("bench-c46179a2-%05d", n%400)
				dim := dims[n/400%2]
				hour := start.Add(-time.Duration(n/800) * time.Hour)
				records = append(records, fmt.Sprintf("0f6e2b1c-8d4a-4e3b-9c2d-%012d", n), "BatchMeterUsage",
					key("demo-product"), key(customer), "", "", key(customer), key(dim), hour.Unix(),
					hour.Add(time.Minute).UnixMilli(), 1, "", "111122223333", "AKIAEXAMPLE", "", "", hour.UnixMilli())
				hourly = append(hourly, key("demo-product"), hour.Unix(), key(customer), key(dim), 1, 1)
				n++
			}
			rows, err := ins.Query(records...)
			if err != nil {
				b.Fatal(err)
			}
			for rows.Next() {
				var id string
				var seq int64
				if err := rows.Scan(&id, &seq); err != nil {
					b.Fatal(err)
				}
			}
			if err := rows.Close(); err != nil {
				b.Fatal(err)
			}
			if withHourly {
				if _, err := ups.Exec(hourly...); err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/float64(n), "cpu-µs/record")
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
	var pages int64
	if err := db.QueryRow(`SELECT page_count FROM pragma_page_count()`).Scan(&pages); err == nil {
		b.ReportMetric(float64(pages*4096)/float64(n), "bytes/record")
	}
}
