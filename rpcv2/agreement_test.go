package rpcv2

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/awsjson"
)

// agreementStub answers DescribeAgreement with out or err, recording the
// input.
type agreementStub struct {
	out *meterd.DescribeAgreementOutput
	err error
	in  *meterd.DescribeAgreementInput

	search *meterd.SearchAgreementsInput
	create *meterd.CreateAgreementRequestInput
}

func (s *agreementStub) DescribeAgreement(ctx context.Context, in *meterd.DescribeAgreementInput) (*meterd.DescribeAgreementOutput, error) {
	s.in = in
	return s.out, s.err
}

func (s *agreementStub) GetAgreementEntitlements(ctx context.Context, in *meterd.GetAgreementEntitlementsInput) (*meterd.GetAgreementEntitlementsOutput, error) {
	return &meterd.GetAgreementEntitlementsOutput{AgreementEntitlements: []meterd.AgreementEntitlement{{
		Resource: meterd.AgreementResource{ID: "prod-1", Type: "SaaSProduct"}, Type: "License", RegistrationToken: "tok",
		Status: "PROVISIONED", StatusReasonCode: "AGREEMENT_ACTIVE", LicenseArn: "arn:l"}}}, s.err
}

func (s *agreementStub) CancelAgreement(ctx context.Context, in *meterd.CancelAgreementInput) (*meterd.CancelAgreementOutput, error) {
	return &meterd.CancelAgreementOutput{}, s.err
}

func (s *agreementStub) GetAgreementTerms(ctx context.Context, in *meterd.GetAgreementTermsInput) (*meterd.GetAgreementTermsOutput, error) {
	return &meterd.GetAgreementTermsOutput{AcceptedTerms: []meterd.Term{}}, s.err
}

// agreementHandler serves the Agreement Service's two tables over svc.
func agreementHandler(svc meterd.AgreementService) *awsjson.Handler {
	return &awsjson.Handler{
		Services: []*awsjson.Service{awsjson.Agreement(svc), Agreement(svc)},
		Authenticate: func(r *http.Request, body []byte, signingName string) (*meterd.Caller, error) {
			if signingName != "aws-marketplace" {
				return nil, meterd.Errorf(meterd.EInvalidSignature, "signing name %s", signingName)
			}
			return &meterd.Caller{AccountID: "111122223333", Region: "us-east-1"}, nil
		},
	}
}

// callAgreement sends op with body in awsJson1_0 (cbor false) or RPC v2.
func callAgreement(h http.Handler, op string, cborBody bool, body []byte) *httptest.ResponseRecorder {
	var r *http.Request
	if cborBody {
		r = httptest.NewRequest(http.MethodPost, "/service/AWSMPCommerceService_v20200301/operation/"+op, strings.NewReader(string(body)))
		r.Header.Set("Content-Type", ContentType)
		r.Header.Set("Smithy-Protocol", "rpc-v2-cbor")
	} else {
		r = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(string(body)))
		r.Header.Set("Content-Type", "application/x-amz-json-1.0")
		r.Header.Set("X-Amz-Target", "AWSMPCommerceService_v20200301."+op)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestDescribeAgreementWire(t *testing.T) {
	start := time.UnixMilli(1798761600250).UTC()
	end := start.AddDate(1, 0, 0)
	stub := &agreementStub{out: &meterd.DescribeAgreementOutput{
		AgreementID: "agmt-1", AcceptorAccountID: "123456789012", ProposerAccountID: "111122223333",
		AcceptanceTime: &start, StartTime: &start, EndTime: &end, AgreementType: "PurchaseAgreement",
		EstimatedCharges: &meterd.EstimatedCharges{CurrencyCode: "USD", AgreementValue: "1600.00"},
		OfferID:          "offer-1", Resources: []meterd.AgreementResource{{ID: "prod-1", Type: "SaaSProduct"}}, Status: "ACTIVE",
	}}
	h := agreementHandler(stub)

	w := callAgreement(h, "DescribeAgreement", false, []byte(`{"agreementId":"agmt-1"}`))
	want := `{"agreementId":"agmt-1","acceptor":{"accountId":"123456789012"},"proposer":{"accountId":"111122223333"},` +
		`"startTime":1798761600.25,"endTime":1830297600.25,"acceptanceTime":1798761600.25,"agreementType":"PurchaseAgreement",` +
		`"estimatedCharges":{"currencyCode":"USD","agreementValue":"1600.00"},"proposalSummary":{"resources":[{"id":"prod-1","type":"SaaSProduct"}],"offerId":"offer-1"},"status":"ACTIVE"}`
	if w.Code != 200 || w.Body.String() != want || w.Header().Get("Content-Type") != "application/x-amz-json-1.0" {
		t.Errorf("awsJson1_0: %d %s %s\nwant 200 %s", w.Code, w.Header().Get("Content-Type"), w.Body, want)
	}
	if stub.in.AgreementID != "agmt-1" {
		t.Errorf("awsJson1_0 input = %+v", stub.in)
	}

	body, _ := cbor.Marshal(map[string]string{"agreementId": "agmt-2"})
	w = callAgreement(h, "DescribeAgreement", true, body)
	var got map[string]any
	if err := cbor.Unmarshal(w.Body.Bytes(), &got); w.Code != 200 || err != nil {
		t.Fatalf("RPC v2: %d %x %v", w.Code, w.Body.Bytes(), err)
	}
	if stub.in.AgreementID != "agmt-2" {
		t.Errorf("RPC v2 input = %+v", stub.in)
	}
	if got["agreementId"] != "agmt-1" || got["status"] != "ACTIVE" ||
		!reflect.DeepEqual(got["acceptor"], map[any]any{"accountId": "123456789012"}) ||
		!reflect.DeepEqual(got["estimatedCharges"], map[any]any{"currencyCode": "USD", "agreementValue": "1600.00"}) {
		t.Errorf("RPC v2 answer = %v", got)
	}
	if ts, ok := got["startTime"].(time.Time); !ok || !ts.Equal(start) {
		t.Errorf("RPC v2 startTime = %#v, want tag 1 %v", got["startTime"], start)
	}
}

func TestAgreementErrorsWire(t *testing.T) {
	verr := meterd.Errorf(meterd.EValidation, "agreementId is required")
	verr.Reason, verr.Fields = "MISSING_AGREEMENT_ID", []meterd.ErrorField{{Name: "agreementId", Message: "agreementId is required"}}
	tests := []struct {
		name     string
		op       string
		err      error
		status   int
		json     string // the awsJson1_0 body
		cborType string
		reason   string
	}{
		{"Validation", "DescribeAgreement", verr, 400,
			`{"__type":"ValidationException","message":"agreementId is required","reason":"MISSING_AGREEMENT_ID","fields":[{"name":"agreementId","message":"agreementId is required"}]}`,
			"com.amazonaws.marketplaceagreement#ValidationException", "MISSING_AGREEMENT_ID"},
		{"AccessDenied", "DescribeAgreement", meterd.Errorf(meterd.EAccessDenied, "not yours"), 403,
			`{"__type":"AccessDeniedException","message":"not yours"}`, "com.amazonaws.marketplaceagreement#AccessDeniedException", ""},
		{"NotFound", "DescribeAgreement", meterd.Errorf(meterd.EResourceNotFound, "none"), 400,
			`{"__type":"ResourceNotFoundException","message":"none"}`, "com.amazonaws.marketplaceagreement#ResourceNotFoundException", ""},
		{"Unsupported", "ListAgreementInvoiceLineItems", nil, 400,
			`{"__type":"ValidationException","message":"ListAgreementInvoiceLineItems is not supported by meterd","reason":"UNSUPPORTED_ACTION"}`,
			"com.amazonaws.marketplaceagreement#ValidationException", "UNSUPPORTED_ACTION"},
		{"Internal", "DescribeAgreement", errors.New("disk on fire"), 500,
			`{"__type":"InternalServerException","message":"An internal error has occurred."}`,
			"com.amazonaws.marketplaceagreement#InternalServerException", ""},
		{"Unknown", "Nope", nil, 400,
			`{"__type":"UnknownOperationException","message":"Unknown operation \"AWSMPCommerceService_v20200301.Nope\""}`,
			"com.amazonaws.marketplaceagreement#UnknownOperationException", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := agreementHandler(&agreementStub{err: tt.err})
			w := callAgreement(h, tt.op, false, []byte(`{}`))
			if w.Code != tt.status || w.Body.String() != tt.json {
				t.Errorf("awsJson1_0: %d %s\nwant %d %s", w.Code, w.Body, tt.status, tt.json)
			}
			w = callAgreement(h, tt.op, true, []byte{0xa0})
			var got struct {
				Type   string `cbor:"__type"`
				Reason string `cbor:"reason"`
			}
			if err := cbor.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != tt.status || got.Type != tt.cborType || got.Reason != tt.reason {
				t.Errorf("RPC v2: %d %+v %v, want %d %s reason %q", w.Code, got, err, tt.status, tt.cborType, tt.reason)
			}
		})
	}
}

func TestGetAgreementEntitlementsWire(t *testing.T) {
	h := agreementHandler(&agreementStub{})
	w := callAgreement(h, "GetAgreementEntitlements", false, []byte(`{"agreementId":"agmt-1","maxResults":5}`))
	want := `{"agreementEntitlements":[{"resource":{"id":"prod-1","type":"SaaSProduct"},"type":"License","registrationToken":"tok",` +
		`"status":"PROVISIONED","statusReasonCode":"AGREEMENT_ACTIVE","licenseArn":"arn:l"}]}`
	if w.Code != 200 || w.Body.String() != want {
		t.Errorf("awsJson1_0: %d %s\nwant 200 %s", w.Code, w.Body, want)
	}
	body, _ := cbor.Marshal(map[string]any{"agreementId": "agmt-1", "maxResults": 5})
	w = callAgreement(h, "GetAgreementEntitlements", true, body)
	var got struct {
		AgreementEntitlements []struct {
			Resource struct {
				ID string `cbor:"id"`
			} `cbor:"resource"`
			RegistrationToken string `cbor:"registrationToken"`
		} `cbor:"agreementEntitlements"`
	}
	if err := cbor.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != 200 || len(got.AgreementEntitlements) != 1 ||
		got.AgreementEntitlements[0].RegistrationToken != "tok" || got.AgreementEntitlements[0].Resource.ID != "prod-1" {
		t.Errorf("RPC v2: %d %+v %v", w.Code, got, err)
	}
}

// FuzzDecodeAgreement checks that the Agreement Service's operations read
// any CBOR body without a panic, failing only with SerializationException.
func FuzzDecodeAgreement(f *testing.F) {
	for _, s := range append(getEntitlementsSeeds, "a1 6b 6167726565656d656e744964 6161", "a1 6a 6d6178526573756c7473 05") {
		f.Add(h(s))
	}
	ops := Agreement(&agreementStub{out: &meterd.DescribeAgreementOutput{}}).Operations
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, op := range []string{meterd.OpDescribeAgreement, meterd.OpGetAgreementEntitlements, meterd.OpCancelAgreement, meterd.OpGetAgreementTerms, meterd.OpSearchAgreements, meterd.OpCreateAgreementRequest, meterd.OpAcceptAgreementRequest} {
			if _, err := ops[op](ctx, body); err != nil && (meterd.ErrorCode(err) != meterd.ESerialization || meterd.ErrorMessage(err) == "") {
				t.Fatalf("%s(%x) = %v, want SerializationException with a message", op, body, err)
			}
		}
	})
}

// TestAgreementCBORMemberTypes checks the CBOR reading of the members the
// Agreement Service shares with awsJson: integers, text, a map body.
func TestAgreementCBORMemberTypes(t *testing.T) {
	ops := Agreement(&agreementStub{}).Operations
	tests := []struct {
		name string
		body any
		want string // the SerializationException's message; "" for none
	}{
		{"OK", map[string]any{"agreementId": "agmt-1", "maxResults": 5, "new": []int{1}}, ""},
		{"TextInteger", map[string]any{"maxResults": "5"}, "Member maxResults: STRING_VALUE can not be converted to an Integer"},
		{"FloatInteger", map[string]any{"maxResults": 5.5}, "Member maxResults: a floating-point NUMBER_VALUE can not be converted to an Integer"},
		{"HugeInteger", map[string]any{"maxResults": uint64(1) << 63}, "Member maxResults: NUMBER_VALUE is out of range for a Long"},
		{"BytesID", map[string]any{"agreementId": []byte("agmt-1")}, "Member agreementId: BLOB_VALUE can not be converted to a String"},
		{"Array", []int{1}, "The request body must be a CBOR map, not a CBOR array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := cbor.Marshal(tt.body)
			if err != nil {
				t.Fatal(err)
			}
			_, err = ops[meterd.OpGetAgreementEntitlements](context.Background(), body)
			if got := meterd.ErrorMessage(err); (tt.want == "" && err != nil) || (tt.want != "" && (got != tt.want || meterd.ErrorCode(err) != meterd.ESerialization)) {
				t.Errorf("GetAgreementEntitlements(%x) = %v, want %q", body, err, tt.want)
			}
		})
	}
}

func (s *agreementStub) SearchAgreements(ctx context.Context, in *meterd.SearchAgreementsInput) (*meterd.SearchAgreementsOutput, error) {
	s.search = in
	out := &meterd.SearchAgreementsOutput{AgreementViewSummaries: []meterd.AgreementViewSummary{}, NextToken: "next"}
	if s.out != nil {
		out.AgreementViewSummaries = append(out.AgreementViewSummaries, *s.out)
	}
	return out, s.err
}

// TestSearchAgreementsWire reads the same request from JSON and CBOR and
// answers the agreement views in both.
func TestSearchAgreementsWire(t *testing.T) {
	end := time.Unix(1830297600, 0).UTC()
	stub := &agreementStub{out: &meterd.DescribeAgreementOutput{AgreementID: "agmt-1", AcceptorAccountID: "123456789012",
		ProposerAccountID: "111122223333", EndTime: &end, AgreementType: "PurchaseAgreement", OfferID: "offer-1", Status: "ACTIVE"}}
	h := agreementHandler(stub)
	two := int64(2)
	want := &meterd.SearchAgreementsInput{Catalog: "AWSMarketplace", MaxResults: &two, NextToken: "t",
		Filters: []meterd.AgreementSearchFilter{{Name: "PartyType", Values: []string{"Proposer"}}, {Name: "Status", Values: []string{}}},
		Sort:    &meterd.AgreementSort{SortBy: "EndTime", SortOrder: "ASCENDING"}}
	request := map[string]any{"catalog": "AWSMarketplace", "maxResults": 2, "nextToken": "t",
		"filters": []any{map[string]any{"name": "PartyType", "values": []string{"Proposer"}}, map[string]any{"name": "Status", "values": []string{}}},
		"sort":    map[string]any{"sortBy": "EndTime", "sortOrder": "ASCENDING"}}

	jsonBody, _ := json.Marshal(request)
	w := callAgreement(h, "SearchAgreements", false, jsonBody)
	wantJSON := `{"agreementViewSummaries":[{"agreementId":"agmt-1","acceptor":{"accountId":"123456789012"},"proposer":{"accountId":"111122223333"},` +
		`"endTime":1830297600,"agreementType":"PurchaseAgreement","proposalSummary":{"offerId":"offer-1"},"status":"ACTIVE"}],"nextToken":"next"}`
	if w.Code != 200 || w.Body.String() != wantJSON {
		t.Errorf("awsJson1_0: %d %s\nwant 200 %s", w.Code, w.Body, wantJSON)
	}
	if !reflect.DeepEqual(stub.search, want) {
		t.Errorf("awsJson1_0 input = %+v, want %+v", stub.search, want)
	}

	stub.search = nil
	cborBody, _ := cbor.Marshal(request)
	w = callAgreement(h, "SearchAgreements", true, cborBody)
	var got struct {
		Summaries []struct {
			ID  string    `cbor:"agreementId"`
			End time.Time `cbor:"endTime"`
		} `cbor:"agreementViewSummaries"`
		NextToken string `cbor:"nextToken"`
	}
	if err := cbor.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != 200 || len(got.Summaries) != 1 ||
		got.Summaries[0].ID != "agmt-1" || !got.Summaries[0].End.Equal(end) || got.NextToken != "next" {
		t.Errorf("RPC v2: %d %+v %v", w.Code, got, err)
	}
	if !reflect.DeepEqual(stub.search, want) {
		t.Errorf("RPC v2 input = %+v, want %+v", stub.search, want)
	}

	for name, body := range map[string]string{
		`{"filters":{"name":"PartyType"}}`:    "Member filters: START_OBJECT can not be converted to a List",
		`{"filters":[{"values":"Proposer"}]}`: "Member filters[0].values: STRING_VALUE can not be converted to a List",
		`{"filters":[{"values":[1]}]}`:        "Member filters[0].values[0]: NUMBER_VALUE can not be converted to a String",
		`{"sort":"EndTime"}`:                  "Member sort: STRING_VALUE can not be converted to a Structure",
	} {
		w := callAgreement(h, "SearchAgreements", false, []byte(name))
		if w.Code != 400 || !strings.Contains(w.Body.String(), body) || !strings.Contains(w.Body.String(), "SerializationException") {
			t.Errorf("%s: %d %s, want SerializationException %q", name, w.Code, w.Body, body)
		}
	}
}

func (s *agreementStub) CreateAgreementRequest(ctx context.Context, in *meterd.CreateAgreementRequestInput) (*meterd.CreateAgreementRequestOutput, error) {
	s.create = in
	return &meterd.CreateAgreementRequestOutput{AgreementRequestID: "ar-1", ChargeSummary: &meterd.ChargeSummary{CurrencyCode: "USD", NewAgreementValue: "1.00",
		ItemizedCharges: []meterd.ItemizedCharge{{DimensionKey: "seats", NewQuantity: 1, IncrementalChargeAmount: "1.00"}},
		ExpectedCharges: []meterd.ExpectedCharge{{ID: "c", Amount: "1.00", Timing: "ON_ACCEPTANCE"}}}}, s.err
}

func (s *agreementStub) AcceptAgreementRequest(ctx context.Context, in *meterd.AcceptAgreementRequestInput) (*meterd.AcceptAgreementRequestOutput, error) {
	return &meterd.AcceptAgreementRequestOutput{AgreementID: "agmt-" + in.AgreementRequestID}, s.err
}

// TestCreateAgreementRequestWire reads the requested terms and their
// configuration union from JSON and CBOR alike.
func TestCreateAgreementRequestWire(t *testing.T) {
	stub := &agreementStub{}
	h := agreementHandler(stub)
	yes := true
	want := &meterd.CreateAgreementRequestInput{ClientToken: "c-1", Intent: "NEW", AgreementProposalIdentifier: "ap-1", RequestedTerms: []meterd.RequestedTerm{
		{ID: "term-a"},
		{ID: "term-b", Configuration: &meterd.RequestedTermConfiguration{Member: meterd.ConfigUpfront, SelectorValue: "P12M",
			Dimensions: []meterd.DimensionValue{{DimensionKey: "seats", DimensionValue: 3}}}},
		{ID: "term-c", Configuration: &meterd.RequestedTermConfiguration{Member: meterd.ConfigRenewal, EnableAutoRenew: &yes}},
	}}
	request := map[string]any{"clientToken": "c-1", "intent": "NEW", "agreementProposalIdentifier": "ap-1", "taxConfiguration": map[string]any{"taxEstimation": "DISABLED"},
		"requestedTerms": []any{
			map[string]any{"id": "term-a"},
			map[string]any{"id": "term-b", "configuration": map[string]any{meterd.ConfigUpfront: map[string]any{"selectorValue": "P12M",
				"dimensions": []any{map[string]any{"dimensionKey": "seats", "dimensionValue": 3}}}}},
			map[string]any{"id": "term-c", "configuration": map[string]any{meterd.ConfigRenewal: map[string]any{"enableAutoRenew": true}}},
		}}
	jsonBody, _ := json.Marshal(request)
	w := callAgreement(h, "CreateAgreementRequest", false, jsonBody)
	wantJSON := `{"agreementRequestId":"ar-1","chargeSummary":{"currencyCode":"USD","newAgreementValue":"1.00",` +
		`"expectedCharges":[{"id":"c","amount":"1.00","timing":"ON_ACCEPTANCE"}],"itemizedCharges":[{"dimensionKey":"seats","newQuantity":1,"oldQuantity":0,"incrementalChargeAmount":"1.00"}]}}`
	if w.Code != 200 || w.Body.String() != wantJSON || !reflect.DeepEqual(stub.create, want) {
		t.Errorf("awsJson1_0: %d %s\nwant 200 %s\ninput %+v", w.Code, w.Body, wantJSON, stub.create)
	}
	stub.create = nil
	cborBody, _ := cbor.Marshal(request)
	w = callAgreement(h, "CreateAgreementRequest", true, cborBody)
	var got struct {
		ID string `cbor:"agreementRequestId"`
	}
	if err := cbor.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != 200 || got.ID != "ar-1" || !reflect.DeepEqual(stub.create, want) {
		t.Errorf("RPC v2: %d %+v %v, input %+v", w.Code, got, err, stub.create)
	}
	w = callAgreement(h, "AcceptAgreementRequest", false, []byte(`{"agreementRequestId":"ar-1","purchaseOrders":[{"chargeId":"c"}]}`))
	if w.Code != 200 || w.Body.String() != `{"agreementId":"agmt-ar-1"}` {
		t.Errorf("AcceptAgreementRequest: %d %s", w.Code, w.Body)
	}
	for body, want := range map[string]string{
		`{"requestedTerms":[{"id":"t","configuration":{}}]}`: "Member requestedTerms[0].configuration: a union must have exactly one member set, not 0",
		`{"requestedTerms":[{"id":"t","configuration":{"renewalTermConfiguration":{"enableAutoRenew":true},"variablePaymentTermConfiguration":{}}}]}`: "not 2",
		`{"requestedTerms":[{"id":"t","configuration":{"renewalTermConfiguration":{"enableAutoRenew":"yes"}}}]}`:                                      "Member requestedTerms[0].configuration.renewalTermConfiguration.enableAutoRenew: STRING_VALUE can not be converted to a Boolean",
	} {
		w := callAgreement(h, "CreateAgreementRequest", false, []byte(body))
		if w.Code != 400 || !strings.Contains(w.Body.String(), want) {
			t.Errorf("%s: %d %s, want SerializationException %q", body, w.Code, w.Body, want)
		}
	}
}
