package main

import (
	"context"
	"io"

	"github.com/meterd/meterd/admin"
)

// runAccounts runs meterd accounts: the AWS accounts meterd knows, sellers
// and buyers.
func runAccounts(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runNoun(ctx, noun{
		name:    "accounts",
		summary: "AWS accounts (sellers and buyers)",
		verbs: []verb{
			{"list", "", "list the accounts", accountsList},
			{"create", "--id ID [--name N]", "create an account", accountsCreate},
		},
	}, args, stdout, stderr)
}

func accountsList(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Lists the AWS accounts known to the server.")
	if _, err := c.parse(fs, args, 0); err != nil {
		return err
	}
	client, err := c.client()
	if err != nil {
		return err
	}
	accounts, err := client.Accounts(ctx)
	if err != nil {
		return err
	}
	return c.print(accounts, accountTable(accounts...))
}

func accountsCreate(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Creates an AWS account (a seller or a buyer). Give it access keys with \"meterd keys create\".")
	var in admin.AccountInput
	fs.StringVar(&in.ID, "id", "", "12-digit AWS account id (required)")
	fs.StringVar(&in.Name, "name", "", "display name")
	client, err := c.connect(fs, args, "id")
	if err != nil {
		return err
	}
	a, err := client.CreateAccount(ctx, in)
	if err != nil {
		return err
	}
	return c.print(a, accountTable(*a))
}

func accountTable(accounts ...admin.Account) *table {
	t := &table{header: []string{"id", "name", "created_at"}}
	for _, a := range accounts {
		t.add(a.ID, a.Name, timeText(a.CreatedAt))
	}
	return t
}
