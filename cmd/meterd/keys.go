package main

import (
	"context"
	"io"
	"strconv"

	"github.com/meterd/meterd/admin"
)

// runKeys runs meterd keys: the AWS access keys that sign Metering API
// requests.
func runKeys(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runNoun(ctx, noun{
		name:    "keys",
		summary: "AWS access keys of the accounts",
		verbs: []verb{
			{"list", "[--account ID]", "list access keys (never their secrets)", keysList},
			{"create", "--account ID [--id K] [--secret S] [--session-token T]", "create an access key; its secret is shown only now", keysCreate},
			{"delete", "K", "delete access key K", keysDelete},
		},
	}, args, stdout, stderr)
}

func keysList(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Lists the access keys of every account, or of one. Secrets are never shown again after creation.")
	account := fs.String("account", "", "only the keys of this account")
	if _, err := c.parse(fs, args, 0); err != nil {
		return err
	}
	client, err := c.client()
	if err != nil {
		return err
	}
	var keys []admin.AccessKey
	if *account != "" {
		keys, err = client.AccountKeys(ctx, *account)
	} else {
		keys, err = client.Keys(ctx)
	}
	if err != nil {
		return err
	}
	t := &table{header: []string{"id", "account_id", "has_session_token", "created_at"}}
	for _, k := range keys {
		t.add(k.ID, k.AccountID, strconv.FormatBool(k.HasSessionToken), timeText(k.CreatedAt))
	}
	return c.print(keys, t)
}

func keysCreate(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Creates an access key of an account; an id or secret not given is generated.\n" +
		"The secret is printed now and never again. With --session-token, requests signed\n" +
		"with the key must carry that token (temporary role credentials).")
	account := fs.String("account", "", "account id (required)")
	var in admin.AccessKeyInput
	fs.StringVar(&in.ID, "id", "", "access key id (default: generated)")
	fs.StringVar(&in.Secret, "secret", "", "secret access key (default: generated)")
	fs.StringVar(&in.SessionToken, "session-token", "", "session token the key's requests must present")
	client, err := c.connect(fs, args, "account")
	if err != nil {
		return err
	}
	k, err := client.CreateKey(ctx, *account, in)
	if err != nil {
		return err
	}
	t := &table{header: []string{"id", "secret", "session_token", "account_id", "created_at"}}
	t.add(k.ID, k.Secret, k.SessionToken, k.AccountID, timeText(k.CreatedAt))
	return c.print(k, t)
}

func keysDelete(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Deletes the access key K; requests signed with it are refused from now on.")
	client, id, err := c.connectID(fs, args)
	if err != nil {
		return err
	}
	if err := client.DeleteKey(ctx, id); err != nil {
		return err
	}
	t := &table{header: []string{"deleted"}}
	t.add(id)
	return c.print(map[string]string{"deleted": id}, t)
}
