package awsjson

import (
	"reflect"
	"testing"
	"time"

	"github.com/meterd/meterd"
)

func TestDecodeGetEntitlements(t *testing.T) {
	five := int64(5)
	tests := []struct {
		name    string
		body    string
		want    *meterd.GetEntitlementsInput
		wantErr string
	}{
		{"All", `{"ProductCode":"p","Filter":{"DIMENSION":["a","b"],"LICENSE_ARN":["l"]},"NextToken":"n","MaxResults":5,"New":{}}`,
			&meterd.GetEntitlementsInput{ProductCode: "p", Filter: map[string][]string{"DIMENSION": {"a", "b"}, "LICENSE_ARN": {"l"}}, NextToken: "n", MaxResults: &five}, ""},
		{"Empty", `{}`, &meterd.GetEntitlementsInput{}, ""},
		{"NullFilter", `{"Filter":null}`, &meterd.GetEntitlementsInput{}, ""},
		{"EmptyList", `{"Filter":{"DIMENSION":[]}}`, &meterd.GetEntitlementsInput{Filter: map[string][]string{"DIMENSION": {}}}, ""},
		{"FilterList", `{"Filter":["a"]}`, nil, "Member Filter: START_ARRAY can not be converted to a Map"},
		{"FilterNullValue", `{"Filter":{"DIMENSION":null}}`, nil, "Member Filter.DIMENSION: VALUE_NULL can not be converted to a List"},
		{"FilterNumber", `{"Filter":{"DIMENSION":[1]}}`, nil, "Member Filter.DIMENSION: NUMBER_VALUE can not be converted to a String"},
		{"MaxResultsText", `{"MaxResults":"5"}`, nil, "Member MaxResults: STRING_VALUE can not be converted to an Integer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeGetEntitlements([]byte(tt.body))
			if tt.wantErr != "" {
				if meterd.ErrorCode(err) != meterd.ESerialization || meterd.ErrorMessage(err) != tt.wantErr {
					t.Errorf("decode(%s) = %v, want SerializationException %q", tt.body, err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("decode(%s) = %+v, %v; want %+v", tt.body, got, err, tt.want)
			}
		})
	}
}

func TestEncodeGetEntitlements(t *testing.T) {
	ten, yes := int64(10), true
	end := time.UnixMilli(1798761600250).UTC()
	got, err := encodeGetEntitlements(&meterd.GetEntitlementsOutput{NextToken: "t", Entitlements: []*meterd.Entitlement{
		{ProductCode: "p", Dimension: "seats", CustomerIdentifier: "c", CustomerAWSAccountID: "444455556666", LicenseArn: "arn:l", IntegerValue: &ten, ExpirationDate: &end},
		{Dimension: "premium", BooleanValue: &yes},
	}})
	want := `{"Entitlements":[{"ProductCode":"p","Dimension":"seats","CustomerIdentifier":"c","CustomerAWSAccountId":"444455556666",` +
		`"Value":{"IntegerValue":10},"ExpirationDate":1798761600.25,"LicenseArn":"arn:l"},{"Dimension":"premium","Value":{"BooleanValue":true}}],"NextToken":"t"}`
	if err != nil || string(got) != want {
		t.Errorf("encode = %s, %v\nwant     %s", got, err, want)
	}
	got, _ = encodeGetEntitlements(&meterd.GetEntitlementsOutput{Entitlements: []*meterd.Entitlement{}})
	if string(got) != `{"Entitlements":[]}` {
		t.Errorf("encode of none = %s, want {\"Entitlements\":[]}", got)
	}
}

// FuzzDecodeGetEntitlements checks that decoding never panics and fails
// only with SerializationException.
func FuzzDecodeGetEntitlements(f *testing.F) {
	for _, s := range []string{``, `{}`, `null`, `[]`, `{"Filter":{"DIMENSION":["a"]},"MaxResults":25}`, `{"Filter":{"":[""]}}`,
		`{"Filter":{"DIMENSION":null}}`, `{"MaxResults":1e3}`, `{"NextToken":"\ud800"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if _, err := decodeGetEntitlements(body); err != nil {
			assertSerializationError(t, err)
		}
	})
}
