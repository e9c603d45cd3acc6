package main

// meterd relay: the seller-side outbox (package relay) as a process, and
// the CLI that reads its status and report.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/internal/fileperm"
	"github.com/meterd/meterd/relay"
	"github.com/meterd/meterd/server"
)

// defaultRelayServer is the relay the CLI talks to without --server.
const defaultRelayServer = "http://127.0.0.1:4580"

// runRelay runs meterd relay serve|status|report.
func runRelay(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	verbs := map[string]func(context.Context, *cli, []string) error{
		"serve":   relayServe,
		"status":  relayStatus,
		"report":  relayReport,
		"requeue": relayRequeue,
		"reset":   relayReset,
	}
	if len(args) == 0 || verbs[args[0]] == nil {
		w, code := stderr, exitUsage
		if len(args) > 0 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
			w, code = stdout, exitOK
		}
		fmt.Fprint(w, relayUsage)
		return code
	}
	c := newCLI("meterd relay "+args[0], "", stdout, stderr)
	return c.exit(verbs[args[0]](ctx, c, args[1:]))
}

const relayUsage = `meterd relay: the outbox that turns usage events into hourly BatchMeterUsage records.

Usage:
  meterd relay serve [--listen ADDR] [--data DIR] [--upstream-endpoint URL] [--products C,...] [flags]
        run the relay (POST /v1/events: a JSON array or JSON lines, at most 10,000 events a request),
        submitting closed hours to the upstream
  meterd relay status [--server URL] [--token T] [--output table|json]
        backlog, oldest unsubmitted hour, last error, outcomes
  meterd relay report [--from T] [--to T] [--server URL] [--token T] [--output table|json|csv]
        per hour, customer and dimension: events, quantity, outcome, MeteringRecordId
  meterd relay requeue [--outcome Failed|Expired|CustomerNotSubscribed] [--from T] [--to T] [--server URL] [--token T]
        send records that got that outcome again, once the cause is fixed; each goes as the
        identical record, so an upstream that stored it answers the same MeteringRecordId
  meterd relay reset --yes [--server URL] [--token T]
        empty the relay's store: every event and record (for tests)

Credential errors of the upstream (InvalidSignature, UnrecognizedClient, ExpiredToken,
AccessDenied, any 401 or 403) are never final: the records are retried with backoff while the
error is logged, counted in meterd_relay_upstream_auth_errors_total and shown by "relay status".

Run "meterd relay VERB --help" for a verb's flags.
`

// relayConfig is the configuration of meterd relay serve.
type relayConfig struct {
	Listen, Data, Store string
	UpstreamEndpoint    string
	Region              string
	Products            string
	Grace               time.Duration
	Late                string
	Rate                float64
	Heartbeat           bool
	Token               string
	Clock               string // --clock, for tests
	RetryBase, RetryMax time.Duration
	Lease               time.Duration
}

func (rc *relayConfig) flagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("meterd relay serve", flag.ContinueOnError)
	fs.StringVar(&rc.Listen, "listen", "127.0.0.1:4580", "address of the relay's API")
	fs.StringVar(&rc.Data, "data", "./meterd-relay-data", "directory for the relay's store and its token (created 0700; its files are 0600; one relay per directory)")
	fs.StringVar(&rc.Store, "store", "sqlite", "sqlite (relay.db in --data), or a postgres:// URL that several relays may share")
	fs.StringVar(&rc.UpstreamEndpoint, "upstream-endpoint", "", "Metering endpoint URL with its scheme, such as http://127.0.0.1:4579 (default: AWS's regional endpoint)")
	fs.StringVar(&rc.Region, "region", "us-east-1", "upstream region")
	fs.StringVar(&rc.Products, "products", "", "comma-separated product codes served (default: any)")
	fs.DurationVar(&rc.Grace, "grace", 5*time.Minute, "an hour closes at its end plus this delay")
	fs.StringVar(&rc.Late, "late", relay.LateCurrentHour, "events for an already-submitted hour: current-hour or refuse")
	fs.Float64Var(&rc.Rate, "rate", 10, "upstream requests per second, per upstream endpoint and region, shared by the relays of one store")
	fs.BoolVar(&rc.Heartbeat, "heartbeat", false, "a zero-quantity record each hour for every customer and dimension active in the day before")
	fs.StringVar(&rc.Clock, "clock", "", "start with the relay clock frozen at this RFC 3339 time (for tests; the clock is not kept across restarts)")
	fs.StringVar(&rc.Token, "token", "", "bearer token of the relay's API (default: <data>/relay-token, generated)")
	fs.DurationVar(&rc.RetryBase, "retry-base", time.Second, "first backoff between attempts of a record; it doubles, with jitter, up to --retry-max")
	fs.DurationVar(&rc.RetryMax, "retry-max", 5*time.Minute, "longest backoff between attempts of a record")
	fs.DurationVar(&rc.Lease, "lease", 2*time.Minute, "how long a relay holds the records it claimed for sending; after a crash they wait this long")
	return fs
}

// parse sets rc from METERD_RELAY_* environment variables, then from args.
func (rc *relayConfig) parse(c *cli, args []string) error {
	fs := rc.flagSet()
	var msg strings.Builder
	fs.SetOutput(&msg)
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		name := "METERD_RELAY_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := c.getenv(name); v != "" && envErr == nil {
			if err := f.Value.Set(v); err != nil {
				envErr = fmt.Errorf("%s: %v", name, err)
			}
		}
	})
	if envErr != nil {
		return c.usagef("%v", envErr)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			io.WriteString(c.stdout, msg.String())
			return err
		}
		return c.usagef("%v", err)
	}
	switch {
	case fs.NArg() > 0:
		return c.usagef("unexpected argument %q", fs.Arg(0))
	case rc.Store != "sqlite" && !relay.IsPostgresURL(rc.Store):
		return c.usagef("--store: must be sqlite or a postgres:// URL")
	case rc.Late != relay.LateCurrentHour && rc.Late != relay.LateRefuse:
		return c.usagef("--late: must be current-hour or refuse, got %q", rc.Late)
	case rc.Grace < 0:
		return c.usagef("--grace: must not be negative")
	case rc.Rate <= 0:
		return c.usagef("--rate: must be positive")
	case rc.RetryBase <= 0 || rc.RetryMax < rc.RetryBase:
		return c.usagef("--retry-base and --retry-max: must be positive, base at most max")
	case rc.Lease <= 0:
		return c.usagef("--lease: must be positive")
	}
	return nil
}

// relayToken returns the token given, or the one in <data>/relay-token,
// generating and writing it (mode 0600) when absent.
func relayToken(given, data string) (string, error) {
	if given != "" {
		return given, nil
	}
	path := filepath.Join(data, "relay-token")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	buf := make([]byte, 24)
	rand.Read(buf)
	tok := hex.EncodeToString(buf)
	if err := os.MkdirAll(data, 0o700); err != nil {
		return "", err
	}
	return tok, fileperm.WriteSecret(path, []byte(tok+"\n"))
}

func relayServe(ctx context.Context, c *cli, args []string) error {
	var rc relayConfig
	if err := rc.parse(c, args); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(c.stderr, nil))
	warning, err := fileperm.Dir(rc.Data)
	if err != nil {
		return fmt.Errorf("--data: %w", err)
	}
	if warning != "" {
		log.Warn("relay: " + warning)
	}
	tok, err := relayToken(rc.Token, rc.Data)
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	up, err := relay.NewUpstream(relay.UpstreamConfig{Region: rc.Region, Endpoint: rc.UpstreamEndpoint}, c.getenv)
	if err != nil {
		return err
	}
	// Without credentials every submission would fail: refuse to start.
	if err := relay.CheckCredentials(ctx, up); err != nil {
		return err
	}
	dsn := rc.Store
	if dsn == "sqlite" {
		dsn = filepath.Join(rc.Data, "relay.db")
	}
	store, err := relay.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer store.Close()
	var products []string
	for _, p := range strings.Split(rc.Products, ",") {
		if p = strings.TrimSpace(p); p != "" {
			products = append(products, p)
		}
	}
	clock := &meterd.ServerClock{}
	if rc.Clock != "" {
		t, err := time.Parse(time.RFC3339, rc.Clock)
		if err != nil {
			return c.usagef("--clock: %q is not RFC 3339", rc.Clock)
		}
		clock.Set(t)
	}
	r := relay.New(relay.Config{
		Store: store, Upstream: up, Logger: log, Token: tok, Products: products, Clock: clock,
		Grace: rc.Grace, Late: rc.Late, Rate: rc.Rate, Heartbeat: rc.Heartbeat,
		RetryBase: rc.RetryBase, RetryMax: rc.RetryMax, Lease: rc.Lease,
		// Relays sharing a store share the rate of the upstream they name
		// alike.
		RateKey: cmpOr(rc.UpstreamEndpoint, "aws") + " " + rc.Region,
	})
	ln, err := net.Listen("tcp", rc.Listen)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           r.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	ran := make(chan error, 1)
	go func() { ran <- r.Run(runCtx) }()
	fmt.Fprintf(c.stdout, "meterd relay is listening on http://%s\n  upstream: %s (%s)\n  store: %s\n  token: %s\n",
		ln.Addr(), cmpOr(rc.UpstreamEndpoint, "AWS"), rc.Region, server.StoreName(dsn), filepath.Join(rc.Data, "relay-token"))
	select {
	case <-ctx.Done():
	case err := <-served:
		stop()
		<-ran
		return err
	}
	log.Info("relay: shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(shutCtx)
	stop()
	<-ran
	return err
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// relayClientFlags adds --server, --token, --data and --output to fs.
func relayClientFlags(c *cli, fs *flag.FlagSet, tok *string) {
	fs.StringVar(&c.server, "server", c.env("METERD_RELAY_SERVER", defaultRelayServer), "URL of the relay (env METERD_RELAY_SERVER)")
	fs.StringVar(tok, "token", c.getenv("METERD_RELAY_TOKEN"), "the relay's token (default: env METERD_RELAY_TOKEN, else <data>/relay-token)")
	fs.StringVar(&c.data, "data", c.env("METERD_RELAY_DATA", "./meterd-relay-data"), "the relay's data directory (env METERD_RELAY_DATA)")
	fs.StringVar(&c.output, "output", "table", "output format: table, json or csv")
}

// relayClient returns a client of the relay named by the flags.
func relayClient(c *cli, tok string) (*relay.Client, error) {
	if tok == "" {
		b, err := os.ReadFile(filepath.Join(c.data, "relay-token"))
		if err != nil {
			return nil, c.usagef("no token: give --token, set METERD_RELAY_TOKEN, or point --data at the relay's data directory")
		}
		tok = strings.TrimSpace(string(b))
	}
	return relay.NewClient(c.server, tok), nil
}

func relayStatus(ctx context.Context, c *cli, args []string) error {
	fs := flag.NewFlagSet(c.command, flag.ContinueOnError)
	var tok string
	relayClientFlags(c, fs, &tok)
	if _, err := c.parse(fs, args, 0); err != nil {
		return err
	}
	cl, err := relayClient(c, tok)
	if err != nil {
		return err
	}
	st, err := cl.Status(ctx)
	if err != nil {
		return err
	}
	t := &table{header: []string{"field", "value"}}
	oldest := ""
	if st.OldestPending != nil {
		oldest = timeText(*st.OldestPending)
	}
	t.add("now", timeText(st.Now))
	t.add("events", strconv.FormatInt(st.Events, 10))
	t.add("late_events", strconv.FormatInt(st.LateEvents, 10))
	t.add("backlog", strconv.FormatInt(st.Backlog, 10))
	t.add("open", strconv.FormatInt(st.Open, 10))
	t.add("frozen", strconv.FormatInt(st.Frozen, 10))
	t.add("oldest_unsubmitted_hour", oldest)
	t.add("quarantined", strconv.FormatInt(st.Quarantined, 10))
	if q := st.LastQuarantined; q != nil {
		t.add("last_quarantined", q.Product+"/"+q.Customer+"/"+q.Dimension+"/"+timeText(q.Hour)+": "+q.Reason)
	}
	for _, o := range []string{relay.OutcomeSuccess, relay.OutcomeCustomerNotSubscribed, relay.OutcomeDuplicateRecord, relay.OutcomeExpired, relay.OutcomeFailed} {
		t.add("outcome "+o, strconv.FormatInt(st.Outcomes[o], 10))
	}
	t.add("last_error", st.LastError)
	t.add("last_error_for", st.LastErrorFor)
	if a := st.UpstreamAuth; a != nil {
		t.add("upstream_auth_error", a.Code+": "+a.Message)
		t.add("upstream_auth_error_since", timeText(a.Since))
	}
	return c.print(st, t)
}

// relayHoursVerb parses the flags of a relay verb that takes a range of
// hours (--from, --to, the client's, and those extra adds) and returns its
// client and the range (zero times where not given).
func relayHoursVerb(c *cli, args []string, fromDefault, toDefault string, extra func(*flag.FlagSet)) (*relay.Client, time.Time, time.Time, error) {
	fs := flag.NewFlagSet(c.command, flag.ContinueOnError)
	var tok, from, to string
	relayClientFlags(c, fs, &tok)
	fs.StringVar(&from, "from", "", "first hour (RFC 3339; default: "+fromDefault+")")
	fs.StringVar(&to, "to", "", "end, exclusive (RFC 3339; default: "+toDefault+")")
	if extra != nil {
		extra(fs)
	}
	var f, tt time.Time
	if _, err := c.parse(fs, args, 0); err != nil {
		return nil, f, tt, err
	}
	f, err := c.parseTime("--from", from)
	if err != nil {
		return nil, f, tt, err
	}
	if tt, err = c.parseTime("--to", to); err != nil {
		return nil, f, tt, err
	}
	cl, err := relayClient(c, tok)
	return cl, f, tt, err
}

func relayReport(ctx context.Context, c *cli, args []string) error {
	cl, f, tt, err := relayHoursVerb(c, args, "31 days ago", "the next hour", nil)
	if err != nil {
		return err
	}
	rows, err := cl.Report(ctx, f, tt)
	if err != nil {
		return err
	}
	t := &table{header: []string{"hour", "product_code", "customer", "dimension", "events", "quantity", "state", "outcome", "metering_record_id", "attempts", "last_error", "quarantined"}}
	for _, r := range rows {
		t.add(timeText(r.Hour), r.Product, r.Customer, r.Dimension, strconv.FormatInt(r.Events, 10), strconv.FormatInt(r.Quantity, 10),
			r.State, r.Outcome, r.MeteringRecordID, strconv.Itoa(r.Attempts), r.LastError, r.Quarantined)
	}
	return c.print(rows, t)
}

func relayRequeue(ctx context.Context, c *cli, args []string) error {
	var outcome string
	cl, f, tt, err := relayHoursVerb(c, args, "no bound", "no bound", func(fs *flag.FlagSet) {
		fs.StringVar(&outcome, "outcome", relay.OutcomeFailed, "the outcome of the records to send again: Failed, Expired or CustomerNotSubscribed")
	})
	if err != nil {
		return err
	}
	n, err := cl.Requeue(ctx, outcome, f, tt)
	if err != nil {
		return err
	}
	t := &table{header: []string{"requeued"}}
	t.add(strconv.FormatInt(n, 10))
	return c.print(relay.RequeueOutput{Requeued: n}, t)
}

func relayReset(ctx context.Context, c *cli, args []string) error {
	fs := flag.NewFlagSet(c.command, flag.ContinueOnError)
	var tok string
	relayClientFlags(c, fs, &tok)
	yes := fs.Bool("yes", false, "really empty the relay's store")
	if _, err := c.parse(fs, args, 0); err != nil {
		return err
	}
	if !*yes {
		return c.usagef("refusing to empty the relay's store without --yes: every event and every record not yet submitted is lost")
	}
	cl, err := relayClient(c, tok)
	if err != nil {
		return err
	}
	if err := cl.Reset(ctx); err != nil {
		return err
	}
	if c.output == "table" {
		_, err := io.WriteString(c.stdout, "relay store emptied\n")
		return err
	}
	t := &table{header: []string{"reset"}}
	t.add("true")
	return c.print(map[string]bool{"reset": true}, t)
}
