package console_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/console"
	"github.com/meterd/meterd/internal/exampleseller"
	"github.com/meterd/meterd/server"
)

// journeyDocs are the journey's screenshots that README shows.
var journeyDocs = map[string]bool{"buyer-offer.png": true, "buyer-subscriptions.png": true}

// shot saves a screenshot of the journey, and with -update-docs those
// README shows under docs/.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	screenshot(t, ctx, name)
	if *updateDocs && journeyDocs[name] {
		png, err := os.ReadFile(filepath.Join(t.ArtifactDir(), name))
		if err == nil {
			err = os.WriteFile(filepath.Join("..", "docs", name), png, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

const journeyCatalog = `
accounts:
  - {id: "111122223333", name: Shop Seller, access_keys: [{id: test, secret: test}]}
  - {id: "555566667777", name: Fresh Buyer}
products:
  - code: shop-product
    seller: "111122223333"
    type: saas
    fulfillment_url: %s/register
    dimensions:
      - {name: requests, unit: Requests, price: "0.001"}
      - {name: storage_gb, unit: GB-Hours}
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
notifications:
  queues:
    - {account: "111122223333", name: marketplace-events}
  subscriptions:
    - {product: shop-product, topic: subscription, protocol: sqs, endpoint: marketplace-events}
    - {product: shop-product, topic: entitlement, protocol: sqs, endpoint: marketplace-events}
`

// journey is the buyer's journey's world: meterd, the example seller, the
// browser.
type journey struct {
	t      *testing.T
	ctx    context.Context
	URL    string
	admin  *admin.Client
	seller *exampleseller.Seller
	clock  *meterd.ServerClock
}

func (j *journey) do(actions ...chromedp.Action[chromedp.Void]) {
	j.t.Helper()
	// A step that a working page finishes at once; the page says why not.
	ctx, cancel := context.WithTimeout(j.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		html, _ := chromedp.Run(j.ctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
		j.t.Fatalf("%v; the page: %s", err, html)
	}
}

// until waits for the page's condition expr, across the navigations that
// stop a chromedp poll.
func (j *journey) until(expr string) {
	j.t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if ok, err := chromedp.Run(j.ctx, chromedp.Evaluate[bool](expr)); err == nil && ok {
			return
		}
	}
	j.t.Fatalf("the page never had %s", expr)
}

// TestBuyerJourney is a buyer's whole journey in Debian's headless
// Chromium: log in, buy a contract on the marketplace pages, set up the
// account at the example seller (which resolves the token, activates the
// customer on subscribe-success and meters), the console showing those
// records, cancel, the clock an hour on, the seller seeing
// unsubscribe-success and meterd refusing a new record; and a wrong token,
// a forged CSRF token and an expired session refused.
func TestBuyerJourney(t *testing.T) {
	app := exampleseller.FreeURL(t)
	dir := t.TempDir()
	catalogFile := filepath.Join(dir, "catalog.yaml")
	if err := os.WriteFile(catalogFile, []byte(fmt.Sprintf(journeyCatalog, app)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := server.DefaultConfig()
	cfg.Listen, cfg.Data, cfg.Store, cfg.AdminToken, cfg.Catalog = "127.0.0.1:0", filepath.Join(dir, "data"), "sqlite", adminToken, catalogFile
	session := &fakeTime{now: time.Now()}
	m := &server.Main{Config: cfg, Clock: &meterd.ServerClock{}, Console: &console.Console{Now: session.Now, SessionTTL: time.Hour}}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	j := &journey{t: t, ctx: newBrowser(t), URL: m.URL(), admin: admin.NewClient(m.URL(), adminToken), clock: m.Clock,
		seller: exampleseller.Start(t, exampleseller.Config{URL: app, Meterd: m.URL(), Product: "shop-product", Queue: "marketplace-events"})}
	ctx := j.ctx

	// A wrong token is refused; the right one leads to the page asked for.
	j.do(chromedp.Navigate(j.URL+"/marketplace/"), chromedp.WaitVisible(chromedp.ID("token")))
	j.do(chromedp.SendKeys(chromedp.ID("token"), "not-the-token"), chromedp.Submit(chromedp.ID("token")), chromedp.WaitVisible(chromedp.CSS(".error")))
	if msg := text(t, ctx, ".error"); !strings.Contains(msg, "not an admin token") {
		t.Errorf("wrong token: the page says %q", msg)
	}
	j.do(chromedp.SendKeys(chromedp.ID("token"), adminToken+"\r"), chromedp.WaitVisible(chromedp.ID("p-shop-product")))
	if p := location(t, ctx); p != "/marketplace/" {
		t.Errorf("after login the browser is at %s, want /marketplace/", p)
	}
	if banner := text(t, ctx, ".simulation"); !strings.Contains(banner, "not AWS") {
		t.Errorf("banner = %q, want it to say this is not AWS", banner)
	}
	shot(t, ctx, "buyer-home.png")

	// The buyer chooses its account, then the product and the contract.
	j.do(chromedp.SetValue(chromedp.ID("buyer"), "555566667777"), chromedp.Click(chromedp.CSS(".buyer-choice button")), chromedp.WaitVisible(chromedp.CSS(".flash")),
		chromedp.Click(chromedp.CSS(`a[href="/marketplace/products/shop-product"]`)), chromedp.WaitVisible(chromedp.ID("offers")),
		chromedp.Click(chromedp.CSS(`a[href="/marketplace/offers/offer-shopcontract1"]`)), chromedp.WaitVisible(chromedp.ID("accept_pricing")))
	shot(t, ctx, "buyer-offer.png")
	j.do(chromedp.EmulateViewport(390, 800))
	shot(t, ctx, "buyer-offer-narrow.png")
	if wide, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`)); err != nil || wide {
		t.Errorf("the offer page is wider than a 390 px window (%v)", err)
	}
	// Back to 1280×800 as narrow does: ResetViewport left the later
	// screenshots 390 px wide.
	j.do(chromedp.EmulateViewport(1280, 800))

	// A forged CSRF token buys nothing.
	j.do(chromedp.SetValue(chromedp.CSS(`form.offer input[name=csrf]`), strings.Repeat("f", 64)),
		chromedp.Click(chromedp.ID("accept_pricing")), chromedp.Click(chromedp.ID("accept_eula")), chromedp.Click(chromedp.ID("accept_customer_agreement")),
		chromedp.Click(chromedp.CSS(`form.offer button[type=submit]`)))
	// The answer is at the form's own URL: chromedp's DOM does not follow
	// such a navigation, so the page's own script waits for it.
	j.until(`document.title.startsWith("Refused")`)
	if msg, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector(".error").textContent`)); !strings.Contains(msg, "CSRF") {
		t.Errorf("forged CSRF token: the page says %q", msg)
	}
	if got, _ := j.admin.Agreements(context.Background(), admin.AgreementQuery{Buyer: "555566667777"}); len(got) != 0 {
		t.Fatalf("a forged form made agreements %v", got)
	}

	// The contract: 12 months, 5 seats, premium, the three acceptances,
	// chosen with the keyboard where a buyer would.
	j.do(chromedp.Navigate(j.URL+"/marketplace/offers/offer-shopcontract1"), chromedp.WaitVisible(chromedp.ID("accept_pricing")),
		chromedp.Click(chromedp.ID("d-P12M")),
		chromedp.Clear(chromedp.ID("q-seats")), chromedp.SendKeys(chromedp.ID("q-seats"), "5"), chromedp.Clear(chromedp.ID("q-premium")), chromedp.SendKeys(chromedp.ID("q-premium"), "1"),
		chromedp.Focus(chromedp.ID("accept_pricing")), chromedp.KeyEvent(" "),
		chromedp.Focus(chromedp.ID("accept_eula")), chromedp.KeyEvent(" "),
		chromedp.Focus(chromedp.ID("accept_customer_agreement")), chromedp.KeyEvent(" "),
		chromedp.Click(chromedp.CSS(`form.offer button[type=submit]`)), chromedp.WaitVisible(chromedp.ID("setup")))
	agreements, err := j.admin.Agreements(context.Background(), admin.AgreementQuery{Buyer: "555566667777"})
	if err != nil || len(agreements) != 1 {
		t.Fatalf("agreements after subscribing = %v, %v; want one", agreements, err)
	}
	a := agreements[0]
	if a.Duration != "P12M" || quantity(&a, "seats") != 5 || quantity(&a, "premium") != 1 || !a.AutoRenew {
		t.Errorf("agreement = %+v, want 12 months of 5 seats and premium, renewing", a)
	}
	shot(t, ctx, "buyer-setup.png")
	// Nothing is sent to the seller before the buyer clicks.
	if got := j.seller.Customers(); len(got) != 0 {
		t.Errorf("the seller has customers %v before the buyer clicked", got)
	}

	// The click POSTs the token; the seller resolves it and shows its
	// signup page, the customer pending until subscribe-success.
	j.do(chromedp.Click(chromedp.ID("setup")), chromedp.WaitVisible(chromedp.ID("email")))
	url, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href`))
	if err != nil || url != app+"/signup" {
		t.Errorf("after Set up the browser is at %q, %v; want %s/signup", url, err, app)
	}
	if c := j.seller.Customer(a.CustomerIdentifier); c.Status != "pending" || c.AWSAccountID != "555566667777" {
		t.Errorf("the seller's customer = %+v, want pending for account 555566667777", c)
	}
	shot(t, ctx, "seller-signup.png")
	// The seller's worker, started now, finds subscribe-success waiting.
	j.seller.StartWorker()
	if c := j.seller.WaitStatus(a.CustomerIdentifier, "active"); c.Entitlements["seats"] != "5" || c.Entitlements["premium"] != "true" {
		t.Errorf("the seller's entitlements of %s = %v, want 5 seats and premium", a.CustomerIdentifier, c.Entitlements)
	}
	j.do(chromedp.SendKeys(chromedp.ID("email"), "buyer@example.com\r"), chromedp.WaitVisible(chromedp.ID("use")))
	if st := text(t, ctx, "#status"); st != "active" {
		t.Errorf("the seller shows the customer %q, want active", st)
	}
	for i := range 3 {
		j.do(chromedp.Click(chromedp.ID("use")))
		j.until(fmt.Sprintf(`document.getElementById("used")?.textContent == "%d"`, i+1))
	}
	if used := text(t, ctx, "#used"); used != "3" {
		t.Errorf("the seller counted %s requests, want 3", used)
	}
	shot(t, ctx, "seller-account.png")
	if out := j.seller.Run("metering.py", "--once", "--include-current-hour"); !strings.Contains(out, "Success 1") {
		t.Errorf("the seller's metering job: %q, want one record sent", out)
	}

	// The console shows the record.
	j.do(chromedp.Navigate(j.URL+"/console/"), chromedp.WaitVisible(chromedp.CSS(".plot canvas")))
	captions, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("figcaption")].map(e => e.textContent).join("\n")`))
	if err != nil || !strings.Contains(captions, "shop-product: records per hour, last 24 h (1 in all)") {
		t.Errorf("dashboard captions %q, %v; want shop-product's one record", captions, err)
	}
	j.do(chromedp.Navigate(j.URL+"/console/usage?product=shop-product"), chromedp.WaitVisible(chromedp.ID("results")))
	if row := text(t, ctx, "#results tbody tr"); !strings.Contains(row, a.CustomerIdentifier) || !strings.Contains(row, "requests") {
		t.Errorf("usage table row %q, want %s's requests", row, a.CustomerIdentifier)
	}

	// Cancel on "Your subscriptions".
	j.do(chromedp.Navigate(j.URL+"/marketplace/subscriptions"), chromedp.WaitVisible(chromedp.ID("a-"+a.ID)))
	shot(t, ctx, "buyer-subscriptions.png")
	j.do(chromedp.Click(chromedp.CSS(`form[action="/marketplace/subscriptions/`+a.ID+`/cancel"] button`)), chromedp.WaitVisible(chromedp.CSS(".flash")))
	if got, _ := j.admin.Agreement(context.Background(), a.ID); got.Status != meterd.AgreementCancelled {
		t.Errorf("agreement after cancel is %s, want CANCELLED", got.Status)
	}
	j.seller.WaitStatus(a.CustomerIdentifier, "unsubscribe-pending")

	// An hour on the clock page: unsubscribe-success, and meterd refuses a
	// record of use after it.
	j.do(chromedp.Navigate(j.URL+"/console/clock"), chromedp.WaitVisible(chromedp.ID("advance")),
		chromedp.Clear(chromedp.ID("advance")), chromedp.SendKeys(chromedp.ID("advance"), "1h1m"),
		chromedp.Click(chromedp.CSS(`button[value=advance]`)), chromedp.WaitVisible(chromedp.CSS(".flash")))
	j.seller.WaitStatus(a.CustomerIdentifier, "inactive")
	j.seller.RecordUse(a.CustomerIdentifier, "storage_gb", time.Now())
	if out := j.seller.Run("metering.py", "--once", "--include-current-hour"); !strings.Contains(out, "CustomerNotSubscribed 1") {
		t.Errorf("metering after the grace hour: %q, want the record refused (CustomerNotSubscribed)", out)
	}

	// An expired session leads to the login page again.
	session.Add(2 * time.Hour)
	j.do(chromedp.Navigate(j.URL+"/marketplace/subscriptions"), chromedp.WaitVisible(chromedp.ID("token")))
	if p := location(t, ctx); p != "/console/login" {
		t.Errorf("with an expired session the browser is at %s, want the login page", p)
	}
}
