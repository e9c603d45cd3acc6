package marketplace_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/catalog"
	"github.com/meterd/meterd/marketplace"
)

// search is a SearchAgreements request with PartyType party, AgreementType
// PurchaseAgreement and the other filters given as name=value.
func search(party string, filters ...string) *meterd.SearchAgreementsInput {
	in := &meterd.SearchAgreementsInput{Catalog: "AWSMarketplace", Filters: []meterd.AgreementSearchFilter{
		{Name: "PartyType", Values: []string{party}}, {Name: "AgreementType", Values: []string{"PurchaseAgreement"}}}}
	for _, f := range filters {
		name, value, _ := strings.Cut(f, "=")
		in.Filters = append(in.Filters, meterd.AgreementSearchFilter{Name: name, Values: []string{value}})
	}
	return in
}

func TestSearchAgreements(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		key := make([]byte, 32)
		api := &marketplace.Agreements{Store: e.l, Clock: e.clock, Market: e.market, TokenKey: key}
		year := e.accept(contract(newBuyer))
		month := contract("210987654321")
		month.Duration = "P1M"
		short := e.accept(month)
		usage := e.accept(marketplace.AcceptInput{Buyer: "210987654321", OfferID: catalog.DemoUsageOffer})
		if _, err := e.market.Cancel(t.Context(), short.ID); err != nil {
			t.Fatal(err)
		}
		// The expected order, by end time descending (an agreement without
		// one, pay-as-you-go, after every end), then id descending.
		stored, err := e.l.Agreements(t.Context(), meterd.AgreementFilter{SellerAccountID: catalog.DemoSellerAccount})
		if err != nil {
			t.Fatal(err)
		}
		ordered := func(keep func(a *meterd.Agreement) bool) []string {
			var as []*meterd.Agreement
			for _, a := range stored {
				if keep(a) {
					as = append(as, a)
				}
			}
			never := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
			slices.SortFunc(as, func(a, b *meterd.Agreement) int {
				ea, eb := never, never
				if a.EndTime != nil {
					ea = *a.EndTime
				}
				if b.EndTime != nil {
					eb = *b.EndTime
				}
				if c := eb.Compare(ea); c != 0 {
					return c
				}
				return strings.Compare(b.ID, a.ID)
			})
			ids := []string{}
			for _, a := range as {
				ids = append(ids, a.ID)
			}
			return ids
		}
		every := func(*meterd.Agreement) bool { return true }
		all := ordered(every)
		if len(all) != 6 {
			t.Fatalf("the demo's 3 agreements and 3 more = %d agreements", len(all))
		}
		activeSaaS := ordered(func(a *meterd.Agreement) bool { return a.Status == meterd.AgreementActive })
		contracts := ordered(func(a *meterd.Agreement) bool { return a.OfferID == catalog.DemoContractOffer })
		yearly := ordered(func(a *meterd.Agreement) bool { return a.EndTime != nil && a.EndTime.After(t0.AddDate(0, 2, 0)) })

		seller := as(t.Context(), catalog.DemoSellerAccount, "us-east-1")
		ids := func(ctx any, in *meterd.SearchAgreementsInput) []string {
			t.Helper()
			out, err := api.SearchAgreements(seller, in)
			if c, ok := ctx.(string); ok {
				out, err = api.SearchAgreements(as(t.Context(), c, "us-east-1"), in)
			}
			if err != nil {
				t.Fatalf("SearchAgreements(%+v) = %v", in.Filters, err)
			}
			got := []string{}
			for _, v := range out.AgreementViewSummaries {
				got = append(got, v.AgreementID)
			}
			return got
		}
		before, after := t0.AddDate(0, 2, 0).Format(time.RFC3339), t0.AddDate(0, 2, 0).Format(time.RFC3339)
		tests := []struct {
			name   string
			caller any // nil: the seller; else the account
			in     *meterd.SearchAgreementsInput
			want   []string
		}{
			{"ProposerAll", nil, search("Proposer"), all},
			{"ProposerAscending", nil, withSort(search("Proposer"), "ASCENDING"), reversed(all)},
			{"Acceptor", newBuyer, search("Acceptor"), []string{year.ID}},
			{"AcceptorOfBoth", "210987654321", search("Acceptor"), []string{usage.ID, short.ID}},
			{"AcceptorSeesNoneAsProposer", newBuyer, search("Proposer"), []string{}},
			{"OtherSeller", "999999999999", search("Proposer"), []string{}},
			{"AcceptorAccountId", nil, search("Proposer", "AcceptorAccountId="+newBuyer), []string{year.ID}},
			{"Status", nil, search("Proposer", "Status=CANCELLED"), []string{short.ID}},
			{"AcceptorStatus", "210987654321", search("Acceptor", "Status=ACTIVE"), []string{usage.ID}},
			{"OfferId", nil, search("Proposer", "OfferId="+catalog.DemoContractOffer), contracts},
			{"AcceptorOfferIdStatus", "210987654321", search("Acceptor", "OfferId="+catalog.DemoContractOffer, "Status=ACTIVE"), []string{}},
			{"ResourceIdentifier", nil, search("Proposer", "ResourceIdentifier="+catalog.DemoProductID), all},
			{"OtherResource", nil, search("Proposer", "ResourceIdentifier=prod-other"), []string{}},
			{"ResourceType", nil, search("Proposer", "ResourceType=SaaSProduct", "Status=ACTIVE"), activeSaaS},
			{"AmiProduct", nil, search("Proposer", "ResourceType=AmiProduct"), []string{}},
			{"BeforeEndTime", nil, search("Proposer", "BeforeEndTime="+before), []string{short.ID}},
			{"AfterEndTime", nil, search("Proposer", "AfterEndTime="+after), yearly},
			{"EndTimeRange", nil, search("Proposer", "AfterEndTime="+t0.Format(time.RFC3339), "BeforeEndTime="+t0.AddDate(2, 0, 0).Format(time.RFC3339)), contracts},
			{"OfferSetId", nil, search("Proposer", "OfferSetId=os-1"), []string{}},
			{"OtherAgreementType", nil, &meterd.SearchAgreementsInput{Filters: []meterd.AgreementSearchFilter{
				{Name: "PartyType", Values: []string{"Proposer"}}, {Name: "AgreementType", Values: []string{"ProfessionalServices"}}}}, []string{}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if got := ids(tt.caller, tt.in); !slices.Equal(got, tt.want) {
					t.Errorf("SearchAgreements = %q, want %q", got, tt.want)
				}
			})
		}
	})
}

func withSort(in *meterd.SearchAgreementsInput, order string) *meterd.SearchAgreementsInput {
	in.Sort = &meterd.AgreementSort{SortBy: "EndTime", SortOrder: order}
	return in
}

func reversed(s []string) []string {
	s = slices.Clone(s)
	slices.Reverse(s)
	return s
}

func TestSearchAgreementsPages(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		api := &marketplace.Agreements{Store: e.l, Clock: e.clock, Market: e.market, TokenKey: make([]byte, 32)}
		for _, b := range []string{newBuyer, "210987654321", "310987654321"} {
			e.accept(contract(b))
		}
		seller := as(t.Context(), catalog.DemoSellerAccount, "us-east-1")
		whole, err := api.SearchAgreements(seller, withSort(search("Proposer"), "ASCENDING"))
		if err != nil || len(whole.AgreementViewSummaries) != 6 || whole.NextToken != "" {
			t.Fatalf("SearchAgreements = %+v, %v; want the demo's 3 agreements and 3 more on one page", whole, err)
		}
		two := int64(2)
		in := withSort(search("Proposer"), "ASCENDING")
		in.MaxResults = &two
		var got []meterd.AgreementViewSummary
		var tokens []string
		for page := 0; page < 5; page++ {
			out, err := api.SearchAgreements(seller, in)
			if err != nil {
				t.Fatalf("page %d: %v", page, err)
			}
			got = append(got, out.AgreementViewSummaries...)
			if out.NextToken == "" {
				break
			}
			tokens = append(tokens, out.NextToken)
			in.NextToken = out.NextToken
		}
		if len(tokens) != 2 || !slices.EqualFunc(got, whole.AgreementViewSummaries, func(a, b meterd.AgreementViewSummary) bool { return a.AgreementID == b.AgreementID }) {
			t.Errorf("pages of 2 = %d agreements after %d tokens, want the 6 of one page in order after 2", len(got), len(tokens))
		}
		for _, tok := range tokens {
			if strings.ContainsAny(tok, ".") || strings.Trim(tok, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/=_-") != "" {
				t.Errorf("nextToken %q does not match the model's pattern [a-zA-Z0-9+/=_-]+", tok)
			}
		}

		other := withSort(search("Proposer", "Status=ACTIVE"), "ASCENDING")
		other.NextToken = tokens[0]
		desc := search("Proposer")
		desc.NextToken = tokens[0]
		mine := search("Acceptor")
		mine.NextToken = tokens[0]
		forged := withSort(search("Proposer"), "ASCENDING")
		forged.NextToken = "x" + tokens[0][1:]
		for name, c := range map[string]struct {
			account string
			in      *meterd.SearchAgreementsInput
		}{
			"OtherFilters": {catalog.DemoSellerAccount, other},
			"OtherSort":    {catalog.DemoSellerAccount, desc},
			"OtherCaller":  {newBuyer, mine},
			"Forged":       {catalog.DemoSellerAccount, forged},
		} {
			_, err := api.SearchAgreements(as(t.Context(), c.account, "us-east-1"), c.in)
			if reason, _ := meterd.ErrorDetail(err); meterd.ErrorCode(err) != meterd.EValidation || reason != "INVALID_NEXT_TOKEN" {
				t.Errorf("%s: SearchAgreements = %v (reason %q), want ValidationException INVALID_NEXT_TOKEN", name, err, reason)
			}
		}
	})
}

func TestSearchAgreementsErrors(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		api := &marketplace.Agreements{Store: e.l, Clock: e.clock, TokenKey: make([]byte, 32)}
		zero, many := int64(0), int64(51)
		twoValues := search("Proposer")
		twoValues.Filters[1].Values = []string{"PurchaseAgreement", "PurchaseAgreement"}
		tests := []struct {
			name, region string
			in           *meterd.SearchAgreementsInput
			reason       string
			field        string
			message      string
		}{
			{"NoPartyType", "us-east-1", &meterd.SearchAgreementsInput{}, "MISSING_PARTY_TYPE", "filters", "Filter PartyType (Proposer or Acceptor) is required"},
			{"BadPartyType", "us-east-1", search("Buyer"), "INVALID_PARTY_TYPE", "filters[0].values", `Filter PartyType must be Proposer or Acceptor, got "Buyer"`},
			{"NoAgreementType", "us-east-1", &meterd.SearchAgreementsInput{Filters: search("Acceptor").Filters[:1]}, "INVALID_FILTERS", "filters", "Filter AgreementType (PurchaseAgreement) is required"},
			{"AcceptorAccountIdForAcceptor", "us-east-1", search("Acceptor", "AcceptorAccountId="+newBuyer), "UNSUPPORTED_FILTERS", "filters",
				"Filters AgreementType+AcceptorAccountId are not a combination SearchAgreements supports for PartyType Acceptor (see the SearchAgreements documentation)"},
			{"AcceptorResourceTypeStatus", "us-east-1", search("Acceptor", "ResourceType=SaaSProduct", "Status=ACTIVE"), "UNSUPPORTED_FILTERS", "filters",
				"Filters AgreementType+ResourceType+Status are not a combination SearchAgreements supports for PartyType Acceptor (see the SearchAgreements documentation)"},
			{"TwoKeys", "us-east-1", search("Proposer", "OfferId=o", "ResourceType=SaaSProduct"), "UNSUPPORTED_FILTERS", "filters",
				"Filters AgreementType+ResourceType+OfferId are not a combination SearchAgreements supports for PartyType Proposer (see the SearchAgreements documentation)"},
			{"UnknownFilter", "us-east-1", search("Proposer", "ProductCode=demo-product"), "INVALID_FILTER_NAME", "filters[2].name",
				`Filter "ProductCode" is not a SearchAgreements filter: the filters are PartyType, AgreementType, AcceptorAccountId, ResourceIdentifier, ResourceType, OfferId, OfferSetId, Status, BeforeEndTime, AfterEndTime`},
			{"Twice", "us-east-1", search("Proposer", "PartyType=Proposer"), "INVALID_FILTERS", "filters[2].name", "Filter PartyType is given twice"},
			{"TwoValues", "us-east-1", twoValues, "INVALID_FILTER_VALUES", "filters[1].values", "Filter AgreementType takes exactly one value of 1 to 64 characters"},
			{"Status", "us-east-1", search("Proposer", "Status=LIVE"), "INVALID_STATUS", "filters[2].values", `Filter Status: "LIVE" is not an agreement status`},
			{"EndTime", "us-east-1", search("Proposer", "BeforeEndTime=tomorrow"), "INVALID_FILTER_VALUES", "filters[2].values",
				`Filter BeforeEndTime: "tomorrow" is not a date and time such as 2026-12-31T00:00:00Z`},
			{"Account", "us-east-1", search("Proposer", "AcceptorAccountId=12"), "INVALID_FILTER_VALUES", "filters[2].values", `Filter AcceptorAccountId: "12" is not a 12-digit AWS account id`},
			{"SortBy", "us-east-1", &meterd.SearchAgreementsInput{Sort: &meterd.AgreementSort{SortBy: "StartTime"}}, "INVALID_SORT_BY", "sort.sortBy",
				`sort.sortBy must be EndTime, the only sort SearchAgreements supports, got "StartTime"`},
			{"SortOrder", "us-east-1", withSort(search("Proposer"), "UP"), "INVALID_SORT_ORDER", "sort.sortOrder", `sort.sortOrder must be ASCENDING or DESCENDING, got "UP"`},
			{"Catalog", "us-east-1", &meterd.SearchAgreementsInput{Catalog: "AWSStore"}, "INVALID_CATALOG", "catalog", `catalog must be AWSMarketplace, got "AWSStore"`},
			{"MaxResults0", "us-east-1", &meterd.SearchAgreementsInput{MaxResults: &zero}, "INVALID_MAX_RESULTS", "maxResults", "maxResults must be between 1 and 50, got 0"},
			{"MaxResults51", "us-east-1", &meterd.SearchAgreementsInput{MaxResults: &many}, "INVALID_MAX_RESULTS", "maxResults", "maxResults must be between 1 and 50, got 51"},
			{"Region", "eu-west-1", search("Proposer"), "", "", "The Agreement Service is available only in us-east-1, not in eu-west-1"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := api.SearchAgreements(as(t.Context(), catalog.DemoSellerAccount, tt.region), tt.in)
				reason, fields := meterd.ErrorDetail(err)
				if meterd.ErrorCode(err) != meterd.EValidation || reason != tt.reason || meterd.ErrorMessage(err) != tt.message {
					t.Errorf("SearchAgreements = %v (reason %q), want ValidationException %q (reason %q)", err, reason, tt.message, tt.reason)
				}
				if tt.field != "" && (len(fields) != 1 || fields[0].Name != tt.field) {
					t.Errorf("fields = %+v, want %s", fields, tt.field)
				}
			})
		}
	})
}
