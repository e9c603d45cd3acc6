package main

import (
	"context"
	"io"

	"github.com/meterd/meterd/admin"
)

// runCustomers runs meterd customers: the buyers subscribed to a product.
func runCustomers(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runNoun(ctx, noun{
		name:    "customers",
		summary: "customers (buyers' subscriptions) of a product",
		verbs: []verb{
			{"list", "--product C", "list a product's customers", customersList},
			{"subscribe", "--product C [--aws-account-id N] [--customer-identifier X] [--license-arn A] [--platform P]",
				"subscribe a customer, or resubscribe one", customersSubscribe},
			{"unsubscribe", "--product C --customer X", "start a customer's unsubscribe (pending for one hour)", customersUnsubscribe},
			{"set-status", "--product C --customer X --status S", "set a customer's status", customersSetStatus},
		},
	}, args, stdout, stderr)
}

func customersList(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Lists the customers of a product with their status at the server clock's now.")
	product := fs.String("product", "", "product code (required)")
	client, err := c.connect(fs, args, "product")
	if err != nil {
		return err
	}
	customers, err := client.Customers(ctx, *product)
	if err != nil {
		return err
	}
	return c.print(customers, customerTable(customers...))
}

func customersSubscribe(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Subscribes a customer to a product; values not given are generated. Subscribing\n" +
		"an existing customer (one that is unsubscribe-pending, say) resubscribes it.\n" +
		"Platforms: ec2, ecs, eks, fargate, agentcore, other.")
	product := fs.String("product", "", "product code (required)")
	var in admin.SubscribeInput
	fs.StringVar(&in.AWSAccountID, "aws-account-id", "", "the buyer's 12-digit AWS account id (default: generated)")
	fs.StringVar(&in.CustomerIdentifier, "customer-identifier", "", "customer identifier (default: generated)")
	fs.StringVar(&in.LicenseArn, "license-arn", "", "license ARN (default: generated)")
	fs.StringVar(&in.Platform, "platform", "", "where the buyer runs the product (default: by product type)")
	client, err := c.connect(fs, args, "product")
	if err != nil {
		return err
	}
	cust, err := client.Subscribe(ctx, *product, in)
	if err != nil {
		return err
	}
	return c.print(cust, customerTable(*cust))
}

func customersUnsubscribe(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Starts a customer's unsubscribe: the customer is unsubscribe-pending, and its\n" +
		"usage is still accepted, for one hour by the server clock; then it is unsubscribed.")
	product := fs.String("product", "", "product code (required)")
	customer := fs.String("customer", "", "customer identifier (required)")
	client, err := c.connect(fs, args, "product", "customer")
	if err != nil {
		return err
	}
	cust, err := client.Unsubscribe(ctx, *product, *customer)
	if err != nil {
		return err
	}
	return c.print(cust, customerTable(*cust))
}

func customersSetStatus(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Sets a customer's status: subscribed, unsubscribe-pending, unsubscribed,\n" +
		"subscribe-failed or suspended.")
	product := fs.String("product", "", "product code (required)")
	customer := fs.String("customer", "", "customer identifier (required)")
	status := fs.String("status", "", "the new status (required)")
	client, err := c.connect(fs, args, "product", "customer", "status")
	if err != nil {
		return err
	}
	cust, err := client.SetCustomerStatus(ctx, *product, *customer, *status)
	if err != nil {
		return err
	}
	return c.print(cust, customerTable(*cust))
}

func customerTable(customers ...admin.Customer) *table {
	t := &table{header: []string{"customer_identifier", "aws_account_id", "status", "platform", "status_changed_at", "license_arn"}}
	for _, c := range customers {
		t.add(c.CustomerIdentifier, c.AWSAccountID, c.Status, c.Platform, timeText(c.StatusChangedAt), c.LicenseArn)
	}
	return t
}
