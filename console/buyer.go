package console

// The buyer's side of AWS Marketplace (spec/marketplace.md §5): product
// listings, an offer's page with its contract choices and the three
// acceptances, the "Set up your account" page that form-POSTs the
// registration token to the seller's fulfillment URL, and "Your
// subscriptions" with amend and cancel. They sit behind the console's
// session and act as one buyer account chosen on the page (kept in the
// meterd_buyer cookie); every action goes through the admin API, so the
// same marketplace.Service transitions and events as the Agreement API.

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/admin"
)

// buyerCookie names the cookie that holds the buyer account the pages act
// as. It selects nothing the session may not see anyway: every admin
// token sees every account, and the cookie is checked against them.
const buyerCookie = "meterd_buyer"

// buyerPageNames are the buyer pages' templates, rendered with
// buyer_layout.html.
var buyerPageNames = []string{"buyer_home", "buyer_product", "buyer_offer", "buyer_setup", "buyer_subscriptions"}

// buyerRoutes adds the buyer pages to the console's mux.
func (c *Console) buyerRoutes(mux *http.ServeMux) {
	mux.Handle("GET /marketplace/{$}", c.authed(c.buyerHome))
	mux.Handle("GET /marketplace/products/{code}", c.authed(c.buyerProduct))
	mux.Handle("GET /marketplace/offers/{id}", c.authed(c.buyerOffer))
	mux.Handle("POST /marketplace/offers/{id}", c.authed(c.buyerAccept))
	mux.Handle("GET /marketplace/subscriptions", c.authed(c.buyerSubscriptions))
	mux.Handle("GET /marketplace/subscriptions/{id}/setup", c.authed(c.buyerSetup))
	mux.Handle("POST /marketplace/subscriptions/{id}/amend", c.authed(c.buyerAmend))
	mux.Handle("POST /marketplace/subscriptions/{id}/cancel", c.authed(c.buyerCancel))
	mux.Handle("POST /marketplace/buyer", c.authed(c.chooseBuyer))
	mux.HandleFunc("GET /marketplace", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/marketplace/", http.StatusSeeOther)
	})
}

// buyerView is what every buyer page gets as its page's Data: the chosen
// account, the accounts to choose from, and the page's own content.
type buyerView struct {
	Buyer    string
	Accounts []admin.Account
	Back     string // where choosing another account returns to
	CSRF     string
	ReadOnly bool
	Body     any
}

// buyerContext is a buyer page's request: its admin client and the buyer
// account it acts as.
type buyerContext struct {
	cl       *admin.Client
	buyer    string
	accounts []admin.Account
}

// buyerOf returns the request's buyer account: the meterd_buyer cookie's
// when it names an account of the server, else the first account that
// sells no product (the demo's 444455556666), else the first account.
func (c *Console) buyerOf(ctx context.Context, r *http.Request, s *session) (*buyerContext, error) {
	cl := c.client(s)
	accounts, err := cl.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	bc := &buyerContext{cl: cl, accounts: accounts}
	if ck, err := r.Cookie(buyerCookie); err == nil && hasAccount(accounts, ck.Value) {
		bc.buyer = ck.Value
		return bc, nil
	}
	products, err := cl.Products(ctx)
	if err != nil {
		return nil, err
	}
	for _, a := range accounts {
		if !slices.ContainsFunc(products, func(p admin.Product) bool { return p.Seller == a.ID }) {
			bc.buyer = a.ID
			return bc, nil
		}
	}
	if len(accounts) > 0 {
		bc.buyer = accounts[0].ID
	}
	return bc, nil
}

func hasAccount(accounts []admin.Account, id string) bool {
	return slices.ContainsFunc(accounts, func(a admin.Account) bool { return a.ID == id })
}

// renderBuyer renders a buyer page.
func (c *Console) renderBuyer(w http.ResponseWriter, r *http.Request, s *session, bc *buyerContext, status int, name, title, errMsg string, body any) {
	c.render(w, status, name, page{
		Title: title, Nav: name, CSRF: s.csrf, ReadOnly: s.readOnly, Flash: r.URL.Query().Get("done"), Error: errMsg,
		Data: buyerView{Buyer: bc.buyer, Accounts: bc.accounts, Back: r.URL.Path, CSRF: s.csrf, ReadOnly: s.readOnly, Body: body},
	})
}

// chooseBuyer sets the account the buyer pages act as.
func (c *Console) chooseBuyer(w http.ResponseWriter, r *http.Request, s *session) error {
	bc, err := c.buyerOf(r.Context(), r, s)
	if err != nil {
		return err
	}
	id := r.PostFormValue("buyer")
	if !hasAccount(bc.accounts, id) {
		return &formError{"buyer: " + quoted(id) + " is not an account of this server (meterd accounts list)"}
	}
	c.setCookie(w, buyerCookie, id, 0)
	back := r.PostFormValue("back")
	if !isBuyerPath(back) {
		back = "/marketplace/"
	}
	redirectFlash(w, r, back, "acting as buyer account "+id)
	return nil
}

// isBuyerPath tells a local buyer page's path, safe to redirect to.
func isBuyerPath(p string) bool {
	return strings.HasPrefix(p, "/marketplace/") && !strings.Contains(p, "//") && !strings.ContainsAny(p, "\\?#\r\n")
}

// productCard is a product on the home page.
type productCard struct {
	Product admin.Product
	Offers  int // offers visible to the buyer
}

func (c *Console) buyerHome(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	bc, err := c.buyerOf(ctx, r, s)
	if err != nil {
		return err
	}
	products, err := bc.cl.Products(ctx)
	if err != nil {
		return err
	}
	var cards []productCard
	for _, p := range products {
		offers, err := c.visibleOffers(ctx, bc, p.Code)
		if err != nil {
			return err
		}
		cards = append(cards, productCard{Product: p, Offers: len(offers)})
	}
	c.renderBuyer(w, r, s, bc, http.StatusOK, "buyer_home", "Products", "", cards)
	return nil
}

// visibleOffers are the product's offers the buyer may see and accept.
func (c *Console) visibleOffers(ctx context.Context, bc *buyerContext, product string) ([]meterd.Offer, error) {
	offers, err := bc.cl.Offers(ctx, product)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(offers, func(o meterd.Offer) bool { return !o.VisibleTo(bc.buyer) }), nil
}

// productPage is a product's listing.
type productPage struct {
	Product admin.Product
	Offers  []meterd.Offer
}

func (c *Console) buyerProduct(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	bc, err := c.buyerOf(ctx, r, s)
	if err != nil {
		return err
	}
	p, err := bc.cl.Product(ctx, r.PathValue("code"))
	if err != nil {
		return err
	}
	offers, err := c.visibleOffers(ctx, bc, p.Code)
	if err != nil {
		return err
	}
	c.renderBuyer(w, r, s, bc, http.StatusOK, "buyer_product", p.Code, "", productPage{Product: *p, Offers: offers})
	return nil
}

// quoted quotes a user's value for a message, at most 64 bytes of it.
func quoted(v string) string {
	if len(v) > 64 {
		v = v[:64] + "..."
	}
	return strconv.Quote(v)
}
