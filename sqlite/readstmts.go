package sqlite

import (
	"context"
	"database/sql"
)

// readQueries are the catalog reads of every Metering API request (its
// access key, product and customers). They are prepared once on the read
// pool, which keeps them prepared on each connection it opens: parsing
// them anew for each request was a fifth of the server's CPU under
// MeterUsage load.
var readQueries = struct {
	accessKey, product, customer, customerByAccount, customersByKeys string
}{
	accessKey: `SELECT ` + accessKeyColumns + ` FROM access_keys WHERE id = ?`,
	// One statement reads the product with its dimensions (NULL for a
	// product without any), so it needs no transaction for a snapshot.
	product: `SELECT p.code, p.seller_account_id, p.type, p.regions, p.fulfillment_url, p.created_at_ms, p.entity_id,
			p.concurrent_agreements, d.name, d.unit, d.price, d.contract, d.value_type
		FROM products p LEFT JOIN dimensions d ON d.product_code = p.code
		WHERE p.code = ? ORDER BY d.position`,
	customer: `SELECT ` + customerColumns + ` FROM customers
		WHERE product_code = ? AND customer_identifier = ?`,
	customerByAccount: `SELECT ` + customerColumns + ` FROM customers
		WHERE product_code = ? AND customer_aws_account_id = ? AND customer_aws_account_id <> ''`,
	// A UNION of two index searches: with an OR, SQLite scans every
	// customer of the product. INDEXED BY because the planner, without
	// statistics, prefers the primary key's product_code prefix.
	customersByKeys: `SELECT ` + customerColumns + ` FROM customers
		WHERE product_code = ?1 AND customer_identifier IN (SELECT value FROM json_each(?2))
		UNION
		SELECT ` + customerColumns + ` FROM customers INDEXED BY customers_account
		WHERE product_code = ?1 AND customer_aws_account_id <> ''
			AND customer_aws_account_id IN (SELECT value FROM json_each(?3))
		ORDER BY customer_identifier`,
}

// readStmts are the prepared statements of readQueries, on the read pool.
type readStmts struct {
	accessKey, product, customer, customerByAccount, customersByKeys *sql.Stmt
}

func prepareReadStmts(ctx context.Context, db *sql.DB) (*readStmts, error) {
	var st readStmts
	p := preparer{ctx: ctx, db: db}
	q := readQueries
	st.accessKey, st.product, st.customer = p.prep(q.accessKey), p.prep(q.product), p.prep(q.customer)
	st.customerByAccount, st.customersByKeys = p.prep(q.customerByAccount), p.prep(q.customersByKeys)
	if p.err != nil {
		st.close()
		return nil, p.err
	}
	return &st, nil
}

func (st *readStmts) close() {
	closeStmts(st.accessKey, st.product, st.customer, st.customerByAccount, st.customersByKeys)
}
