package console

import (
	"cmp"
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/marketplace"
)

// setupPage is the page after an acceptance: the button that form-POSTs a
// fresh registration token to the product's fulfillment URL.
type setupPage struct {
	Agreement      meterd.Agreement
	FulfillmentURL string // "" when the product has none
	Token          string
	Trial          bool
	Problem        string // why there is no button
}

// buyerAgreement returns the agreement when it is the buyer's; another
// account's agreement is not found, as on AWS.
func buyerAgreement(ctx context.Context, bc *buyerContext, id string) (*meterd.Agreement, error) {
	a, err := bc.cl.Agreement(ctx, id)
	if err != nil {
		return nil, err
	}
	if a.BuyerAccountID != bc.buyer {
		return nil, &admin.Error{API: "admin API", Status: http.StatusNotFound, Code: meterd.ENotFound, Message: "buyer account " + bc.buyer + " has no agreement " + id}
	}
	return a, nil
}

// buyerSetup shows the "Set up your account" button. Each visit mints a
// fresh registration token (valid 30 minutes, as the Agreement API's);
// nothing is submitted until the buyer clicks. The page's policy lets its
// form go to the fulfillment URL's origin alone besides this server.
func (c *Console) buyerSetup(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	bc, err := c.buyerOf(ctx, r, s)
	if err != nil {
		return err
	}
	a, err := buyerAgreement(ctx, bc, r.PathValue("id"))
	if err != nil {
		return err
	}
	p, err := bc.cl.Product(ctx, a.ProductCode)
	if err != nil {
		return err
	}
	v := setupPage{Agreement: *a, Trial: a.Trial}
	origin, err := formOrigin(p.FulfillmentURL)
	switch {
	case p.FulfillmentURL == "":
		v.Problem = "product " + p.Code + " has no fulfillment URL: the seller sets one in the catalog (fulfillment_url)"
	case err != nil:
		v.Problem = "product " + p.Code + "'s fulfillment URL " + quoted(p.FulfillmentURL) + " is not an http or https URL"
	case a.Status != meterd.AgreementActive:
		v.Problem = "agreement " + a.ID + " is " + a.Status + ": only an active agreement is set up"
	}
	if v.Problem == "" {
		if s.readOnly {
			v.Problem = "this session's token is read-only: it cannot mint a registration token"
		} else {
			tok, err := bc.cl.CreateToken(ctx, a.ProductCode, a.CustomerIdentifier, marketplace.RegistrationTokenTTL)
			if err != nil {
				return err
			}
			v.FulfillmentURL, v.Token = p.FulfillmentURL, tok.Token
			w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self' "+origin+"; base-uri 'none'")
		}
	}
	c.renderBuyer(w, r, s, bc, http.StatusOK, "buyer_setup", "Set up your account", "", v)
	return nil
}

// formOrigin is the origin of an http(s) URL, for a form-action source.
func formOrigin(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.ContainsAny(u.Host, " ;,'") {
		return "", &formError{"not an http or https URL"}
	}
	return u.Scheme + "://" + u.Host, nil
}

// subscription is one of the buyer's agreements on its page.
type subscription struct {
	Agreement  meterd.Agreement
	Active     bool
	Amendable  bool             // an active contract: quantities up, auto-renew
	Quantities map[string]int64 // the purchased quantities
	Dimensions []string         // the contract dimensions the agreement's duration prices
}

func (c *Console) buyerSubscriptions(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	bc, err := c.buyerOf(ctx, r, s)
	if err != nil {
		return err
	}
	var subs []subscription
	if bc.buyer != "" {
		agreements, err := bc.cl.Agreements(ctx, admin.AgreementQuery{Buyer: bc.buyer})
		if err != nil {
			return err
		}
		// Newest first: what was just bought is on top.
		slices.SortStableFunc(agreements, func(a, b meterd.Agreement) int { return b.AcceptanceTime.Compare(a.AcceptanceTime) })
		for _, a := range agreements {
			subs = append(subs, newSubscription(a))
		}
	}
	c.renderBuyer(w, r, s, bc, http.StatusOK, "buyer_subscriptions", "Your subscriptions", "", subs)
	return nil
}

func newSubscription(a meterd.Agreement) subscription {
	sub := subscription{Agreement: a, Active: a.Status == meterd.AgreementActive, Quantities: map[string]int64{}}
	for _, d := range a.Dimensions {
		sub.Quantities[d.Name] = d.Quantity
	}
	if upfront, ok := a.Term(meterd.TermConfigurableUpfrontPrice); ok && !a.Trial {
		for _, card := range upfront.RateCards {
			if card.Duration == a.Duration {
				for _, rc := range card.RateCard {
					sub.Dimensions = append(sub.Dimensions, rc.DimensionKey)
				}
			}
		}
		slices.SortFunc(sub.Dimensions, cmp.Compare)
		sub.Amendable = sub.Active
	}
	return sub
}

// amendInput reads the amend form: the quantities that changed, and
// auto-renewal when it changed.
func (sub subscription) amendInput(r *http.Request) (marketplace.AmendInput, error) {
	in := marketplace.AmendInput{Quantities: map[string]int64{}}
	for _, d := range sub.Dimensions {
		n, set, problem := formQuantity(r, d)
		if problem != "" {
			return in, &formError{problem}
		}
		if set && n != sub.Quantities[d] {
			in.Quantities[d] = n
		}
	}
	if auto := r.PostFormValue("auto_renew") != ""; auto != sub.Agreement.AutoRenew {
		in.AutoRenew = &auto
	}
	return in, nil
}

// buyerAmend raises the quantities of one of the buyer's contracts, or
// turns its auto-renewal on or off.
func (c *Console) buyerAmend(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	bc, err := c.buyerOf(ctx, r, s)
	if err != nil {
		return err
	}
	a, err := buyerAgreement(ctx, bc, r.PathValue("id"))
	if err != nil {
		return err
	}
	in, err := newSubscription(*a).amendInput(r)
	if err != nil {
		return err
	}
	if _, err := bc.cl.Amend(ctx, a.ID, in); err != nil {
		return err
	}
	redirectFlash(w, r, "/marketplace/subscriptions", "agreement "+a.ID+" amended")
	return nil
}

// buyerCancel cancels one of the buyer's agreements (CANCELLED, as
// CancelAgreement does).
func (c *Console) buyerCancel(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	bc, err := c.buyerOf(ctx, r, s)
	if err != nil {
		return err
	}
	a, err := buyerAgreement(ctx, bc, r.PathValue("id"))
	if err != nil {
		return err
	}
	if _, err := bc.cl.CancelAgreement(ctx, a.ID); err != nil {
		return err
	}
	redirectFlash(w, r, "/marketplace/subscriptions", "agreement "+a.ID+" cancelled")
	return nil
}
