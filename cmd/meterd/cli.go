package main

// The pieces every CLI noun shares. A noun (accounts, customers, faults, ...)
// is one file whose entry point has the shape of runServe and is one case of
// run's switch in main.go:
//
//	func runCustomers(ctx context.Context, args []string, stdout, stderr io.Writer) int {
//		return runNoun(ctx, noun{name: "customers", summary: "...", verbs: []verb{
//			{"list", "--product C", "list a product's customers", customersList},
//		}}, args, stdout, stderr)
//	}
//
// runNoun handles "meterd customers", "meterd customers --help" and unknown
// verbs. A verb is a func(ctx, *cli, args) error that declares its flags on
// c.flags(help) (which adds the global --server, --admin-token, --data and
// --output), parses them with c.parse (flags may come before or after
// positional arguments; --help prints the usage), checks required flags
// with c.required, reaches the server only through c.client() (the admin Go
// client) and prints its answer with c.print(v, table), which writes v as
// JSON for --output json and the table as aligned columns or CSV (header
// row first) otherwise. A verb returns nil (exit 0), an error from
// c.usagef or c.parse (exit 2; flag.ErrHelp exits 0), or any other error
// (exit 1; an *admin.Error is printed with the server's message).

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/internal/csvsafe"
	"github.com/meterd/meterd/server"
)

// defaultServer is the server the CLI talks to without --server.
const defaultServer = "http://127.0.0.1:4579"

// noun is a CLI noun and its verbs.
type noun struct {
	name    string // such as "customers"
	summary string // one line for meterd --help
	verbs   []verb
}

// verb is one verb of a noun.
type verb struct {
	name     string // such as "subscribe"
	synopsis string // the arguments, such as "--product C [--platform P]"
	summary  string // one line
	run      func(ctx context.Context, c *cli, args []string) error
}

// usageError is a mistake in the command line: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// cli is the state of one CLI command: where it writes, its name, and the
// global flags once parsed.
type cli struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	command        string // such as "meterd customers subscribe"
	synopsis       string // the verb's arguments

	server         string
	adminToken     string
	adminTokenFile string
	data           string
	output         string
}

// newCLI returns the state of the command named command (such as "meterd
// customers subscribe") whose arguments synopsis shows.
func newCLI(command, synopsis string, stdout, stderr io.Writer) *cli {
	return &cli{stdout: stdout, stderr: stderr, getenv: os.Getenv, command: command, synopsis: synopsis}
}

// runNoun dispatches args (the verb and its flags) to a verb of n and
// returns the exit code.
func runNoun(ctx context.Context, n noun, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "meterd %s: missing verb\n\n", n.name)
		n.usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		n.usage(stdout)
		return exitOK
	}
	for _, v := range n.verbs {
		if v.name == args[0] {
			c := newCLI("meterd "+n.name+" "+v.name, v.synopsis, stdout, stderr)
			return c.exit(v.run(ctx, c, args[1:]))
		}
	}
	fmt.Fprintf(stderr, "meterd %s: unknown verb %q\n\n", n.name, args[0])
	n.usage(stderr)
	return exitUsage
}

// usage prints the verbs of n.
func (n noun) usage(w io.Writer) {
	fmt.Fprintf(w, "meterd %s: %s\n\nUsage:\n", n.name, n.summary)
	for _, v := range n.verbs {
		fmt.Fprintf(w, "  meterd %s %s %s\n        %s\n", n.name, v.name, v.synopsis, v.summary)
	}
	fmt.Fprintf(w, "\nEvery verb takes --server, --admin-token or --admin-token-file, --data and --output table|json|csv.\n"+
		"Run \"meterd %s VERB --help\" for a verb's flags.\n", n.name)
}

// exit reports err and returns the exit code for it.
func (c *cli) exit(err error) int {
	var ue *usageError
	var ae *admin.Error
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(c.stderr, "%s: %s\nRun \"%s --help\" for usage.\n", c.command, ue.msg, c.command)
		return exitUsage
	case errors.As(err, &ae) && ae.Status == http.StatusNotFound && ae.Code == http.StatusText(http.StatusNotFound):
		// Not the admin API's JSON: another program, or an older meterd.
		fmt.Fprintf(c.stderr, "%s: %s answered 404 Not Found for %s: is it a meterd server? Point the CLI at one with --server URL or METERD_SERVER=URL.\n", c.command, c.server, ae.API)
		return exitError
	case errors.As(err, &ae):
		msg := ae.Message
		if msg == "" {
			msg = "the server refused the request"
		}
		where := ""
		if ae.Status == http.StatusNotFound {
			where = ", server " + c.server
		}
		fmt.Fprintf(c.stderr, "%s: %s (%d %s%s)\n", c.command, msg, ae.Status, ae.Code, where)
		return exitError
	case errors.Is(err, syscall.ECONNREFUSED):
		fmt.Fprintf(c.stderr, "%s: no server answers at %s (connection refused). Start one with \"meterd serve\", or point the CLI at yours with --server URL or METERD_SERVER=URL.\n", c.command, c.server)
		return exitError
	}
	fmt.Fprintf(c.stderr, "%s: %v\n", c.command, err)
	return exitError
}

// usagef returns a usage error.
func (c *cli) usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// flags returns the flag set of a verb with the global flags on it. help,
// what the verb does, is shown by --help under the verb's synopsis.
func (c *cli) flags(help string) *flag.FlagSet {
	fs := c.bareFlags(help)
	c.serverFlag(fs)
	fs.StringVar(&c.adminToken, "admin-token", "", "admin token (default: --admin-token-file, else env METERD_ADMIN_TOKEN, else METERD_ADMIN_TOKEN_FILE, else the file <data>/admin-token)")
	fs.StringVar(&c.adminTokenFile, "admin-token-file", "", "a file whose first line is the admin token (keeps it off the command line)")
	fs.StringVar(&c.data, "data", c.env("METERD_DATA", "./meterd-data"), "the server's data directory, where the admin token file is (env METERD_DATA)")
	fs.StringVar(&c.output, "output", "table", "output format: table, json or csv")
	return fs
}

// bareFlags returns the flag set of a verb without the global flags, for
// verbs that need no admin API (version, env, healthcheck, completion).
// c.output is "table" unless the verb adds its own --output.
func (c *cli) bareFlags(help string) *flag.FlagSet {
	fs := flag.NewFlagSet(c.command, flag.ContinueOnError)
	c.output = "table"
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: %s %s\n\n%s\n\nFlags:\n", c.command, c.synopsis, help)
		fs.PrintDefaults()
	}
	return fs
}

// serverFlag adds --server (default: env METERD_SERVER, else
// defaultServer) to fs.
func (c *cli) serverFlag(fs *flag.FlagSet) {
	fs.StringVar(&c.server, "server", c.env("METERD_SERVER", defaultServer), "URL of the meterd server (env METERD_SERVER)")
}

// env returns the environment variable name, or def when it is empty.
func (c *cli) env(name, def string) string {
	if v := c.getenv(name); v != "" {
		return v
	}
	return def
}

// parse parses args with fs, allowing flags before and after the
// positional arguments, and checks that there are exactly npos of them
// (npos < 0: any number). --help prints the usage on stdout.
func (c *cli) parse(fs *flag.FlagSet, args []string, npos int) ([]string, error) {
	var msg strings.Builder
	fs.SetOutput(&msg)
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		io.WriteString(c.stdout, msg.String())
		return nil, err
	}
	if err != nil {
		// The flag package's message is in err; the full usage it also
		// wrote would bury it.
		return nil, &usageError{err.Error()}
	}
	fs.SetOutput(c.stderr)
	switch c.output {
	case "table", "json", "csv":
	default:
		return nil, c.usagef("--output: %q is not table, json or csv", c.output)
	}
	if npos >= 0 && len(pos) != npos {
		return nil, c.usagef("want %d argument(s), got %d: %q", npos, len(pos), pos)
	}
	return pos, nil
}

// parseInterleaved parses flags anywhere in args and returns the other
// arguments. An argument like -1h that is not a flag's value is taken as a
// positional argument (a negative duration), not as an unknown flag.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		cut := negativeAt(fs, args)
		if err := fs.Parse(args[:cut]); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if used := cut - len(rest); used > 0 && args[used-1] == "--" {
			return append(append(pos, rest...), args[cut:]...), nil
		}
		rest = append(rest[:len(rest):len(rest)], args[cut:]...)
		if len(rest) == 0 {
			return pos, nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

// negativeAt returns the index of the first argument that looks like a
// negative number and is not the value of the flag before it, or len(args).
func negativeAt(fs *flag.FlagSet, args []string) int {
	for i, a := range args {
		if a == "--" {
			break
		}
		if len(a) < 2 || a[0] != '-' || (a[1] < '0' || a[1] > '9') && a[1] != '.' {
			continue
		}
		if i > 0 && takesValue(fs, args[i-1]) {
			continue
		}
		return i
	}
	return len(args)
}

// takesValue reports whether arg is a flag without "=" that needs a value.
func takesValue(fs *flag.FlagSet, arg string) bool {
	if !strings.HasPrefix(arg, "-") || strings.Contains(arg, "=") {
		return false
	}
	f := fs.Lookup(strings.TrimLeft(arg, "-"))
	if f == nil {
		return false
	}
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return !ok || !b.IsBoolFlag()
}

// required returns a usage error naming the first flag left empty; pairs
// are flag names and their values.
func (c *cli) required(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			return c.usagef("--%s is required", pairs[i])
		}
	}
	return nil
}

// connect is the start of most verbs: it parses fs (no positional
// arguments), checks that the named flags were given a value, and returns
// the admin client.
func (c *cli) connect(fs *flag.FlagSet, args []string, required ...string) (*admin.Client, error) {
	if _, err := c.parse(fs, args, 0); err != nil {
		return nil, err
	}
	for _, name := range required {
		if fs.Lookup(name).Value.String() == "" {
			return nil, c.usagef("--%s is required", name)
		}
	}
	return c.client()
}

// connectID is connect for a verb whose one argument is an id: it returns
// the client and the id.
func (c *cli) connectID(fs *flag.FlagSet, args []string) (*admin.Client, string, error) {
	pos, err := c.parse(fs, args, 1)
	if err != nil {
		return nil, "", err
	}
	client, err := c.client()
	return client, pos[0], err
}

// client returns the admin client of --server with the admin token: the
// flag's, else --admin-token-file's, else METERD_ADMIN_TOKEN, else the file
// METERD_ADMIN_TOKEN_FILE names, else the one in <--data>/admin-token.
func (c *cli) client() (*admin.Client, error) {
	token := c.adminToken
	file := c.adminTokenFile
	if token == "" && file == "" {
		token = c.getenv("METERD_ADMIN_TOKEN")
		file = c.getenv("METERD_ADMIN_TOKEN_FILE")
	}
	if token == "" && file != "" {
		var err error
		if token, err = server.ReadTokenFile(file); err != nil {
			return nil, fmt.Errorf("admin token file: %w", err)
		}
	}
	if token == "" {
		file := filepath.Join(c.data, "admin-token")
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("no admin token: pass --admin-token-file, set METERD_ADMIN_TOKEN or METERD_ADMIN_TOKEN_FILE, or point --data at the server's data directory (%w)", err)
		}
		token = strings.TrimSpace(string(b))
	}
	return admin.NewClient(c.server, token), nil
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// table is text cells under a header, printed as aligned columns or as CSV.
type table struct {
	header []string
	rows   [][]string
}

// add appends a row.
func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

// print writes v as indented JSON with --output json, and t otherwise: as
// aligned columns (table) or as CSV with its header row.
func (c *cli) print(v any, t *table) error {
	switch c.output {
	case "json":
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "csv":
		return writeCSV(c.stdout, t)
	}
	return writeTable(c.stdout, t)
}

// writeCSV writes t as CSV, header first.
func writeCSV(w io.Writer, t *table) error {
	cw := csvsafe.NewWriter(w)
	cw.Write(t.header)
	cw.WriteAll(t.rows)
	return cw.Error()
}

// writeTable writes t as columns aligned with spaces, the header in capitals.
func writeTable(w io.Writer, t *table) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	upper := make([]string, len(t.header))
	for i, h := range t.header {
		upper[i] = strings.ToUpper(h)
	}
	fmt.Fprintln(tw, strings.Join(upper, "\t"))
	for _, r := range t.rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// timeText formats t as RFC 3339, empty for the zero time.
func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// parseTime parses an RFC 3339 time given to flag name.
func (c *cli) parseTime(name, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, c.usagef("%s: %q is not an RFC 3339 time such as 2026-11-23T07:00:00Z", name, s)
	}
	return t, nil
}
