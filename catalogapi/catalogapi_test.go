package catalogapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/awsjson"
	"github.com/meterd/meterd/catalog"
	"github.com/meterd/meterd/catalogapi"
	"github.com/meterd/meterd/marketplace"
	"github.com/meterd/meterd/sqlite"
)

// server is the Catalog API over the demo catalog in a real SQLite store,
// every request authenticated as the demo seller.
func server(tb testing.TB) http.Handler {
	tb.Helper()
	l, err := sqlite.Open(tb.Context(), filepath.Join(tb.TempDir(), "meterd.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	if err := catalog.Apply(tb.Context(), l, catalog.Demo(), time.Now()); err != nil {
		tb.Fatal(err)
	}
	return &awsjson.Handler{
		Services: []*awsjson.Service{catalogapi.Service(&marketplace.Entities{Store: l, TokenKey: []byte("0123456789abcdef")})},
		Authenticate: func(*http.Request, []byte, string) (*meterd.Caller, error) {
			return &meterd.Caller{AccountID: catalog.DemoSellerAccount, AccessKeyID: "test", Region: "us-east-1"}, nil
		},
	}
}

func do(h http.Handler, method, target, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestWire(t *testing.T) {
	h := server(t)
	tests := []struct {
		name, method, target, body string
		status                     int
		errorType, contains        string
	}{
		{"DescribeEntity", "GET", "/DescribeEntity?catalog=AWSMarketplace&entityId=" + catalog.DemoProductID, "", 200, "", `"ProductCode":"demo-product"`},
		{"ListEntities", "POST", "/ListEntities", `{"Catalog":"AWSMarketplace","EntityType":"Offer","MaxResults":1}`, 200, "", `"NextToken":`},
		{"NotFound", "GET", "/DescribeEntity?catalog=AWSMarketplace&entityId=prod-none", "", 404, "ResourceNotFoundException", "does not exist"},
		{"Validation", "POST", "/ListEntities", `{"Catalog":"AWSMarketplace","EntityType":"Offer","MaxResults":0}`, 422, "ValidationException", "MaxResults must be between 1 and 50"},
		{"MemberCase", "POST", "/ListEntities", `{"catalog":"AWSMarketplace","EntityType":"Offer"}`, 422, "ValidationException", "Catalog must be AWSMarketplace"},
		{"MemberType", "POST", "/ListEntities", `{"Catalog":"AWSMarketplace","EntityType":7}`, 400, "SerializationException", "EntityType must be a string, not a number"},
		{"Union", "POST", "/ListEntities", `{"Catalog":"AWSMarketplace","EntityType":"Offer","EntityTypeFilters":{"OfferFilters":{},"SaaSProductFilters":{}}}`, 400, "SerializationException", "EntityTypeFilters is a union"},
		{"DateRange", "POST", "/ListEntities", `{"Catalog":"AWSMarketplace","EntityType":"Offer","EntityTypeFilters":{"OfferFilters":{"LastModifiedDate":{"DateRange":{"AfterValue":"yesterday"}}}}}`, 422, "ValidationException", "must be a date"},
		{"NotJSON", "POST", "/ListEntities", `{"Catalog":`, 400, "SerializationException", "not valid JSON"},
		{"Unsupported", "POST", "/StartChangeSet", `{}`, 422, "ValidationException", "StartChangeSet is not supported by meterd"},
		{"WrongMethod", "DELETE", "/DescribeEntity", "", 400, "UnknownOperationException", "No operation is DELETE /DescribeEntity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(h, tt.method, tt.target, tt.body)
			if w.Code != tt.status || w.Header().Get("X-Amzn-ErrorType") != tt.errorType || !strings.Contains(w.Body.String(), tt.contains) {
				t.Errorf("%s %s = %d %q %s, want %d %q containing %q", tt.method, tt.target, w.Code, w.Header().Get("X-Amzn-ErrorType"), w.Body, tt.status, tt.errorType, tt.contains)
			}
			if tt.errorType != "" {
				var body struct{ Message string }
				if json.Unmarshal(w.Body.Bytes(), &body) != nil || body.Message == "" {
					t.Errorf("error body = %s, want {\"Message\": ...}", w.Body)
				}
			}
		})
	}
}

// FuzzCatalogAPI sends arbitrary methods, paths, queries and bodies to the
// Catalog API: every answer is JSON, and none is a 5xx (a client's input
// is never an internal error).
func FuzzCatalogAPI(f *testing.F) {
	f.Add("POST", "/ListEntities", "", `{"Catalog":"AWSMarketplace","EntityType":"Offer","FilterList":[{"Name":"EntityId","ValueList":["offer-demousage0001"]}],"Sort":{"SortBy":"Name","SortOrder":"ASCENDING"}}`)
	f.Add("POST", "/ListEntities", "", `{"Catalog":"AWSMarketplace","EntityType":"SaaSProduct","EntityTypeFilters":{"SaaSProductFilters":{"ProductTitle":{"WildCardValue":"demo"},"LastModifiedDate":{"DateRange":{"AfterValue":"2020-01-01T00:00:00Z"}}}},"EntityTypeSort":{"SaaSProductSort":{"SortBy":"ProductTitle"}},"NextToken":"x.y"}`)
	f.Add("GET", "/DescribeEntity", "catalog=AWSMarketplace&entityId=offer-democontract1", "")
	f.Add("PATCH", "/CancelChangeSet", "catalog=AWSMarketplace", "")
	h := server(f)
	f.Fuzz(func(t *testing.T, method, path, query, body string) {
		r, err := http.NewRequest(method, "http://meterd"+path+"?"+query, strings.NewReader(body))
		if err != nil {
			return // not a request a client could send
		}
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("%s %s?%s %q = %d %s", method, path, query, body, w.Code, w.Body)
		}
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("%s %s?%s %q answered %q, not JSON", method, path, query, body, w.Body)
		}
	})
}
