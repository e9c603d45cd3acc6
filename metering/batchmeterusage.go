package metering

import (
	"context"
	"fmt"
	"time"

	"github.com/meterd/meterd"
)

// BatchMeterUsage records up to 25 usage records of one product for its
// customers, on behalf of the product's seller. The checks run in the order
// of README's Differences from AWS: shape, product, region, then dimension, identity, license
// and timestamps over every record; a failure rejects the whole batch. Then
// each record gets a status: CustomerNotSubscribed for an unknown or
// unsubscribed customer, Success or DuplicateRecord from the ledger.
//
// Errors: ValidationException, InvalidTagException,
// InvalidUsageAllocationsException, InvalidProductCodeException,
// InvalidLicenseException, DisabledApiException,
// InvalidUsageDimensionException, InvalidCustomerIdentifierException,
// TimestampOutOfBoundsException.
func (s *Service) BatchMeterUsage(ctx context.Context, in *meterd.BatchMeterUsageInput) (*meterd.BatchMeterUsageOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := validateBatchMeterUsage(in); err != nil {
		return nil, err
	}
	b := &batch{s: s, caller: c, now: s.Clock.Now(), records: in.UsageRecords,
		byID: make(map[string]*meterd.Customer), byAccount: make(map[string]*meterd.Customer)}
	if err := b.resolveProduct(ctx, in.ProductCode); err != nil {
		return nil, err
	}
	if !b.product.RegionEnabled(c.Region) {
		return nil, meterd.Errorf(meterd.EDisabledAPI,
			"The API is not enabled for product %s in region %s.", b.product.Code, c.Region)
	}
	if err := b.checkRecords(ctx); err != nil {
		return nil, err
	}
	results, err := b.commit(ctx)
	if err != nil {
		return nil, err
	}
	return &meterd.BatchMeterUsageOutput{Results: results, UnprocessedRecords: []meterd.UsageRecord{}}, nil
}

// batch is the state of one BatchMeterUsage request. Customers are looked up
// together once per request and cached (nil for unknown ones).
type batch struct {
	s         *Service
	caller    *meterd.Caller
	now       time.Time
	records   []meterd.UsageRecord
	product   *meterd.Product
	byID      map[string]*meterd.Customer
	byAccount map[string]*meterd.Customer
	licenses  map[string][]*meterd.License // by customer identifier, read by checkLicenses
}

// resolveProduct determines the one product of the request, from
// ProductCode or else from the records' LicenseArns (README, Differences from AWS), and checks
// that the caller published it and that every LicenseArn belongs to it.
func (b *batch) resolveProduct(ctx context.Context, code string) error {
	if code == "" {
		var err error
		if code, err = b.productFromLicenses(ctx); err != nil {
			return err
		}
	}
	p, err := b.s.product(ctx, code)
	if err != nil {
		return err
	}
	if p == nil || p.SellerAccountID != b.caller.AccountID {
		return meterd.Errorf(meterd.EInvalidProductCode, "Product code %s is not valid for this seller.", code)
	}
	b.product = p
	if err := b.loadCustomers(ctx); err != nil {
		return err
	}
	return b.checkLicensesInProduct(ctx)
}

// loadCustomers looks up every customer the records name in one ledger
// call, rather than one call per record, and caches them; a key with no
// customer is cached as nil.
func (b *batch) loadCustomers(ctx context.Context) error {
	var ids, accounts []string
	for _, r := range b.records {
		id, cache := b.customerKey(r)
		if id == "" {
			continue
		}
		if _, ok := cache[id]; ok {
			continue
		}
		cache[id] = nil
		if r.CustomerIdentifier != "" {
			ids = append(ids, id)
		} else {
			accounts = append(accounts, id)
		}
	}
	if len(ids) == 0 && len(accounts) == 0 {
		return nil
	}
	custs, err := b.s.Ledger.CustomersByKeys(ctx, b.product.Code, ids, accounts)
	if err != nil {
		return fmt.Errorf("metering: customers of %q: %w", b.product.Code, err)
	}
	for _, cust := range custs {
		if _, ok := b.byID[cust.CustomerIdentifier]; ok {
			b.byID[cust.CustomerIdentifier] = cust
		}
		if _, ok := b.byAccount[cust.CustomerAWSAccountID]; ok && cust.CustomerAWSAccountID != "" {
			b.byAccount[cust.CustomerAWSAccountID] = cust
		}
	}
	return nil
}

// customerKey returns the key a record names its customer by and the cache
// of that kind of key. The identifier wins when a record names both; the key
// is "" when it names neither.
func (b *batch) customerKey(r meterd.UsageRecord) (string, map[string]*meterd.Customer) {
	if r.CustomerIdentifier != "" {
		return r.CustomerIdentifier, b.byID
	}
	return r.CustomerAWSAccountID, b.byAccount
}

// productFromLicenses finds the product that the records' LicenseArns
// belong to, when a request names no ProductCode. A license of another
// seller's product reads as an unknown one: the answer never names, or
// confirms, another seller's product.
func (b *batch) productFromLicenses(ctx context.Context) (string, error) {
	owner, err := b.licenseProducts(ctx)
	if err != nil {
		return "", err
	}
	if owner == nil {
		return "", meterd.Errorf(meterd.EInvalidProductCode,
			"ProductCode is required when no usage record carries a LicenseArn.")
	}
	code := ""
	for i, r := range b.records {
		if r.LicenseArn == "" {
			continue
		}
		p, ok := owner[r.LicenseArn]
		if ok {
			prod, err := b.s.product(ctx, p)
			if err != nil {
				return "", err
			}
			ok = prod != nil && prod.SellerAccountID == b.caller.AccountID
		}
		if !ok {
			return "", meterd.Errorf(meterd.EInvalidLicense, "LicenseArn %s of usage record %d is not valid.", r.LicenseArn, i+1)
		}
		if code != "" && p != code {
			return "", meterd.Errorf(meterd.EInvalidLicense,
				"The LicenseArns of the usage records belong to different products; a request may meter one product only.")
		}
		code = p
	}
	return code, nil
}

// licenseProducts maps the records' LicenseArns to their products' codes
// in one indexed store lookup; nil when no record carries one.
func (b *batch) licenseProducts(ctx context.Context) (map[string]string, error) {
	var arns []string
	for _, r := range b.records {
		if r.LicenseArn != "" {
			arns = append(arns, r.LicenseArn)
		}
	}
	if len(arns) == 0 {
		return nil, nil
	}
	owner, err := b.s.Ledger.LicenseProducts(ctx, arns)
	if err != nil {
		return nil, fmt.Errorf("metering: products of licenses: %w", err)
	}
	return owner, nil
}

// checkLicensesInProduct refuses LicenseArns that do not belong to a
// customer of the request's product. The record's own customer is tried
// first, so the usual request needs no lookup.
func (b *batch) checkLicensesInProduct(ctx context.Context) error {
	var owner map[string]string
	for i, r := range b.records {
		if r.LicenseArn == "" {
			continue
		}
		if cust := b.customer(r); cust != nil && cust.LicenseArn == r.LicenseArn {
			continue
		}
		if owner == nil {
			var err error
			if owner, err = b.licenseProducts(ctx); err != nil {
				return err
			}
		}
		if owner[r.LicenseArn] != b.product.Code {
			return meterd.Errorf(meterd.EInvalidLicense,
				"LicenseArn %s of usage record %d does not belong to product %s.", r.LicenseArn, i+1, b.product.Code)
		}
	}
	return nil
}

// customer returns the customer a record names, by identifier or by AWS
// account id, from the customers loadCustomers cached, or nil when it is
// unknown or the record names none.
func (b *batch) customer(r meterd.UsageRecord) *meterd.Customer {
	id, cache := b.customerKey(r)
	return cache[id]
}

// checkRecords applies the operation's own rules of the check order, each rule over every record
// before the next rule: dimension, identity, license, timestamps.
func (b *batch) checkRecords(ctx context.Context) error {
	for i, r := range b.records {
		if _, ok := b.product.Dimension(r.Dimension); !ok {
			return meterd.Errorf(meterd.EInvalidUsageDimension,
				"Dimension %s of usage record %d is not defined for product %s.", r.Dimension, i+1, b.product.Code)
		}
	}
	for i, r := range b.records {
		if (r.CustomerIdentifier == "") == (r.CustomerAWSAccountID == "") {
			return meterd.Errorf(meterd.EInvalidCustomerID,
				"Usage record %d must name its customer with exactly one of CustomerIdentifier and CustomerAWSAccountId.", i+1)
		}
	}
	if err := b.checkLicenses(ctx); err != nil {
		return err
	}
	for _, r := range b.records {
		if err := b.s.checkWindow(*r.Timestamp, b.now); err != nil {
			return err
		}
	}
	return nil
}

// commit stores the records of subscribed customers in one ledger commit
// and returns the results in input order.
func (b *batch) commit(ctx context.Context) ([]meterd.UsageRecordResult, error) {
	results := make([]meterd.UsageRecordResult, len(b.records))
	var recs []*meterd.MeteringRecord
	var at []int // index in results of each of recs
	for i, r := range b.records {
		results[i] = meterd.UsageRecordResult{UsageRecord: r, Status: meterd.StatusCustomerNotSubscribed}
		cust := b.customer(r)
		if cust == nil || !cust.CanMeter(b.now) {
			continue
		}
		recs = append(recs, b.record(r, cust))
		at = append(at, i)
	}
	if len(recs) == 0 {
		return results, nil
	}
	res, err := b.s.Ledger.Commit(ctx, recs)
	if err != nil {
		return nil, fmt.Errorf("metering: commit batch: %w", err)
	}
	if len(res) != len(recs) {
		return nil, fmt.Errorf("metering: commit batch: %d results for %d records", len(res), len(recs))
	}
	for k, cr := range res {
		i := at[k]
		switch cr.Status {
		case meterd.Committed:
			results[i].Status, results[i].MeteringRecordID = meterd.StatusSuccess, cr.ID
		case meterd.Duplicate:
			results[i].Status = meterd.StatusDuplicateRecord
		default:
			return nil, fmt.Errorf("metering: commit batch: unexpected status %d for record %d", cr.Status, i+1)
		}
	}
	return results, nil
}

// record builds the ledger record of a usage record of a subscribed
// customer. Its duplicate key is (product, customer, dimension, hour).
func (b *batch) record(r meterd.UsageRecord, cust *meterd.Customer) *meterd.MeteringRecord {
	var q int64
	if r.Quantity != nil {
		q = *r.Quantity
	}
	ts := r.Timestamp.UTC().Truncate(time.Millisecond)
	return &meterd.MeteringRecord{
		ID:                   NewRecordID(),
		Operation:            meterd.OpBatchMeterUsage,
		ProductCode:          b.product.Code,
		CustomerIdentifier:   cust.CustomerIdentifier,
		CustomerAWSAccountID: cust.CustomerAWSAccountID,
		LicenseArn:           recordLicense(r, cust),
		Resource:             cust.CustomerIdentifier,
		Dimension:            r.Dimension,
		Hour:                 meterd.Hour(ts),
		Timestamp:            ts,
		Quantity:             q,
		Allocations:          r.UsageAllocations,
		CallerAccountID:      b.caller.AccountID,
		CallerAccessKeyID:    b.caller.AccessKeyID,
		ReceivedAt:           b.now,
	}
}

// checkLicenses applies spec §1.3 to every record: a LicenseArn must be one
// of the record's customer's licenses, active at the record's timestamp
// (from its start to an hour after its deprovisioning); a record without
// one, of a product with concurrent agreements, is refused when its
// customer holds several licenses active then. The licenses are read once
// per customer, and only for customers that need the check.
func (b *batch) checkLicenses(ctx context.Context) error {
	for i, r := range b.records {
		cust := b.customer(r)
		if r.LicenseArn == "" && (!b.product.ConcurrentAgreements || cust == nil) {
			continue
		}
		if cust == nil {
			return meterd.Errorf(meterd.EInvalidLicense,
				"LicenseArn %s of usage record %d does not belong to the record's customer.", r.LicenseArn, i+1)
		}
		licenses, err := b.customerLicenses(ctx, cust)
		if err != nil {
			return err
		}
		ts := *r.Timestamp
		if r.LicenseArn == "" {
			active := 0
			for _, l := range licenses {
				if l.ActiveAt(ts) {
					active++
				}
			}
			if active > 1 {
				return meterd.Errorf(meterd.EInvalidLicense,
					"LicenseArn is required for products with concurrent agreements: usage record %d names none and customer %s holds %d active licenses.", i+1, cust.CustomerIdentifier, active)
			}
			continue
		}
		l := findLicense(licenses, r.LicenseArn)
		if l == nil && len(licenses) == 0 && cust.LicenseArn == r.LicenseArn {
			continue // a customer stored before licenses were: its one ARN
		}
		if l == nil {
			return meterd.Errorf(meterd.EInvalidLicense,
				"LicenseArn %s of usage record %d does not belong to the record's customer.", r.LicenseArn, i+1)
		}
		if !l.ActiveAt(ts) {
			return meterd.Errorf(meterd.EInvalidLicense,
				"LicenseArn %s of usage record %d is not active at the record's timestamp %s.", r.LicenseArn, i+1, ts.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// customerLicenses returns a customer's licenses of the product, read once
// per request.
func (b *batch) customerLicenses(ctx context.Context, cust *meterd.Customer) ([]*meterd.License, error) {
	if l, ok := b.licenses[cust.CustomerIdentifier]; ok {
		return l, nil
	}
	l, err := b.s.Ledger.Licenses(ctx, b.product.Code, cust.CustomerIdentifier)
	if err != nil {
		return nil, fmt.Errorf("metering: licenses of customer %s: %w", cust.CustomerIdentifier, err)
	}
	if b.licenses == nil {
		b.licenses = map[string][]*meterd.License{}
	}
	b.licenses[cust.CustomerIdentifier] = l
	return l, nil
}

// findLicense is the license of arn among licenses, or nil.
func findLicense(licenses []*meterd.License, arn string) *meterd.License {
	for _, l := range licenses {
		if l.Arn == arn {
			return l
		}
	}
	return nil
}

// recordLicense is the license a record is metered against: its own
// LicenseArn, else its customer's newest license.
func recordLicense(r meterd.UsageRecord, cust *meterd.Customer) string {
	if r.LicenseArn != "" {
		return r.LicenseArn
	}
	return cust.LicenseArn
}
