package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// sellerAnswer is a fulfillment URL's answer to the registration POST.
type sellerAnswer struct {
	Status     string `json:"status"` // such as "303 See Other"
	StatusCode int    `json:"status_code"`
	Location   string `json:"location,omitempty"` // where the seller redirects the buyer
	Body       string `json:"body"`
	Truncated  bool   `json:"truncated,omitempty"` // the body was longer than maxSellerBody
}

// maxSellerBody bounds the seller's body read and printed.
const maxSellerBody = 64 << 10

// sellerTimeout bounds the POST: a browser gives up too.
const sellerTimeout = 30 * time.Second

// postPurchase POSTs the purchase's registration form to the fulfillment
// URL as a browser does (application/x-www-form-urlencoded), prints the
// purchase with the seller's answer, and fails on a 4xx or 5xx answer.
func (c *cli) postPurchase(ctx context.Context, p *purchase) error {
	if p.FulfillmentURL == "" {
		return fmt.Errorf("--post: product %s has no fulfillment_url to post to (the catalog's fulfillment_url, or products create --fulfillment-url)", p.Agreement.ProductCode)
	}
	u, err := url.Parse(p.FulfillmentURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--post: the fulfillment_url %q of product %s is not an http or https URL", p.FulfillmentURL, p.Agreement.ProductCode)
	}
	form := url.Values{}
	for k, v := range p.Form {
		form.Set(k, v)
	}
	ctx, cancel := context.WithTimeout(ctx, sellerTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.FulfillmentURL, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("--post: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// The answer itself is what the seller's code made: its redirect is
	// printed, not followed.
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("--post: the seller's fulfillment URL %s did not answer: %v", p.FulfillmentURL, err) // %v: it is not the meterd server that did not answer
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxSellerBody+1))
	if err != nil {
		return fmt.Errorf("--post: reading the answer of %s: %w", p.FulfillmentURL, err)
	}
	p.Seller = &sellerAnswer{Status: resp.Status, StatusCode: resp.StatusCode, Location: resp.Header.Get("Location"), Body: string(body)}
	if len(body) > maxSellerBody {
		p.Seller.Body, p.Seller.Truncated = string(body[:maxSellerBody]), true
	}
	if err := c.printPurchase(p); err != nil {
		return err
	}
	if resp.StatusCode >= 400 {
		return fmt.Errorf("the seller's fulfillment URL %s answered %s", p.FulfillmentURL, resp.Status)
	}
	return nil
}
