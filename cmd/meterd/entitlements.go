package main

import (
	"context"
	"io"
	"strconv"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/admin"
)

// runEntitlements runs meterd entitlements: what customers' contracts
// entitle them to, as GetEntitlements answers it.
func runEntitlements(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runNoun(ctx, noun{
		name:    "entitlements",
		summary: "entitlements of a product's customers (contract dimensions and their values)",
		verbs: []verb{
			{"list", "--product C [--customer X | --aws-account-id N] [--license ARN] [--dimension D]",
				"list a product's entitlements at the server clock's now", entitlementsList},
		},
	}, args, stdout, stderr)
}

func entitlementsList(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Lists a product's entitlements at the server clock's now, as GetEntitlements answers\n" +
		"them: one per contract dimension of each active, started agreement. Each filter may be\n" +
		"repeated (values OR'd); different filters are AND'd.")
	var q admin.EntitlementQuery
	var customers, accounts, licenses, dimensions listFlag
	fs.StringVar(&q.Product, "product", "", "product code (required)")
	fs.Var(&customers, "customer", "only this customer identifier's")
	fs.Var(&accounts, "aws-account-id", "only this buyer account's")
	fs.Var(&licenses, "license", "only this license ARN's")
	fs.Var(&dimensions, "dimension", "only this dimension's")
	client, err := c.connect(fs, args, "product")
	if err != nil {
		return err
	}
	if len(customers) > 0 && len(accounts) > 0 {
		return c.usagef("--customer and --aws-account-id exclude each other, as in GetEntitlements")
	}
	q.Customers, q.AWSAccountIDs, q.Licenses, q.Dimensions = customers, accounts, licenses, dimensions
	es, err := client.Entitlements(ctx, q)
	if err != nil {
		return err
	}
	return c.print(es, entitlementTable(es))
}

// entitlementTable is one row per entitlement, its value as text.
func entitlementTable(es []meterd.Entitlement) *table {
	t := &table{header: []string{"customer_identifier", "customer_aws_account_id", "dimension", "value", "expiration_date", "license_arn", "agreement_id"}}
	for _, e := range es {
		value := ""
		switch {
		case e.IntegerValue != nil:
			value = strconv.FormatInt(*e.IntegerValue, 10)
		case e.BooleanValue != nil:
			value = strconv.FormatBool(*e.BooleanValue)
		}
		exp := ""
		if e.ExpirationDate != nil {
			exp = timeText(*e.ExpirationDate)
		}
		t.add(e.CustomerIdentifier, e.CustomerAWSAccountID, e.Dimension, value, exp, e.LicenseArn, e.AgreementID)
	}
	return t
}
