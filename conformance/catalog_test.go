package conformance

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	mc "github.com/aws/aws-sdk-go-v2/service/marketplacecatalog"
	mctypes "github.com/aws/aws-sdk-go-v2/service/marketplacecatalog/types"

	"github.com/meterd/meterd/catalog"
	"github.com/meterd/meterd/internal/meterdtest"
)

func catalogClient(url string, cr creds) *mc.Client {
	return mc.New(mc.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider(cr.Key, cr.Secret, ""),
	})
}

// TestCatalogGoSDK reads the demo catalog with the Go SDK v2's
// service/marketplacecatalog (rest-json): the product id of an event
// mapped to its product code, the offers and their terms, the paginator,
// and the errors as the SDK's types.
func TestCatalogGoSDK(t *testing.T) {
	t.Parallel()
	srv := meterdtest.Serve(t, meterdtest.Build(t))
	ctx := context.Background()
	seller := catalogClient(srv.URL, creds{Key: "test", Secret: "test"})

	t.Run("ProductCode", func(t *testing.T) {
		out, err := seller.DescribeEntity(ctx, &mc.DescribeEntityInput{Catalog: aws.String("AWSMarketplace"), EntityId: aws.String(catalog.DemoProductID)})
		if err != nil {
			t.Fatalf("DescribeEntity(%s) = %v", catalog.DemoProductID, err)
		}
		var doc struct {
			Description struct{ ProductCode string }
			Dimensions  []struct {
				Key   string
				Types []string
			}
		}
		if err := out.DetailsDocument.UnmarshalSmithyDocument(&doc); err != nil {
			t.Fatalf("DetailsDocument: %v", err)
		}
		if aws.ToString(out.EntityType) != "SaaSProduct@1.0" || doc.Description.ProductCode != catalog.DemoProduct || len(doc.Dimensions) == 0 ||
			aws.ToString(out.EntityArn) != "arn:aws:aws-marketplace:us-east-1:111122223333:AWSMarketplace/SaaSProduct/"+catalog.DemoProductID {
			t.Errorf("DescribeEntity = type %s, arn %s, document %+v; want SaaSProduct@1.0 with ProductCode %s and its dimensions",
				aws.ToString(out.EntityType), aws.ToString(out.EntityArn), doc, catalog.DemoProduct)
		}
		if out.Details == nil || *out.Details == "" || (*out.Details)[0] != '{' {
			t.Errorf("Details = %v, want the document as a JSON string", out.Details)
		}
	})

	t.Run("OfferTerms", func(t *testing.T) {
		out, err := seller.DescribeEntity(ctx, &mc.DescribeEntityInput{Catalog: aws.String("AWSMarketplace"), EntityId: aws.String(catalog.DemoContractOffer)})
		if err != nil {
			t.Fatalf("DescribeEntity(%s) = %v", catalog.DemoContractOffer, err)
		}
		var doc struct {
			ProductId string
			Terms     []struct {
				Type      string
				RateCards []struct {
					Selector struct{ Type, Value string }
					RateCard []struct{ DimensionKey, Price string }
				}
			}
		}
		if err := out.DetailsDocument.UnmarshalSmithyDocument(&doc); err != nil {
			t.Fatalf("DetailsDocument: %v", err)
		}
		var upfront bool
		for _, term := range doc.Terms {
			if term.Type == "ConfigurableUpfrontPricingTerm" && len(term.RateCards) > 0 && term.RateCards[0].Selector.Type == "Duration" {
				upfront = true
			}
		}
		if aws.ToString(out.EntityType) != "Offer@1.0" || doc.ProductId != catalog.DemoProductID || !upfront {
			t.Errorf("DescribeEntity = %s, %+v; want Offer@1.0 of %s with a ConfigurableUpfrontPricingTerm by Duration", aws.ToString(out.EntityType), doc, catalog.DemoProductID)
		}
	})

	t.Run("ListEntities", func(t *testing.T) {
		out, err := seller.ListEntities(ctx, &mc.ListEntitiesInput{Catalog: aws.String("AWSMarketplace"), EntityType: aws.String("SaaSProduct")})
		if err != nil || len(out.EntitySummaryList) != 1 || aws.ToString(out.EntitySummaryList[0].EntityId) != catalog.DemoProductID ||
			out.EntitySummaryList[0].SaaSProductSummary == nil {
			t.Fatalf("ListEntities(SaaSProduct) = %+v, %v; want the demo product with its SaaSProductSummary", out, err)
		}
		var ids []string
		p := mc.NewListEntitiesPaginator(seller, &mc.ListEntitiesInput{Catalog: aws.String("AWSMarketplace"), EntityType: aws.String("Offer"),
			MaxResults: aws.Int32(1), Sort: &mctypes.Sort{SortBy: aws.String("EntityId"), SortOrder: mctypes.SortOrderAscending}})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatalf("ListEntities(Offer) page = %v", err)
			}
			for _, e := range page.EntitySummaryList {
				ids = append(ids, aws.ToString(e.EntityId))
			}
		}
		want := []string{catalog.DemoContractOffer, catalog.DemoTrialOffer, catalog.DemoUsageOffer}
		if len(ids) != len(want) || ids[0] != want[0] || ids[1] != want[1] || ids[2] != want[2] {
			t.Errorf("the paginator's offers by EntityId = %v, want %v", ids, want)
		}
		filtered, err := seller.ListEntities(ctx, &mc.ListEntitiesInput{Catalog: aws.String("AWSMarketplace"), EntityType: aws.String("Offer"),
			EntityTypeFilters: &mctypes.EntityTypeFiltersMemberOfferFilters{Value: mctypes.OfferFilters{
				Name:      &mctypes.OfferNameFilter{WildCardValue: aws.String("contract")},
				Targeting: &mctypes.OfferTargetingFilter{ValueList: []mctypes.OfferTargetingString{mctypes.OfferTargetingStringNone}}}}})
		if err != nil || len(filtered.EntitySummaryList) != 1 || aws.ToString(filtered.EntitySummaryList[0].EntityId) != catalog.DemoContractOffer {
			t.Errorf("ListEntities(public offers named *contract*) = %+v, %v; want the demo's contract offer", filtered, err)
		}
	})

	t.Run("AnotherAccount", func(t *testing.T) {
		buyer := catalogClient(srv.URL, creds{Key: "buyer", Secret: "buyer"})
		_, err := buyer.DescribeEntity(ctx, &mc.DescribeEntityInput{Catalog: aws.String("AWSMarketplace"), EntityId: aws.String(catalog.DemoProductID)})
		if _, ok := errors.AsType[*mctypes.ResourceNotFoundException](err); !ok {
			t.Errorf("DescribeEntity by another account = %v, want *types.ResourceNotFoundException", err)
		}
		out, err := buyer.ListEntities(ctx, &mc.ListEntitiesInput{Catalog: aws.String("AWSMarketplace"), EntityType: aws.String("SaaSProduct")})
		if err != nil || len(out.EntitySummaryList) != 0 {
			t.Errorf("ListEntities by another account = %+v, %v; want none", out, err)
		}
	})

	t.Run("Errors", func(t *testing.T) {
		_, err := seller.ListEntities(ctx, &mc.ListEntitiesInput{Catalog: aws.String("AWSMarketplace"), EntityType: aws.String("Offer"), MaxResults: aws.Int32(51)})
		if _, ok := errors.AsType[*mctypes.ValidationException](err); !ok {
			t.Errorf("ListEntities(MaxResults 51) = %v, want *types.ValidationException", err)
		}
		_, err = seller.DescribeEntity(ctx, &mc.DescribeEntityInput{Catalog: aws.String("Other"), EntityId: aws.String(catalog.DemoProductID)})
		if _, ok := errors.AsType[*mctypes.ValidationException](err); !ok {
			t.Errorf("DescribeEntity(catalog Other) = %v, want *types.ValidationException", err)
		}
		_, err = seller.StartChangeSet(ctx, &mc.StartChangeSetInput{Catalog: aws.String("AWSMarketplace"), ChangeSet: []mctypes.Change{
			{ChangeType: aws.String("UpdateInformation"), Entity: &mctypes.Entity{Type: aws.String("SaaSProduct@1.0"), Identifier: aws.String(catalog.DemoProductID)}}}})
		if e, ok := errors.AsType[*mctypes.ValidationException](err); !ok || e.ErrorMessage() == "" {
			t.Errorf("StartChangeSet = %v, want *types.ValidationException saying it is not supported", err)
		}
	})
}
