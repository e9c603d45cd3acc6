package rpcv2

import (
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/awsjson"
)

// AgreementNamespace is the Agreement Service's Smithy namespace, which
// prefixes its errors' __type.
const AgreementNamespace = "com.amazonaws.marketplaceagreement"

// Agreement is the Agreement Service's route table on RPC v2 CBOR
// (/service/AWSMPCommerceService_v20200301/operation/<Op>), running the
// same svc as awsjson.Agreement.
func Agreement(svc meterd.AgreementService) *awsjson.Service {
	return &awsjson.Service{
		Name:        awsjson.AgreementTarget,
		SigningName: "aws-marketplace",
		Protocol:    Protocol{Namespace: AgreementNamespace},
		Operations: awsjson.WithUnsupported(map[string]awsjson.Operation{
			meterd.OpDescribeAgreement:        awsjson.Bind(decodeDescribeAgreement, svc.DescribeAgreement, encodeDescribeAgreement),
			meterd.OpGetAgreementEntitlements: awsjson.Bind(decodeGetAgreementEntitlements, svc.GetAgreementEntitlements, encodeGetAgreementEntitlements),
			meterd.OpCancelAgreement:          awsjson.Bind(decodeCancelAgreement, svc.CancelAgreement, encodeEmpty[meterd.CancelAgreementOutput]),
			meterd.OpGetAgreementTerms:        awsjson.Bind(decodeGetAgreementTerms, svc.GetAgreementTerms, encodeGetAgreementTerms),
		}),
	}
}

type wireDescribeAgreementInput struct {
	AgreementID string `cbor:"agreementId"`
}

func decodeDescribeAgreement(body []byte) (*meterd.DescribeAgreementInput, error) {
	var w wireDescribeAgreementInput
	if err := Decode(body, &w); err != nil {
		return nil, err
	}
	return &meterd.DescribeAgreementInput{AgreementID: w.AgreementID}, nil
}

type wireAccount struct {
	AccountID string `cbor:"accountId,omitempty"`
}

type wireResource struct {
	ID   string `cbor:"id,omitempty"`
	Type string `cbor:"type,omitempty"`
}

type wireProposalSummary struct {
	Resources []wireResource `cbor:"resources,omitempty"`
	OfferID   string         `cbor:"offerId,omitempty"`
}

type wireEstimatedCharges struct {
	CurrencyCode   string `cbor:"currencyCode,omitempty"`
	AgreementValue string `cbor:"agreementValue,omitempty"`
}

type wireDescribeAgreementOutput struct {
	AgreementID      string                `cbor:"agreementId,omitempty"`
	Acceptor         *wireAccount          `cbor:"acceptor,omitempty"`
	Proposer         *wireAccount          `cbor:"proposer,omitempty"`
	StartTime        *time.Time            `cbor:"startTime,omitempty"`
	EndTime          *time.Time            `cbor:"endTime,omitempty"`
	AcceptanceTime   *time.Time            `cbor:"acceptanceTime,omitempty"`
	AgreementType    string                `cbor:"agreementType,omitempty"`
	EstimatedCharges *wireEstimatedCharges `cbor:"estimatedCharges,omitempty"`
	ProposalSummary  *wireProposalSummary  `cbor:"proposalSummary,omitempty"`
	Status           string                `cbor:"status,omitempty"`
}

func encodeDescribeAgreement(out *meterd.DescribeAgreementOutput) ([]byte, error) {
	w := wireDescribeAgreementOutput{
		AgreementID:     out.AgreementID,
		Acceptor:        &wireAccount{AccountID: out.AcceptorAccountID},
		Proposer:        &wireAccount{AccountID: out.ProposerAccountID},
		StartTime:       millis(out.StartTime),
		EndTime:         millis(out.EndTime),
		AcceptanceTime:  millis(out.AcceptanceTime),
		AgreementType:   out.AgreementType,
		ProposalSummary: &wireProposalSummary{OfferID: out.OfferID},
		Status:          out.Status,
	}
	for _, r := range out.Resources {
		w.ProposalSummary.Resources = append(w.ProposalSummary.Resources, wireResource{ID: r.ID, Type: r.Type})
	}
	if c := out.EstimatedCharges; c != nil {
		w.EstimatedCharges = &wireEstimatedCharges{CurrencyCode: c.CurrencyCode, AgreementValue: c.AgreementValue}
	}
	return Encode(w)
}

type wireGetAgreementEntitlementsInput struct {
	AgreementID string `cbor:"agreementId"`
	MaxResults  *int64 `cbor:"maxResults"`
	NextToken   string `cbor:"nextToken"`
}

func decodeGetAgreementEntitlements(body []byte) (*meterd.GetAgreementEntitlementsInput, error) {
	var w wireGetAgreementEntitlementsInput
	if err := Decode(body, &w); err != nil {
		return nil, err
	}
	return &meterd.GetAgreementEntitlementsInput{AgreementID: w.AgreementID, MaxResults: w.MaxResults, NextToken: w.NextToken}, nil
}

type wireAgreementEntitlement struct {
	Resource          *wireResource `cbor:"resource,omitempty"`
	Type              string        `cbor:"type,omitempty"`
	RegistrationToken string        `cbor:"registrationToken,omitempty"`
	Status            string        `cbor:"status,omitempty"`
	StatusReasonCode  string        `cbor:"statusReasonCode,omitempty"`
	LicenseArn        string        `cbor:"licenseArn,omitempty"`
}

type wireGetAgreementEntitlementsOutput struct {
	AgreementEntitlements []wireAgreementEntitlement `cbor:"agreementEntitlements"` // always present
	NextToken             string                     `cbor:"nextToken,omitempty"`
}

func encodeGetAgreementEntitlements(out *meterd.GetAgreementEntitlementsOutput) ([]byte, error) {
	w := wireGetAgreementEntitlementsOutput{AgreementEntitlements: []wireAgreementEntitlement{}, NextToken: out.NextToken}
	for _, e := range out.AgreementEntitlements {
		w.AgreementEntitlements = append(w.AgreementEntitlements, wireAgreementEntitlement{
			Resource: &wireResource{ID: e.Resource.ID, Type: e.Resource.Type}, Type: e.Type, RegistrationToken: e.RegistrationToken,
			Status: e.Status, StatusReasonCode: e.StatusReasonCode, LicenseArn: e.LicenseArn,
		})
	}
	return Encode(w)
}

func decodeCancelAgreement(body []byte) (*meterd.CancelAgreementInput, error) {
	in, err := decodeDescribeAgreement(body) // the same one member
	if err != nil {
		return nil, err
	}
	return &meterd.CancelAgreementInput{AgreementID: in.AgreementID}, nil
}

// encodeEmpty encodes an output without members: an empty CBOR map.
func encodeEmpty[O any](*O) ([]byte, error) { return []byte{0xa0}, nil }

func decodeGetAgreementTerms(body []byte) (*meterd.GetAgreementTermsInput, error) {
	in, err := decodeGetAgreementEntitlements(body) // the same members
	if err != nil {
		return nil, err
	}
	return &meterd.GetAgreementTermsInput{AgreementID: in.AgreementID, MaxResults: in.MaxResults, NextToken: in.NextToken}, nil
}

func encodeGetAgreementTerms(out *meterd.GetAgreementTermsOutput) ([]byte, error) {
	w := map[string]any{"acceptedTerms": awsjson.AcceptedTerms(out.AcceptedTerms, func(t time.Time) any { return millis(&t) })}
	if out.NextToken != "" {
		w["nextToken"] = out.NextToken
	}
	return Encode(w)
}
