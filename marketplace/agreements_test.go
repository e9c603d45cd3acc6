package marketplace_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/catalog"
	"github.com/meterd/meterd/marketplace"
	"github.com/meterd/meterd/metering"
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

func TestGetAgreementEntitlements(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		api := &marketplace.Agreements{Store: e.l, Clock: e.clock}
		a := e.accept(contract(newBuyer))
		future := contract("210987654321")
		start := t0.Add(48 * time.Hour)
		future.Start = &start
		f := e.accept(future)
		get := func(account, id string) meterd.AgreementEntitlement {
			t.Helper()
			out, err := api.GetAgreementEntitlements(as(t.Context(), account, "us-east-1"), &meterd.GetAgreementEntitlementsInput{AgreementID: id})
			if err != nil || len(out.AgreementEntitlements) != 1 {
				t.Fatalf("GetAgreementEntitlements(%s) as %s = %+v, %v; want one", id, account, out, err)
			}
			return out.AgreementEntitlements[0]
		}

		got := get(newBuyer, a.ID)
		if got.Status != "PROVISIONED" || got.StatusReasonCode != "AGREEMENT_ACTIVE" || got.LicenseArn != a.LicenseArn ||
			got.Resource != (meterd.AgreementResource{ID: catalog.DemoProductID, Type: "SaaSProduct"}) || got.Type != "License" {
			t.Errorf("acceptor's entitlement = %+v", got)
		}
		// The token is the acceptor's, valid 30 minutes, and ResolveCustomer
		// (the seller's call) resolves it to the agreement's customer.
		tok, err := e.l.RegistrationToken(t.Context(), got.RegistrationToken)
		if err != nil || tok.CustomerIdentifier != a.CustomerIdentifier || tok.ProductCode != catalog.DemoProduct ||
			!tok.ExpiresAt.Equal(e.clock.Now().Add(30*time.Minute)) {
			t.Errorf("registration token %q = %+v, %v; want the agreement's customer for 30 minutes", got.RegistrationToken, tok, err)
		}
		res, err := (&metering.Service{Ledger: e.l, Clock: e.clock}).ResolveCustomer(as(t.Context(), catalog.DemoSellerAccount, "us-east-1"),
			&meterd.ResolveCustomerInput{RegistrationToken: got.RegistrationToken})
		if err != nil || res.CustomerIdentifier != a.CustomerIdentifier || res.CustomerAWSAccountID != newBuyer {
			t.Errorf("ResolveCustomer(token) = %+v, %v; want customer %s", res, err, a.CustomerIdentifier)
		}
		if again := get(newBuyer, a.ID); again.RegistrationToken == got.RegistrationToken {
			t.Errorf("a second call answered the same token: each must be fresh")
		}
		if s := get(catalog.DemoSellerAccount, a.ID); s.Status != "PROVISIONED" || s.RegistrationToken != "" {
			t.Errorf("proposer's view = %+v, want PROVISIONED without a token", s)
		}
		if s := get("210987654321", f.ID); s.Status != "SCHEDULED" || s.StatusReasonCode != "FUTURE_START_DATE" || s.RegistrationToken != "" {
			t.Errorf("future-dated = %+v, want SCHEDULED FUTURE_START_DATE without a token", s)
		}
		if _, err := e.market.SetStatus(t.Context(), e.customer(newBuyer), meterd.StatusSuspended); err != nil {
			t.Fatal(err)
		}
		if s := get(newBuyer, a.ID); s.Status != "FAILED" || s.StatusReasonCode != "ACCOUNT_SUSPENDED" || s.RegistrationToken != "" {
			t.Errorf("suspended = %+v, want FAILED ACCOUNT_SUSPENDED without a token", s)
		}
		if _, err := e.market.Cancel(t.Context(), f.ID); err != nil {
			t.Fatal(err)
		}
		if s := get("210987654321", f.ID); s.Status != "DEPROVISIONED" || s.StatusReasonCode != "AGREEMENT_INACTIVE" {
			t.Errorf("cancelled = %+v, want DEPROVISIONED AGREEMENT_INACTIVE", s)
		}

		for _, tt := range []struct {
			name, account string
			in            meterd.GetAgreementEntitlementsInput
			code, reason  string
		}{
			{"NotAParty", catalog.DemoBuyerAccount1, meterd.GetAgreementEntitlementsInput{AgreementID: a.ID}, meterd.EAccessDenied, ""},
			{"MaxResults", newBuyer, meterd.GetAgreementEntitlementsInput{AgreementID: a.ID, MaxResults: int64p(51)}, meterd.EValidation, "INVALID_MAX_RESULTS"},
			{"NextToken", newBuyer, meterd.GetAgreementEntitlementsInput{AgreementID: a.ID, NextToken: "x"}, meterd.EValidation, "INVALID_NEXT_TOKEN"},
			{"Missing", newBuyer, meterd.GetAgreementEntitlementsInput{}, meterd.EValidation, "MISSING_AGREEMENT_ID"},
		} {
			_, err := api.GetAgreementEntitlements(as(t.Context(), tt.account, "us-east-1"), &tt.in)
			if reason, _ := meterd.ErrorDetail(err); meterd.ErrorCode(err) != tt.code || reason != tt.reason {
				t.Errorf("%s: GetAgreementEntitlements = %v (reason %q), want %s %q", tt.name, err, reason, tt.code, tt.reason)
			}
		}
	})
}

func int64p(v int64) *int64 { return &v }

func TestCancelAgreement(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		api := &marketplace.Agreements{Store: e.l, Clock: e.clock, Market: e.market}
		a := e.accept(contract(newBuyer))
		cancel := func(account string) error {
			_, err := api.CancelAgreement(as(t.Context(), account, "us-east-1"), &meterd.CancelAgreementInput{AgreementID: a.ID})
			return err
		}
		err := cancel(catalog.DemoSellerAccount)
		if meterd.ErrorCode(err) != meterd.EAccessDenied || meterd.ErrorMessage(err) != "Account 111122223333 is the proposer of agreement "+a.ID+": only its acceptor (123456789012) may cancel it" {
			t.Errorf("the proposer's CancelAgreement = %v, want AccessDeniedException", err)
		}
		if err := cancel(catalog.DemoBuyerAccount1); meterd.ErrorCode(err) != meterd.EAccessDenied {
			t.Errorf("another buyer's CancelAgreement = %v, want AccessDeniedException", err)
		}
		seq := e.lastSeq()
		if err := cancel(newBuyer); err != nil {
			t.Fatalf("CancelAgreement() = %v", err)
		}
		if got := e.agreement(a.ID); got.Status != meterd.AgreementCancelled {
			t.Errorf("status after CancelAgreement = %s, want CANCELLED", got.Status)
		}
		if _, types := e.events(seq); len(types) == 0 {
			t.Errorf("CancelAgreement wrote no events")
		}
		err = cancel(newBuyer)
		if meterd.ErrorCode(err) != meterd.EConflictAPI || meterd.ErrorMessage(err) != "Agreement "+a.ID+" is not ACTIVE: only an active agreement can be cancelled" {
			t.Errorf("a second CancelAgreement = %v, want ConflictException", err)
		}
	})
}

func TestGetAgreementTerms(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		api := &marketplace.Agreements{Store: e.l, Clock: e.clock, TokenKey: []byte("agreement terms test key, 32 b..")}
		a := e.accept(contract(newBuyer))
		b := e.accept(contract("210987654321"))
		ctx := as(t.Context(), newBuyer, "us-east-1")
		all, err := api.GetAgreementTerms(ctx, &meterd.GetAgreementTermsInput{AgreementID: a.ID})
		if err != nil || !reflect.DeepEqual(all.AcceptedTerms, a.Terms) || all.NextToken != "" {
			t.Fatalf("GetAgreementTerms() = %+v, %v; want the agreement's %d terms on one page", all, err, len(a.Terms))
		}
		up, ok := a.Term(meterd.TermConfigurableUpfrontPrice)
		if !ok || up.Configuration == nil || up.Configuration.SelectorValue != "P12M" {
			t.Fatalf("the contract's upfront term = %+v, want the buyer's P12M configuration", up)
		}
		var paged []meterd.Term
		in := &meterd.GetAgreementTermsInput{AgreementID: a.ID, MaxResults: int64p(2)}
		for pages := 0; ; pages++ {
			out, err := api.GetAgreementTerms(ctx, in)
			if err != nil || pages > len(a.Terms) {
				t.Fatalf("page %d: %v", pages, err)
			}
			paged = append(paged, out.AcceptedTerms...)
			if out.NextToken == "" {
				break
			}
			in.NextToken = out.NextToken
			// A token is the caller's and the agreement's only.
			_, err = api.GetAgreementTerms(as(t.Context(), "210987654321", "us-east-1"), &meterd.GetAgreementTermsInput{AgreementID: b.ID, NextToken: out.NextToken})
			if reason, _ := meterd.ErrorDetail(err); reason != "INVALID_NEXT_TOKEN" {
				t.Errorf("a token of another agreement = %v, want INVALID_NEXT_TOKEN", err)
			}
		}
		if !reflect.DeepEqual(paged, a.Terms) {
			t.Errorf("pages of 2 = %d terms, want the %d terms in order", len(paged), len(a.Terms))
		}
		for _, tok := range []string{"forged", "e30.AAAA"} {
			_, err := api.GetAgreementTerms(ctx, &meterd.GetAgreementTermsInput{AgreementID: a.ID, NextToken: tok})
			if reason, _ := meterd.ErrorDetail(err); meterd.ErrorCode(err) != meterd.EValidation || reason != "INVALID_NEXT_TOKEN" {
				t.Errorf("nextToken %q = %v, want ValidationException INVALID_NEXT_TOKEN", tok, err)
			}
		}
		if _, err := api.GetAgreementTerms(as(t.Context(), catalog.DemoBuyerAccount1, "us-east-1"), &meterd.GetAgreementTermsInput{AgreementID: a.ID}); meterd.ErrorCode(err) != meterd.EAccessDenied {
			t.Errorf("another buyer's GetAgreementTerms = %v, want AccessDeniedException", err)
		}
		if _, err := api.GetAgreementTerms(ctx, &meterd.GetAgreementTermsInput{AgreementID: a.ID, MaxResults: int64p(0)}); meterd.ErrorCode(err) != meterd.EValidation {
			t.Errorf("maxResults 0 = %v, want ValidationException", err)
		}
	})
}
