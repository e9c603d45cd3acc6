package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	mm "github.com/aws/aws-sdk-go-v2/service/marketplacemetering"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/catalog"
)

// testPurchasePost: buyers purchase --post POSTs the registration form to
// the fulfillment URL as a browser does and prints the seller's answer;
// a seller's 5xx, a product without a fulfillment URL and a seller that
// does not answer exit 1 saying why.
func (h *cliHarness) testPurchasePost(t *testing.T) {
	var mu sync.Mutex
	var got []*http.Request
	seller := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		mu.Lock()
		got = append(got, r)
		mu.Unlock()
		if r.URL.Path == "/broken" {
			http.Error(w, "the seller's database is down", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Location", "/signup")
		w.WriteHeader(http.StatusSeeOther)
		fmt.Fprintf(w, "welcome, token of %d bytes", len(r.PostForm.Get(formToken)))
	}))
	defer seller.Close()
	h.ok(t, "products", "create", "--code", "cli-post", "--seller", catalog.DemoSellerAccount, "--type", "saas",
		"--dimension", "requests", "--fulfillment-url", seller.URL+"/register")
	h.ok(t, "products", "create", "--code", "cli-broken", "--seller", catalog.DemoSellerAccount, "--type", "saas",
		"--dimension", "requests", "--fulfillment-url", seller.URL+"/broken")
	var o, broken meterd.Offer
	h.json(t, &o, "offers", "create", "--product", "cli-post", "--pricing", "usage")
	h.json(t, &broken, "offers", "create", "--product", "cli-broken", "--pricing", "usage")

	var p purchase
	h.json(t, &p, "buyers", "purchase", "--buyer", marketBuyer, "--offer", o.ID, "--post")
	if len(got) != 1 {
		t.Fatalf("the seller got %d requests, want 1", len(got))
	}
	r := got[0]
	token := r.PostForm.Get(formToken)
	if r.Method != http.MethodPost || r.URL.Path != "/register" || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || token != p.Form[formToken] || r.PostForm.Has(formOfferType) {
		t.Errorf("the seller got %s %s %q with %v, want the form POST of the printed token", r.Method, r.URL.Path, r.Header.Get("Content-Type"), r.PostForm)
	}
	if a := p.Seller; a == nil || a.StatusCode != http.StatusSeeOther || a.Location != "/signup" || a.Body != fmt.Sprintf("welcome, token of %d bytes", len(token)) {
		b, _ := json.Marshal(p.Seller)
		t.Errorf("the printed answer = %s, want 303 to /signup with the seller's body", b)
	}
	out, err := h.metering("test", "test").ResolveCustomer(context.Background(), &mm.ResolveCustomerInput{RegistrationToken: aws.String(token)})
	if err != nil || aws.ToString(out.CustomerIdentifier) != p.Agreement.CustomerIdentifier {
		t.Errorf("ResolveCustomer(the posted token) = %+v, %v; want customer %s", out, err, p.Agreement.CustomerIdentifier)
	}

	res := h.wantExit(t, exitError, "answered 500 Internal Server Error", "buyers", "purchase", "--buyer", marketBuyer, "--offer", broken.ID, "--post", "--output", "csv")
	if !strings.Contains(res.stdout, "seller_status,500 Internal Server Error") || !strings.Contains(res.stdout, "the seller's database is down") {
		t.Errorf("purchase --post to a failing seller printed %q, want its status and body", res.stdout)
	}
	h.wantExit(t, exitError, "no fulfillment_url to post to", "buyers", "purchase", "--buyer", marketBuyer, "--offer", catalog.DemoContractOffer, "--duration", "P12M", "--quantity", "seats=1", "--post")
	seller.Close()
	h.wantExit(t, exitError, "did not answer", "buyers", "purchase", "--buyer", "210987654321", "--offer", o.ID, "--post")
}
