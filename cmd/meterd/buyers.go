package main

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/marketplace"
)

// Form fields of the registration POST to a SaaS product's fulfillment
// URL, as AWS's page sends them.
const (
	formToken     = "x-amzn-marketplace-token"
	formOfferType = "x-amzn-marketplace-offer-type"
)

// runBuyers runs meterd buyers: what a buyer does on AWS's pages, headless.
func runBuyers(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runNoun(ctx, noun{
		name:    "buyers",
		summary: "a buyer's side, headless: purchase an offer as the buyer's page would",
		verbs: []verb{
			{"purchase", acceptSynopsis + " [--post]", "accept an offer and print the registration form the buyer's browser would POST (--post: POST it)", buyersPurchase},
		},
	}, args, stdout, stderr)
}

// purchase is what a purchase made: the agreement and the registration
// form for the product's fulfillment URL (none when the acceptance failed).
type purchase struct {
	Agreement          *meterd.Agreement `json:"agreement,omitempty"`
	Failed             bool              `json:"failed,omitempty"`
	CustomerIdentifier string            `json:"customer_identifier"`
	FulfillmentURL     string            `json:"fulfillment_url,omitempty"`
	Form               map[string]string `json:"form,omitempty"`
	Seller             *sellerAnswer     `json:"seller,omitempty"` // with --post: the fulfillment URL's answer
}

func buyersPurchase(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Purchases an offer as the buyer account --buyer, as AWS's pages do: accepts it (the\n" +
		"flags of \"meterd agreements accept\"), then prints the registration form that the buyer's\n" +
		"browser POSTs to the product's fulfillment URL: " + formToken + " (a fresh\n" +
		"registration token, valid 30 minutes, that ResolveCustomer exchanges for the customer)\n" +
		"and, for a free trial, " + formOfferType + "=free-trial. With --post, meterd POSTs that form\n" +
		"itself, as the buyer's browser would after \"Set up your account\", and prints the seller's\n" +
		"status, redirect and body (not following the redirect); a seller answering 4xx or 5xx\n" +
		"exits 1.")
	post := fs.Bool("post", false, "POST the registration form to the product's fulfillment URL and print the seller's answer")
	client, accept, err := acceptFlags(fs, true).connect(c, args)
	if err != nil {
		return err
	}
	p, err := makePurchase(ctx, client, accept)
	if err != nil {
		return err
	}
	if p.Agreement != nil && p.FulfillmentURL == "" {
		fmt.Fprintf(c.stderr, "%s: product %s has no fulfillment_url: a buyer's browser would have nowhere to post the form\n", c.command, p.Agreement.ProductCode)
	}
	if !*post || p.Agreement == nil {
		return c.printPurchase(p)
	}
	return c.postPurchase(ctx, p)
}

// makePurchase accepts the offer and builds the registration form.
func makePurchase(ctx context.Context, client *admin.Client, in marketplace.AcceptInput) (*purchase, error) {
	out, err := client.Accept(ctx, in)
	if err != nil {
		return nil, err
	}
	p := &purchase{Agreement: out.Agreement, Failed: out.Failed, CustomerIdentifier: out.CustomerIdentifier}
	if out.Agreement == nil {
		return p, nil
	}
	a := out.Agreement
	product, err := client.Product(ctx, a.ProductCode)
	if err != nil {
		return nil, err
	}
	tok, err := client.CreateAgreementToken(ctx, a.ProductCode, a.CustomerIdentifier, a.ID, marketplace.RegistrationTokenTTL)
	if err != nil {
		return nil, err
	}
	p.FulfillmentURL = product.FulfillmentURL
	p.Form = map[string]string{formToken: tok.Token}
	if a.Trial {
		p.Form[formOfferType] = meterd.PricingFreeTrial // the form field's value is the pricing's name
	}
	return p, nil
}

// printPurchase prints a purchase as field and value rows.
func (c *cli) printPurchase(p *purchase) error {
	t := &table{header: []string{"field", "value"}}
	if p.Agreement == nil {
		t.add("failed", strconv.FormatBool(p.Failed))
		t.add("customer_identifier", p.CustomerIdentifier)
		return c.print(p, t)
	}
	t.add("agreement_id", p.Agreement.ID)
	t.add("status", p.Agreement.Status)
	t.add("customer_identifier", p.CustomerIdentifier)
	t.add("license_arn", p.Agreement.LicenseArn)
	t.add("fulfillment_url", p.FulfillmentURL)
	for _, name := range []string{formToken, formOfferType} {
		if v, ok := p.Form[name]; ok {
			t.add(name, v)
		}
	}
	if a := p.Seller; a != nil {
		t.add("seller_status", a.Status)
		if a.Location != "" {
			t.add("seller_location", a.Location)
		}
		t.add("seller_body", a.Body)
	}
	return c.print(p, t)
}
