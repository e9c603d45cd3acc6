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
		Operations:  AgreementOperations(svc, JSON10),

		InternalError: meterd.EInternalServer,
	}
}

// AgreementOperations are the Agreement Service's operations over svc in
// codec c: the one set of readers and wire structs that both awsJson1_0 and
// RPC v2 CBOR serve, plus the model's operations meterd does not serve.
func AgreementOperations(svc meterd.AgreementService, c Codec) map[string]Operation {
	return withUnsupported(map[string]Operation{
		meterd.OpDescribeAgreement:        bindCodec(c, readAgreementID, svc.DescribeAgreement, writeDescribeAgreement),
		meterd.OpGetAgreementEntitlements: bindCodec(c, readGetAgreementEntitlements, svc.GetAgreementEntitlements, writeGetAgreementEntitlements),
		meterd.OpCancelAgreement:          bindCodec(c, readCancelAgreement, svc.CancelAgreement, writeEmpty[meterd.CancelAgreementOutput]),
		meterd.OpGetAgreementTerms:        bindCodec(c, readGetAgreementTerms, svc.GetAgreementTerms, writeGetAgreementTerms),
		meterd.OpSearchAgreements:         bindCodec(c, readSearchAgreements, svc.SearchAgreements, writeSearchAgreements),
		meterd.OpCreateAgreementRequest:   bindCodec(c, readCreateAgreementRequest, svc.CreateAgreementRequest, writeCreateAgreementRequest),
		meterd.OpAcceptAgreementRequest:   bindCodec(c, readAcceptAgreementRequest, svc.AcceptAgreementRequest, writeAcceptAgreementRequest),
	})
}

// withUnsupported adds to an Agreement Service table the model's
// operations meterd does not serve, each answering ValidationException
// (reason UNSUPPORTED_ACTION) without reading its body, so that a client
// learns it is meterd's limit and not a mistake of its own.
func withUnsupported(ops map[string]Operation) map[string]Operation {
	for _, name := range meterd.AgreementUnsupportedOperations() {
		ops[name] = func(context.Context, []byte) ([]byte, error) {
			e := meterd.Errorf(meterd.EValidation, "%s is not supported by meterd", name)
			e.Reason = "UNSUPPORTED_ACTION"
			return nil, e
		}
	}
	return ops
}

func readAgreementID(d *reader, f fields) *meterd.DescribeAgreementInput {
	return &meterd.DescribeAgreementInput{AgreementID: d.str(f, "agreementId")}
}

func readCancelAgreement(d *reader, f fields) *meterd.CancelAgreementInput {
	return &meterd.CancelAgreementInput{AgreementID: d.str(f, "agreementId")}
}

func readGetAgreementEntitlements(d *reader, f fields) *meterd.GetAgreementEntitlementsInput {
	return &meterd.GetAgreementEntitlementsInput{
		AgreementID: d.str(f, "agreementId"),
		MaxResults:  d.integer(f, "maxResults"),
		NextToken:   d.str(f, "nextToken"),
	}
}

func readGetAgreementTerms(d *reader, f fields) *meterd.GetAgreementTermsInput {
	return &meterd.GetAgreementTermsInput{
		AgreementID: d.str(f, "agreementId"),
		MaxResults:  d.integer(f, "maxResults"),
		NextToken:   d.str(f, "nextToken"),
	}
}

func readSearchAgreements(d *reader, f fields) *meterd.SearchAgreementsInput {
	in := &meterd.SearchAgreementsInput{
		Catalog:    d.str(f, "catalog"),
		MaxResults: d.integer(f, "maxResults"),
		NextToken:  d.str(f, "nextToken"),
	}
	items, path, _ := d.list(f, "filters")
	for i, item := range items {
		g := d.element(item, path, i)
		in.Filters = append(in.Filters, meterd.AgreementSearchFilter{Name: d.str(g, "name"), Values: d.strings(g, "values")})
	}
	if sort := d.structure(f, "sort"); sort.m != nil {
		in.Sort = &meterd.AgreementSort{SortBy: d.str(sort, "sortBy"), SortOrder: d.str(sort, "sortOrder")}
	}
	return in
}

func readCreateAgreementRequest(d *reader, f fields) *meterd.CreateAgreementRequestInput {
	in := &meterd.CreateAgreementRequestInput{
		ClientToken:                 d.str(f, "clientToken"),
		Intent:                      d.str(f, "intent"),
		AgreementProposalIdentifier: d.str(f, "agreementProposalIdentifier"),
		SourceAgreementIdentifier:   d.str(f, "sourceAgreementIdentifier"),
	}
	items, path, _ := d.list(f, "requestedTerms")
	for i, item := range items {
		g := d.element(item, path, i)
		in.RequestedTerms = append(in.RequestedTerms, meterd.RequestedTerm{ID: d.str(g, "id"), Configuration: d.termConfiguration(g, "configuration")})
	}
	return in
}

// termConfiguration reads a RequestedTermConfiguration union: exactly one
// member set (one the model does not have is kept by name, for the
// operation to refuse).
func (d *reader) termConfiguration(f fields, name string) *meterd.RequestedTermConfiguration {
	u := d.structure(f, name)
	var set []string
	for k, v := range u.m {
		if v != nil {
			set = append(set, k)
		}
	}
	if u.m == nil || d.err != nil {
		return nil
	}
	if len(set) != 1 {
		d.fail("Member %s: a union must have exactly one member set, not %d", u.path, len(set))
		return nil
	}
	c := &meterd.RequestedTermConfiguration{Member: set[0]}
	switch c.Member {
	case meterd.ConfigUpfront:
		g := d.structure(u, c.Member)
		c.SelectorValue = d.str(g, "selectorValue")
		items, path, _ := d.list(g, "dimensions")
		c.Dimensions = []meterd.DimensionValue{}
		for i, item := range items {
			e := d.element(item, path, i)
			v := d.integer(e, "dimensionValue")
			if v == nil {
				v = new(int64)
				*v = -1 // absent: the operation refuses it
			}
			c.Dimensions = append(c.Dimensions, meterd.DimensionValue{DimensionKey: d.str(e, "dimensionKey"), DimensionValue: *v})
		}
	case meterd.ConfigRenewal:
		g := d.structure(u, c.Member)
		if v := d.value(g, "enableAutoRenew"); v != nil {
			b := d.boolean(g, "enableAutoRenew")
			c.EnableAutoRenew = &b
		}
	}
	return c
}

func readAcceptAgreementRequest(d *reader, f fields) *meterd.AcceptAgreementRequestInput {
	return &meterd.AcceptAgreementRequestInput{AgreementRequestID: d.str(f, "agreementRequestId")}
}

// The wire shapes of the Agreement Service's outputs, members as in the
// model, for every Codec. Timestamps are the codec's Time values.

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
	StartTime        any                   `json:"startTime,omitempty"`
	EndTime          any                   `json:"endTime,omitempty"`
	AcceptanceTime   any                   `json:"acceptanceTime,omitempty"`
	AgreementType    string                `json:"agreementType,omitempty"`
	EstimatedCharges *wireEstimatedCharges `json:"estimatedCharges,omitempty"`
	ProposalSummary  *wireProposalSummary  `json:"proposalSummary,omitempty"`
	Status           string                `json:"status,omitempty"`
}

// timeOf is t in c's form, nil (absent) when t is.
func timeOf(c Codec, t *time.Time) any {
	if t == nil {
		return nil
	}
	return c.Time(*t)
}

func writeDescribeAgreement(c Codec, out *meterd.DescribeAgreementOutput) any {
	return wireAgreement(c, out)
}

// wireAgreement is an agreement as DescribeAgreement and SearchAgreements
// answer it.
func wireAgreement(c Codec, out *meterd.DescribeAgreementOutput) wireDescribeAgreementOutput {
	w := wireDescribeAgreementOutput{
		AgreementID:     out.AgreementID,
		Acceptor:        &wireAccount{AccountID: out.AcceptorAccountID},
		Proposer:        &wireAccount{AccountID: out.ProposerAccountID},
		StartTime:       timeOf(c, out.StartTime),
		EndTime:         timeOf(c, out.EndTime),
		AcceptanceTime:  timeOf(c, out.AcceptanceTime),
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
	return w
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

func writeGetAgreementEntitlements(_ Codec, out *meterd.GetAgreementEntitlementsOutput) any {
	w := wireGetAgreementEntitlementsOutput{AgreementEntitlements: []wireAgreementEntitlement{}, NextToken: out.NextToken}
	for _, e := range out.AgreementEntitlements {
		w.AgreementEntitlements = append(w.AgreementEntitlements, wireAgreementEntitlement{
			Resource: &wireResource{ID: e.Resource.ID, Type: e.Resource.Type}, Type: e.Type, RegistrationToken: e.RegistrationToken,
			Status: e.Status, StatusReasonCode: e.StatusReasonCode, LicenseArn: e.LicenseArn,
		})
	}
	return w
}

type wireSearchAgreementsOutput struct {
	AgreementViewSummaries []wireDescribeAgreementOutput `json:"agreementViewSummaries"` // always present
	NextToken              string                        `json:"nextToken,omitempty"`
}

func writeSearchAgreements(c Codec, out *meterd.SearchAgreementsOutput) any {
	w := wireSearchAgreementsOutput{AgreementViewSummaries: []wireDescribeAgreementOutput{}, NextToken: out.NextToken}
	for i := range out.AgreementViewSummaries {
		w.AgreementViewSummaries = append(w.AgreementViewSummaries, wireAgreement(c, &out.AgreementViewSummaries[i]))
	}
	return w
}

type wireItemizedCharge struct {
	DimensionKey            string `json:"dimensionKey,omitempty"`
	NewQuantity             int64  `json:"newQuantity"`
	OldQuantity             int64  `json:"oldQuantity"`
	IncrementalChargeAmount string `json:"incrementalChargeAmount,omitempty"`
}

type wireExpectedCharge struct {
	ID     string `json:"id,omitempty"`
	Amount string `json:"amount,omitempty"`
	Timing string `json:"timing,omitempty"`
}

type wireChargeSummary struct {
	CurrencyCode      string               `json:"currencyCode,omitempty"`
	NewAgreementValue string               `json:"newAgreementValue,omitempty"`
	ExpectedCharges   []wireExpectedCharge `json:"expectedCharges"`
	ItemizedCharges   []wireItemizedCharge `json:"itemizedCharges"`
}

type wireCreateAgreementRequestOutput struct {
	AgreementRequestID string             `json:"agreementRequestId,omitempty"`
	ChargeSummary      *wireChargeSummary `json:"chargeSummary,omitempty"`
}

func writeCreateAgreementRequest(_ Codec, out *meterd.CreateAgreementRequestOutput) any {
	w := wireCreateAgreementRequestOutput{AgreementRequestID: out.AgreementRequestID}
	if cs := out.ChargeSummary; cs != nil {
		w.ChargeSummary = &wireChargeSummary{CurrencyCode: cs.CurrencyCode, NewAgreementValue: cs.NewAgreementValue,
			ExpectedCharges: []wireExpectedCharge{}, ItemizedCharges: []wireItemizedCharge{}}
		for _, c := range cs.ExpectedCharges {
			w.ChargeSummary.ExpectedCharges = append(w.ChargeSummary.ExpectedCharges, wireExpectedCharge(c))
		}
		for _, c := range cs.ItemizedCharges {
			w.ChargeSummary.ItemizedCharges = append(w.ChargeSummary.ItemizedCharges, wireItemizedCharge(c))
		}
	}
	return w
}

type wireAcceptAgreementRequestOutput struct {
	AgreementID string `json:"agreementId,omitempty"`
}

func writeAcceptAgreementRequest(_ Codec, out *meterd.AcceptAgreementRequestOutput) any {
	return wireAcceptAgreementRequestOutput{AgreementID: out.AgreementID}
}

// writeEmpty writes an output without members.
func writeEmpty[O any](Codec, *O) any { return struct{}{} }

func writeGetAgreementTerms(c Codec, out *meterd.GetAgreementTermsOutput) any {
	w := map[string]any{"acceptedTerms": acceptedTerms(out.AcceptedTerms, c.Time)}
	if out.NextToken != "" {
		w["nextToken"] = out.NextToken
	}
	return w
}

// acceptedTerms are terms as the model's AcceptedTerm union: one member
// named after the term's type (legalTerm, usageBasedPricingTerm, ...)
// holding its members, absent ones left out. Both protocols encode them;
// ts writes a timestamp in the protocol's form.
func acceptedTerms(terms []meterd.Term, ts func(time.Time) any) []map[string]any {
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
