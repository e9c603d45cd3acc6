package awsjson

import (
	"reflect"
	"testing"

	"github.com/meterd/meterd"
)

func TestDecodeGetAgreementEntitlements(t *testing.T) {
	five := int64(5)
	got, err := decodeWith(JSON10, readGetAgreementEntitlements, []byte(`{"agreementId":"agmt-1","maxResults":5,"nextToken":"n","new":1}`))
	if want := (&meterd.GetAgreementEntitlementsInput{AgreementID: "agmt-1", MaxResults: &five, NextToken: "n"}); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("decode = %+v, %v; want %+v", got, err, want)
	}
	_, err = decodeWith(JSON10, readGetAgreementEntitlements, []byte(`{"maxResults":"5"}`))
	if meterd.ErrorCode(err) != meterd.ESerialization || meterd.ErrorMessage(err) != "Member maxResults: STRING_VALUE can not be converted to an Integer" {
		t.Errorf("decode of a text maxResults = %v, want SerializationException", err)
	}
}

// FuzzDecodeAgreement checks that the Agreement Service's decoders never
// panic and fail only with SerializationException.
func FuzzDecodeAgreement(f *testing.F) {
	for _, s := range []string{``, `{}`, `null`, `[]`, `{"agreementId":"agmt-1"}`, `{"agreementId":1}`,
		`{"agreementId":"a","maxResults":50,"nextToken":"t"}`, `{"maxResults":1e3}`, `{"agreementId":"\ud800"}`,
		`{"filters":[{"name":"PartyType","values":["Proposer"]}],"sort":{"sortBy":"EndTime"}}`, `{"filters":[null]}`,
		`{"intent":"NEW","requestedTerms":[{"id":"t","configuration":{"configurableUpfrontPricingTermConfiguration":{"selectorValue":"P1M","dimensions":[{"dimensionKey":"s","dimensionValue":1}]}}}]}`,
		`{"requestedTerms":[{"configuration":{"renewalTermConfiguration":{"enableAutoRenew":true},"x":{}}}]}`, `{"agreementRequestId":"ar-1"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if _, err := decodeWith(JSON10, readAgreementID, body); err != nil {
			assertSerializationError(t, err)
		}
		if _, err := decodeWith(JSON10, readGetAgreementEntitlements, body); err != nil {
			assertSerializationError(t, err)
		}
		if _, err := decodeWith(JSON10, readCancelAgreement, body); err != nil {
			assertSerializationError(t, err)
		}
		if _, err := decodeWith(JSON10, readGetAgreementTerms, body); err != nil {
			assertSerializationError(t, err)
		}
		if _, err := decodeWith(JSON10, readSearchAgreements, body); err != nil {
			assertSerializationError(t, err)
		}
		if _, err := decodeWith(JSON10, readCreateAgreementRequest, body); err != nil {
			assertSerializationError(t, err)
		}
		if _, err := decodeWith(JSON10, readAcceptAgreementRequest, body); err != nil {
			assertSerializationError(t, err)
		}
	})
}
