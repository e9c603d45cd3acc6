package main

import (
	"context"
	"io"
)

// runReset runs meterd reset: delete the usage and the catalog's objects
// (those made with the CLI too) and apply the server's catalog again. It is one verb, so it has no noun dispatch of its own.
func runReset(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLI("meterd reset", "--yes", stdout, stderr)
	return c.exit(resetLedger(ctx, c, args))
}

func resetLedger(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Deletes every usage record and every account, access key, product, customer,\n" +
		"offer and agreement, including those made with the CLI, then applies the server's catalog\n" +
		"(or the demo) and its fault rules again. Admin tokens are kept. Nothing of it can be\n" +
		"undone, so it refuses to run without --yes.")
	yes := fs.Bool("yes", false, "really empty the ledger")
	if _, err := c.parse(fs, args, 0); err != nil {
		return err
	}
	if !*yes {
		return c.usagef("refusing to empty the ledger without --yes")
	}
	client, err := c.client()
	if err != nil {
		return err
	}
	if err := client.Reset(ctx); err != nil {
		return err
	}
	t := &table{header: []string{"reset"}}
	t.add("true")
	if c.output == "table" {
		_, err := io.WriteString(c.stdout, "usage, accounts, products and customers deleted; catalog applied again\n")
		return err
	}
	return c.print(map[string]bool{"reset": true}, t)
}
