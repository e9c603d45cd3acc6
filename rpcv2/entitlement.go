package rpcv2

import (
	"context"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/awsjson"
)

// EntitlementNamespace is the Entitlement Service's Smithy namespace, which
// prefixes its errors' __type.
const EntitlementNamespace = "com.amazonaws.marketplaceentitlementservice"

// Entitlement is the Entitlement Service's route table on RPC v2 CBOR
// (/service/AWSMPEntitlementService/operation/GetEntitlements), running the
// same getEntitlements as awsjson.Entitlement.
func Entitlement(getEntitlements func(context.Context, *meterd.GetEntitlementsInput) (*meterd.GetEntitlementsOutput, error)) *awsjson.Service {
	return &awsjson.Service{
		Name:        awsjson.EntitlementTarget,
		SigningName: "aws-marketplace",
		Protocol:    Protocol{Namespace: EntitlementNamespace},
		Operations: map[string]awsjson.Operation{
			meterd.OpGetEntitlements: awsjson.Bind(decodeGetEntitlements, getEntitlements, encodeGetEntitlements),
		},
	}
}

type wireGetEntitlementsInput struct {
	ProductCode string              `cbor:"ProductCode"`
	Filter      map[string][]string `cbor:"Filter"`
	NextToken   string              `cbor:"NextToken"`
	MaxResults  *int64              `cbor:"MaxResults"`
}

func decodeGetEntitlements(body []byte) (*meterd.GetEntitlementsInput, error) {
	var w wireGetEntitlementsInput
	if err := Decode(body, &w); err != nil {
		return nil, err
	}
	for name, values := range w.Filter {
		if values == nil {
			return nil, meterd.Errorf(meterd.ESerialization, "Member Filter.%s: null can not be converted to a List", clip(name))
		}
	}
	return &meterd.GetEntitlementsInput{ProductCode: w.ProductCode, Filter: w.Filter, NextToken: w.NextToken, MaxResults: w.MaxResults}, nil
}

type wireEntitlementValue struct {
	IntegerValue *int64 `cbor:"IntegerValue,omitempty"`
	BooleanValue *bool  `cbor:"BooleanValue,omitempty"`
}

type wireEntitlement struct {
	ProductCode          string               `cbor:"ProductCode,omitempty"`
	Dimension            string               `cbor:"Dimension,omitempty"`
	CustomerIdentifier   string               `cbor:"CustomerIdentifier,omitempty"`
	CustomerAWSAccountId string               `cbor:"CustomerAWSAccountId,omitempty"`
	Value                wireEntitlementValue `cbor:"Value"`
	ExpirationDate       *time.Time           `cbor:"ExpirationDate,omitempty"`
	LicenseArn           string               `cbor:"LicenseArn,omitempty"`
}

type wireGetEntitlementsOutput struct {
	Entitlements []wireEntitlement `cbor:"Entitlements"` // always present, [] when none
	NextToken    string            `cbor:"NextToken,omitempty"`
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
			ExpirationDate:       millis(e.ExpirationDate),
			LicenseArn:           e.LicenseArn,
		}
	}
	return Encode(w)
}

// millis rounds a time to the millisecond, the protocol's resolution: the
// encoder then writes an integer for whole seconds, else a float.
func millis(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	r := t.Round(time.Millisecond).UTC()
	return &r
}
