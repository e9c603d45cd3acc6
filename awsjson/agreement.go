package awsjson

import (
	"context"

	"github.com/meterd/meterd"
)

// AgreementTarget is the Agreement Service's X-Amz-Target prefix and RPC v2
// service name.
const AgreementTarget = "AWSMPCommerceService_v20200301"

// Agreement is the Agreement Service's target table on awsJson1_0 over svc.
func Agreement(svc meterd.AgreementService) *Service {
	return &Service{
		Name:        AgreementTarget,
		SigningName: "aws-marketplace",
		Protocol:    JSON10,
		Operations: WithUnsupported(map[string]Operation{
			meterd.OpDescribeAgreement:        Bind(decodeDescribeAgreement, svc.DescribeAgreement, encodeDescribeAgreement),
			meterd.OpGetAgreementEntitlements: Bind(decodeGetAgreementEntitlements, svc.GetAgreementEntitlements, encodeGetAgreementEntitlements),
			meterd.OpCancelAgreement:          Bind(decodeCancelAgreement, svc.CancelAgreement, encodeEmpty[meterd.CancelAgreementOutput]),
		}),
	}
}

// WithUnsupported adds to an Agreement Service table the model's
// operations meterd does not serve, each answering ValidationException
// (reason UNSUPPORTED_ACTION) without reading its body, so that a client
// learns it is meterd's limit and not a mistake of its own.
func WithUnsupported(ops map[string]Operation) map[string]Operation {
	for _, name := range meterd.AgreementUnsupportedOperations() {
		ops[name] = func(context.Context, []byte) ([]byte, error) {
			e := meterd.Errorf(meterd.EValidation, "%s is not supported by meterd", name)
			e.Reason = "UNSUPPORTED_ACTION"
			return nil, e
		}
	}
	return ops
}

var describeAgreementShape = shape{"agreementId": nil}

func decodeDescribeAgreement(body []byte) (*meterd.DescribeAgreementInput, error) {
	var d reader
	f := d.body(body, describeAgreementShape)
	in := &meterd.DescribeAgreementInput{AgreementID: d.str(f, "agreementId")}
	if d.err != nil {
		return nil, d.err
	}
	return in, nil
}

// The wire shapes of the Agreement Service's outputs, members as in the
// model.

type wireAccount struct {
	AccountID string `json:"accountId,omitempty"`
}

type wireResource struct {
	ID   string `json:"id,omitempty"`
	Type string `json:"type,omitempty"`
}

type wireProposalSummary struct {
	Resources []wireResource `json:"resources,omitempty"`
	OfferID   string         `json:"offerId,omitempty"`
}

type wireEstimatedCharges struct {
	CurrencyCode   string `json:"currencyCode,omitempty"`
	AgreementValue string `json:"agreementValue,omitempty"`
}

type wireDescribeAgreementOutput struct {
	AgreementID      string                `json:"agreementId,omitempty"`
	Acceptor         *wireAccount          `json:"acceptor,omitempty"`
	Proposer         *wireAccount          `json:"proposer,omitempty"`
	StartTime        *epochSeconds         `json:"startTime,omitempty"`
	EndTime          *epochSeconds         `json:"endTime,omitempty"`
	AcceptanceTime   *epochSeconds         `json:"acceptanceTime,omitempty"`
	AgreementType    string                `json:"agreementType,omitempty"`
	EstimatedCharges *wireEstimatedCharges `json:"estimatedCharges,omitempty"`
	ProposalSummary  *wireProposalSummary  `json:"proposalSummary,omitempty"`
	Status           string                `json:"status,omitempty"`
}

func encodeDescribeAgreement(out *meterd.DescribeAgreementOutput) ([]byte, error) {
	w := wireDescribeAgreementOutput{
		AgreementID:     out.AgreementID,
		Acceptor:        &wireAccount{AccountID: out.AcceptorAccountID},
		Proposer:        &wireAccount{AccountID: out.ProposerAccountID},
		StartTime:       timestamp(out.StartTime),
		EndTime:         timestamp(out.EndTime),
		AcceptanceTime:  timestamp(out.AcceptanceTime),
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
	return marshal(w)
}

var getAgreementEntitlementsShape = shape{"agreementId": nil, "maxResults": nil, "nextToken": nil}

func decodeGetAgreementEntitlements(body []byte) (*meterd.GetAgreementEntitlementsInput, error) {
	var d reader
	f := d.body(body, getAgreementEntitlementsShape)
	in := &meterd.GetAgreementEntitlementsInput{
		AgreementID: d.str(f, "agreementId"),
		MaxResults:  d.integer(f, "maxResults"),
		NextToken:   d.str(f, "nextToken"),
	}
	if d.err != nil {
		return nil, d.err
	}
	return in, nil
}

type wireAgreementEntitlement struct {
	Resource          *wireResource `json:"resource,omitempty"`
	Type              string        `json:"type,omitempty"`
	RegistrationToken string        `json:"registrationToken,omitempty"`
	Status            string        `json:"status,omitempty"`
	StatusReasonCode  string        `json:"statusReasonCode,omitempty"`
	LicenseArn        string        `json:"licenseArn,omitempty"`
}

type wireGetAgreementEntitlementsOutput struct {
	AgreementEntitlements []wireAgreementEntitlement `json:"agreementEntitlements"` // always present
	NextToken             string                     `json:"nextToken,omitempty"`
}

func encodeGetAgreementEntitlements(out *meterd.GetAgreementEntitlementsOutput) ([]byte, error) {
	w := wireGetAgreementEntitlementsOutput{AgreementEntitlements: []wireAgreementEntitlement{}, NextToken: out.NextToken}
	for _, e := range out.AgreementEntitlements {
		w.AgreementEntitlements = append(w.AgreementEntitlements, wireAgreementEntitlement{
			Resource: &wireResource{ID: e.Resource.ID, Type: e.Resource.Type}, Type: e.Type, RegistrationToken: e.RegistrationToken,
			Status: e.Status, StatusReasonCode: e.StatusReasonCode, LicenseArn: e.LicenseArn,
		})
	}
	return marshal(w)
}

func decodeCancelAgreement(body []byte) (*meterd.CancelAgreementInput, error) {
	in, err := decodeDescribeAgreement(body) // the same one member
	if err != nil {
		return nil, err
	}
	return &meterd.CancelAgreementInput{AgreementID: in.AgreementID}, nil
}

// encodeEmpty encodes an output without members.
func encodeEmpty[O any](*O) ([]byte, error) { return []byte("{}"), nil }
