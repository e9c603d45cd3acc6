package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/meterd/meterd/server"
)

// runEnv is meterd env: the environment that points AWS clients (and the
// meterd CLI) at a server, for eval "$(meterd env)". It does not contact
// the server.
func runEnv(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLI("meterd env", "[--server URL] [--access-key-id K --secret-access-key S] [--region R] [--shell sh|fish] [--output json]", stdout, stderr)
	return c.exit(printEnv(c, args))
}

func printEnv(c *cli, args []string) error {
	fs := c.bareFlags("Prints the variables that point the AWS SDKs, the AWS CLI and the meterd CLI at the\n" +
		"server: every endpoint variable, the key pair and the region, as export lines for\n" +
		"eval \"$(meterd env)\" (or, with --shell fish, meterd env --shell fish | source). The\n" +
		"server is not contacted. The default key pair is the demo catalog's seller key.")
	c.serverFlag(fs)
	key := fs.String("access-key-id", "test", "the access key id to sign with")
	secret := fs.String("secret-access-key", "test", "its secret")
	region := fs.String("region", "us-east-1", "the region to sign for")
	shell := fs.String("shell", "sh", "sh (also bash, zsh) or fish")
	fs.StringVar(&c.output, "output", "table", "table (shell lines) or json")
	if _, err := c.parse(fs, args, 0); err != nil {
		return err
	}
	if u, err := url.Parse(c.server); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c.usagef("--server: %q is not an http:// or https:// URL", c.server)
	}
	env := append(server.ClientEnv(strings.TrimRight(c.server, "/"), *key, *secret, *region),
		server.EnvVar{Name: "METERD_SERVER", Value: strings.TrimRight(c.server, "/")})
	switch {
	case c.output == "json":
		m := map[string]string{}
		for _, v := range env {
			m[v.Name] = v.Value
		}
		return c.print(m, nil)
	case c.output != "table":
		return c.usagef("--output: %q is not table or json", c.output)
	}
	var b strings.Builder
	for _, v := range env {
		switch *shell {
		case "sh", "bash", "zsh":
			fmt.Fprintf(&b, "export %s=%s\n", v.Name, shellQuote(v.Value))
		case "fish":
			fmt.Fprintf(&b, "set -gx %s %s\n", v.Name, shellQuote(v.Value))
		default:
			return c.usagef("--shell: %q is not sh or fish", *shell)
		}
	}
	_, err := io.WriteString(c.stdout, b.String())
	return err
}

// shellQuote returns s as one word for sh and fish: as is when it holds
// only safe characters, else in single quotes.
func shellQuote(s string) string {
	safe := s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:@%+=,", r))
	}) < 0
	if safe {
		return s
	}
	// sh: 'it'\''s'; fish reads \' inside single quotes, and the same
	// close-escape-reopen form works there too.
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
