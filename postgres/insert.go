package postgres

import (
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/meterd/meterd"
)

// The inserts of a commit pass one array per column and unnest them, so
// that a group of any size is one statement per table.

// queueInsertRecords queues the insert of new records with the given seqs.
// ON CONFLICT DO NOTHING leaves a key stored by another writer in place;
// write notices the missing row.
func queueInsertRecords(b *pgx.Batch, recs []*meterd.MeteringRecord, seqs []int64, allocs []string) *pgx.QueuedQuery {
	n := len(recs)
	var (
		ids, ops, products, customers, accounts, licenses = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		resources, dimensions, callers, keys, tokens      = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		hashes                                            = make([]string, n)
		hours, stamps, received                           = make([]time.Time, n), make([]time.Time, n), make([]time.Time, n)
		quantities                                        = make([]int64, n)
	)
	for i, r := range recs {
		ids[i], ops[i], products[i], customers[i], accounts[i], licenses[i] = r.ID, r.Operation, r.ProductCode, r.CustomerIdentifier, r.CustomerAWSAccountID, r.LicenseArn
		resources[i], dimensions[i], callers[i], keys[i], tokens[i] = r.Resource, r.Dimension, r.CallerAccountID, r.CallerAccessKeyID, r.ClientToken
		hashes[i] = r.RequestHash
		hours[i], stamps[i], received[i] = ms(r.Hour), ms(r.Timestamp), ms(r.ReceivedAt)
		quantities[i] = r.Quantity
	}
	return b.Queue(`INSERT INTO metering_records (id, operation, product_code, customer_identifier, customer_aws_account_id,
			license_arn, resource, dimension, hour, timestamp, quantity, allocations, caller_account_id, caller_access_key_id,
			client_token, request_hash, received_at, seq)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
			$9::timestamptz[], $10::timestamptz[], $11::bigint[], $12::text[], $13::text[], $14::text[], $15::text[],
			$16::text[], $17::timestamptz[], $18::bigint[])
		ON CONFLICT (product_code, hour, dimension, resource) DO NOTHING`,
		ids, ops, products, customers, accounts, licenses, resources, dimensions, hours, stamps, quantities, allocs,
		callers, keys, tokens, hashes, received, seqs)
}

// queueInsertTags queues one usage_tags row per new record (of the given
// seqs) and tag key=value, with the quantity allocated to it (summed when
// several of the record's allocations carry the tag).
func queueInsertTags(b *pgx.Batch, recs []*meterd.MeteringRecord, seqs []int64) {
	var tagSeqs, quantities []int64
	var keys, values []string
	for i, r := range recs {
		for _, t := range meterd.RecordTags(r) {
			tagSeqs = append(tagSeqs, seqs[i])
			keys, values, quantities = append(keys, t.Key), append(values, t.Value), append(quantities, t.Quantity)
		}
	}
	if len(tagSeqs) == 0 {
		return
	}
	b.Queue(`INSERT INTO usage_tags (seq, key, value, quantity)
		SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[])`,
		tagSeqs, keys, values, quantities)
}

// queueHourly queues the update of the hourly rollup by the new records.
func queueHourly(b *pgx.Batch, hourly map[hourlyKey]hourlySum) {
	var products, customers, dimensions []string
	var hours []time.Time
	var quantities, records []int64
	for k, s := range hourly {
		products, customers, dimensions = append(products, k.product), append(customers, k.customer), append(dimensions, k.dimension)
		hours = append(hours, time.Unix(k.hour, 0).UTC())
		quantities, records = append(quantities, s.quantity), append(records, s.records)
	}
	b.Queue(`INSERT INTO usage_hourly (product_code, hour, customer_identifier, dimension, quantity, records)
		SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::bigint[], $6::bigint[])
		ON CONFLICT (product_code, hour, customer_identifier, dimension) DO UPDATE SET
			quantity = usage_hourly.quantity + excluded.quantity, records = usage_hourly.records + excluded.records`,
		products, hours, customers, dimensions, quantities, records)
	queueDimensionHourly(b, hourly)
	queueCustomerRollup(b, hourly, meterd.GrainDay)
	queueCustomerRollup(b, hourly, meterd.GrainMonth)
}

// queueCustomerRollup queues the update of grain's rollup by customer
// (usage_customer_daily or usage_customer_monthly) by the new records: one
// multi-row upsert of hourly summed per unit of the grain, since one INSERT ... ON CONFLICT may not
// touch the same row twice. Like every write of the commit it runs after
// the ledger_sequence lock, so the upserts of two processes on the same
// row never interleave (and cannot deadlock).
func queueCustomerRollup(b *pgx.Batch, hourly map[hourlyKey]hourlySum, grain meterd.Grain) {
	table, column := grainTables[grain].table, grainTables[grain].column
	sums := make(map[hourlyKey]hourlySum, len(hourly))
	for k, s := range hourly {
		k.hour = grain.Start(k.hour)
		u := sums[k]
		sums[k] = hourlySum{quantity: u.quantity + s.quantity, records: u.records + s.records}
	}
	var products, customers, dimensions []string
	var units []time.Time
	var quantities, records []int64
	for k, s := range sums {
		products, customers, dimensions = append(products, k.product), append(customers, k.customer), append(dimensions, k.dimension)
		units = append(units, time.Unix(k.hour, 0).UTC())
		quantities, records = append(quantities, s.quantity), append(records, s.records)
	}
	b.Queue(`INSERT INTO `+table+` (product_code, `+column+`, customer_identifier, dimension, quantity, records)
		SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::bigint[], $6::bigint[])
		ON CONFLICT (product_code, `+column+`, customer_identifier, dimension) DO UPDATE SET
			quantity = `+table+`.quantity + excluded.quantity, records = `+table+`.records + excluded.records`,
		products, units, customers, dimensions, quantities, records)
}

// dimensionHourKey is a row of usage_dimension_hourly.
type dimensionHourKey struct {
	product, dimension string
	hour               int64 // unix seconds of the hour
}

// queueDimensionHourly queues the update of the per-dimension hourly rollup
// by the new records, summing hourly over customers first: one INSERT ...
// ON CONFLICT may not touch the same row twice. The rows' seq bounds take
// the lowest and highest seq added (none, NULL, when records are taken
// out: least and greatest skip it).
func queueDimensionHourly(b *pgx.Batch, hourly map[hourlyKey]hourlySum) {
	sums := map[dimensionHourKey]hourlySum{}
	for k, s := range hourly {
		dk := dimensionHourKey{k.product, k.dimension, k.hour}
		d := sums[dk]
		first := s.firstSeq
		if d.firstSeq != 0 && (first == 0 || d.firstSeq < first) {
			first = d.firstSeq
		}
		sums[dk] = hourlySum{d.quantity + s.quantity, d.records + s.records, first, max(d.lastSeq, s.lastSeq)}
	}
	var products, dimensions []string
	var hours []time.Time
	var quantities, records, firsts, lasts []int64
	for k, s := range sums {
		products, dimensions = append(products, k.product), append(dimensions, k.dimension)
		hours = append(hours, time.Unix(k.hour, 0).UTC())
		quantities, records = append(quantities, s.quantity), append(records, s.records)
		firsts, lasts = append(firsts, s.firstSeq), append(lasts, s.lastSeq)
	}
	b.Queue(`INSERT INTO usage_dimension_hourly (product_code, dimension, hour, quantity, records, first_seq, last_seq)
		SELECT p, d, h, q, r, nullif(f, 0), nullif(l, 0)
		FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[]) AS u(p, d, h, q, r, f, l)
		ON CONFLICT (product_code, dimension, hour) DO UPDATE SET
			quantity = usage_dimension_hourly.quantity + excluded.quantity,
			records = usage_dimension_hourly.records + excluded.records,
			first_seq = least(usage_dimension_hourly.first_seq, excluded.first_seq),
			last_seq = greatest(usage_dimension_hourly.last_seq, excluded.last_seq)`,
		products, dimensions, hours, quantities, records, firsts, lasts)
}

// queueInsertTokens queues the client tokens of committed records, each
// answering with the id in ids.
func queueInsertTokens(b *pgx.Batch, recs []*meterd.MeteringRecord, ids []string) *pgx.QueuedQuery {
	accounts, tokens, hashes, created := make([]string, len(recs)), make([]string, len(recs)), make([]string, len(recs)), make([]time.Time, len(recs))
	for i, r := range recs {
		accounts[i], tokens[i], hashes[i], created[i] = r.CallerAccountID, r.ClientToken, r.RequestHash, ms(r.ReceivedAt)
	}
	return b.Queue(`INSERT INTO client_tokens (caller_account_id, client_token, request_hash, record_id, created_at)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])
		ON CONFLICT (caller_account_id, client_token) DO NOTHING`, accounts, tokens, hashes, ids, created)
}
