package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/meterd/meterd/admin"
)

// runPublicKeys runs meterd publickeys: the key versions that sign
// RegisterUsage answers.
func runPublicKeys(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runNoun(ctx, noun{
		name:    "publickeys",
		summary: "RegisterUsage signing key versions of a product, public keys in PEM",
		verbs: []verb{
			{"list", "--product C", "list a product's key versions", publicKeysList},
			{"rotate", "--product C", "create the product's next key version", publicKeysRotate},
		},
	}, args, stdout, stderr)
}

func publicKeysList(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Lists the RegisterUsage key versions of a product. The table output is each\n" +
		"public key in PEM under a comment line, so it can be saved as a PEM file.")
	product := fs.String("product", "", "product code (required)")
	client, err := c.connect(fs, args, "product")
	if err != nil {
		return err
	}
	keys, err := client.PublicKeys(ctx, *product)
	if err != nil {
		return err
	}
	return c.printPublicKeys(keys, keys...)
}

func publicKeysRotate(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Creates the product's next RegisterUsage key version, which signs from now on,\n" +
		"and prints it.")
	product := fs.String("product", "", "product code (required)")
	client, err := c.connect(fs, args, "product")
	if err != nil {
		return err
	}
	k, err := client.RotatePublicKey(ctx, *product)
	if err != nil {
		return err
	}
	return c.printPublicKeys(k, *k)
}

// printPublicKeys prints v as JSON, or keys as CSV or as PEM blocks each
// under a "# version N ..." line, which PEM parsers skip.
func (c *cli) printPublicKeys(v any, keys ...admin.PublicKey) error {
	t := &table{header: []string{"version", "created_at", "rotated_at", "public_key_pem"}}
	for _, k := range keys {
		rotated := ""
		if k.RotatedAt != nil {
			rotated = timeText(*k.RotatedAt)
		}
		t.add(strconv.FormatInt(k.Version, 10), timeText(k.CreatedAt), rotated, k.PublicKeyPEM)
	}
	if c.output != "table" {
		return c.print(v, t)
	}
	for _, row := range t.rows {
		state := "current"
		if row[2] != "" {
			state = "rotated " + row[2]
		}
		if _, err := fmt.Fprintf(c.stdout, "# version %s, created %s, %s\n%s\n", row[0], row[1], state, strings.TrimRight(row[3], "\n")); err != nil {
			return err
		}
	}
	return nil
}
