package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	ma "github.com/aws/aws-sdk-go-v2/service/marketplaceagreement"
	matypes "github.com/aws/aws-sdk-go-v2/service/marketplaceagreement/types"
	mm "github.com/aws/aws-sdk-go-v2/service/marketplacemetering"
	mmtypes "github.com/aws/aws-sdk-go-v2/service/marketplacemetering/types"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/catalog"
	"github.com/meterd/meterd/internal/meterdtest"
	"github.com/meterd/meterd/sqlite"
)

// The Agreement Service's Go SDK scenarios: service/marketplaceagreement
// v1.30.8 speaks RPC v2 CBOR, so these run the CBOR path with the client a
// seller's Go code uses. The server runs the demo catalog, whose second
// buyer holds a twelve-month contract agreement.

// demoAgreement returns the demo catalog's agreement on an offer by a
// buyer, read from the stopped server's store.
func demoAgreement(t *testing.T, srv *meterdtest.Server, offer, buyer string) *meterd.Agreement {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(srv.Data, "meterd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	as, err := store.Agreements(ctx, meterd.AgreementFilter{ProductCode: catalog.DemoProduct, OfferID: offer, BuyerAccountID: buyer})
	if err != nil || len(as) != 1 {
		t.Fatalf("the demo's agreements on %s by %s = %d, %v; want 1", offer, buyer, len(as), err)
	}
	return as[0]
}

func agreementClient(url, region string, cr creds) *ma.Client {
	return ma.New(ma.Options{
		Region:       region,
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider(cr.Key, cr.Secret, ""),
	})
}

func TestAgreementGoSDK(t *testing.T) {
	t.Parallel()
	srv := meterdtest.Serve(t, meterdtest.Build(t))
	srv.Stop()
	a := demoAgreement(t, srv, catalog.DemoContractOffer, catalog.DemoBuyerAccount2)
	usage := demoAgreement(t, srv, catalog.DemoUsageOffer, catalog.DemoBuyerAccount1) // the demo's customer entry
	srv.Restart()
	seller := creds{Key: "test", Secret: "test"}       // the demo seller
	otherBuyer := creds{Key: "buyer", Secret: "buyer"} // demo buyer 1, not this agreement's acceptor
	ctx := context.Background()

	t.Run("DescribeAgreement", func(t *testing.T) {
		out, err := agreementClient(srv.URL, "us-east-1", seller).DescribeAgreement(ctx, &ma.DescribeAgreementInput{AgreementId: aws.String(a.ID)})
		if err != nil {
			t.Fatalf("DescribeAgreement() = %v", err)
		}
		if aws.ToString(out.AgreementId) != a.ID || out.Status != "ACTIVE" || aws.ToString(out.AgreementType) != "PurchaseAgreement" ||
			aws.ToString(out.Acceptor.AccountId) != catalog.DemoBuyerAccount2 || aws.ToString(out.Proposer.AccountId) != catalog.DemoSellerAccount {
			t.Errorf("DescribeAgreement() = id %s status %s type %s acceptor %s proposer %s", aws.ToString(out.AgreementId), out.Status,
				aws.ToString(out.AgreementType), aws.ToString(out.Acceptor.AccountId), aws.ToString(out.Proposer.AccountId))
		}
		// 10 seats × 120 + premium 1000, the demo's twelve-month prices.
		if c := out.EstimatedCharges; c == nil || aws.ToString(c.AgreementValue) != "2200.00" || aws.ToString(c.CurrencyCode) != "USD" {
			t.Errorf("estimatedCharges = %+v, want USD 2200.00", c)
		}
		if !out.StartTime.Equal(a.StartTime) || out.EndTime == nil || !out.EndTime.Equal(*a.EndTime) || !out.AcceptanceTime.Equal(a.AcceptanceTime) {
			t.Errorf("times = %v %v %v, want %v %v %v", out.StartTime, out.EndTime, out.AcceptanceTime, a.StartTime, a.EndTime, a.AcceptanceTime)
		}
		ps := out.ProposalSummary
		if ps == nil || aws.ToString(ps.OfferId) != catalog.DemoContractOffer || len(ps.Resources) != 1 ||
			aws.ToString(ps.Resources[0].Id) != catalog.DemoProductID || aws.ToString(ps.Resources[0].Type) != "SaaSProduct" {
			t.Errorf("proposalSummary = %+v", ps)
		}
	})
	t.Run("DescribeAgreement not a party AccessDeniedException", func(t *testing.T) {
		_, err := agreementClient(srv.URL, "us-east-1", otherBuyer).DescribeAgreement(ctx, &ma.DescribeAgreementInput{AgreementId: aws.String(a.ID)})
		if e := (*matypes.AccessDeniedException)(nil); !errors.As(err, &e) {
			t.Errorf("DescribeAgreement by another buyer = %v, want *types.AccessDeniedException", err)
		}
	})
	t.Run("DescribeAgreement unknown ResourceNotFoundException", func(t *testing.T) {
		_, err := agreementClient(srv.URL, "us-east-1", seller).DescribeAgreement(ctx, &ma.DescribeAgreementInput{AgreementId: aws.String("agmt-0000000000000000000000000")})
		if e := (*matypes.ResourceNotFoundException)(nil); !errors.As(err, &e) {
			t.Errorf("DescribeAgreement of none = %v, want *types.ResourceNotFoundException", err)
		}
	})
	t.Run("DescribeAgreement bad id ValidationException with reason and fields", func(t *testing.T) {
		_, err := agreementClient(srv.URL, "us-east-1", seller).DescribeAgreement(ctx, &ma.DescribeAgreementInput{AgreementId: aws.String("agmt 1")})
		e := (*matypes.ValidationException)(nil)
		if !errors.As(err, &e) || e.Reason != matypes.ValidationExceptionReasonInvalidAgreementId ||
			len(e.Fields) != 1 || aws.ToString(e.Fields[0].Name) != "agreementId" {
			t.Errorf("DescribeAgreement(\"agmt 1\") = %v (%+v), want ValidationException INVALID_AGREEMENT_ID on agreementId", err, e)
		}
	})
	t.Run("DescribeAgreement eu-west-1 ValidationException", func(t *testing.T) {
		_, err := agreementClient(srv.URL, "eu-west-1", seller).DescribeAgreement(ctx, &ma.DescribeAgreementInput{AgreementId: aws.String(a.ID)})
		if e := (*matypes.ValidationException)(nil); !errors.As(err, &e) || aws.ToString(e.Message) != "The Agreement Service is available only in us-east-1, not in eu-west-1" {
			t.Errorf("DescribeAgreement in eu-west-1 = %v, want ValidationException", err)
		}
	})
	t.Run("GetAgreementTerms", func(t *testing.T) {
		c := agreementClient(srv.URL, "us-east-1", seller)
		var terms []matypes.AcceptedTerm
		p := ma.NewGetAgreementTermsPaginator(c, &ma.GetAgreementTermsInput{AgreementId: aws.String(a.ID), MaxResults: aws.Int32(2)})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatalf("GetAgreementTerms() = %v", err)
			}
			terms = append(terms, out.AcceptedTerms...)
		}
		if len(terms) != len(a.Terms) {
			t.Fatalf("GetAgreementTerms pages of 2 = %d terms, want %d", len(terms), len(a.Terms))
		}
		found := false
		for _, term := range terms {
			if up, ok := term.(*matypes.AcceptedTermMemberConfigurableUpfrontPricingTerm); ok {
				found = true
				cfg := up.Value.Configuration
				if cfg == nil || aws.ToString(cfg.SelectorValue) != "P12M" || len(cfg.Dimensions) != 2 {
					t.Errorf("configurableUpfrontPricingTerm = %+v, configuration %+v", up.Value, cfg)
				}
			}
		}
		if !found {
			t.Errorf("no configurableUpfrontPricingTerm among %d terms", len(terms))
		}
	})
	t.Run("GetAgreementEntitlements registration token ResolveCustomer", func(t *testing.T) {
		out, err := agreementClient(srv.URL, "us-east-1", otherBuyer).GetAgreementEntitlements(ctx, &ma.GetAgreementEntitlementsInput{AgreementId: aws.String(usage.ID)})
		if err != nil || len(out.AgreementEntitlements) != 1 {
			t.Fatalf("GetAgreementEntitlements() = %+v, %v; want one", out, err)
		}
		e := out.AgreementEntitlements[0]
		if e.Status != matypes.AgreementEntitlementStatusProvisioned || e.StatusReasonCode != matypes.AgreementEntitlementStatusReasonCodeAgreementActive ||
			aws.ToString(e.LicenseArn) != usage.LicenseArn || aws.ToString(e.Resource.Id) != catalog.DemoProductID || aws.ToString(e.RegistrationToken) == "" {
			t.Fatalf("entitlement = %+v", e)
		}
		fx := fixture{url: srv.URL}
		res, err := goClient(fx, seller, &counter{}).ResolveCustomer(ctx, &mm.ResolveCustomerInput{RegistrationToken: e.RegistrationToken})
		if err != nil || aws.ToString(res.CustomerIdentifier) != catalog.DemoCustomer1 || aws.ToString(res.CustomerAWSAccountId) != catalog.DemoBuyerAccount1 {
			t.Errorf("ResolveCustomer(the agreement's token) = %+v, %v; want %s", res, err, catalog.DemoCustomer1)
		}
		out, err = agreementClient(srv.URL, "us-east-1", seller).GetAgreementEntitlements(ctx, &ma.GetAgreementEntitlementsInput{AgreementId: aws.String(usage.ID)})
		if err != nil || len(out.AgreementEntitlements) != 1 || out.AgreementEntitlements[0].RegistrationToken != nil {
			t.Errorf("the proposer's GetAgreementEntitlements = %+v, %v; want one without a token", out, err)
		}
	})
	t.Run("ListAgreementInvoiceLineItems not supported ValidationException", func(t *testing.T) {
		_, err := agreementClient(srv.URL, "us-east-1", seller).ListAgreementInvoiceLineItems(ctx, &ma.ListAgreementInvoiceLineItemsInput{
			AgreementId: aws.String(a.ID), GroupBy: matypes.LineItemGroupByInvoiceId})
		e := (*matypes.ValidationException)(nil)
		if !errors.As(err, &e) || aws.ToString(e.Message) != "ListAgreementInvoiceLineItems is not supported by meterd" || e.Reason != "UNSUPPORTED_ACTION" {
			t.Errorf("ListAgreementInvoiceLineItems = %v, want ValidationException UNSUPPORTED_ACTION", err)
		}
	})
	t.Run("SearchAgreements", func(t *testing.T) {
		filters := func(party string, more ...matypes.Filter) []matypes.Filter {
			return append([]matypes.Filter{{Name: aws.String("PartyType"), Values: []string{party}},
				{Name: aws.String("AgreementType"), Values: []string{"PurchaseAgreement"}}}, more...)
		}
		var ids []string
		p := ma.NewSearchAgreementsPaginator(agreementClient(srv.URL, "us-east-1", seller), &ma.SearchAgreementsInput{
			Catalog: aws.String("AWSMarketplace"), Filters: filters("Proposer"), MaxResults: aws.Int32(1),
			Sort: &matypes.Sort{SortBy: aws.String("EndTime"), SortOrder: matypes.SortOrderAscending}})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatalf("SearchAgreements() = %v", err)
			}
			for _, v := range out.AgreementViewSummaries {
				ids = append(ids, aws.ToString(v.AgreementId))
				if v.Proposer == nil || aws.ToString(v.Proposer.AccountId) != catalog.DemoSellerAccount || v.ProposalSummary == nil ||
					len(v.ProposalSummary.Resources) != 1 || aws.ToString(v.ProposalSummary.Resources[0].Id) != catalog.DemoProductID {
					t.Errorf("summary %+v: want the demo seller's, on the demo product", v)
				}
			}
		}
		// The contract ends; the two pay-as-you-go agreements do not, and
		// sort after it.
		if len(ids) != 3 || ids[0] != a.ID {
			t.Errorf("the seller's agreements by end time ascending, one a page = %q, want 3 starting with %s", ids, a.ID)
		}
		out, err := agreementClient(srv.URL, "us-east-1", otherBuyer).SearchAgreements(ctx, &ma.SearchAgreementsInput{
			Catalog: aws.String("AWSMarketplace"), Filters: filters("Acceptor", matypes.Filter{Name: aws.String("Status"), Values: []string{"ACTIVE"}})})
		if err != nil || len(out.AgreementViewSummaries) != 1 || aws.ToString(out.AgreementViewSummaries[0].AgreementId) != usage.ID {
			t.Errorf("the buyer's active agreements = %+v, %v; want only %s", out, err, usage.ID)
		}
	})
	t.Run("SearchAgreements unsupported combination ValidationException", func(t *testing.T) {
		_, err := agreementClient(srv.URL, "us-east-1", otherBuyer).SearchAgreements(ctx, &ma.SearchAgreementsInput{Filters: []matypes.Filter{
			{Name: aws.String("PartyType"), Values: []string{"Acceptor"}}, {Name: aws.String("AgreementType"), Values: []string{"PurchaseAgreement"}},
			{Name: aws.String("AcceptorAccountId"), Values: []string{catalog.DemoBuyerAccount2}}}})
		e := (*matypes.ValidationException)(nil)
		if !errors.As(err, &e) || e.Reason != matypes.ValidationExceptionReasonUnsupportedFilters || !strings.Contains(aws.ToString(e.Message), "AcceptorAccountId") {
			t.Errorf("an acceptor filtering by AcceptorAccountId = %v, want ValidationException UNSUPPORTED_FILTERS naming it", err)
		}
	})
	t.Run("fault rules InternalServerException and ThrottlingException", func(t *testing.T) {
		adm := admin.NewClient(srv.URL, srv.AdminToken)
		defer adm.ClearFaults(ctx)
		c := ma.New(ma.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1,
			Credentials: credentials.NewStaticCredentialsProvider(seller.Key, seller.Secret, "")})
		for _, code := range []string{meterd.EInternalServer, meterd.EThrottling} {
			if _, err := adm.AddFault(ctx, admin.FaultSpec{Operation: meterd.OpDescribeAgreement, Error: code, Count: 1}); err != nil {
				t.Fatalf("AddFault(DescribeAgreement, %s) = %v", code, err)
			}
			_, err := c.DescribeAgreement(ctx, &ma.DescribeAgreementInput{AgreementId: aws.String(a.ID)})
			internal, throttled := (*matypes.InternalServerException)(nil), (*matypes.ThrottlingException)(nil)
			if (code == meterd.EThrottling && !errors.As(err, &throttled)) || (code == meterd.EInternalServer && !errors.As(err, &internal)) {
				t.Errorf("DescribeAgreement under a %s rule = %v, want *types.%s", code, err, code)
			}
		}
		if _, err := c.DescribeAgreement(ctx, &ma.DescribeAgreementInput{AgreementId: aws.String(a.ID)}); err != nil {
			t.Errorf("DescribeAgreement once the rules' counts are spent = %v", err)
		}
	})
	t.Run("CancelAgreement", func(t *testing.T) {
		_, err := agreementClient(srv.URL, "us-east-1", seller).CancelAgreement(ctx, &ma.CancelAgreementInput{AgreementId: aws.String(usage.ID)})
		if e := (*matypes.AccessDeniedException)(nil); !errors.As(err, &e) {
			t.Errorf("the proposer's CancelAgreement = %v, want *types.AccessDeniedException", err)
		}
		buyer := agreementClient(srv.URL, "us-east-1", otherBuyer)
		if _, err := buyer.CancelAgreement(ctx, &ma.CancelAgreementInput{AgreementId: aws.String(usage.ID)}); err != nil {
			t.Fatalf("CancelAgreement() = %v", err)
		}
		out, err := buyer.DescribeAgreement(ctx, &ma.DescribeAgreementInput{AgreementId: aws.String(usage.ID)})
		if err != nil || out.Status != matypes.AgreementStatusCancelled {
			t.Errorf("after CancelAgreement: %+v, %v; want CANCELLED", out, err)
		}
		_, err = buyer.CancelAgreement(ctx, &ma.CancelAgreementInput{AgreementId: aws.String(usage.ID)})
		if e := (*matypes.ConflictException)(nil); !errors.As(err, &e) {
			t.Errorf("a second CancelAgreement = %v, want *types.ConflictException", err)
		}
	})
}

// TestAgreementBoto3 runs the Agreement Service's scenarios with boto3,
// which speaks awsJson1_0 (python/agreement_boto3.py checks each answer).
func TestAgreementBoto3(t *testing.T) {
	t.Parallel()
	srv := meterdtest.Serve(t, meterdtest.Build(t))
	srv.Stop()
	contract := demoAgreement(t, srv, catalog.DemoContractOffer, catalog.DemoBuyerAccount2)
	usage := demoAgreement(t, srv, catalog.DemoUsageOffer, catalog.DemoBuyerAccount1)
	srv.Restart()
	// The demo's keys have their id as their secret: test/test, buyer/buyer.
	cmd := exec.Command("python3", filepath.Join("python", "agreement_boto3.py"), contract.ID, usage.ID, "test", "buyer")
	cmd.Env = append(srv.Env("unused", "unused"), "AWS_ENDPOINT_URL_MARKETPLACE_AGREEMENT="+srv.URL)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("agreement_boto3.py: %v\n%s", err, out)
	}
}

// TestAgreementCLIv1 reads an agreement and its entitlements, searches the
// seller's agreements, and buys, accepts and cancels a contract with the AWS
// CLI v1 (awscli's entry point in the image Python), which speaks
// awsJson1_0, and checks errors' exit status and message. (Debian's AWS CLI
// v2, 2.9.19, predates the Agreement Service: it has no
// marketplace-agreement command.)
func TestAgreementCLIv1(t *testing.T) {
	t.Parallel()
	srv := meterdtest.Serve(t, meterdtest.Build(t))
	srv.Stop()
	contract := demoAgreement(t, srv, catalog.DemoContractOffer, catalog.DemoBuyerAccount2)
	offer := demoOffer(t, srv, catalog.DemoContractOffer)
	srv.Restart()
	cli := func(key string, args ...string) (string, error) {
		cmd := exec.Command("python3", append([]string{"-c", "import sys; from awscli.clidriver import main; sys.exit(main())"}, args...)...)
		cmd.Env = append(srv.Env(key, key), "AWS_ENDPOINT_URL_MARKETPLACE_AGREEMENT="+srv.URL)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	aws := func(args ...string) (string, error) { return cli("test", args...) }
	asBuyer := func(args ...string) (string, error) { return cli("buyer", args...) }
	out, err := aws("marketplace-agreement", "describe-agreement", "--agreement-id", contract.ID, "--output", "json")
	var got struct {
		AgreementID string `json:"agreementId"`
		Status      string `json:"status"`
		Acceptor    struct {
			AccountID string `json:"accountId"`
		} `json:"acceptor"`
	}
	if err != nil || json.Unmarshal([]byte(out), &got) != nil || got.AgreementID != contract.ID || got.Status != "ACTIVE" ||
		got.Acceptor.AccountID != catalog.DemoBuyerAccount2 {
		t.Errorf("aws marketplace-agreement describe-agreement: %v\n%s", err, out)
	}
	out, err = aws("marketplace-agreement", "get-agreement-entitlements", "--agreement-id", contract.ID, "--output", "json")
	if err != nil || !strings.Contains(out, `"status": "PROVISIONED"`) || strings.Contains(out, "registrationToken") {
		t.Errorf("aws marketplace-agreement get-agreement-entitlements (the proposer: no token): %v\n%s", err, out)
	}
	out, err = aws("marketplace-agreement", "describe-agreement", "--agreement-id", "agmt-0000000000000000000000000")
	if err == nil || !strings.Contains(out, "(ResourceNotFoundException)") || !strings.Contains(out, "does not exist") {
		t.Errorf("describe-agreement of none: %v\n%s; want ResourceNotFoundException", err, out)
	}
	out, err = aws("marketplace-agreement", "search-agreements", "--catalog", "AWSMarketplace", "--filters",
		"name=PartyType,values=Proposer", "name=AgreementType,values=PurchaseAgreement", "name=AcceptorAccountId,values="+catalog.DemoBuyerAccount2,
		"--query", "agreementViewSummaries[].agreementId", "--output", "text")
	if err != nil || !strings.Contains(out, contract.ID) {
		t.Errorf("aws marketplace-agreement search-agreements: %v\n%s; want %s", err, out, contract.ID)
	}

	// The buyer (demo buyer 1, key buyer) buys the contract for one month.
	var terms []map[string]any
	for _, term := range offer.Terms {
		rt := map[string]any{"id": term.ID}
		switch term.Type {
		case meterd.TermConfigurableUpfrontPrice:
			rt["configuration"] = map[string]any{"configurableUpfrontPricingTermConfiguration": map[string]any{
				"selectorValue": "P1M", "dimensions": []any{map[string]any{"dimensionKey": "seats", "dimensionValue": 1}}}}
		case meterd.TermRenewal:
			rt["configuration"] = map[string]any{"renewalTermConfiguration": map[string]any{"enableAutoRenew": false}}
		}
		terms = append(terms, rt)
	}
	requested, _ := json.Marshal(terms)
	out, err = asBuyer("marketplace-agreement", "create-agreement-request", "--intent", "NEW", "--agreement-proposal-identifier", offer.AgreementProposalID,
		"--requested-terms", string(requested), "--query", "[agreementRequestId, chargeSummary.newAgreementValue]", "--output", "text")
	fields := strings.Fields(out)
	if err != nil || len(fields) != 2 || !strings.HasPrefix(fields[0], "ar-") || fields[1] != "12.00" {
		t.Fatalf("aws marketplace-agreement create-agreement-request: %v\n%s; want an ar- id and 12.00", err, out)
	}
	out, err = asBuyer("marketplace-agreement", "accept-agreement-request", "--agreement-request-id", fields[0], "--query", "agreementId", "--output", "text")
	id := strings.TrimSpace(out)
	if err != nil || !strings.HasPrefix(id, "agmt-") {
		t.Fatalf("aws marketplace-agreement accept-agreement-request: %v\n%s", err, out)
	}
	if out, err := asBuyer("marketplace-agreement", "cancel-agreement", "--agreement-id", id); err != nil {
		t.Errorf("aws marketplace-agreement cancel-agreement: %v\n%s", err, out)
	}
	out, err = aws("marketplace-agreement", "describe-agreement", "--agreement-id", id, "--query", "status", "--output", "text")
	if err != nil || strings.TrimSpace(out) != "CANCELLED" {
		t.Errorf("describe-agreement after cancel-agreement: %v\n%s; want CANCELLED", err, out)
	}
	out, err = asBuyer("marketplace-agreement", "create-agreement-request", "--intent", "NEW", "--agreement-proposal-identifier", offer.AgreementProposalID,
		"--requested-terms", `[{"id":"term-0"}]`)
	if err == nil || !strings.Contains(out, "(ValidationException)") || !strings.Contains(out, "term-0 is not a term of offer") {
		t.Errorf("create-agreement-request of an unknown term: %v\n%s; want ValidationException", err, out)
	}
}

// demoOffer returns a demo offer, read from the stopped server's store.
func demoOffer(t *testing.T, srv *meterdtest.Server, id string) *meterd.Offer {
	t.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(srv.Data, "meterd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	o, err := store.Offer(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestAgreementPurchaseGoSDK is the Agreement Service's end-to-end
// scenario with the Go SDK (RPC v2 CBOR): a buyer purchases the demo's
// contract with CreateAgreementRequest and AcceptAgreementRequest; the
// seller finds the agreement with SearchAgreements, reads its terms and
// entitlements; the buyer's registration token resolves to the customer
// and its license, which the seller meters with; the buyer cancels.
func TestAgreementPurchaseGoSDK(t *testing.T) {
	t.Parallel()
	srv := meterdtest.Serve(t, meterdtest.Build(t))
	srv.Stop()
	offer := demoOffer(t, srv, catalog.DemoContractOffer)
	srv.Restart()
	ctx := context.Background()
	seller := agreementClient(srv.URL, "us-east-1", creds{Key: "test", Secret: "test"})
	buyer := agreementClient(srv.URL, "us-east-1", creds{Key: "buyer", Secret: "buyer"}) // demo buyer 1

	var terms []matypes.RequestedTerm
	for _, term := range offer.Terms {
		rt := matypes.RequestedTerm{Id: aws.String(term.ID)}
		switch term.Type {
		case meterd.TermConfigurableUpfrontPrice:
			rt.Configuration = &matypes.RequestedTermConfigurationMemberConfigurableUpfrontPricingTermConfiguration{Value: matypes.ConfigurableUpfrontPricingTermConfiguration{
				SelectorValue: aws.String("P12M"), Dimensions: []matypes.Dimension{{DimensionKey: aws.String("seats"), DimensionValue: 4}}}}
		case meterd.TermRenewal:
			rt.Configuration = &matypes.RequestedTermConfigurationMemberRenewalTermConfiguration{Value: matypes.RenewalTermConfiguration{EnableAutoRenew: aws.Bool(false)}}
		}
		terms = append(terms, rt)
	}
	quote, err := buyer.CreateAgreementRequest(ctx, &ma.CreateAgreementRequestInput{Intent: matypes.IntentNew,
		AgreementProposalIdentifier: aws.String(offer.AgreementProposalID), RequestedTerms: terms})
	if err != nil {
		t.Fatalf("CreateAgreementRequest() = %v", err)
	}
	if cs := quote.ChargeSummary; cs == nil || aws.ToString(cs.NewAgreementValue) != "480.00" || len(cs.ItemizedCharges) != 1 ||
		aws.ToInt32(cs.ItemizedCharges[0].NewQuantity) != 4 || len(cs.ExpectedCharges) != 1 || cs.ExpectedCharges[0].Timing != matypes.TimingOnAcceptance {
		t.Errorf("chargeSummary = %+v, want 4 seats × 120 = 480.00 on acceptance", cs)
	}
	_, err = seller.AcceptAgreementRequest(ctx, &ma.AcceptAgreementRequestInput{AgreementRequestId: quote.AgreementRequestId})
	if e := (*matypes.AccessDeniedException)(nil); !errors.As(err, &e) {
		t.Errorf("the seller's AcceptAgreementRequest = %v, want *types.AccessDeniedException", err)
	}
	accepted, err := buyer.AcceptAgreementRequest(ctx, &ma.AcceptAgreementRequestInput{AgreementRequestId: quote.AgreementRequestId})
	if err != nil {
		t.Fatalf("AcceptAgreementRequest() = %v", err)
	}
	id := aws.ToString(accepted.AgreementId)
	if again, err := buyer.AcceptAgreementRequest(ctx, &ma.AcceptAgreementRequestInput{AgreementRequestId: quote.AgreementRequestId}); err != nil || aws.ToString(again.AgreementId) != id {
		t.Errorf("a second AcceptAgreementRequest = %v, %v; want %s", again, err, id)
	}

	found, err := seller.SearchAgreements(ctx, &ma.SearchAgreementsInput{Catalog: aws.String("AWSMarketplace"), Filters: []matypes.Filter{
		{Name: aws.String("PartyType"), Values: []string{"Proposer"}}, {Name: aws.String("AgreementType"), Values: []string{"PurchaseAgreement"}},
		{Name: aws.String("AcceptorAccountId"), Values: []string{catalog.DemoBuyerAccount1}}, {Name: aws.String("OfferId"), Values: []string{catalog.DemoContractOffer}}}})
	if err != nil || len(found.AgreementViewSummaries) != 1 || aws.ToString(found.AgreementViewSummaries[0].AgreementId) != id {
		t.Fatalf("the seller's SearchAgreements = %+v, %v; want %s", found, err, id)
	}
	got, err := seller.GetAgreementTerms(ctx, &ma.GetAgreementTermsInput{AgreementId: aws.String(id)})
	if err != nil || len(got.AcceptedTerms) != len(offer.Terms) {
		t.Fatalf("GetAgreementTerms() = %+v, %v", got, err)
	}
	ents, err := buyer.GetAgreementEntitlements(ctx, &ma.GetAgreementEntitlementsInput{AgreementId: aws.String(id)})
	if err != nil || len(ents.AgreementEntitlements) != 1 || ents.AgreementEntitlements[0].RegistrationToken == nil {
		t.Fatalf("the buyer's GetAgreementEntitlements() = %+v, %v; want a registration token", ents, err)
	}
	license := aws.ToString(ents.AgreementEntitlements[0].LicenseArn)
	fx := fixture{url: srv.URL}
	metering := goClient(fx, creds{Key: "test", Secret: "test"}, &counter{})
	res, err := metering.ResolveCustomer(ctx, &mm.ResolveCustomerInput{RegistrationToken: ents.AgreementEntitlements[0].RegistrationToken})
	if err != nil || aws.ToString(res.CustomerAWSAccountId) != catalog.DemoBuyerAccount1 || aws.ToString(res.ProductCode) != catalog.DemoProduct {
		t.Fatalf("ResolveCustomer(the token) = %+v, %v", res, err)
	}
	out, err := metering.BatchMeterUsage(ctx, &mm.BatchMeterUsageInput{ProductCode: res.ProductCode, UsageRecords: []mmtypes.UsageRecord{{
		CustomerAWSAccountId: res.CustomerAWSAccountId, Dimension: aws.String("requests"), Quantity: aws.Int32(7), Timestamp: aws.Time(time.Now())}}})
	if err != nil || len(out.Results) != 1 || out.Results[0].Status != mmtypes.UsageRecordResultStatusSuccess {
		t.Errorf("BatchMeterUsage for the customer = %+v, %v", out, err)
	}

	if _, err := buyer.CancelAgreement(ctx, &ma.CancelAgreementInput{AgreementId: aws.String(id)}); err != nil {
		t.Fatalf("CancelAgreement() = %v", err)
	}
	d, err := seller.DescribeAgreement(ctx, &ma.DescribeAgreementInput{AgreementId: aws.String(id)})
	if err != nil || d.Status != matypes.AgreementStatusCancelled {
		t.Errorf("after CancelAgreement: %+v, %v; want CANCELLED", d, err)
	}
	ents, err = seller.GetAgreementEntitlements(ctx, &ma.GetAgreementEntitlementsInput{AgreementId: aws.String(id)})
	if err != nil || len(ents.AgreementEntitlements) != 1 || ents.AgreementEntitlements[0].Status != matypes.AgreementEntitlementStatusDeprovisioned ||
		aws.ToString(ents.AgreementEntitlements[0].LicenseArn) != license {
		t.Errorf("entitlements after the cancel = %+v, %v; want %s DEPROVISIONED", ents, err, license)
	}
}

// serveContractOffer starts the binary with the demo catalog and returns
// it with the demo contract offer as JSON (its agreement proposal id and
// terms, as `meterd offers show` prints it), which a buyer's script needs.
func serveContractOffer(t *testing.T) (*meterdtest.Server, []byte) {
	srv := meterdtest.Serve(t, meterdtest.Build(t))
	srv.Stop()
	offer, err := json.Marshal(demoOffer(t, srv, catalog.DemoContractOffer))
	if err != nil {
		t.Fatal(err)
	}
	srv.Restart()
	return srv, offer
}

// TestAgreementPurchaseBoto3 is the end-to-end purchase with boto3
// (python/agreement_purchase_boto3.py checks each answer), in awsJson1_0
// and through botocore's RPC v2 CBOR serializer. The demo buyer buys twice:
// two contracts, two licenses.
func TestAgreementPurchaseBoto3(t *testing.T) {
	t.Parallel()
	srv, offer := serveContractOffer(t)
	for _, protocol := range []string{"json", "cbor"} {
		t.Run(protocol, func(t *testing.T) {
			cmd := exec.Command("python3", filepath.Join("python", "agreement_purchase_boto3.py"), string(offer), "test", "buyer", protocol)
			cmd.Env = append(srv.Env("unused", "unused"), "AWS_ENDPOINT_URL_MARKETPLACE_AGREEMENT="+srv.URL)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("agreement_purchase_boto3.py %s: %v\n%s", protocol, err, out)
			}
		})
	}
}

// TestAgreementJS runs js/agreement.mjs with the JS SDK v3's
// @aws-sdk/client-marketplace-agreement (3.1142.0, awsJson1_0: the
// registry's 3.1138.0 line has no such package): the end-to-end purchase
// and each error.
func TestAgreementJS(t *testing.T) {
	t.Parallel()
	srv, offer := serveContractOffer(t)
	if v, why := jsPackageVersion("client-marketplace-agreement")(); v != "3.1142.0" {
		t.Fatalf("@aws-sdk/client-marketplace-agreement: version %q, want 3.1142.0; %s (see .ci/run for how to install it)", v, why)
	}
	cmd := exec.Command("node", filepath.Join("js", "agreement.mjs"))
	cmd.Env = append(srv.Env("unused", "unused"), "AWS_ENDPOINT_URL_MARKETPLACE_AGREEMENT="+srv.URL, "AGREEMENT_OFFER="+string(offer))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("node js/agreement.mjs: %v\n%s", err, out)
	}
}
