package console

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/marketplace"
)

// acceptances are the three checkboxes AWS's offer page asks for, by form
// field.
var acceptances = []struct{ Field, Label string }{
	{"accept_pricing", "the pricing terms"},
	{"accept_eula", "the end user license agreement (EULA)"},
	{"accept_customer_agreement", "the AWS Customer Agreement"},
}

// clientTokenPattern is the offer form's one-time client token: it makes a
// form sent twice (a double click, a reload) accept once.
var clientTokenPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// offerPage is an offer's page: its terms, the contract choices, and what
// the buyer chose when the page is shown again with an error.
type offerPage struct {
	Offer         meterd.Offer
	Product       admin.Product
	Usage         []priceLine     // the usage rate card
	Durations     []durationPrice // the contract's rate cards
	Dimensions    []admin.Dimension
	Renewal       bool // the offer has a RenewalTerm: the buyer picks auto-renew
	Trial         *meterd.Term
	TrialConverts bool // the trial turns into the paid terms when it ends
	TrialOnly     bool // a free-trial offer: its trial is what is accepted
	Legal         []meterd.DocumentItem
	Refund        string
	Acceptances   []struct{ Field, Label string }
	ClientToken   string

	// The buyer's choices.
	Duration   string
	Quantities map[string]int64
	AutoRenew  bool
	StartTrial bool
	Accepted   map[string]bool
}

// priceLine is a dimension's price per unit.
type priceLine struct {
	Dimension, Unit, Price, Currency string
}

// durationPrice is a contract duration and its prices.
type durationPrice struct {
	Duration, Label string
	Prices          []priceLine
}

// durationLabels say the contract durations in words.
var durationLabels = map[string]string{"P1M": "1 month", "P12M": "12 months", "P24M": "24 months", "P36M": "36 months"}

// newOfferPage lays out an offer's terms for its page, with the offer's
// own defaults as the buyer's choices.
func newOfferPage(o *meterd.Offer, p *admin.Product) *offerPage {
	v := &offerPage{Offer: *o, Product: *p, Acceptances: acceptances, ClientToken: newSecret()[:32],
		Quantities: map[string]int64{}, Accepted: map[string]bool{}, TrialOnly: o.Pricing == meterd.PricingFreeTrial}
	unit := func(name string) string {
		for _, d := range p.Dimensions {
			if d.Name == name {
				return d.Unit
			}
		}
		return ""
	}
	contract := map[string]bool{}
	for i := range v.Offer.Terms {
		t := &v.Offer.Terms[i]
		cur := cmp.Or(t.CurrencyCode, "USD")
		switch t.Type {
		case meterd.TermUsageBasedPricing:
			for _, rc := range t.RateCard {
				v.Usage = append(v.Usage, priceLine{rc.DimensionKey, unit(rc.DimensionKey), rc.Price, cur})
			}
		case meterd.TermConfigurableUpfrontPrice:
			for _, card := range t.RateCards {
				d := durationPrice{Duration: card.Duration, Label: cmp.Or(durationLabels[card.Duration], card.Duration)}
				for _, rc := range card.RateCard {
					d.Prices = append(d.Prices, priceLine{rc.DimensionKey, unit(rc.DimensionKey), rc.Price, cur})
					contract[rc.DimensionKey] = true
				}
				v.Durations = append(v.Durations, d)
			}
		case meterd.TermFreeTrialPricing:
			v.Trial = t
			v.TrialConverts = t.Converts != nil && *t.Converts
		case meterd.TermLegal:
			v.Legal = append(v.Legal, t.Documents...)
		case meterd.TermSupport:
			v.Refund = t.RefundPolicy
		case meterd.TermRenewal:
			v.Renewal = true
			v.AutoRenew = t.AutoRenew != nil && *t.AutoRenew
		}
	}
	// Shortest duration first, as AWS lists them.
	order := []string{"P1M", "P12M", "P24M", "P36M"}
	slices.SortStableFunc(v.Durations, func(a, b durationPrice) int {
		return slices.Index(order, a.Duration) - slices.Index(order, b.Duration)
	})
	if len(v.Durations) > 0 {
		v.Duration = v.Durations[0].Duration
	}
	for _, d := range p.Dimensions {
		if contract[d.Name] {
			v.Dimensions = append(v.Dimensions, d)
		}
	}
	v.StartTrial = v.TrialOnly
	return v
}

// visibleOffer returns the offer and its product when the buyer may see
// it; a private offer of other buyers is not found, as on AWS.
func visibleOffer(ctx context.Context, bc *buyerContext, id string) (*meterd.Offer, *admin.Product, error) {
	o, err := bc.cl.Offer(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if !o.VisibleTo(bc.buyer) {
		return nil, nil, &admin.Error{API: "admin API", Status: http.StatusNotFound, Code: meterd.ENotFound, Message: "offer " + id + " is private and buyer account " + bc.buyer + " is not among its buyers"}
	}
	p, err := bc.cl.Product(ctx, o.ProductCode)
	if err != nil {
		return nil, nil, err
	}
	return o, p, nil
}

func (c *Console) buyerOffer(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	bc, err := c.buyerOf(ctx, r, s)
	if err != nil {
		return err
	}
	o, p, err := visibleOffer(ctx, bc, r.PathValue("id"))
	if err != nil {
		return err
	}
	c.renderBuyer(w, r, s, bc, http.StatusOK, "buyer_offer", o.Name, "", newOfferPage(o, p))
	return nil
}

// buyerAccept accepts the offer as the buyer with the form's choices, then
// sends the browser to the agreement's setup page. A form without the
// three acceptances, or with a choice the offer does not allow, shows the
// offer again with what is wrong.
func (c *Console) buyerAccept(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	bc, err := c.buyerOf(ctx, r, s)
	if err != nil {
		return err
	}
	o, p, err := visibleOffer(ctx, bc, r.PathValue("id"))
	if err != nil {
		return err
	}
	v := newOfferPage(o, p)
	in, problem := v.readForm(r, bc.buyer)
	if problem == "" {
		res, err := bc.cl.Accept(ctx, in)
		switch {
		case err != nil:
			// The admin API's refusal of a choice is the buyer's to fix.
			var ae *admin.Error
			if !errors.As(err, &ae) || ae.Status >= 500 || ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden && ae.Code == admin.CodeForbidden {
				return err
			}
			problem = errorText(err)
		case res.Failed:
			problem = "the purchase failed (a fault rule on AcceptAgreement): customer " + res.CustomerIdentifier + " is now subscribe-failed"
		case res.Agreement.BuyerAccountID != bc.buyer:
			return &formError{"the form's client token was used by another account: reload the offer and try again"}
		default:
			http.Redirect(w, r, "/marketplace/subscriptions/"+res.Agreement.ID+"/setup", http.StatusSeeOther)
			return nil
		}
	}
	c.renderBuyer(w, r, s, bc, http.StatusUnprocessableEntity, "buyer_offer", o.Name, problem, v)
	return nil
}

// formQuantity reads the form's quantity of a contract dimension (field
// q_<dimension>): set is false when the field is empty; problem says what
// is wrong with it.
func formQuantity(r *http.Request, dim string) (n int64, set bool, problem string) {
	raw := strings.TrimSpace(r.PostFormValue("q_" + dim))
	if raw == "" {
		return 0, false, ""
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n < 0 {
		return 0, false, "quantity of " + dim + ": " + quoted(raw) + " is not a whole number of 0 or more"
	}
	return n, true, ""
}

// readForm reads the buyer's choices into the page (to show them again)
// and into the acceptance; problem says what is wrong with them.
func (v *offerPage) readForm(r *http.Request, buyer string) (in marketplace.AcceptInput, problem string) {
	var missing []string
	for _, a := range acceptances {
		v.Accepted[a.Field] = r.PostFormValue(a.Field) != ""
		if !v.Accepted[a.Field] {
			missing = append(missing, a.Label)
		}
	}
	tok := r.PostFormValue("client_token")
	if !clientTokenPattern.MatchString(tok) {
		return in, "the form has no client token: reload the offer and try again"
	}
	v.ClientToken = tok
	// The token is the buyer's own: another account's form never returns
	// this buyer's agreement.
	in = marketplace.AcceptInput{Buyer: buyer, OfferID: v.Offer.ID, ClientToken: "page-" + buyer + "-" + tok}
	if problem := v.readChoices(r, &in); problem != "" {
		return in, problem
	}
	if len(missing) > 0 {
		return in, "to subscribe, accept " + strings.Join(missing, ", ")
	}
	return in, ""
}

// readChoices reads the offer's choices (contract duration and
// quantities, auto-renew, trial) into the page and into in; the console's
// products page asks for the same fields.
func (v *offerPage) readChoices(r *http.Request, in *marketplace.AcceptInput) (problem string) {
	if len(v.Durations) > 0 {
		v.Duration = r.PostFormValue("duration")
		in.Duration = v.Duration
		in.Quantities = map[string]int64{}
		for _, d := range v.Dimensions {
			n, set, problem := formQuantity(r, d.Name)
			if problem != "" {
				return problem
			}
			if !set {
				continue
			}
			v.Quantities[d.Name] = n
			if n > 0 {
				in.Quantities[d.Name] = n
			}
		}
	}
	if v.Renewal {
		v.AutoRenew = r.PostFormValue("auto_renew") != ""
		in.AutoRenew = &v.AutoRenew
	}
	if v.Trial != nil && !v.TrialOnly {
		v.StartTrial = r.PostFormValue("trial") != ""
	}
	in.Trial = v.StartTrial
	return ""
}
