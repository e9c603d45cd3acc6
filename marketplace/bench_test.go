package marketplace

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/awsjson"
	"github.com/meterd/meterd/pgtest"
	"github.com/meterd/meterd/postgres"
	"github.com/meterd/meterd/rpcv2"
)

// benchAgreements is the product's size in issue 12's speed target:
// GetEntitlements for one customer of a product with 10,000 agreements.
const benchAgreements = 10_000

// BenchmarkGetEntitlements measures GetEntitlements for one customer (two
// entitlements) of a product with 10,000 contract agreements, on SQLite and
// PostgreSQL: the operation alone, and at the server (the front door with
// decoding, the operation, the store and encoding; SigV4 and the network
// are left out) in awsJson1_1 and RPC v2 CBOR.
//
//	go test -run '^$' -bench BenchmarkGetEntitlements -benchtime 2000x ./marketplace
func BenchmarkGetEntitlements(b *testing.B) {
	stores := []struct {
		name string
		open func(b *testing.B) meterd.Ledger
	}{
		{"sqlite", func(b *testing.B) meterd.Ledger { return openSQLite(b) }},
		{"postgres", func(b *testing.B) meterd.Ledger {
			store, err := postgres.Open(context.Background(), pgtest.Start(b).NewDatabase(b))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { store.Close() })
			return store
		}},
	}
	for _, st := range stores {
		b.Run(st.name, func(b *testing.B) {
			store := st.open(b)
			seed(b, store, benchAgreements)
			clock := &meterd.ServerClock{}
			clock.Set(t1)
			s := &Entitlements{Store: store, Clock: clock, TokenKey: []byte("benchmark key of 32 bytes......")}
			in := &meterd.GetEntitlementsInput{ProductCode: product,
				Filter: map[string][]string{meterd.FilterCustomerIdentifier: {"cust-005000"}}}
			b.Run("operation", func(b *testing.B) {
				for b.Loop() {
					out, err := s.GetEntitlements(sellerCtx, in)
					if err != nil || len(out.Entitlements) != 2 {
						b.Fatalf("GetEntitlements = %v, %v; want 2 entitlements", out, err)
					}
				}
			})
			h := &awsjson.Handler{
				Services: []*awsjson.Service{awsjson.Entitlement(s.GetEntitlements), rpcv2.Entitlement(s.GetEntitlements)},
				Authenticate: func(*http.Request, []byte, string) (*meterd.Caller, error) {
					return meterd.CallerFromContext(sellerCtx), nil
				},
			}
			jsonBody := []byte(`{"ProductCode":"` + product + `","Filter":{"CUSTOMER_IDENTIFIER":["cust-005000"]}}`)
			cborBody, err := cbor.Marshal(map[string]any{"ProductCode": product, "Filter": in.Filter})
			if err != nil {
				b.Fatal(err)
			}
			b.Run("awsJson1_1", func(b *testing.B) {
				for b.Loop() {
					r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(jsonBody))
					r.Header.Set("Content-Type", "application/x-amz-json-1.1")
					r.Header.Set("X-Amz-Target", "AWSMPEntitlementService.GetEntitlements")
					serveOK(b, h, r)
				}
			})
			b.Run("rpcv2cbor", func(b *testing.B) {
				for b.Loop() {
					r := httptest.NewRequest(http.MethodPost, "/service/AWSMPEntitlementService/operation/GetEntitlements", bytes.NewReader(cborBody))
					r.Header.Set("Content-Type", "application/cbor")
					r.Header.Set("Smithy-Protocol", "rpc-v2-cbor")
					serveOK(b, h, r)
				}
			})
		})
	}
}

func serveOK(b *testing.B, h http.Handler, r *http.Request) {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		b.Fatalf("status %d: %s", w.Code, w.Body)
	}
}

// BenchmarkSearchAgreements measures a seller's SearchAgreements over its
// 10,000 agreements on SQLite: the first page of 50 of them all, and the
// agreements of one acceptor (which the store's buyer filter selects).
//
//	go test -run '^$' -bench BenchmarkSearchAgreements -benchtime 50x ./marketplace
func BenchmarkSearchAgreements(b *testing.B) {
	store := openSQLite(b)
	seed(b, store, benchAgreements)
	clock := &meterd.ServerClock{}
	clock.Set(t1)
	s := &Agreements{Store: store, Clock: clock, TokenKey: []byte("benchmark key of 32 bytes......")}
	filters := func(more ...meterd.AgreementSearchFilter) []meterd.AgreementSearchFilter {
		return append([]meterd.AgreementSearchFilter{{Name: "PartyType", Values: []string{"Proposer"}},
			{Name: "AgreementType", Values: []string{"PurchaseAgreement"}}}, more...)
	}
	for _, c := range []struct {
		name string
		in   *meterd.SearchAgreementsInput
		want int
	}{
		{"all", &meterd.SearchAgreementsInput{Filters: filters()}, 50},
		{"acceptor", &meterd.SearchAgreementsInput{Filters: filters(meterd.AgreementSearchFilter{Name: "AcceptorAccountId", Values: []string{"500000005000"}})}, 1},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				out, err := s.SearchAgreements(sellerCtx, c.in)
				if err != nil || len(out.AgreementViewSummaries) != c.want {
					b.Fatalf("SearchAgreements = %d agreements, %v; want %d", len(out.AgreementViewSummaries), err, c.want)
				}
			}
		})
	}
}
