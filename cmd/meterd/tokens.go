package main

import (
	"context"
	"io"
)

// runTokens runs meterd tokens: registration tokens for ResolveCustomer.
func runTokens(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runNoun(ctx, noun{
		name:    "tokens",
		summary: "registration tokens for ResolveCustomer",
		verbs: []verb{
			{"create", "--product C --customer X [--agreement ID] [--ttl 4h]", "mint a registration token and print only it", tokensCreate},
		},
	}, args, stdout, stderr)
}

func tokensCreate(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Mints a registration token, as AWS posts to a SaaS fulfillment URL, for\n" +
		"ResolveCustomer. With the table output (the default) stdout is the token alone,\n" +
		"so scripts can capture it: TOKEN=$(meterd tokens create --product C --customer X).")
	product := fs.String("product", "", "product code (required)")
	customer := fs.String("customer", "", "customer identifier (required)")
	agreement := fs.String("agreement", "", "bind the token to this agreement of the customer: ResolveCustomer answers its license (default: the customer's newest)")
	ttl := fs.Duration("ttl", 0, "how long the token is valid (default: the server's, 4h)")
	if _, err := c.parse(fs, args, 0); err != nil {
		return err
	}
	if err := c.required("product", *product, "customer", *customer); err != nil {
		return err
	}
	if *ttl < 0 {
		return c.usagef("--ttl: must be positive, got %v", *ttl)
	}
	client, err := c.client()
	if err != nil {
		return err
	}
	tok, err := client.CreateAgreementToken(ctx, *product, *customer, *agreement, *ttl)
	if err != nil {
		return err
	}
	t := &table{header: []string{"token", "product_code", "customer_identifier", "expires_at"}}
	t.add(tok.Token, tok.ProductCode, tok.CustomerIdentifier, timeText(tok.ExpiresAt))
	if c.output == "table" {
		_, err := io.WriteString(c.stdout, tok.Token+"\n")
		return err
	}
	return c.print(tok, t)
}
