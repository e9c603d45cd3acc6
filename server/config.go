package server

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/faults"
)

// Config is the configuration of meterd serve.
type Config struct {
	Listen     string
	Data       string
	Store      string
	Catalog    string
	Auth       string
	PastWindow time.Duration
	FutureSkew time.Duration
	AdminToken string
	// AdminTokenFile names a file holding the admin token (its first line),
	// so that the token need not be on the command line.
	AdminTokenFile string
	TLSCert        string
	TLSKey         string
	// AllowUnsignedPayload accepts X-Amz-Content-Sha256: UNSIGNED-PAYLOAD over
	// plain HTTP too (HTTPS always accepts it, as AWS does).
	AllowUnsignedPayload bool
	// Quotas is "off" or "aws" (per-account, per-region token buckets).
	Quotas string
	// QuotaRate overrides quota rates: "BatchMeterUsage=20,MeterUsage=5".
	QuotaRate string
	// FaultSeed seeds the fault rules' draws; nil picks a random seed.
	FaultSeed *uint64
	// MaxInFlight bounds the Metering API requests served at once; beyond
	// it requests get ThrottlingException. 0 means no bound.
	MaxInFlight int
	// BodyTimeout is how long a Metering API request's body may take to
	// arrive; a slower request is answered with an error.
	BodyTimeout time.Duration
	// ClientTokenRetention is how long ClientTokens are kept for idempotency.
	ClientTokenRetention time.Duration
	// Retain drops ledger records (and their rollups) older than it; zero
	// keeps them forever.
	Retain time.Duration
}

// DefaultConfig returns the defaults of meterd serve.
func DefaultConfig() Config {
	return Config{
		Listen:      "127.0.0.1:4579",
		Data:        "./meterd-data",
		Store:       "sqlite",
		Auth:        "sigv4",
		PastWindow:  6 * time.Hour,
		FutureSkew:  5 * time.Minute,
		Quotas:      "off",
		MaxInFlight: 256,
		BodyTimeout: 10 * time.Second,

		ClientTokenRetention: meterd.DefaultClientTokenRetention,
	}
}

// Validate reports the first invalid field by its flag name.
func (c *Config) Validate() error {
	switch {
	case c.Listen == "":
		return errors.New("--listen: required")
	case c.Store != "sqlite" && !strings.HasPrefix(c.Store, "postgres://") && !strings.HasPrefix(c.Store, "postgresql://"):
		return fmt.Errorf("--store: must be sqlite or a postgres:// URL")
	case c.Store == "sqlite" && c.Data == "":
		return errors.New("--data: required with --store sqlite")
	case c.Auth != "sigv4" && c.Auth != "none":
		return fmt.Errorf("--auth: must be sigv4 or none, got %q", c.Auth)
	case c.PastWindow <= 0:
		return errors.New("--past-window: must be positive")
	case c.FutureSkew < 0:
		return errors.New("--future-skew: must not be negative")
	case (c.TLSCert == "") != (c.TLSKey == ""):
		return errors.New("--tls-cert and --tls-key: give both or neither")
	case c.AdminToken != "" && c.AdminTokenFile != "":
		return errors.New("--admin-token and --admin-token-file: give one or neither")
	case c.MaxInFlight < 0:
		return errors.New("--max-inflight: must not be negative")
	case c.BodyTimeout <= 0:
		return errors.New("--body-timeout: must be positive")
	case c.ClientTokenRetention < meterd.MinClientTokenRetention:
		return fmt.Errorf("--client-token-retention: must be at least 24h (AWS keeps a ClientToken's idempotency that long), got %s", meterd.FormatDuration(c.ClientTokenRetention))
	case c.Retain < 0:
		return errors.New("--retain: must not be negative")
	case c.Quotas != "off" && c.Quotas != "aws":
		return fmt.Errorf("--quotas: must be off or aws, got %q", c.Quotas)
	}
	if err := faults.ParseRates(c.QuotaRate, faults.DefaultRates()); err != nil {
		return fmt.Errorf("--quota-rate: %w", err)
	}
	return nil
}

// FlagSet returns the flags of meterd serve bound to c.
func (c *Config) FlagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("meterd serve", flag.ContinueOnError)
	fs.StringVar(&c.Listen, "listen", c.Listen, "address for the AWS APIs, the admin API, metrics and health checks")
	fs.StringVar(&c.Data, "data", c.Data, "directory for the embedded store and generated secrets (created 0700; its files 0600)")
	fs.StringVar(&c.Store, "store", c.Store, "sqlite, or a postgres:// URL")
	fs.StringVar(&c.Catalog, "catalog", c.Catalog, "catalog file (YAML or JSON) applied at start")
	fs.StringVar(&c.Auth, "auth", c.Auth, "sigv4 verifies every request; none accepts any credentials")
	fs.Var((*durationValue)(&c.PastWindow), "past-window", "how old a usage timestamp may be (a duration such as 6h; d is days)")
	fs.Var((*durationValue)(&c.FutureSkew), "future-skew", "how far in the future a usage timestamp may be")
	fs.StringVar(&c.AdminToken, "admin-token", c.AdminToken, "the admin API token named default, role admin (default: generated into <data>/admin-token when the store has no admin token; more with meterd admin-tokens). On a shared machine prefer METERD_ADMIN_TOKEN or --admin-token-file: the command line is visible to other users")
	fs.StringVar(&c.AdminTokenFile, "admin-token-file", c.AdminTokenFile, "a file whose first line is the admin token named default, as --admin-token gives it")
	fs.StringVar(&c.TLSCert, "tls-cert", c.TLSCert, "TLS certificate file (serve HTTPS)")
	fs.StringVar(&c.TLSKey, "tls-key", c.TLSKey, "TLS key file (serve HTTPS)")
	fs.BoolVar(&c.AllowUnsignedPayload, "allow-unsigned-payload", c.AllowUnsignedPayload,
		"accept x-amz-content-sha256: UNSIGNED-PAYLOAD over plain HTTP too, e.g. behind a TLS-terminating proxy (HTTPS always accepts it)")
	fs.StringVar(&c.Quotas, "quotas", c.Quotas, "off, or aws: AWS-like per-account, per-region request quotas (ThrottlingException beyond them)")
	fs.Func("quota-rate", "with --quotas aws, requests per second of an operation, as OPERATION=RATE[,...] (repeatable; defaults BatchMeterUsage=10,MeterUsage=10,RegisterUsage=5,ResolveCustomer=10,GetEntitlements=10)", func(v string) error {
		if err := faults.ParseRates(v, faults.DefaultRates()); err != nil {
			return err
		}
		c.QuotaRate = strings.Trim(c.QuotaRate+","+v, ",")
		return nil
	})
	fs.IntVar(&c.MaxInFlight, "max-inflight", c.MaxInFlight, "Metering API requests served at once, once their body is read and signature verified; beyond it ThrottlingException (0: no bound)")
	fs.Var((*durationValue)(&c.BodyTimeout), "body-timeout", "how long a Metering API request body may take to arrive")
	fs.Var((*durationValue)(&c.ClientTokenRetention), "client-token-retention", "how long a ClientToken is kept for idempotency before it is purged (a duration; d is days)")
	fs.Var((*durationValue)(&c.Retain), "retain", "drop ledger records, and their share of the summaries, older than this, e.g. 400d (default 0: keep every record)")
	fs.Func("fault-seed", "seed for probabilistic fault rules, for reproducible runs (default random)", func(v string) error {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return fmt.Errorf("want an unsigned integer, got %q", v)
		}
		c.FaultSeed = &n
		return nil
	})
	return fs
}

// durationValue is a duration flag read by meterd.ParseDuration: Go
// durations, a number of days ("400d"), and a clear message for a number
// without a unit.
type durationValue time.Duration

func (d *durationValue) String() string { return meterd.FormatDuration(time.Duration(*d)) }

func (d *durationValue) Set(s string) error {
	v, err := meterd.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = durationValue(v)
	return nil
}

// ParseFlags sets c from METERD_* environment variables and then from args,
// so that a flag on the command line wins over the environment.
func (c *Config) ParseFlags(args []string, getenv func(string) string) error {
	fs := c.FlagSet()
	fs.SetOutput(os.Stderr)
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		name := "METERD_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(name); v != "" && err == nil {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("%s: %w", name, e)
			}
		}
	})
	if err != nil {
		return err
	}
	return fs.Parse(args)
}
