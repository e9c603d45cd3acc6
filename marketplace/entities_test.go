package marketplace_test

import (
	"slices"
	"testing"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/catalog"
	"github.com/meterd/meterd/marketplace"
)

// otherSeller has one AMI product with a private offer, beside the demo.
const otherSeller = "999988887777"

func withOtherSeller(t *testing.T, e *env) {
	t.Helper()
	f := &catalog.File{
		Accounts: []catalog.Account{{ID: otherSeller}},
		Products: []catalog.Product{{Code: "other-ami", ID: "prod-otherami00001", Seller: otherSeller, Type: meterd.ProductAMI,
			Dimensions: []catalog.Dimension{{Name: "hours", Unit: "Hrs"}},
			Offers: []catalog.Offer{{ID: "offer-otherprivate1", Name: "Private deal", Pricing: meterd.PricingUsage,
				Visibility: meterd.VisibilityPrivate, Buyers: []string{catalog.DemoBuyerAccount1}}}}},
	}
	if err := catalog.Apply(t.Context(), e.l, f, e.clock.Now()); err != nil {
		t.Fatalf("catalog.Apply(other seller) = %v", err)
	}
}

func ids(out *meterd.ListEntitiesOutput) []string {
	var ids []string
	for _, e := range out.EntitySummaryList {
		ids = append(ids, e.EntityID)
	}
	return ids
}

func TestDescribeEntity(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		withOtherSeller(t, e)
		api := &marketplace.Entities{Store: e.l, TokenKey: []byte("0123456789abcdef")}
		seller := as(t.Context(), catalog.DemoSellerAccount, "us-east-1")
		out, err := api.DescribeEntity(seller, &meterd.DescribeEntityInput{Catalog: "AWSMarketplace", EntityID: catalog.DemoProductID})
		if err != nil || out.EntityType != "SaaSProduct@1.0" || out.EntityIdentifier != catalog.DemoProductID+"@1" {
			t.Fatalf("DescribeEntity(product) = %+v, %v", out, err)
		}
		other := as(t.Context(), otherSeller, "us-east-1")
		out, err = api.DescribeEntity(other, &meterd.DescribeEntityInput{Catalog: "AWSMarketplace", EntityID: "offer-otherprivate1"})
		if err != nil || out.EntityType != "Offer@1.0" || out.EntityArn != "arn:aws:aws-marketplace:us-east-1:999988887777:AWSMarketplace/Offer/offer-otherprivate1" {
			t.Fatalf("DescribeEntity(private offer) = %+v, %v", out, err)
		}
		errs := []struct {
			name    string
			ctx     *meterd.Caller
			in      meterd.DescribeEntityInput
			code    string
			message string
		}{
			{"OtherSellersProduct", nil, meterd.DescribeEntityInput{Catalog: "AWSMarketplace", EntityID: "prod-otherami00001"}, meterd.EResourceNotFound,
				"Entity prod-otherami00001 does not exist in catalog AWSMarketplace for account 111122223333"},
			{"OtherSellersOffer", nil, meterd.DescribeEntityInput{Catalog: "AWSMarketplace", EntityID: "offer-otherprivate1"}, meterd.EResourceNotFound,
				"Entity offer-otherprivate1 does not exist in catalog AWSMarketplace for account 111122223333"},
			{"Catalog", nil, meterd.DescribeEntityInput{Catalog: "Other", EntityID: catalog.DemoProductID}, meterd.EValidation, `Catalog must be AWSMarketplace, not "Other"`},
			{"Missing", nil, meterd.DescribeEntityInput{Catalog: "AWSMarketplace"}, meterd.EValidation, "EntityId is required"},
			{"Pattern", nil, meterd.DescribeEntityInput{Catalog: "AWSMarketplace", EntityID: "prod x"}, meterd.EValidation, "EntityId must be 1 to 255 letters, digits, '_' or '-'"},
			{"Region", &meterd.Caller{AccountID: catalog.DemoSellerAccount, Region: "eu-west-1"}, meterd.DescribeEntityInput{Catalog: "AWSMarketplace", EntityID: catalog.DemoProductID},
				meterd.EValidation, "The Catalog API is available only in us-east-1, not in eu-west-1"},
		}
		for _, tt := range errs {
			ctx := seller
			if tt.ctx != nil {
				ctx = meterd.NewContextWithCaller(t.Context(), tt.ctx)
			}
			_, err := api.DescribeEntity(ctx, &tt.in)
			if meterd.ErrorCode(err) != tt.code || meterd.ErrorMessage(err) != tt.message {
				t.Errorf("%s: DescribeEntity = %v, want %s %q", tt.name, err, tt.code, tt.message)
			}
		}
	})
}

func TestListEntities(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		withOtherSeller(t, e)
		api := &marketplace.Entities{Store: e.l, TokenKey: []byte("0123456789abcdef")}
		seller := as(t.Context(), catalog.DemoSellerAccount, "us-east-1")
		other := as(t.Context(), otherSeller, "us-east-1")
		list := func(ctx *meterd.Caller, in meterd.ListEntitiesInput) (*meterd.ListEntitiesOutput, error) {
			in.Catalog = "AWSMarketplace"
			c := seller
			if ctx != nil {
				c = meterd.NewContextWithCaller(t.Context(), ctx)
			}
			return api.ListEntities(c, &in)
		}
		byID := func(order string) meterd.ListEntitiesInput {
			return meterd.ListEntitiesInput{EntityType: "Offer", SortBy: "EntityId", SortOrder: order}
		}
		demoOffers := []string{catalog.DemoContractOffer, catalog.DemoTrialOffer, catalog.DemoUsageOffer}
		cases := []struct {
			name   string
			caller *meterd.Caller
			in     meterd.ListEntitiesInput
			want   []string
		}{
			{"SaaSProduct", nil, meterd.ListEntitiesInput{EntityType: "SaaSProduct"}, []string{catalog.DemoProductID}},
			{"NoAmiOfTheDemoSeller", nil, meterd.ListEntitiesInput{EntityType: "AmiProduct"}, nil},
			{"OtherSellersAmi", &meterd.Caller{AccountID: otherSeller, Region: "us-east-1"}, meterd.ListEntitiesInput{EntityType: "AmiProduct"}, []string{"prod-otherami00001"}},
			{"OffersAscending", nil, byID("ASCENDING"), demoOffers},
			{"OffersDescending", nil, byID("DESCENDING"), []string{catalog.DemoUsageOffer, catalog.DemoTrialOffer, catalog.DemoContractOffer}},
			{"EntityIdFilterList", nil, meterd.ListEntitiesInput{EntityType: "Offer", Filters: []meterd.EntityFilter{{Name: "EntityId", Values: []string{catalog.DemoTrialOffer, "offer-otherprivate1"}}}},
				[]string{catalog.DemoTrialOffer}},
			{"NameWildCard", nil, meterd.ListEntitiesInput{EntityType: "Offer", FiltersOf: "OfferFilters", Filters: []meterd.EntityFilter{{Name: "Name", WildCard: "trial"}}},
				[]string{catalog.DemoTrialOffer}},
			{"ProductId", nil, meterd.ListEntitiesInput{EntityType: "Offer", SortBy: "EntityId", SortOrder: "ASCENDING", FiltersOf: "OfferFilters", Filters: []meterd.EntityFilter{{Name: "ProductId", Values: []string{catalog.DemoProductID}}}},
				demoOffers},
			{"PrivateTargeting", &meterd.Caller{AccountID: otherSeller, Region: "us-east-1"}, meterd.ListEntitiesInput{EntityType: "Offer", Filters: []meterd.EntityFilter{{Name: "Targeting", Values: []string{"BuyerAccounts"}}}},
				[]string{"offer-otherprivate1"}},
			{"BuyerAccountsWildCard", &meterd.Caller{AccountID: otherSeller, Region: "us-east-1"}, meterd.ListEntitiesInput{EntityType: "Offer", Filters: []meterd.EntityFilter{{Name: "BuyerAccounts", WildCard: "4444"}}},
				[]string{"offer-otherprivate1"}},
			{"ResaleAuthorizationIdMatchesNone", nil, meterd.ListEntitiesInput{EntityType: "Offer", Filters: []meterd.EntityFilter{{Name: "ResaleAuthorizationId", Values: []string{"resaleauthz-1"}}}}, nil},
			{"Shared", nil, meterd.ListEntitiesInput{EntityType: "Offer", OwnershipType: "SHARED"}, nil},
			{"DataProduct", nil, meterd.ListEntitiesInput{EntityType: "DataProduct"}, nil},
		}
		for _, tt := range cases {
			out, err := list(tt.caller, tt.in)
			if err != nil || !slices.Equal(ids(out), tt.want) {
				t.Errorf("%s: ListEntities = %v, %v; want %v", tt.name, ids(out), err, tt.want)
			}
		}

		// Pages of one, in order, each token bound to its request.
		one := int64(1)
		in := byID("ASCENDING")
		in.MaxResults = &one
		var got []string
		for page := 0; page < 5; page++ {
			out, err := list(nil, in)
			if err != nil {
				t.Fatalf("page %d: %v", page, err)
			}
			got = append(got, ids(out)...)
			if out.NextToken == "" {
				break
			}
			in.NextToken = out.NextToken
		}
		if !slices.Equal(got, demoOffers) {
			t.Errorf("pages of one = %v, want %v", got, demoOffers)
		}
		first, _ := list(nil, meterd.ListEntitiesInput{EntityType: "Offer", MaxResults: &one})
		for name, in := range map[string]meterd.ListEntitiesInput{
			"Forged":       {EntityType: "Offer", NextToken: "eyJzIjoiIn0.AAAA"},
			"OtherSort":    {EntityType: "Offer", SortBy: "Name", NextToken: first.NextToken},
			"OtherAccount": {EntityType: "Offer", NextToken: first.NextToken},
		} {
			ctx := seller
			if name == "OtherAccount" {
				ctx = other
			}
			in.Catalog = "AWSMarketplace"
			if _, err := api.ListEntities(ctx, &in); meterd.ErrorCode(err) != meterd.EValidation {
				t.Errorf("%s NextToken: ListEntities = %v, want ValidationException", name, err)
			}
		}

		bad := []struct {
			name    string
			in      meterd.ListEntitiesInput
			message string
		}{
			{"NoType", meterd.ListEntitiesInput{}, "EntityType is required"},
			{"UnknownType", meterd.ListEntitiesInput{EntityType: "Widget"}, `EntityType "Widget" is not an entity type of the catalog: meterd lists SaaSProduct, AmiProduct, ContainerProduct and Offer`},
			{"MaxResults", meterd.ListEntitiesInput{EntityType: "Offer", MaxResults: new(int64(51))}, "MaxResults must be between 1 and 50, got 51"},
			{"WrongFilters", meterd.ListEntitiesInput{EntityType: "Offer", FiltersOf: "SaaSProductFilters"}, "EntityTypeFilters.SaaSProductFilters does not filter entities of type Offer"},
			{"WrongSort", meterd.ListEntitiesInput{EntityType: "Offer", SortOf: "AmiProductSort", SortBy: "EntityId"}, "EntityTypeSort.AmiProductSort does not sort entities of type Offer"},
			{"FilterName", meterd.ListEntitiesInput{EntityType: "SaaSProduct", Filters: []meterd.EntityFilter{{Name: "Name"}}},
				`Entities of type SaaSProduct cannot be filtered on "Name": the filters are EntityId, ProductTitle, Visibility, LastModifiedDate`},
			{"SortBy", meterd.ListEntitiesInput{EntityType: "AmiProduct", SortBy: "Price"},
				`Entities of type AmiProduct cannot be sorted by "Price": the sorts are EntityId, LastModifiedDate, ProductTitle, Visibility`},
			{"SortOrder", meterd.ListEntitiesInput{EntityType: "Offer", SortOrder: "UP"}, `SortOrder must be ASCENDING or DESCENDING, not "UP"`},
			{"Ownership", meterd.ListEntitiesInput{EntityType: "Offer", OwnershipType: "ALL"}, `OwnershipType must be SELF or SHARED, not "ALL"`},
		}
		for _, tt := range bad {
			_, err := list(nil, tt.in)
			if meterd.ErrorCode(err) != meterd.EValidation || meterd.ErrorMessage(err) != tt.message {
				t.Errorf("%s: ListEntities = %v, want ValidationException %q", tt.name, err, tt.message)
			}
		}
	})
}
