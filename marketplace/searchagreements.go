package marketplace

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/meterd/meterd"
)

// SearchAgreements' filter names.
const (
	filterPartyType          = "PartyType"
	filterAgreementType      = "AgreementType"
	filterAcceptorAccountID  = "AcceptorAccountId"
	filterResourceIdentifier = "ResourceIdentifier"
	filterResourceType       = "ResourceType"
	filterOfferID            = "OfferId"
	filterOfferSetID         = "OfferSetId"
	filterStatus             = "Status"
	filterBeforeEndTime      = "BeforeEndTime"
	filterAfterEndTime       = "AfterEndTime"
)

// searchFilterNames are every filter SearchAgreements knows, in the order
// messages list them.
var searchFilterNames = []string{filterPartyType, filterAgreementType, filterAcceptorAccountID, filterResourceIdentifier,
	filterResourceType, filterOfferID, filterOfferSetID, filterStatus, filterBeforeEndTime, filterAfterEndTime}

// searchCombinations are the filter combinations the model's documentation
// lists for each PartyType, beyond the AgreementType every one has and the
// end time (BeforeEndTime and/or AfterEndTime) every one may add: names
// joined by "+" in searchFilterNames' order, "" for none.
var searchCombinations = map[string][]string{
	"Proposer": {"",
		"ResourceType", "ResourceType+Status", "ResourceIdentifier", "ResourceIdentifier+Status",
		"AcceptorAccountId", "AcceptorAccountId+Status", "AcceptorAccountId+OfferId", "AcceptorAccountId+OfferId+Status",
		"AcceptorAccountId+ResourceIdentifier", "AcceptorAccountId+ResourceIdentifier+Status",
		"AcceptorAccountId+ResourceType", "AcceptorAccountId+ResourceType+Status",
		"Status", "OfferId", "OfferId+Status", "OfferSetId", "OfferSetId+Status"},
	"Acceptor": {"",
		"Status", "ResourceIdentifier", "ResourceIdentifier+Status", "ResourceType",
		"OfferId", "OfferId+Status", "OfferSetId", "OfferSetId+Status"},
}

// The catalog and sort SearchAgreements serves.
const (
	agreementCatalog = "AWSMarketplace"
	sortByEndTime    = "EndTime"
	sortAscending    = "ASCENDING"
	sortDescending   = "DESCENDING"
)

// agreementSearch is a checked SearchAgreements request.
type agreementSearch struct {
	values     map[string]string // filter name → its one value
	before     *time.Time
	after      *time.Time
	descending bool
	limit      int
}

// SearchAgreements lists the agreements the caller proposed (PartyType
// Proposer) or accepted (Acceptor), never another party's, filtered by the
// combinations the model documents for that party, sorted by end time
// (DESCENDING by default; an agreement without an end, pay-as-you-go, sorts
// as ending after every other), then id, and paginated (maxResults 1 to 50,
// default 50) with a nextToken bound to the caller and the request and
// signed by the server.
func (s *Agreements) SearchAgreements(ctx context.Context, in *meterd.SearchAgreementsInput) (*meterd.SearchAgreementsOutput, error) {
	caller, err := agreementCaller(ctx)
	if err != nil {
		return nil, err
	}
	q, err := checkSearch(in)
	if err != nil {
		return nil, err
	}
	f := meterd.AgreementFilter{OfferID: q.values[filterOfferID], Status: q.values[filterStatus]}
	if q.values[filterPartyType] == "Proposer" {
		f.SellerAccountID, f.BuyerAccountID = caller.AccountID, q.values[filterAcceptorAccountID]
	} else {
		f.BuyerAccountID = caller.AccountID
	}
	// Sort and filter on the agreements' ends alone, then read the page's
	// agreements: a seller's 10,000 agreements are not all decoded for a
	// page of 50.
	all, err := s.Store.AgreementEnds(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("marketplace: search agreements of %s: %w", caller.AccountID, err)
	}
	products := map[string]*meterd.Product{}
	found, err := s.matching(ctx, q, all, products)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(found, q.compare)

	tokens := &Entitlements{TokenKey: s.TokenKey}
	scope := searchScope(caller.AccountID, in)
	from := 0
	if in.NextToken != "" {
		// The cursor is the last agreement of the previous page: its end
		// time in milliseconds ("" for none), "/", its id.
		after, ok := tokens.openToken(in.NextToken, scope)
		var end, id string
		var cut bool
		if ok {
			end, id, cut = strings.Cut(after.Dimension, "/")
		}
		ms, perr := strconv.ParseInt(end, 10, 64)
		if !ok || !cut || (end != "" && perr != nil) {
			return nil, validation("INVALID_NEXT_TOKEN", "nextToken", "The nextToken is not valid: pass the nextToken of the previous SearchAgreements call with the same catalog, filters and sort")
		}
		last := meterd.AgreementEnd{ID: id}
		if end != "" {
			t := time.UnixMilli(ms).UTC()
			last.EndTime = &t
		}
		from, _ = slices.BinarySearchFunc(found, last, q.compare)
		if from < len(found) && found[from].ID == id {
			from++
		}
	}
	to := min(from+q.limit, len(found))
	out := &meterd.SearchAgreementsOutput{AgreementViewSummaries: []meterd.AgreementViewSummary{}}
	for _, e := range found[from:to] {
		a, err := s.Store.Agreement(ctx, e.ID)
		if err != nil {
			return nil, fmt.Errorf("marketplace: agreement %s: %w", e.ID, err)
		}
		p, err := s.product(ctx, products, a.ProductCode)
		if err != nil {
			return nil, err
		}
		out.AgreementViewSummaries = append(out.AgreementViewSummaries, *view(a, p))
	}
	if to < len(found) {
		last := found[to-1]
		end := ""
		if last.EndTime != nil {
			end = strconv.FormatInt(last.EndTime.UnixMilli(), 10)
		}
		out.NextToken = tokens.sealToken(scope, meterd.EntitlementKey{Dimension: end + "/" + last.ID})
	}
	return out, nil
}

// product returns a product, read once per search.
func (s *Agreements) product(ctx context.Context, products map[string]*meterd.Product, code string) (*meterd.Product, error) {
	if p := products[code]; p != nil {
		return p, nil
	}
	p, err := s.Store.Product(ctx, code)
	if err != nil {
		return nil, fmt.Errorf("marketplace: product %s: %w", code, err)
	}
	products[code] = p
	return p, nil
}

// matching returns the agreements that pass the filters the store did not
// apply: agreement type, resource, offer set and end time.
func (s *Agreements) matching(ctx context.Context, q *agreementSearch, all []meterd.AgreementEnd, products map[string]*meterd.Product) ([]meterd.AgreementEnd, error) {
	if q.values[filterAgreementType] != meterd.AgreementType || q.values[filterOfferSetID] != "" {
		return nil, nil // meterd makes only purchase agreements, and no offer sets
	}
	var found []meterd.AgreementEnd
	for _, a := range all {
		if id, typ := q.values[filterResourceIdentifier], q.values[filterResourceType]; id != "" || typ != "" {
			p, err := s.product(ctx, products, a.ProductCode)
			if err != nil {
				return nil, err
			}
			if (id != "" && id != p.ID) || (typ != "" && typ != ResourceType(p.Type)) {
				continue
			}
		}
		if (q.before != nil || q.after != nil) && a.EndTime == nil {
			continue // an end time filter selects agreements that end
		}
		if (q.before != nil && !a.EndTime.Before(*q.before)) || (q.after != nil && !a.EndTime.After(*q.after)) {
			continue
		}
		found = append(found, a)
	}
	return found, nil
}

// compare orders agreements by end time (none: after every end) in the
// request's order, then by id in the same direction.
func (q *agreementSearch) compare(a, b meterd.AgreementEnd) int {
	c := 0
	switch {
	case a.EndTime == nil && b.EndTime != nil:
		c = 1
	case a.EndTime != nil && b.EndTime == nil:
		c = -1
	case a.EndTime != nil:
		c = a.EndTime.Compare(*b.EndTime)
	}
	if c == 0 {
		c = strings.Compare(a.ID, b.ID)
	}
	if q.descending {
		return -c
	}
	return c
}

// checkSearch validates a SearchAgreements request against the model and
// the documented filter combinations.
func checkSearch(in *meterd.SearchAgreementsInput) (*agreementSearch, error) {
	if in.Catalog != "" && in.Catalog != agreementCatalog {
		return nil, validation("INVALID_CATALOG", "catalog", "catalog must be %s, got %q", agreementCatalog, clipEcho(in.Catalog))
	}
	q := &agreementSearch{values: map[string]string{}, descending: true, limit: maxAgreementResults}
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > maxAgreementResults {
			return nil, validation("INVALID_MAX_RESULTS", "maxResults", "maxResults must be between 1 and %d, got %d", maxAgreementResults, *in.MaxResults)
		}
		q.limit = int(*in.MaxResults)
	}
	if in.Sort != nil {
		if in.Sort.SortBy != "" && in.Sort.SortBy != sortByEndTime {
			return nil, validation("INVALID_SORT_BY", "sort.sortBy", "sort.sortBy must be EndTime, the only sort SearchAgreements supports, got %q", clipEcho(in.Sort.SortBy))
		}
		switch in.Sort.SortOrder {
		case "", sortDescending:
		case sortAscending:
			q.descending = false
		default:
			return nil, validation("INVALID_SORT_ORDER", "sort.sortOrder", "sort.sortOrder must be ASCENDING or DESCENDING, got %q", clipEcho(in.Sort.SortOrder))
		}
	}
	if len(in.Filters) > 10 {
		return nil, validation("INVALID_FILTERS", "filters", "filters may hold at most 10 filters, got %d", len(in.Filters))
	}
	for i, f := range in.Filters {
		member := "filters[" + strconv.Itoa(i) + "]"
		if f.Name == "" {
			return nil, validation("MISSING_FILTER_NAME", member+".name", "%s.name is required", member)
		}
		if !slices.Contains(searchFilterNames, f.Name) {
			return nil, validation("INVALID_FILTER_NAME", member+".name", "Filter %q is not a SearchAgreements filter: the filters are %s", clipEcho(f.Name), strings.Join(searchFilterNames, ", "))
		}
		if _, dup := q.values[f.Name]; dup {
			return nil, validation("INVALID_FILTERS", member+".name", "Filter %s is given twice", f.Name)
		}
		if len(f.Values) != 1 || f.Values[0] == "" || len(f.Values[0]) > 64 {
			reason := "INVALID_FILTER_VALUES"
			if len(f.Values) == 0 {
				reason = "MISSING_FILTER_VALUES"
			}
			return nil, validation(reason, member+".values", "Filter %s takes exactly one value of 1 to 64 characters", f.Name)
		}
		if err := q.setFilter(member, f.Name, f.Values[0]); err != nil {
			return nil, err
		}
	}
	return q, q.checkCombination()
}

// setFilter checks one filter's value and records it.
func (q *agreementSearch) setFilter(member, name, v string) error {
	bad := func(format string, args ...any) error {
		return validation("INVALID_FILTER_VALUES", member+".values", "Filter %s: "+format, append([]any{name}, args...)...)
	}
	switch name {
	case filterPartyType:
		if v != "Proposer" && v != "Acceptor" {
			return validation("INVALID_PARTY_TYPE", member+".values", "Filter PartyType must be Proposer or Acceptor, got %q", clipEcho(v))
		}
	case filterAcceptorAccountID:
		if !meterd.ValidAccountID(v) {
			return bad("%q is not a 12-digit AWS account id", clipEcho(v))
		}
	case filterStatus:
		if !meterd.ValidAgreementStatus(v) {
			return validation("INVALID_STATUS", member+".values", "Filter Status: %q is not an agreement status", clipEcho(v))
		}
	case filterBeforeEndTime, filterAfterEndTime:
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return bad("%q is not a date and time such as 2026-12-31T00:00:00Z", clipEcho(v))
		}
		if name == filterBeforeEndTime {
			q.before = &t
		} else {
			q.after = &t
		}
	}
	q.values[name] = v
	return nil
}

// checkCombination refuses a set of filters the model's documentation does
// not list for its PartyType.
func (q *agreementSearch) checkCombination() error {
	party, ok := q.values[filterPartyType]
	if !ok {
		return validation("MISSING_PARTY_TYPE", "filters", "Filter PartyType (Proposer or Acceptor) is required")
	}
	if _, ok := q.values[filterAgreementType]; !ok {
		return validation("INVALID_FILTERS", "filters", "Filter AgreementType (PurchaseAgreement) is required")
	}
	var names []string
	for _, n := range searchFilterNames {
		if _, ok := q.values[n]; ok && n != filterPartyType && n != filterAgreementType && n != filterBeforeEndTime && n != filterAfterEndTime {
			names = append(names, n)
		}
	}
	combo := strings.Join(names, "+")
	if !slices.Contains(searchCombinations[party], combo) {
		return validation("UNSUPPORTED_FILTERS", "filters",
			"Filters AgreementType+%s are not a combination SearchAgreements supports for PartyType %s (see the SearchAgreements documentation)", combo, party)
	}
	return nil
}

// searchScope binds a SearchAgreements nextToken to the caller and the
// request's catalog, filters and sort (in any order of the filters).
func searchScope(account string, in *meterd.SearchAgreementsInput) string {
	h := sha256.New()
	fmt.Fprintf(h, "search %q %q", account, in.Catalog)
	filters := slices.Clone(in.Filters)
	slices.SortFunc(filters, func(a, b meterd.AgreementSearchFilter) int { return strings.Compare(a.Name, b.Name) })
	for _, f := range filters {
		fmt.Fprintf(h, " %q=%q", f.Name, f.Values)
	}
	if in.Sort != nil {
		fmt.Fprintf(h, " sort %q %q", in.Sort.SortBy, in.Sort.SortOrder)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
