package console_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	mm "github.com/aws/aws-sdk-go-v2/service/marketplacemetering"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/catalog"
)

// clientTokenOf returns the client token of the page's accept form of offer.
func clientTokenOf(t *testing.T, body, offer string) string {
	t.Helper()
	m := regexp.MustCompile(`name="offer" value="` + offer + `">\s*<input type="hidden" name="client_token" value="([0-9a-f]{32})">`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("the products page has no accept form of %s", offer)
	}
	return m[1]
}

// TestProductActions accepts offers for a buyer, cancels an agreement and
// mints a registration token from the products page, each through the
// admin API's transitions.
func TestProductActions(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	buyer := "123456789012"
	if _, err := s.Admin.CreateAccount(ctx, admin.AccountInput{ID: buyer, Name: "Console buyer"}); err != nil {
		t.Fatal(err)
	}
	c := browser(t)
	_, csrf := login(t, s, c, adminToken)
	code, body, _ := get(t, c, s.URL+"/console/products")
	if code != http.StatusOK {
		t.Fatalf("products = %d", code)
	}
	for _, want := range []string{"Accept " + catalog.DemoUsageOffer, `name="q_seats"`, `<option value="` + buyer + `">`, `aria-label="Cancel agreement`, `aria-label="Mint a registration token for demo-customer-1"`} {
		if !strings.Contains(body, want) {
			t.Errorf("products page lacks %q", want)
		}
	}

	// Accept the contract offer; the same form sent twice makes one agreement.
	form := url.Values{"csrf": {csrf}, "offer": {catalog.DemoContractOffer}, "buyer": {buyer}, "client_token": {clientTokenOf(t, body, catalog.DemoContractOffer)},
		"duration": {"P12M"}, "q_seats": {"5"}, "q_premium": {"1"}}
	for range 2 {
		resp, body := post(t, c, s.URL+"/console/products/accept", form)
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "made") {
			t.Fatalf("accept = %d %s: %s", resp.StatusCode, loc, body)
		}
	}
	made, err := s.Admin.Agreements(ctx, admin.AgreementQuery{Buyer: buyer})
	if err != nil {
		t.Fatal(err)
	}
	if len(made) != 1 || made[0].Status != meterd.AgreementActive || made[0].OfferID != catalog.DemoContractOffer {
		t.Fatalf("agreements of %s = %+v, want one active on %s", buyer, made, catalog.DemoContractOffer)
	}
	_, body, _ = get(t, c, s.URL+"/console/products?done=x")
	if !strings.Contains(body, "<td>"+made[0].ID+"</td><td>ACTIVE</td><td>"+buyer+"</td>") {
		t.Errorf("products page lacks the new agreement %s", made[0].ID)
	}

	// A quantity that is no number is refused, saying why; so is no buyer.
	bad := url.Values{"csrf": {csrf}, "offer": {catalog.DemoContractOffer}, "buyer": {buyer}, "client_token": {strings.Repeat("a", 32)}, "duration": {"P12M"}, "q_seats": {"many"}}
	if resp, body := post(t, c, s.URL+"/console/products/accept", bad); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "quantity of seats") {
		t.Errorf("accept with seats=many = %d, want 400 naming the quantity", resp.StatusCode)
	}
	bad.Set("q_seats", "1")
	bad.Del("buyer")
	if resp, _ := post(t, c, s.URL+"/console/products/accept", bad); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("accept without a buyer = %d, want 400", resp.StatusCode)
	}
	bad.Set("buyer", buyer)
	bad.Set("csrf", strings.Repeat("f", 64))
	if resp, _ := post(t, c, s.URL+"/console/products/accept", bad); resp.StatusCode != http.StatusForbidden {
		t.Errorf("accept with a forged CSRF token = %d, want 403", resp.StatusCode)
	}

	// Cancel it: CANCELLED, with its event in the outbox.
	resp, body := post(t, c, s.URL+"/console/agreements/"+made[0].ID+"/cancel", url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("cancel = %d: %s", resp.StatusCode, body)
	}
	if a, err := s.Admin.Agreement(ctx, made[0].ID); err != nil || a.Status != meterd.AgreementCancelled {
		t.Errorf("agreement after cancel = %+v, %v; want CANCELLED", a, err)
	}
	events, err := s.Admin.Events(ctx, admin.EventQuery{Product: "demo-product"})
	if err != nil {
		t.Fatal(err)
	}
	var cancelled bool
	for _, e := range events {
		cancelled = cancelled || e.AgreementID == made[0].ID && strings.HasPrefix(e.Type, "Purchase Agreement Ended")
	}
	if !cancelled {
		t.Errorf("no Purchase Agreement Ended event of %s in the outbox (%d events)", made[0].ID, len(events))
	}
	if resp, body := post(t, c, s.URL+"/console/agreements/"+made[0].ID+"/cancel", url.Values{"csrf": {csrf}}); resp.StatusCode < 400 || resp.StatusCode >= 500 {
		t.Errorf("cancel of a cancelled agreement = %d, want the admin API's 4xx: %s", resp.StatusCode, body)
	}

	// A registration token, shown once with a copy button, that
	// ResolveCustomer resolves.
	resp, body = post(t, c, s.URL+"/console/products/demo-product/tokens", url.Values{"csrf": {csrf}, "customer": {"demo-customer-1"}})
	m := regexp.MustCompile(`id="token-value" class="token" value="([^"]+)"`).FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil || !strings.Contains(body, `id="copy-token"`) {
		t.Fatalf("mint token = %d, want the token with a copy button: %s", resp.StatusCode, body)
	}
	out, err := s.meteringClient().ResolveCustomer(ctx, &mm.ResolveCustomerInput{RegistrationToken: aws.String(m[1])})
	if err != nil || aws.ToString(out.CustomerIdentifier) != "demo-customer-1" {
		t.Errorf("ResolveCustomer of the console's token = %+v, %v; want demo-customer-1", out, err)
	}
	if resp, _ := post(t, c, s.URL+"/console/products/demo-product/tokens", url.Values{"csrf": {csrf}, "customer": {"nobody"}}); resp.StatusCode < 400 || resp.StatusCode >= 500 {
		t.Errorf("token for an unknown customer = %d, want a 4xx", resp.StatusCode)
	}
}

// TestProductsPageBounded lists at most 100 customers of a product and
// says how many more there are.
func TestProductsPageBounded(t *testing.T) {
	s := startServer(t)
	for i := range 105 {
		if _, err := s.Admin.Subscribe(context.Background(), "demo-product", admin.SubscribeInput{AWSAccountID: strconv.Itoa(200000000000 + i), CustomerIdentifier: "many-" + strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	c := browser(t)
	login(t, s, c, adminToken)
	code, body, _ := get(t, c, s.URL+"/console/products")
	if rows := strings.Count(body, `aria-label="Mint a registration token for `); code != http.StatusOK || rows != 100 || !strings.Contains(body, "And 7 more customers") {
		t.Errorf("products page = %d with %d customers, want 100 and the 7 more said", code, rows)
	}
}
