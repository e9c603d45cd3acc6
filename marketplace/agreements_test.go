package marketplace_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/catalog"
	"github.com/meterd/meterd/marketplace"
)

// as is a context of a caller of account signing for region.
func as(ctx context.Context, account, region string) context.Context {
	return meterd.NewContextWithCaller(ctx, &meterd.Caller{AccountID: account, AccessKeyID: "k", Region: region})
}

func TestDescribeAgreement(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		a := e.accept(contract(newBuyer))
		api := &marketplace.Agreements{Store: e.l, Clock: e.clock}
		want := &meterd.DescribeAgreementOutput{
			AgreementID: a.ID, AcceptorAccountID: newBuyer, ProposerAccountID: catalog.DemoSellerAccount,
			AcceptanceTime: &a.AcceptanceTime, StartTime: &a.StartTime, EndTime: a.EndTime,
			AgreementType:    "PurchaseAgreement",
			EstimatedCharges: &meterd.EstimatedCharges{CurrencyCode: "USD", AgreementValue: "1600.00"}, // 5 seats × 120 + premium 1000
			OfferID:          catalog.DemoContractOffer,
			Resources:        []meterd.AgreementResource{{ID: catalog.DemoProductID, Type: "SaaSProduct"}},
			Status:           meterd.AgreementActive,
		}
		for _, account := range []string{newBuyer, catalog.DemoSellerAccount} {
			got, err := api.DescribeAgreement(as(t.Context(), account, "us-east-1"), &meterd.DescribeAgreementInput{AgreementID: a.ID})
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("DescribeAgreement as %s = %+v, %v\nwant %+v", account, got, err, want)
			}
		}
		usage := e.accept(marketplace.AcceptInput{Buyer: "210987654321", OfferID: catalog.DemoUsageOffer})
		got, err := api.DescribeAgreement(as(t.Context(), "210987654321", "us-east-1"), &meterd.DescribeAgreementInput{AgreementID: usage.ID})
		if err != nil || got.EndTime != nil || got.EstimatedCharges != nil {
			t.Errorf("DescribeAgreement of pay-as-you-go = %+v, %v; want no endTime and no estimatedCharges", got, err)
		}

		errs := []struct {
			name, account, region, id string
			code, reason, message     string
		}{
			{"OtherBuyer", catalog.DemoBuyerAccount1, "us-east-1", a.ID, meterd.EAccessDenied, "",
				"Account 444455556666 is neither the proposer nor the acceptor of agreement " + a.ID + ": only they may read it"},
			{"Unknown", newBuyer, "us-east-1", "agmt-0000000000000000000000000", meterd.EResourceNotFound, "",
				"Agreement agmt-0000000000000000000000000 does not exist"},
			{"Region", newBuyer, "eu-west-1", a.ID, meterd.EValidation, "",
				"The Agreement Service is available only in us-east-1, not in eu-west-1"},
			{"Missing", newBuyer, "us-east-1", "", meterd.EValidation, "MISSING_AGREEMENT_ID", "agreementId is required"},
			{"Pattern", newBuyer, "us-east-1", "agmt-1 2", meterd.EValidation, "INVALID_AGREEMENT_ID",
				"agreementId must be 1 to 64 letters, digits, '_', '/' or '-'"},
		}
		for _, tt := range errs {
			_, err := api.DescribeAgreement(as(t.Context(), tt.account, tt.region), &meterd.DescribeAgreementInput{AgreementID: tt.id})
			reason, fields := meterd.ErrorDetail(err)
			if meterd.ErrorCode(err) != tt.code || meterd.ErrorMessage(err) != tt.message || reason != tt.reason {
				t.Errorf("%s: DescribeAgreement = %v (reason %q), want %s %q (reason %q)", tt.name, err, reason, tt.code, tt.message, tt.reason)
			}
			if tt.reason != "" && (len(fields) != 1 || fields[0].Name != "agreementId") {
				t.Errorf("%s: fields = %+v, want agreementId", tt.name, fields)
			}
		}
	})
}
