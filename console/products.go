package console

import (
	"net/http"
	"strings"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/marketplace"
)

// productView is a product with what hangs off it.
type productView struct {
	admin.Product
	Customers  []admin.Customer
	Offers     []*offerPage // each offer with the choices its accept form asks for
	Agreements []meterd.Agreement
	// MoreCustomers and MoreAgreements are how many were left off: a
	// product may have ten thousand customers.
	MoreCustomers, MoreAgreements int
}

// maxRowsShown bounds the customers and the agreements a product lists.
const maxRowsShown = 100

type productsData struct {
	Products []productView
	Accounts []admin.Account // the buyers an offer can be accepted for
}

// products lists each product with its dimensions, customers, offers
// (each with a form accepting it for a buyer), agreements with their
// licenses (an active one can be cancelled) and customers (a registration
// token can be minted for each).
func (c *Console) products(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	cl := c.client(s)
	products, err := cl.Products(ctx)
	if err != nil {
		return err
	}
	d := productsData{}
	if d.Accounts, err = cl.Accounts(ctx); err != nil {
		return err
	}
	for _, p := range products {
		v := productView{Product: p}
		if v.Customers, err = cl.Customers(ctx, p.Code); err != nil {
			return err
		}
		offers, err := cl.Offers(ctx, p.Code)
		if err != nil {
			return err
		}
		for i := range offers {
			v.Offers = append(v.Offers, newOfferPage(&offers[i], &p))
		}
		if v.Agreements, err = cl.Agreements(ctx, admin.AgreementQuery{Product: p.Code}); err != nil {
			return err
		}
		if n := len(v.Customers); n > maxRowsShown {
			v.Customers, v.MoreCustomers = v.Customers[:maxRowsShown], n-maxRowsShown
		}
		if n := len(v.Agreements); n > maxRowsShown {
			v.Agreements, v.MoreAgreements = v.Agreements[:maxRowsShown], n-maxRowsShown
		}
		d.Products = append(d.Products, v)
	}
	c.render(w, http.StatusOK, "products", page{Title: "Products", Nav: "products", CSRF: s.csrf, ReadOnly: s.readOnly, Flash: r.URL.Query().Get("done"), Data: d})
	return nil
}

// acceptOffer accepts an offer for the buyer the form names, with the
// contract choices it asks for; the agreement and its events are made by
// the admin API's transition, as the buyer pages' are.
func (c *Console) acceptOffer(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	cl := c.client(s)
	o, err := cl.Offer(ctx, r.PostFormValue("offer"))
	if err != nil {
		return err
	}
	p, err := cl.Product(ctx, o.ProductCode)
	if err != nil {
		return err
	}
	buyer := strings.TrimSpace(r.PostFormValue("buyer"))
	if buyer == "" {
		return &formError{"buyer: choose the account that accepts the offer"}
	}
	tok := r.PostFormValue("client_token")
	if !clientTokenPattern.MatchString(tok) {
		return &formError{"the form has no client token: reload the products page and try again"}
	}
	in := marketplace.AcceptInput{Buyer: buyer, OfferID: o.ID, ClientToken: "console-" + tok}
	if problem := newOfferPage(o, p).readChoices(r, &in); problem != "" {
		return &formError{problem}
	}
	out, err := cl.Accept(ctx, in)
	if err != nil {
		return err
	}
	if out.Agreement == nil {
		redirectFlash(w, r, "/console/products", "the acceptance failed as asked: customer "+out.CustomerIdentifier+" is subscribe-failed")
		return nil
	}
	redirectFlash(w, r, "/console/products", "agreement "+out.Agreement.ID+" made: buyer "+buyer+" accepted "+o.ID+" as customer "+out.CustomerIdentifier)
	return nil
}

// cancelAgreement cancels an active agreement, as its buyer would.
func (c *Console) cancelAgreement(w http.ResponseWriter, r *http.Request, s *session) error {
	a, err := c.client(s).CancelAgreement(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	redirectFlash(w, r, "/console/products", "agreement "+a.ID+" is "+a.Status)
	return nil
}

type tokenData struct {
	Token *admin.Token
}

// mintToken mints a registration token for a customer and shows it once,
// with a copy button; it is never put in a URL.
func (c *Console) mintToken(w http.ResponseWriter, r *http.Request, s *session) error {
	tok, err := c.client(s).CreateToken(r.Context(), r.PathValue("code"), r.PostFormValue("customer"), 0)
	if err != nil {
		return err
	}
	tok.ExpiresAt = tok.ExpiresAt.UTC().Truncate(time.Second)
	c.render(w, http.StatusOK, "token", page{Title: "Registration token", Nav: "products", CSRF: s.csrf, ReadOnly: s.readOnly, Data: tokenData{Token: tok}})
	return nil
}
