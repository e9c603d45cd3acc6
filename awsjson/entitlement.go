package awsjson

import (
	"context"

	"github.com/meterd/meterd"
)

// EntitlementTarget is the Entitlement Service's X-Amz-Target prefix and
// RPC v2 service name.
const EntitlementTarget = "AWSMPEntitlementService"

// Entitlement is the Entitlement Service's target table on awsJson1_1,
// running getEntitlements.
func Entitlement(getEntitlements func(context.Context, *meterd.GetEntitlementsInput) (*meterd.GetEntitlementsOutput, error)) *Service {
	return &Service{
		Name:        EntitlementTarget,
		SigningName: "aws-marketplace",
		Protocol:    JSON11,
		Operations: map[string]Operation{
			meterd.OpGetEntitlements: Bind(decodeGetEntitlements, getEntitlements, encodeGetEntitlements),
		},
	}
}

// getEntitlementsShape is GetEntitlementsRequest: Filter, a map, is built
// whole.
var getEntitlementsShape = shape{"ProductCode": nil, "Filter": buildAll, "NextToken": nil, "MaxResults": nil}

func decodeGetEntitlements(body []byte) (*meterd.GetEntitlementsInput, error) {
	var d reader
	return d.getEntitlements(d.body(body, getEntitlementsShape))
}

// getEntitlements reads a GetEntitlements request's members.
func (d *reader) getEntitlements(f fields) (*meterd.GetEntitlementsInput, error) {
	in := &meterd.GetEntitlementsInput{
		ProductCode: d.str(f, "ProductCode"),
		Filter:      d.stringListMap(f, "Filter"),
		NextToken:   d.str(f, "NextToken"),
		MaxResults:  d.integer(f, "MaxResults"),
	}
	if d.err != nil {
		return nil, d.err
	}
	return in, nil
}

// stringListMap decodes a map of string to list of strings; nil when
// absent. A null list is refused: AWS JSON maps are not sparse.
func (d *reader) stringListMap(f fields, name string) map[string][]string {
	v := d.value(f, name)
	if v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		d.typeError(f.member(name), v, "a Map")
		return nil
	}
	out := make(map[string][]string, len(m))
	for k, item := range m {
		path := f.member(name) + "." + k
		items, ok := item.([]any)
		if !ok {
			d.typeError(path, item, "a List")
			return nil
		}
		values := make([]string, 0, len(items))
		for _, s := range items {
			str, ok := s.(string)
			if !ok {
				d.typeError(path, s, "a String")
				return nil
			}
			values = append(values, str)
		}
		out[k] = values
	}
	return out
}

// The wire shapes of GetEntitlements' output, members as in the model.

type wireEntitlementValue struct {
	IntegerValue *int64 `json:",omitempty"`
	BooleanValue *bool  `json:",omitempty"`
}

type wireEntitlement struct {
	ProductCode          string               `json:",omitempty"`
	Dimension            string               `json:",omitempty"`
	CustomerIdentifier   string               `json:",omitempty"`
	CustomerAWSAccountId string               `json:",omitempty"`
	Value                wireEntitlementValue // always present: exactly one member set
	ExpirationDate       *epochSeconds        `json:",omitempty"`
	LicenseArn           string               `json:",omitempty"`
}

type wireGetEntitlementsOutput struct {
	Entitlements []wireEntitlement // always present, [] when none
	NextToken    string            `json:",omitempty"`
}

func encodeGetEntitlements(out *meterd.GetEntitlementsOutput) ([]byte, error) {
	w := wireGetEntitlementsOutput{Entitlements: make([]wireEntitlement, len(out.Entitlements)), NextToken: out.NextToken}
	for i, e := range out.Entitlements {
		w.Entitlements[i] = wireEntitlement{
			ProductCode:          e.ProductCode,
			Dimension:            e.Dimension,
			CustomerIdentifier:   e.CustomerIdentifier,
			CustomerAWSAccountId: e.CustomerAWSAccountID,
			Value:                wireEntitlementValue{IntegerValue: e.IntegerValue, BooleanValue: e.BooleanValue},
			ExpirationDate:       timestamp(e.ExpirationDate),
			LicenseArn:           e.LicenseArn,
		}
	}
	return marshal(w)
}
