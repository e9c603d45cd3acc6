package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/internal/pgtx"
)

// PutProduct creates or updates a product, keeping its creation time, and
// replaces its dimensions. EInvalid when the seller account does not exist.
func (s *Store) PutProduct(ctx context.Context, p *meterd.Product) error {
	regions := p.Regions
	if regions == nil {
		regions = []string{}
	}
	names := make([]string, len(p.Dimensions))
	units := make([]string, len(p.Dimensions))
	prices := make([]string, len(p.Dimensions))
	contracts := make([]bool, len(p.Dimensions))
	valueTypes := make([]string, len(p.Dimensions))
	for i, d := range p.Dimensions {
		names[i], units[i], prices[i], contracts[i], valueTypes[i] = d.Name, d.Unit, d.Price, d.Contract, d.ValueType
	}
	err := s.Transact(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO products (code, seller_account_id, type, regions, fulfillment_url, created_at, entity_id, concurrent_agreements)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (code) DO UPDATE SET seller_account_id = excluded.seller_account_id, type = excluded.type,
				regions = excluded.regions, fulfillment_url = excluded.fulfillment_url, entity_id = excluded.entity_id,
				concurrent_agreements = excluded.concurrent_agreements`,
			p.Code, p.SellerAccountID, p.Type, regions, p.FulfillmentURL, ms(p.CreatedAt), p.ID, p.ConcurrentAgreements)
		b.Queue("DELETE FROM dimensions WHERE product_code = $1", p.Code)
		b.Queue(`INSERT INTO dimensions (product_code, position, name, unit, price, contract, value_type)
			SELECT $1, d.position, d.name, d.unit, d.price, d.contract, d.value_type
			FROM unnest($2::text[], $3::text[], $4::text[], $5::boolean[], $6::text[]) WITH ORDINALITY
				AS d(name, unit, price, contract, value_type, position)`,
			p.Code, names, units, prices, contracts, valueTypes)
		return tx.SendBatch(ctx, b).Close()
	})
	if pgtx.Is(err, pgtx.ForeignKeyViolation) {
		return meterd.Errorf(meterd.EInvalid, "seller account %s does not exist", p.SellerAccountID)
	} else if err != nil {
		return fmt.Errorf("postgres: put product: %w", err)
	}
	return nil
}

// Product returns a product with its dimensions. ENotFound.
func (s *Store) Product(ctx context.Context, code string) (*meterd.Product, error) {
	products, err := s.products(ctx, code)
	if err != nil {
		return nil, err
	}
	if len(products) == 0 {
		return nil, meterd.Errorf(meterd.ENotFound, "product %s not found", code)
	}
	return products[0], nil
}

// Products lists the products ordered by code.
func (s *Store) Products(ctx context.Context) ([]*meterd.Product, error) {
	return s.products(ctx, "")
}

// products returns the product with the given code, or every product for
// "", with their dimensions in the order given to PutProduct.
func (s *Store) products(ctx context.Context, code string) ([]*meterd.Product, error) {
	var out []*meterd.Product
	err := s.retry(ctx, func() error {
		out = nil
		rows, err := s.pool.Query(ctx, `SELECT p.code, p.seller_account_id, p.type, p.regions, p.fulfillment_url, p.created_at,
				p.entity_id, p.concurrent_agreements, d.name, d.unit, d.price, d.contract, d.value_type
			FROM products p LEFT JOIN dimensions d ON d.product_code = p.code
			WHERE $1 = '' OR p.code = $1
			ORDER BY p.code, d.position`, code)
		if err != nil {
			return err
		}
		var p *meterd.Product
		var name, unit, price, valueType *string
		var contract *bool
		var c meterd.Product
		_, err = pgx.ForEachRow(rows, []any{&c.Code, &c.SellerAccountID, &c.Type, &c.Regions, &c.FulfillmentURL, &c.CreatedAt,
			&c.ID, &c.ConcurrentAgreements, &name, &unit, &price, &contract, &valueType}, func() error {
			if p == nil || p.Code != c.Code {
				p = &meterd.Product{Code: c.Code, ID: c.ID, SellerAccountID: c.SellerAccountID, Type: c.Type, Regions: c.Regions,
					FulfillmentURL: c.FulfillmentURL, ConcurrentAgreements: c.ConcurrentAgreements, CreatedAt: c.CreatedAt.UTC()}
				if len(p.Regions) == 0 {
					p.Regions = nil
				}
				out = append(out, p)
			}
			if name != nil {
				p.Dimensions = append(p.Dimensions, meterd.Dimension{Name: *name, Unit: *unit, Price: *price,
					Contract: *contract, ValueType: *valueType})
			}
			return nil
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: products: %w", err)
	}
	return out, nil
}

// PutCustomer creates or updates the customer (ProductCode,
// CustomerIdentifier), keeping its creation time. ENotFound when the product
// does not exist; EConflict when another customer of the product has the
// same CustomerAWSAccountID.
func (s *Store) PutCustomer(ctx context.Context, c *meterd.Customer) error {
	err := s.Transact(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO customers (product_code, customer_identifier, customer_aws_account_id,
				license_arn, status, platform, status_changed_at, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (product_code, customer_identifier) DO UPDATE SET
				customer_aws_account_id = excluded.customer_aws_account_id, license_arn = excluded.license_arn,
				status = excluded.status, platform = excluded.platform, status_changed_at = excluded.status_changed_at`,
			c.ProductCode, c.CustomerIdentifier, c.CustomerAWSAccountID, c.LicenseArn, c.Status, c.Platform,
			ms(c.StatusChangedAt), ms(c.CreatedAt))
		return err
	})
	switch {
	case pgtx.Is(err, pgtx.ForeignKeyViolation):
		return meterd.Errorf(meterd.ENotFound, "product %s not found", c.ProductCode)
	case pgtx.Is(err, pgtx.UniqueViolation):
		// The primary key is handled by ON CONFLICT: the violation is the
		// one-customer-per-account index.
		return meterd.Errorf(meterd.EConflict, "AWS account %s is already a customer of product %s", c.CustomerAWSAccountID, c.ProductCode)
	case err != nil:
		return fmt.Errorf("postgres: put customer: %w", err)
	}
	return nil
}

const customerColumns = `product_code, customer_identifier, customer_aws_account_id, license_arn, status, platform,
	status_changed_at, created_at`

func scanCustomer(row pgx.CollectableRow) (*meterd.Customer, error) {
	var c meterd.Customer
	err := row.Scan(&c.ProductCode, &c.CustomerIdentifier, &c.CustomerAWSAccountID, &c.LicenseArn, &c.Status, &c.Platform,
		&c.StatusChangedAt, &c.CreatedAt)
	c.StatusChangedAt, c.CreatedAt = c.StatusChangedAt.UTC(), c.CreatedAt.UTC()
	return &c, err
}

// Customer returns a customer by identifier. ENotFound.
func (s *Store) Customer(ctx context.Context, productCode, customerIdentifier string) (*meterd.Customer, error) {
	return one(ctx, s, "customer "+customerIdentifier+" of product "+productCode,
		"SELECT "+customerColumns+" FROM customers WHERE product_code = $1 AND customer_identifier = $2",
		[]any{productCode, customerIdentifier}, scanCustomer)
}

// CustomerByAccount returns a product's customer by AWS account id. ENotFound.
func (s *Store) CustomerByAccount(ctx context.Context, productCode, awsAccountID string) (*meterd.Customer, error) {
	if awsAccountID == "" {
		return nil, meterd.Errorf(meterd.ENotFound, "customer with no AWS account id")
	}
	return one(ctx, s, "customer with AWS account "+awsAccountID+" of product "+productCode,
		"SELECT "+customerColumns+" FROM customers WHERE product_code = $1 AND customer_aws_account_id = $2",
		[]any{productCode, awsAccountID}, scanCustomer)
}

// CustomersByKeys returns the product's customers whose identifier is in
// identifiers or whose AWS account id is in awsAccountIDs, ordered by
// identifier, in one query: the keys travel as two text arrays.
func (s *Store) CustomersByKeys(ctx context.Context, productCode string, identifiers, awsAccountIDs []string) ([]*meterd.Customer, error) {
	accounts := meterd.MatchableAccounts(awsAccountIDs)
	if len(identifiers) == 0 && len(accounts) == 0 {
		return nil, nil
	}
	if identifiers == nil {
		identifiers = []string{} // nil would be a NULL array
	}
	return list(ctx, s, "customers by keys", "SELECT "+customerColumns+` FROM customers
		WHERE product_code = $1 AND (customer_identifier = ANY($2) OR (customer_aws_account_id <> '' AND customer_aws_account_id = ANY($3)))
		ORDER BY customer_identifier`,
		[]any{productCode, identifiers, accounts}, scanCustomer)
}

// Customers lists a product's customers ordered by identifier.
func (s *Store) Customers(ctx context.Context, productCode string) ([]*meterd.Customer, error) {
	return list(ctx, s, "customers", "SELECT "+customerColumns+" FROM customers WHERE product_code = $1 ORDER BY customer_identifier",
		[]any{productCode}, scanCustomer)
}

// LicenseProducts implements meterd.Ledger: customers_license (migration
// 0040) and the licenses table's key make each ARN an index lookup.
func (s *Store) LicenseProducts(ctx context.Context, licenseArns []string) (map[string]string, error) {
	out := make(map[string]string, len(licenseArns))
	if len(licenseArns) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT license_arn, product_code FROM customers WHERE license_arn = ANY($1) AND license_arn <> ''
		UNION SELECT arn, product_code FROM licenses WHERE arn = ANY($1)`, licenseArns)
	if err != nil {
		return nil, fmt.Errorf("postgres: license products: %w", err)
	}
	var arn, code string
	_, err = pgx.ForEachRow(rows, []any{&arn, &code}, func() error {
		out[arn] = code
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: license products: %w", err)
	}
	return out, nil
}
