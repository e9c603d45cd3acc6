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
	product: `SELECT p.code, p.seller_account_id, p.type, p.regions, p.fulfillment_url, p.created_at_ms, d.name, d.unit, d.price
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
	var err error
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var s *sql.Stmt
		s, err = db.PrepareContext(ctx, q)
		return s
	}
	q := readQueries
	st.accessKey, st.product, st.customer = prep(q.accessKey), prep(q.product), prep(q.customer)
	st.customerByAccount, st.customersByKeys = prep(q.customerByAccount), prep(q.customersByKeys)
	if err != nil {
		st.close()
		return nil, err
	}
	return &st, nil
}

func (st *readStmts) close() {
	for _, s := range []*sql.Stmt{st.accessKey, st.product, st.customer, st.customerByAccount, st.customersByKeys} {
		if s != nil {
			s.Close()
		}
	}
}
