package console_test

import (
	"cmp"
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	mm "github.com/aws/aws-sdk-go-v2/service/marketplacemetering"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/console"
	"github.com/meterd/meterd/marketplace"
	"github.com/meterd/meterd/server"
)

// Accounts and offers of the buyer pages' catalog.
const (
	buyerSeller    = "111122223333"
	freshBuyer     = "555566667777"
	otherBuyer     = "888899990000"
	contractOffer  = "offer-shopcontract1"
	trialOffer     = "offer-shoptrial0001"
	privateOffer   = "offer-shopprivate01"
	buyerProduct   = "shop-product"
	fulfillmentTag = "FULFILLMENT"
)

const buyerCatalog = `
accounts:
  - {id: "111122223333", name: Shop Seller, access_keys: [{id: test, secret: test}]}
  - {id: "555566667777", name: Fresh Buyer}
  - {id: "888899990000", name: Other Buyer}
products:
  - code: shop-product
    seller: "111122223333"
    type: saas
    fulfillment_url: FULFILLMENT
    dimensions:
      - {name: requests, unit: Requests, price: "0.001"}
      - {name: seats, unit: Users, contract: true}
      - {name: premium, unit: Units, contract: true, value_type: boolean}
    offers:
      - {id: offer-shopusage0001, name: Pay as you go, pricing: usage}
      - id: offer-shopcontract1
        name: Annual contract
        pricing: contract
        durations:
          P12M: {seats: "120", premium: "1000"}
          P1M: {seats: "12", premium: "100"}
        auto_renew: true
      - id: offer-shoptrial0001
        name: 30-day trial
        pricing: free-trial
        trial: {duration: P30D, grants: {requests: 1000}, converts: false}
      - id: offer-shopprivate01
        name: Private deal
        pricing: usage
        visibility: private
        buyers: ["888899990000"]
`

// fulfillment is a seller's fulfillment URL: it resolves each posted
// registration token with the real Go SDK's ResolveCustomer and keeps what
// it got.
type fulfillment struct {
	mu       sync.Mutex
	meterd   string
	posts    []url.Values
	resolved []string // customer identifiers
}

func (f *fulfillment) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		http.Error(w, "want a form POST", http.StatusBadRequest)
		return
	}
	r.ParseForm()
	client := mm.New(mm.Options{Region: "us-east-1", BaseEndpoint: aws.String(f.meterd), Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), RetryMaxAttempts: 1})
	out, err := client.ResolveCustomer(r.Context(), &mm.ResolveCustomerInput{RegistrationToken: aws.String(r.PostForm.Get("x-amzn-marketplace-token"))})
	f.mu.Lock()
	defer f.mu.Unlock()
	f.posts = append(f.posts, r.PostForm)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.resolved = append(f.resolved, aws.ToString(out.CustomerIdentifier))
	fmt.Fprintf(w, "welcome %s", aws.ToString(out.CustomerIdentifier))
}

// startShop starts a server with the buyer catalog, whose product's
// fulfillment URL is a test seller.
func startShop(t testing.TB) (*testServer, *fulfillment, string) {
	t.Helper()
	f := &fulfillment{}
	seller := httptest.NewServer(f)
	t.Cleanup(seller.Close)
	dir := t.TempDir()
	catalogFile := filepath.Join(dir, "catalog.yaml")
	if err := os.WriteFile(catalogFile, []byte(strings.Replace(buyerCatalog, fulfillmentTag, seller.URL+"/register", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := server.DefaultConfig()
	cfg.Listen, cfg.Data, cfg.Store, cfg.AdminToken, cfg.Catalog = "127.0.0.1:0", filepath.Join(dir, "data"), "sqlite", adminToken, catalogFile
	ft := &fakeTime{now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	m := &server.Main{Config: cfg, Clock: &meterd.ServerClock{}, Console: &console.Console{Now: ft.Now, SessionTTL: time.Hour}}
	m.Clock.Set(time.Date(2026, 12, 1, 10, 30, 0, 0, time.UTC))
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	f.meterd = m.URL()
	return &testServer{URL: m.URL(), Admin: admin.NewClient(m.URL(), adminToken), Session: ft, Clock: m.Clock}, f, seller.URL
}

var (
	clientTokenField = regexp.MustCompile(`name="client_token" value="([0-9a-f]+)"`)
	setupForm        = regexp.MustCompile(`<form method="post" action="([^"]+)" enctype="application/x-www-form-urlencoded"`)
	hiddenField      = regexp.MustCompile(`<input type="hidden" name="(x-amzn-[a-z-]+)" value="([^"]*)">`)
)

// buyAs logs in, chooses the buyer account and returns the CSRF token.
func buyAs(t *testing.T, s *testServer, c *http.Client, buyer string) string {
	t.Helper()
	_, csrf := login(t, s, c, adminToken)
	resp, body := post(t, c, s.URL+"/marketplace/buyer", url.Values{"csrf": {csrf}, "buyer": {buyer}, "back": {"/marketplace/subscriptions"}})
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/marketplace/subscriptions") {
		t.Fatalf("choose buyer %s = %d %s: %s", buyer, resp.StatusCode, resp.Header.Get("Location"), body)
	}
	return csrf
}

// offerForm fetches an offer's page and returns its form with the
// acceptances ticked.
func offerForm(t *testing.T, s *testServer, c *http.Client, csrf, offer string) url.Values {
	t.Helper()
	code, body, _ := get(t, c, s.URL+"/marketplace/offers/"+offer)
	m := clientTokenField.FindStringSubmatch(body)
	if code != http.StatusOK || m == nil {
		t.Fatalf("offer page %s = %d without a client token: %s", offer, code, body)
	}
	return url.Values{"csrf": {csrf}, "client_token": {m[1]}, "accept_pricing": {"on"}, "accept_eula": {"on"}, "accept_customer_agreement": {"on"}}
}

// setup fetches an agreement's setup page and POSTs its form as a browser
// does, returning the seller's status and the fields sent.
func setup(t *testing.T, s *testServer, c *http.Client, agreement string) (int, url.Values, *http.Response) {
	t.Helper()
	resp, err := c.Get(s.URL + "/marketplace/subscriptions/" + agreement + "/setup")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body := string(b)
	m := setupForm.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil || !strings.Contains(body, "Set up your account</button>") {
		t.Fatalf("setup page of %s = %d without its form: %s", agreement, resp.StatusCode, body)
	}
	fields := url.Values{}
	for _, f := range hiddenField.FindAllStringSubmatch(body, -1) {
		fields.Set(f[1], html.UnescapeString(f[2]))
	}
	sent, err := http.PostForm(html.UnescapeString(m[1]), fields)
	if err != nil {
		t.Fatal(err)
	}
	sent.Body.Close()
	return sent.StatusCode, fields, resp
}

func TestBuyerPurchase(t *testing.T) {
	s, seller, sellerURL := startShop(t)
	ctx := context.Background()
	c := browser(t)

	// Without a session the pages send to the login page, and back after.
	resp, err := c.Get(s.URL + "/marketplace/subscriptions")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/login?next=%2Fmarketplace%2Fsubscriptions" {
		t.Fatalf("subscriptions without a session = %d %s, want 303 to login", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, _, loginCSRF := get(t, c, s.URL+"/console/login?next=%2Fmarketplace%2Fsubscriptions")
	if resp, _ := post(t, c, s.URL+"/console/login", url.Values{"csrf": {loginCSRF}, "token": {adminToken}, "next": {"/marketplace/subscriptions"}}); resp.Header.Get("Location") != "/marketplace/subscriptions" {
		t.Fatalf("login with next = %s, want /marketplace/subscriptions", resp.Header.Get("Location"))
	}

	// The first account that sells nothing is the buyer until one is chosen.
	code, body, csrf := get(t, c, s.URL+"/marketplace/")
	if code != http.StatusOK || !strings.Contains(body, `<option value="555566667777" selected>`) || !strings.Contains(body, "not AWS") ||
		!strings.Contains(body, `href="/marketplace/products/shop-product"`) {
		t.Fatalf("home = %d, want the simulation banner, buyer 555566667777 chosen and the product: %s", code, body)
	}
	if resp, body := post(t, c, s.URL+"/marketplace/buyer", url.Values{"csrf": {csrf}, "buyer": {"999999999999"}}); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "is not an account of this server") {
		t.Errorf("choosing an unknown account = %d, want 400 saying why", resp.StatusCode)
	}
	csrf = buyAs(t, s, c, freshBuyer)

	// The product lists the offers open to the buyer: not another's private one.
	code, body, _ = get(t, c, s.URL+"/marketplace/products/"+buyerProduct)
	if code != http.StatusOK || !strings.Contains(body, "/marketplace/offers/"+contractOffer) || strings.Contains(body, privateOffer) {
		t.Errorf("product page = %d, want the contract offer and not the private one: %s", code, body)
	}
	if code, _, _ := get(t, c, s.URL+"/marketplace/offers/"+privateOffer); code != http.StatusNotFound {
		t.Errorf("another buyer's private offer = %d, want 404", code)
	}

	// The offer page has the contract choices and the three acceptances.
	code, body, _ = get(t, c, s.URL+"/marketplace/offers/"+contractOffer)
	for _, want := range []string{`name="duration" value="P1M" checked`, `name="duration" value="P12M"`, `name="q_seats"`, `name="q_premium"`, `max="1"`,
		`name="auto_renew" value="on" checked`, `<label for="accept_pricing"`, `<label for="accept_eula"`, `<label for="accept_customer_agreement"`} {
		if !strings.Contains(body, want) {
			t.Errorf("offer page lacks %s", want)
		}
	}

	// Without the acceptances nothing is bought.
	form := offerForm(t, s, c, csrf, contractOffer)
	form.Set("duration", "P12M")
	form.Set("q_seats", "5")
	form.Set("q_premium", "1")
	form.Set("auto_renew", "on")
	partial := url.Values{"csrf": form["csrf"], "client_token": form["client_token"], "duration": {"P12M"}, "q_seats": {"5"}, "accept_pricing": {"on"}}
	if resp, body := post(t, c, s.URL+"/marketplace/offers/"+contractOffer, partial); resp.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(body, "accept the end user license agreement (EULA), the AWS Customer Agreement") || !strings.Contains(body, `value="5"`) {
		t.Errorf("accept without two acceptances = %d, want 422 naming them, the choices kept: %s", resp.StatusCode, body)
	}
	// A choice the offer does not allow is the marketplace's refusal.
	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad.Set("duration", "P36M")
	if resp, body := post(t, c, s.URL+"/marketplace/offers/"+contractOffer, bad); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "P36M") {
		t.Errorf("accept with duration P36M = %d, want 422 naming it: %s", resp.StatusCode, body)
	}
	// A forged CSRF token buys nothing.
	forged := url.Values{}
	for k, v := range form {
		forged[k] = v
	}
	forged.Set("csrf", strings.Repeat("0", 64))
	if resp, _ := post(t, c, s.URL+"/marketplace/offers/"+contractOffer, forged); resp.StatusCode != http.StatusForbidden {
		t.Errorf("accept with a forged CSRF token = %d, want 403", resp.StatusCode)
	}
	if got, _ := s.Admin.Agreements(ctx, admin.AgreementQuery{Buyer: freshBuyer}); len(got) != 0 {
		t.Fatalf("agreements after refused forms = %v, want none", got)
	}

	// Subscribe: the agreement is made, and sending the form twice makes one.
	resp, body = post(t, c, s.URL+"/marketplace/offers/"+contractOffer, form)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/marketplace/subscriptions/agmt-") || !strings.HasSuffix(loc, "/setup") {
		t.Fatalf("accept = %d to %q, want 303 to the setup page: %s", resp.StatusCode, loc, body)
	}
	if again, _ := post(t, c, s.URL+"/marketplace/offers/"+contractOffer, form); again.Header.Get("Location") != loc {
		t.Errorf("the same form again went to %q, want %q", again.Header.Get("Location"), loc)
	}
	agreements, err := s.Admin.Agreements(ctx, admin.AgreementQuery{Buyer: freshBuyer})
	if err != nil || len(agreements) != 1 {
		t.Fatalf("agreements of %s = %v, %v, want one", freshBuyer, agreements, err)
	}
	a := agreements[0]
	if a.Status != meterd.AgreementActive || a.Duration != "P12M" || !a.AutoRenew || a.OfferID != contractOffer || len(a.Dimensions) != 2 {
		t.Errorf("agreement = %+v, want ACTIVE P12M auto-renewing with seats and premium", a)
	}
	events, err := s.Admin.Events(ctx, admin.EventQuery{Product: buyerProduct})
	if err != nil {
		t.Fatal(err)
	}
	var created bool
	for _, e := range events {
		created = created || strings.Contains(e.Type, "Purchase Agreement Created")
	}
	if !created {
		t.Errorf("events = %v, want Purchase Agreement Created", events)
	}

	// Set up: the browser POSTs a fresh registration token the seller resolves.
	status, fields, page := setup(t, s, c, a.ID)
	if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' "+sellerURL+";") {
		t.Errorf("setup page CSP = %q, want form-action allowing %s", csp, sellerURL)
	}
	if status != http.StatusOK || len(seller.resolved) != 1 || seller.resolved[0] != a.CustomerIdentifier || fields.Has("x-amzn-marketplace-offer-type") {
		t.Errorf("fulfillment POST = %d, resolved %v, fields %v; want customer %s resolved, no offer type", status, seller.resolved, fields, a.CustomerIdentifier)
	}

	// Amend: quantities up; down is refused.
	code, body, _ = get(t, c, s.URL+"/marketplace/subscriptions")
	if code != http.StatusOK || !strings.Contains(body, a.ID) || !strings.Contains(body, "/marketplace/subscriptions/"+a.ID+"/cancel") {
		t.Fatalf("subscriptions = %d, want %s with a cancel form: %s", code, a.ID, body)
	}
	amend := url.Values{"csrf": {csrf}, "q_seats": {"8"}, "q_premium": {"1"}, "auto_renew": {"on"}}
	if resp, body := post(t, c, s.URL+"/marketplace/subscriptions/"+a.ID+"/amend", amend); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("amend = %d: %s", resp.StatusCode, body)
	}
	if got, _ := s.Admin.Agreement(ctx, a.ID); got.Intent != meterd.IntentAmend || quantity(got, "seats") != 8 {
		t.Errorf("amended agreement = %+v, want AMEND with 8 seats", got)
	}
	amend.Set("q_seats", "2")
	if resp, body := post(t, c, s.URL+"/marketplace/subscriptions/"+a.ID+"/amend", amend); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "raises quantities only") {
		t.Errorf("amend down = %d, want 422 saying why: %s", resp.StatusCode, body)
	}

	// Another account's agreement is not the buyer's to cancel.
	theirs, err := s.Admin.Accept(ctx, marketplace.AcceptInput{Buyer: otherBuyer, OfferID: privateOffer})
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := post(t, c, s.URL+"/marketplace/subscriptions/"+theirs.Agreement.ID+"/cancel", url.Values{"csrf": {csrf}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("cancel another buyer's agreement = %d, want 404", resp.StatusCode)
	}
	if code, _, _ := get(t, c, s.URL+"/marketplace/subscriptions/"+theirs.Agreement.ID+"/setup"); code != http.StatusNotFound {
		t.Errorf("setup of another buyer's agreement = %d, want 404", code)
	}

	// Cancel.
	if resp, body := post(t, c, s.URL+"/marketplace/subscriptions/"+a.ID+"/cancel", url.Values{"csrf": {csrf}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("cancel = %d: %s", resp.StatusCode, body)
	}
	if got, _ := s.Admin.Agreement(ctx, a.ID); got.Status != meterd.AgreementCancelled {
		t.Errorf("status after cancel = %s, want CANCELLED", got.Status)
	}
	if got, _ := s.Admin.Agreement(ctx, theirs.Agreement.ID); got.Status != meterd.AgreementActive {
		t.Errorf("the other buyer's agreement is %s, want ACTIVE", got.Status)
	}
	if code, body, _ := get(t, c, s.URL+"/marketplace/subscriptions/"+a.ID+"/setup"); code != http.StatusOK || strings.Contains(body, "Set up your account</button>") || !strings.Contains(body, "is CANCELLED") {
		t.Errorf("setup of a cancelled agreement = %d, want no button and why", code)
	}
}

func TestBuyerTrial(t *testing.T) {
	s, seller, _ := startShop(t)
	c := browser(t)
	csrf := buyAs(t, s, c, freshBuyer)
	resp, body := post(t, c, s.URL+"/marketplace/offers/"+trialOffer, offerForm(t, s, c, csrf, trialOffer))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("accept trial = %d: %s", resp.StatusCode, body)
	}
	id := strings.TrimSuffix(strings.TrimPrefix(resp.Header.Get("Location"), "/marketplace/subscriptions/"), "/setup")
	status, fields, _ := setup(t, s, c, id)
	if status != http.StatusOK || fields.Get("x-amzn-marketplace-offer-type") != "free-trial" || len(seller.resolved) != 1 {
		t.Errorf("trial setup POST = %d with %v, want the free-trial field and the token resolved", status, fields)
	}
	// One trial per buyer and product: the second is refused on the page.
	resp, body = post(t, c, s.URL+"/marketplace/offers/"+trialOffer, offerForm(t, s, c, csrf, trialOffer))
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "already had a free trial") {
		t.Errorf("a second trial = %d, want 422 saying why: %s", resp.StatusCode, body)
	}
}

func TestBuyerReadOnly(t *testing.T) {
	s, _, _ := startShop(t)
	ro, err := s.Admin.CreateAdminToken(context.Background(), admin.AdminTokenInput{Name: "viewer", Role: meterd.RoleReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	c := browser(t)
	_, csrf := login(t, s, c, ro.Token)
	resp, body := post(t, c, s.URL+"/marketplace/offers/"+contractOffer, offerForm(t, s, c, csrf, contractOffer))
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "read-only") {
		t.Errorf("accept with a read-only token = %d, want 403 saying read-only: %s", resp.StatusCode, body)
	}
}

func quantity(a *meterd.Agreement, dim string) int64 {
	for _, d := range a.Dimensions {
		if d.Name == dim {
			return d.Quantity
		}
	}
	return 0
}

// BenchmarkBuyerPages measures each buyer page's render at the server (the
// HTTP round trip on loopback included) for a buyer with 50 agreements.
func BenchmarkBuyerPages(b *testing.B) {
	s, _, _ := startShop(b)
	ctx := context.Background()
	var last string
	for range 50 {
		res, err := s.Admin.Accept(ctx, marketplace.AcceptInput{Buyer: freshBuyer, OfferID: contractOffer, Duration: "P1M", Quantities: map[string]int64{"seats": 2}})
		if err != nil {
			b.Fatal(err)
		}
		last = res.Agreement.ID
	}
	c := browser(nil)
	_, _, csrf := get(b, c, s.URL+"/console/login")
	post(b, c, s.URL+"/console/login", url.Values{"csrf": {csrf}, "token": {adminToken}})
	for _, p := range []string{"/marketplace/", "/marketplace/products/" + buyerProduct, "/marketplace/offers/" + contractOffer,
		"/marketplace/subscriptions", "/marketplace/subscriptions/" + last + "/setup"} {
		name := cmp.Or(strings.Trim(strings.ReplaceAll(strings.TrimPrefix(p, "/marketplace/"), last, "ID"), "/"), "home")
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if code, body, _ := get(b, c, s.URL+p); code != http.StatusOK {
					b.Fatalf("%s = %d: %s", p, code, body)
				}
			}
		})
	}
}

// TestBuyerSetupNoFulfillmentURL: the demo product has no fulfillment URL,
// so its setup page says so and has no form to send.
func TestBuyerSetupNoFulfillmentURL(t *testing.T) {
	s := startServer(t)
	agreements, err := s.Admin.Agreements(context.Background(), admin.AgreementQuery{Buyer: "444455556666"})
	if err != nil || len(agreements) == 0 {
		t.Fatalf("demo buyer's agreements = %v, %v", agreements, err)
	}
	c := browser(t)
	login(t, s, c, adminToken)
	code, body, _ := get(t, c, s.URL+"/marketplace/subscriptions/"+agreements[0].ID+"/setup")
	if code != http.StatusOK || !strings.Contains(body, "has no fulfillment URL") || strings.Contains(body, "x-amzn-marketplace-token") {
		t.Errorf("setup page of a product without fulfillment URL = %d, want the reason and no form: %s", code, body)
	}
}
