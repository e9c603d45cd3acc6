package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	mc "github.com/aws/aws-sdk-go-v2/service/marketplacecatalog"
	mctypes "github.com/aws/aws-sdk-go-v2/service/marketplacecatalog/types"

	"github.com/meterd/meterd/admin"
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

	t.Run("FaultRules", func(t *testing.T) {
		// A ThrottlingException (429) and an InternalServiceException (500)
		// from a rule of count 1 are retried by the SDK; a
		// ValidationException is not.
		adm := admin.NewClient(srv.URL, srv.AdminToken)
		for _, code := range []string{"ThrottlingException", "InternalServiceErrorException", "ValidationException"} {
			if _, err := adm.AddFault(ctx, admin.FaultSpec{Operation: "DescribeEntity", Error: code, Count: 1}); err != nil {
				t.Fatalf("AddFault(%s) = %v", code, err)
			}
			_, err := seller.DescribeEntity(ctx, &mc.DescribeEntityInput{Catalog: aws.String("AWSMarketplace"), EntityId: aws.String(catalog.DemoProductID)})
			if _, invalid := errors.AsType[*mctypes.ValidationException](err); (code == "ValidationException") != invalid {
				t.Errorf("DescribeEntity after one %s = %v; want it retried unless a ValidationException", code, err)
			}
			if rules, err := adm.Faults(ctx); err != nil || len(rules) != 0 {
				t.Errorf("fault rules after the call = %+v, %v; want the rule used up", rules, err)
			}
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

// runScript runs a client's script against srv with the endpoint variable
// set, after checking the pinned version of its client is installed.
func runScript(t *testing.T, srv *meterdtest.Server, endpointVar, pkg, want string, name string, args ...string) {
	t.Helper()
	if pkg != "" {
		if v, why := jsPackageVersion(pkg)(); v != want {
			t.Fatalf("@aws-sdk/%s: version %q, want %s; %s (see .ci/run for how to install it)", pkg, v, want, why)
		}
	}
	cmd := exec.Command(name, args...)
	cmd.Env = append(srv.Env("unused", "unused"), endpointVar+"="+srv.URL)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// TestCatalogBoto3 runs python/catalog_boto3.py, which checks each answer.
func TestCatalogBoto3(t *testing.T) {
	t.Parallel()
	srv := meterdtest.Serve(t, meterdtest.Build(t))
	runScript(t, srv, "AWS_ENDPOINT_URL_MARKETPLACE_CATALOG", "", "", "python3", filepath.Join("python", "catalog_boto3.py"))
}

// TestCatalogJS runs js/catalog.mjs with the JS SDK v3's
// @aws-sdk/client-marketplace-catalog (3.1142.0: the registry serves no
// 3.1138.0 of it).
func TestCatalogJS(t *testing.T) {
	t.Parallel()
	srv := meterdtest.Serve(t, meterdtest.Build(t))
	runScript(t, srv, "AWS_ENDPOINT_URL_MARKETPLACE_CATALOG", "client-marketplace-catalog", "3.1142.0", "node", filepath.Join("js", "catalog.mjs"))
}

// TestCatalogCLIv1 maps a product id to its code and reads an offer with
// the AWS CLI v1, and checks an error's exit status and message.
func TestCatalogCLIv1(t *testing.T) {
	t.Parallel()
	srv := meterdtest.Serve(t, meterdtest.Build(t))
	cli := func(args ...string) (string, error) {
		cmd := exec.Command("python3", append([]string{"-c", "import sys; from awscli.clidriver import main; sys.exit(main())"}, args...)...)
		cmd.Env = append(srv.Env("test", "test"), "AWS_ENDPOINT_URL_MARKETPLACE_CATALOG="+srv.URL)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := cli("marketplace-catalog", "describe-entity", "--catalog", "AWSMarketplace", "--entity-id", catalog.DemoProductID,
		"--query", "DetailsDocument.Description.ProductCode", "--output", "text")
	if err != nil || strings.TrimSpace(out) != catalog.DemoProduct {
		t.Errorf("aws marketplace-catalog describe-entity: %v\n%s; want %s", err, out, catalog.DemoProduct)
	}
	out, err = cli("marketplace-catalog", "list-entities", "--catalog", "AWSMarketplace", "--entity-type", "Offer",
		"--filter-list", "Name=EntityId,ValueList="+catalog.DemoTrialOffer, "--output", "json")
	var got struct {
		EntitySummaryList []struct {
			EntityID     string `json:"EntityId"`
			OfferSummary struct {
				ProductID string `json:"ProductId"`
			}
		}
	}
	if err != nil || json.Unmarshal([]byte(out), &got) != nil || len(got.EntitySummaryList) != 1 ||
		got.EntitySummaryList[0].EntityID != catalog.DemoTrialOffer || got.EntitySummaryList[0].OfferSummary.ProductID != catalog.DemoProductID {
		t.Errorf("aws marketplace-catalog list-entities --filter-list: %v\n%s", err, out)
	}
	out, err = cli("marketplace-catalog", "describe-entity", "--catalog", "AWSMarketplace", "--entity-id", "prod-nope")
	if err == nil || !strings.Contains(out, "(ResourceNotFoundException)") || !strings.Contains(out, "does not exist") {
		t.Errorf("describe-entity of none: %v\n%s; want ResourceNotFoundException", err, out)
	}
}

// TestCatalogCLIv2Debian reads the catalog with Debian's AWS CLI v2
// (2.9.19, /usr/bin/aws), which predates AWS_ENDPOINT_URL_* (so it is
// given --endpoint-url) and DetailsDocument: it reads the entity's
// Details, the same document as a string.
func TestCatalogCLIv2Debian(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/usr/bin/aws"); err != nil {
		t.Fatalf("Debian's awscli is not installed (see .ci/run): %v", err)
	}
	srv := meterdtest.Serve(t, meterdtest.Build(t))
	cli := func(args ...string) (string, error) {
		cmd := exec.Command("/usr/bin/aws", append([]string{"--endpoint-url", srv.URL}, args...)...)
		cmd.Env = srv.Env("test", "test")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := cli("marketplace-catalog", "describe-entity", "--catalog", "AWSMarketplace", "--entity-id", catalog.DemoProductID,
		"--query", "Details", "--output", "text")
	var doc struct{ Description struct{ ProductCode string } }
	if err != nil || json.Unmarshal([]byte(out), &doc) != nil || doc.Description.ProductCode != catalog.DemoProduct {
		t.Errorf("aws marketplace-catalog describe-entity --query Details: %v\n%s; want a document with ProductCode %s", err, out, catalog.DemoProduct)
	}
	out, err = cli("marketplace-catalog", "list-entities", "--catalog", "AWSMarketplace", "--entity-type", "Offer",
		"--query", "EntitySummaryList[].EntityId", "--output", "text")
	if err != nil || len(strings.Fields(out)) != 3 {
		t.Errorf("aws marketplace-catalog list-entities: %v\n%s; want the demo's 3 offers", err, out)
	}
	out, err = cli("marketplace-catalog", "describe-entity", "--catalog", "AWSMarketplace", "--entity-id", "prod-nope")
	if err == nil || !strings.Contains(out, "(ResourceNotFoundException)") {
		t.Errorf("describe-entity of none: %v\n%s; want ResourceNotFoundException", err, out)
	}
}
