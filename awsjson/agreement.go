package awsjson

import (
	"context"
	"time"

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
			meterd.OpGetAgreementTerms:        Bind(decodeGetAgreementTerms, svc.GetAgreementTerms, encodeGetAgreementTerms),
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

func decodeGetAgreementTerms(body []byte) (*meterd.GetAgreementTermsInput, error) {
	in, err := decodeGetAgreementEntitlements(body) // the same members
	if err != nil {
		return nil, err
	}
	return &meterd.GetAgreementTermsInput{AgreementID: in.AgreementID, MaxResults: in.MaxResults, NextToken: in.NextToken}, nil
}

func encodeGetAgreementTerms(out *meterd.GetAgreementTermsOutput) ([]byte, error) {
	w := map[string]any{"acceptedTerms": AcceptedTerms(out.AcceptedTerms, func(t time.Time) any { return timestamp(&t) })}
	if out.NextToken != "" {
		w["nextToken"] = out.NextToken
	}
	return marshal(w)
}

// AcceptedTerms are terms as the model's AcceptedTerm union: one member
// named after the term's type (legalTerm, usageBasedPricingTerm, ...)
// holding its members, absent ones left out. Both protocols encode them;
// ts writes a timestamp in the protocol's form.
func AcceptedTerms(terms []meterd.Term, ts func(time.Time) any) []map[string]any {
	out := make([]map[string]any, 0, len(terms))
	for _, t := range terms {
		m := map[string]any{"type": t.Type, "id": t.ID}
		set := func(k string, v any, present bool) {
			if present {
				m[k] = v
			}
		}
		set("currencyCode", t.CurrencyCode, t.CurrencyCode != "")
		switch t.Type {
		case meterd.TermUsageBasedPricing:
			m["rateCards"] = []map[string]any{{"rateCard": rateCard(t.RateCard)}}
		case meterd.TermConfigurableUpfrontPrice:
			var cards []map[string]any
			for _, rc := range t.RateCards {
				cards = append(cards, map[string]any{
					"selector":    map[string]any{"type": "Duration", "value": rc.Duration},
					"constraints": map[string]any{"multipleDimensionSelection": "Allowed", "quantityConfiguration": "Allowed"},
					"rateCard":    rateCard(rc.RateCard),
				})
			}
			m["rateCards"] = cards
			if c := t.Configuration; c != nil {
				dims := []map[string]any{}
				for _, d := range c.Dimensions {
					dims = append(dims, map[string]any{"dimensionKey": d.DimensionKey, "dimensionValue": d.DimensionValue})
				}
				m["configuration"] = map[string]any{"selectorValue": c.SelectorValue, "dimensions": dims}
			}
		case meterd.TermFreeTrialPricing:
			set("duration", t.Duration, t.Duration != "")
			var grants []map[string]any
			for _, g := range t.Grants {
				grant := map[string]any{"dimensionKey": g.DimensionKey}
				if g.MaxQuantity > 0 {
					grant["maxQuantity"] = g.MaxQuantity
				}
				grants = append(grants, grant)
			}
			set("grants", grants, grants != nil)
		case meterd.TermLegal:
			var docs []map[string]any
			for _, d := range t.Documents {
				docs = append(docs, map[string]any{"type": d.Type, "url": d.URL})
			}
			set("documents", docs, docs != nil)
		case meterd.TermSupport:
			set("refundPolicy", t.RefundPolicy, t.RefundPolicy != "")
		case meterd.TermRenewal:
			auto := t.AutoRenew
			if t.Configuration != nil && t.Configuration.EnableAutoRenew != nil {
				auto = t.Configuration.EnableAutoRenew
			}
			set("configuration", map[string]any{"enableAutoRenew": auto != nil && *auto}, auto != nil)
		case meterd.TermValidity:
			set("agreementDuration", t.AgreementDuration, t.AgreementDuration != "")
			if t.AgreementStartDate != nil {
				m["agreementStartDate"] = ts(*t.AgreementStartDate)
			}
		}
		out = append(out, map[string]any{unionMember(t.Type): m})
	}
	return out
}

func rateCard(items []meterd.RateCardItem) []map[string]any {
	out := []map[string]any{}
	for _, it := range items {
		out = append(out, map[string]any{"dimensionKey": it.DimensionKey, "price": it.Price})
	}
	return out
}

// unionMember is AcceptedTerm's member of a term type: the type's name with
// a lowercase first letter.
func unionMember(typ string) string {
	if typ == "" {
		return typ
	}
	return string(typ[0]|0x20) + typ[1:]
}
