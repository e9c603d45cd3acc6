package meterd

import (
	"cmp"
	"context"
	"math"
	"slices"
	"strings"
	"time"
)

// Ledger is the durable store of meterd: the catalog (accounts, keys,
// products, customers, tokens, signing keys) and the usage ledger. The SQLite
// and PostgreSQL stores implement it and pass the same contract suite
// (ledgertest). Every method is one transaction. Errors are *Error values
// with the codes named below, or internal errors.
type Ledger interface {
	// PutAccount creates or updates an account.
	PutAccount(ctx context.Context, a *Account) error
	// Accounts lists the accounts ordered by id.
	Accounts(ctx context.Context) ([]*Account, error)

	// PutAccessKey creates or replaces an access key. EInvalid when its
	// account does not exist.
	PutAccessKey(ctx context.Context, k *AccessKey) error
	// AccessKey returns the key with the given id. ENotFound.
	AccessKey(ctx context.Context, id string) (*AccessKey, error)
	// AccessKeys lists the keys of an account ("" for every account), by id.
	AccessKeys(ctx context.Context, accountID string) ([]*AccessKey, error)
	// DeleteAccessKey deletes a key. ENotFound.
	DeleteAccessKey(ctx context.Context, id string) error

	// PutProduct creates or updates a product and replaces its dimensions.
	// EInvalid when the seller account does not exist.
	PutProduct(ctx context.Context, p *Product) error
	// Product returns a product with its dimensions. ENotFound.
	Product(ctx context.Context, code string) (*Product, error)
	// Products lists the products ordered by code.
	Products(ctx context.Context) ([]*Product, error)

	// PutCustomer creates or updates the customer (ProductCode,
	// CustomerIdentifier). ENotFound when the product does not exist;
	// EConflict when another customer of the product has the same
	// CustomerAWSAccountID.
	PutCustomer(ctx context.Context, c *Customer) error
	// Customer returns a customer by identifier. ENotFound.
	Customer(ctx context.Context, productCode, customerIdentifier string) (*Customer, error)
	// CustomerByAccount returns a product's customer by AWS account id. ENotFound.
	CustomerByAccount(ctx context.Context, productCode, awsAccountID string) (*Customer, error)
	// Customers lists a product's customers ordered by identifier.
	Customers(ctx context.Context, productCode string) ([]*Customer, error)
	// CustomersByKeys returns, in one query, every customer of the product
	// whose identifier is in identifiers or whose AWS account id is in
	// awsAccountIDs, each once, ordered by identifier. Unknown keys are
	// skipped and an empty account id matches nothing; no match is an empty
	// list, not an error. It lets a batch resolve all its customers at once.
	CustomersByKeys(ctx context.Context, productCode string, identifiers, awsAccountIDs []string) ([]*Customer, error)
	// LicenseProducts returns, in one indexed query, the product code of
	// each of licenseArns that a customer or a license holds; unknown ARNs
	// are absent (an empty map, not an error, when none is known). It finds
	// the product of a request that names only LicenseArns.
	LicenseProducts(ctx context.Context, licenseArns []string) (map[string]string, error)

	// PutRegistrationToken stores a new registration token.
	PutRegistrationToken(ctx context.Context, t *RegistrationToken) error
	// RegistrationToken returns a token. ENotFound.
	RegistrationToken(ctx context.Context, token string) (*RegistrationToken, error)

	// PutPublicKey creates or updates the key (ProductCode, Version).
	PutPublicKey(ctx context.Context, k *PublicKey) error
	// PublicKeys lists a product's key versions in ascending order.
	PublicKeys(ctx context.Context, productCode string) ([]*PublicKey, error)

	// Setting returns a server setting (such as the admin token hash). ENotFound.
	Setting(ctx context.Context, name string) (string, error)
	// PutSetting creates or replaces a server setting.
	PutSetting(ctx context.Context, name, value string) error
	// InitSetting stores value under name unless the setting exists, and
	// returns the value stored: of processes sharing a store that race to
	// initialize a setting, all read back the one that won.
	InitSetting(ctx context.Context, name, value string) (string, error)

	// Commit stores records durably, in order, in one transaction that many
	// concurrent callers may share (group commit), and returns one result per
	// record once that transaction has committed. For each record: a
	// ClientToken already used by the same CallerAccountID returns the
	// stored record's id when RequestHash matches and IdempotencyConflict
	// otherwise; then a record whose key (ProductCode, Resource, Dimension,
	// Hour) is free is stored under its ID; an existing record with the same
	// key returns Committed with the stored ID when SameUsage holds and
	// Duplicate otherwise. On error nothing of the call is stored.
	Commit(ctx context.Context, records []*MeteringRecord) ([]CommitResult, error)

	// Usage calls fn for each stored record matching f, in commit order,
	// streaming rather than loading them all. A non-nil error from fn stops
	// the iteration and is returned.
	Usage(ctx context.Context, f UsageFilter, fn func(*MeteringRecord) error) error
	// SummarizeUsage sums the records matching f grouped by "customer",
	// "dimension", "hour" or "tag" (allocated quantities per tag key=value),
	// one row per group and dimension, ordered by group then dimension.
	// EInvalid for another grouping.
	SummarizeUsage(ctx context.Context, f UsageFilter, by string) ([]UsageSummaryRow, error)

	// TopCustomers returns the n customers, of every product in the
	// catalog, with the most records in the UTC calendar month that holds
	// month: most records first, then by product and customer, each summed
	// over its dimensions. It reads the monthly rollup (one row per
	// customer and dimension of the month, never the ledger) and adds the
	// records the rollups do not hold yet, at most tailLimit seqs of them
	// (0: all; see UsageFilter.TailLimit).
	TopCustomers(ctx context.Context, month time.Time, n int, tailLimit int64) ([]CustomerUsage, error)
	// Rollups returns how far the rollups' watermark trails the ledger.
	Rollups(ctx context.Context) (RollupState, error)

	// CreateAdminToken stores a new admin token. EConflict when a token of
	// that name exists.
	CreateAdminToken(ctx context.Context, t *AdminToken) error
	// PutAdminToken creates the token of t's name, or replaces its role,
	// hash and creation time.
	PutAdminToken(ctx context.Context, t *AdminToken) error
	// AdminTokens lists the admin tokens ordered by name. It is read on
	// every admin request, so that a token created or revoked by another
	// node sharing the store takes effect at once.
	AdminTokens(ctx context.Context) ([]*AdminToken, error)
	// DeleteAdminToken deletes the token of that name. ENotFound.
	DeleteAdminToken(ctx context.Context, name string) error

	// PurgeClientTokens deletes up to limit ClientTokens stored before
	// before, and returns how many it deleted.
	PurgeClientTokens(ctx context.Context, before time.Time, limit int) (int, error)
	// PurgeRegistrationTokens deletes up to limit registration tokens that
	// expired before before, and returns how many it deleted.
	PurgeRegistrationTokens(ctx context.Context, before time.Time, limit int) (int, error)
	// PurgeUsage deletes up to limit ledger records whose Hour is before
	// before, with their tag rows, and takes them out of every rollup in
	// the same transaction, so that summaries of the records kept stay
	// exact. It returns how many records it deleted.
	PurgeUsage(ctx context.Context, before time.Time, limit int) (int, error)

	// ApplyMarketChange writes a marketplace transition in one transaction:
	// offers (created or replaced by id), agreements inserted and updated,
	// licenses, customers (as PutCustomer), events (each given the next
	// Seq; CreatedAt as given) and time-driven transitions scheduled,
	// unscheduled (they must exist) and dropped (if they exist). EConflict, with nothing written, when an inserted
	// agreement's id or (ProductCode, RequestKey) exists, an updated
	// agreement's stored Version is not its ExpectVersion (another process
	// changed it first), an unscheduled transition is gone (another process
	// applied it), an accepted agreement request was accepted before, a license ARN is another customer's, or a customer's
	// AWS account is another customer's of the product; ENotFound when a product does not exist.
	ApplyMarketChange(ctx context.Context, ch *MarketChange) error
	// Offer returns an offer by id. ENotFound.
	Offer(ctx context.Context, id string) (*Offer, error)
	// OfferByProposal returns the offer of an agreement proposal id. ENotFound.
	OfferByProposal(ctx context.Context, proposalID string) (*Offer, error)
	// Offers lists the offers of a product ("" for every product), ordered
	// by product code, then creation, then id.
	Offers(ctx context.Context, productCode string) ([]*Offer, error)
	// Agreement returns an agreement by id. ENotFound.
	Agreement(ctx context.Context, id string) (*Agreement, error)
	// AgreementByRequest returns the agreement a product's acceptance
	// request key made. ENotFound.
	AgreementByRequest(ctx context.Context, productCode, requestKey string) (*Agreement, error)
	// Agreements lists the agreements matching f ordered by acceptance
	// time, then id.
	Agreements(ctx context.Context, f AgreementFilter) ([]*Agreement, error)
	// AgreementEnds lists the id, product and end time of the agreements
	// matching f, in no particular order.
	AgreementEnds(ctx context.Context, f AgreementFilter) ([]AgreementEnd, error)
	// PutAgreementRequest stores a new agreement request and returns it;
	// when the buyer used its ClientToken before, it stores nothing and
	// returns the request stored with it.
	PutAgreementRequest(ctx context.Context, r *AgreementRequest) (*AgreementRequest, error)
	// AgreementRequest returns an agreement request by id. ENotFound.
	AgreementRequest(ctx context.Context, id string) (*AgreementRequest, error)
	// License returns a license by ARN. ENotFound.
	License(ctx context.Context, arn string) (*License, error)
	// Licenses lists a product's licenses of a customer ("" for every
	// customer), ordered by start time, then ARN.
	Licenses(ctx context.Context, productCode, customerIdentifier string) ([]*License, error)
	// Entitlements returns the entitlements matching f, ordered by
	// customer identifier, dimension and license ARN, at most f.Limit.
	Entitlements(ctx context.Context, f EntitlementFilter) ([]*Entitlement, error)
	// Events lists the outbox rows matching f in Seq order.
	Events(ctx context.Context, f EventFilter) ([]*Event, error)
	// DueTransitions returns the scheduled transitions due at or before t,
	// earliest first (then by kind and ref), at most limit (0: all).
	DueTransitions(ctx context.Context, t time.Time, limit int) ([]Due, error)
	// NextDue returns the time of the earliest scheduled transition; ok is
	// false when none is scheduled.
	NextDue(ctx context.Context) (at time.Time, ok bool, err error)

	// Reset deletes the catalog and the ledger, with every offer,
	// agreement, license, event and scheduled transition; settings and
	// admin tokens are kept.
	Reset(ctx context.Context) error
	// Ping checks that the store is reachable.
	Ping(ctx context.Context) error
	// Close flushes pending commits and releases the store.
	Close() error
}

// UsageFilter selects ledger records. Zero fields match everything. From and
// To bound the record's Hour: From <= Hour < To.
type UsageFilter struct {
	ProductCode        string
	CustomerIdentifier string
	Dimension          string
	Tag                *Tag // records with an allocation carrying this tag
	From, To           time.Time
	AfterSeq           int64 // cursor: only records committed after this sequence number
	Limit              int   // 0: no limit
	// TailLimit bounds what Usage, and SummarizeUsage where a rollup
	// answers it, read of the records the rollups do not hold yet: those
	// with seqs up to the watermark plus TailLimit (0: all of them). A
	// roller stopped or far behind leaves millions there, and a page that
	// must answer in milliseconds (the console's) reads a bounded part and
	// says what it left out (RollupState).
	TailLimit int64
}

// RollupState is the rollups' watermark (every record up to it is in the
// rollups) and the ledger's last seq; records after the watermark are
// read from the ledger itself.
type RollupState struct {
	Watermark int64
	LastSeq   int64
}

// Behind is how many seqs (about records) the rollups trail the ledger.
func (r RollupState) Behind() int64 { return max(0, r.LastSeq-r.Watermark) }

// UsageSummaryRow is one group of a usage summary: Group is the customer
// identifier, dimension name, hour (RFC 3339) or tag ("key=value").
type UsageSummaryRow struct {
	Group     string
	Dimension string
	Quantity  int64
	Records   int64
}

// CustomerUsage is a customer's records and their quantity, summed over
// its dimensions.
type CustomerUsage struct {
	ProductCode        string
	CustomerIdentifier string
	Records            int64
	Quantity           int64
}

// SeqRange is a range of the ledger's seqs: After < seq <= Last.
type SeqRange struct{ After, Last int64 }

// UsageSeqRanges returns the ranges of seq, in order, that a store walks
// for the records of f without a customer: first to last, the bounds of
// the records the rollups hold in f's hours, then those after the
// rollups' watermark (up to f.TailLimit of them); each after f.AfterSeq,
// and none empty.
func UsageSeqRanges(f UsageFilter, first, last, watermark int64) []SeqRange {
	var out []SeqRange
	tail := SeqRange{watermark, math.MaxInt64}
	if f.TailLimit > 0 {
		tail.Last = watermark + f.TailLimit
	}
	for _, r := range []SeqRange{{first - 1, last}, tail} {
		if r.After = max(r.After, f.AfterSeq); r.After < r.Last {
			out = append(out, r)
		}
	}
	return out
}

// ReadUsageSeqRanges calls read for each of UsageSeqRanges' ranges in
// order, with the records it may still read (f.Limit less those read so
// far; not above 0 when f has no limit), until f.Limit records are read.
// read returns how many it read.
func ReadUsageSeqRanges(f UsageFilter, first, last, watermark int64, read func(r SeqRange, limit int) (int, error)) error {
	n := 0
	for _, r := range UsageSeqRanges(f, first, last, watermark) {
		if f.Limit > 0 && n == f.Limit {
			break
		}
		k, err := read(r, f.Limit-n)
		if err != nil {
			return err
		}
		n += k
	}
	return nil
}

// CustomerHoursChunk is how many of a customer's hours ReadCustomerUsage
// has a store read at a time: a page of 50 records of a customer with a
// record an hour is found in one or two chunks, where reading every hour
// of the window (about 750 for 31 days) costs a cold cache a disk read for
// most of them (a second and more at ten million records).
const CustomerHoursChunk = 64

// ReadCustomerUsage calls fn for each record of f (which names a customer)
// in seq order, at most f.Limit of them. firsts are the first seqs, in
// order, of the rollup rows (product, hour, dimension) of f's window that
// may hold the customer's records after f.AfterSeq, up to the watermark.
// readHours reads, in any order, the customer's records up to the
// watermark in the rows whose first seq is in [lo, hi]; readTail those
// after the watermark in seq order, at most limit (0 for all). The rows
// are visited a chunk at a time in first-seq order, and reading stops
// once the page is full. A row's records all have seqs at or above its
// first seq, so a record found is certain of its place once its seq is
// below the first seq of every row not yet read; rows' seq ranges overlap
// (a late record of an earlier hour), so the records found wait in order
// until then.
func ReadCustomerUsage(f UsageFilter, firsts []int64, watermark int64,
	readHours func(lo, hi int64, add func(*MeteringRecord)) error,
	readTail func(limit int, fn func(*MeteringRecord) error) error,
	fn func(*MeteringRecord) error) error {
	emitted := 0
	full := func() bool { return f.Limit > 0 && emitted >= f.Limit }
	var waiting []*MeteringRecord
	// emit passes on the waiting records with seqs below bound, in order.
	emit := func(bound int64) error {
		slices.SortFunc(waiting, func(a, b *MeteringRecord) int { return cmp.Compare(a.Seq, b.Seq) })
		n := 0
		for _, r := range waiting {
			if r.Seq >= bound || full() {
				break
			}
			n++
			emitted++
			if err := fn(r); err != nil {
				return err
			}
		}
		waiting = waiting[n:]
		return nil
	}
	for i := 0; i < len(firsts) && !full(); {
		lo, hi := firsts[i], firsts[min(i+CustomerHoursChunk, len(firsts))-1]
		for i < len(firsts) && firsts[i] <= hi {
			i++
		}
		if err := readHours(lo, hi, func(r *MeteringRecord) { waiting = append(waiting, r) }); err != nil {
			return err
		}
		bound := watermark + 1
		if i < len(firsts) {
			bound = firsts[i]
		}
		if err := emit(bound); err != nil {
			return err
		}
	}
	if err := emit(math.MaxInt64); err != nil || full() {
		return err
	}
	limit := 0
	if f.Limit > 0 {
		limit = f.Limit - emitted
	}
	return readTail(limit, fn)
}

// SortTopCustomers adds up the rows of each product and customer (a store
// reads the monthly rollup and the records after its watermark separately),
// sorts them by records, most first, then by product and customer, and
// returns the first n.
func SortTopCustomers(rows []CustomerUsage, n int) []CustomerUsage {
	type key struct{ product, customer string }
	at := make(map[key]int, len(rows))
	customers := rows[:0]
	for _, c := range rows {
		k := key{c.ProductCode, c.CustomerIdentifier}
		if i, ok := at[k]; ok {
			customers[i].Records += c.Records
			customers[i].Quantity += c.Quantity
			continue
		}
		at[k] = len(customers)
		customers = append(customers, c)
	}
	slices.SortFunc(customers, func(a, b CustomerUsage) int {
		return cmp.Or(cmp.Compare(b.Records, a.Records), strings.Compare(a.ProductCode, b.ProductCode),
			strings.Compare(a.CustomerIdentifier, b.CustomerIdentifier))
	})
	return customers[:min(n, len(customers))]
}
