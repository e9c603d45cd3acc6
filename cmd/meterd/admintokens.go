package main

import (
	"context"
	"io"

	"github.com/meterd/meterd/admin"
)

// runAdminTokens runs meterd admin-tokens: the bearer tokens of the admin
// API, each with a name and a role.
func runAdminTokens(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runNoun(ctx, noun{
		name:    "admin-tokens",
		summary: "bearer tokens of the admin API, each with a name and a role (admin or read-only)",
		verbs: []verb{
			{"list", "", "list the tokens' names, roles and creation times (never the tokens)", adminTokensList},
			{"create", "--name N --role admin|read-only", "create a token and print only it, now and never again", adminTokensCreate},
			{"revoke", "NAME", "revoke the token NAME on every node sharing the store", adminTokensRevoke},
		},
	}, args, stdout, stderr)
}

func adminTokensList(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Lists the admin tokens: name, role and creation time. The server keeps only each\n" +
		"token's SHA-256, so a token is never shown again after its creation. Needs an admin token.")
	client, err := c.connect(fs, args)
	if err != nil {
		return err
	}
	tokens, err := client.AdminTokens(ctx)
	if err != nil {
		return err
	}
	t := &table{header: []string{"name", "role", "created_at"}}
	for _, tok := range tokens {
		t.add(tok.Name, tok.Role, timeText(tok.CreatedAt))
	}
	return c.print(tokens, t)
}

func adminTokensCreate(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Creates an admin token. Role admin may do everything; role read-only may only\n" +
		"read (usage, catalog, clock, fault rules) and gets 403 on any change. With the table\n" +
		"output (the default) stdout is the token alone, so scripts can capture it:\n" +
		"TOKEN=$(meterd admin-tokens create --name ci --role read-only). Every node sharing\n" +
		"the store accepts it at once. Rotate by creating a new token, moving the clients\n" +
		"to it, then revoking the old one.")
	var in admin.AdminTokenInput
	fs.StringVar(&in.Name, "name", "", "token name: letters, digits, '.', '_', '-' (required)")
	fs.StringVar(&in.Role, "role", "", "admin or read-only (required)")
	client, err := c.connect(fs, args, "name", "role")
	if err != nil {
		return err
	}
	tok, err := client.CreateAdminToken(ctx, in)
	if err != nil {
		return err
	}
	t := &table{header: []string{"token", "name", "role", "created_at"}}
	t.add(tok.Token, tok.Name, tok.Role, timeText(tok.CreatedAt))
	if c.output == "table" {
		_, err := io.WriteString(c.stdout, tok.Token+"\n")
		return err
	}
	return c.print(tok, t)
}

func adminTokensRevoke(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Revokes the admin token NAME: every node sharing the store refuses it from\n" +
		"its next request. Revoking the token the command itself uses is allowed.")
	pos, err := c.parse(fs, args, 1)
	if err != nil {
		return err
	}
	client, err := c.client()
	if err != nil {
		return err
	}
	if err := client.RevokeAdminToken(ctx, pos[0]); err != nil {
		return err
	}
	t := &table{header: []string{"revoked"}}
	t.add(pos[0])
	return c.print(map[string]string{"revoked": pos[0]}, t)
}
