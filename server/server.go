// Package server wires a meterd server: the store, the catalog, the AWS
// APIs, the admin API and the health checks behind one listener. meterd
// serve and the in-process test server (meterdtest) both run it.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/awsjson"
	"github.com/meterd/meterd/catalog"
	"github.com/meterd/meterd/catalogapi"
	"github.com/meterd/meterd/console"
	"github.com/meterd/meterd/events"
	"github.com/meterd/meterd/faults"
	"github.com/meterd/meterd/internal/fileperm"
	"github.com/meterd/meterd/marketplace"
	"github.com/meterd/meterd/metering"
	"github.com/meterd/meterd/metrics"
	"github.com/meterd/meterd/postgres"
	"github.com/meterd/meterd/rpcv2"
	"github.com/meterd/meterd/sigv4"
	"github.com/meterd/meterd/sqlite"
)

// Main is a running meterd server. meterd serve, the in-process test server
// and the end-to-end tests start it the same way: set Config, call Run, and
// Close when done.
type Main struct {
	Config Config
	Stdout io.Writer // the start banner
	Logger *slog.Logger
	Clock  *meterd.ServerClock
	// Faults are the fault rules of this server; Run creates them, seeded
	// by Config.FaultSeed, with the catalog file's rules.
	Faults *faults.Rules
	// Catalog, when set, is the catalog applied at start and after a reset
	// instead of the file Config.Catalog names.
	Catalog *catalog.File
	// Market runs the agreements' transitions; Run starts its loop, which
	// applies the time-driven ones within a second of becoming due.
	Market *marketplace.Service

	Ledger     meterd.Ledger
	stopMarket context.CancelFunc
	marketDone chan struct{}
	ln         net.Listener
	srv        *http.Server
	served     chan error
	tokenWhere string // where the admin token can be found, for the banner
	root       string // the file system root for the container markers ("" is /), for tests
	quotas     *faults.Quotas
	tokenKey   []byte // signs the Entitlement Service's NextTokens
	metrics    *metrics.Metrics
	// purgeStop stops the background retention purge; purgeDone is closed
	// once it has (retention.go).
	purgeStop, purgeDone chan struct{}
	// Console is the web console under /console/; Run makes one when nil
	// (tests set one to control its session clock).
	Console *console.Console
	// Profile serves net/http/pprof under /debug/pprof/ (METERD_PPROF=1),
	// to profile the server under load; off by default.
	Profile bool

	// Notify delivers the outbox's events to subscriptions and rules; Run
	// starts it when the store keeps them (notify.go).
	Notify *events.Dispatcher
	notify notifyState
}

// marketInterval is how often the server looks for due agreement
// transitions in the store (by the real clock: within a second).
const marketInterval = 250 * time.Millisecond

// Served receives the error that stopped the server when it stops serving
// on its own (not through Close): a failed listener, for example.
func (m *Main) Served() <-chan error { return m.served }

// Run opens the store, applies the catalog (or seeds the demo on a first
// start), and starts serving in the background.
func (m *Main) Run(ctx context.Context) (err error) {
	if err := m.Config.Validate(); err != nil {
		return err
	}
	if m.Logger == nil {
		m.Logger = slog.New(slog.DiscardHandler)
	}
	if m.Stdout == nil {
		m.Stdout = io.Discard
	}
	if m.Clock == nil {
		m.Clock = &meterd.ServerClock{}
	}
	file, err := m.catalog()
	if err != nil {
		return err
	}
	if err := m.setupFaults(file); err != nil {
		return err
	}
	if m.Ledger, err = m.openStore(ctx); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			m.Ledger.Close()
		}
	}()
	if err := m.seed(ctx, file); err != nil {
		return err
	}
	if err := m.ensureAdminToken(ctx); err != nil {
		return err
	}
	if m.tokenKey, err = marketplace.TokenKey(ctx, m.Ledger); err != nil {
		return err
	}
	m.Market = &marketplace.Service{Ledger: m.Ledger, Clock: m.Clock}
	// What fell due while no server ran is applied before the first answer.
	if _, err := m.Market.ApplyDue(ctx); err != nil {
		return err
	}
	if m.ln, err = net.Listen("tcp", m.Config.Listen); err != nil {
		return err
	}
	if err := m.setupNotify(ctx); err != nil {
		m.ln.Close()
		return err
	}
	m.srv = &http.Server{
		Handler:           m.handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn),
	}
	m.served = make(chan error, 1)
	var marketCtx context.Context
	marketCtx, m.stopMarket = context.WithCancel(context.WithoutCancel(ctx))
	m.marketDone = make(chan struct{})
	go func() {
		defer close(m.marketDone)
		m.Market.Run(marketCtx, marketInterval, m.Logger)
	}()
	go func() {
		var err error
		if m.Config.TLSCert != "" {
			err = m.srv.ServeTLS(m.ln, m.Config.TLSCert, m.Config.TLSKey)
		} else {
			err = m.srv.Serve(m.ln)
		}
		if !errors.Is(err, http.ErrServerClosed) {
			m.served <- err
		}
	}()
	m.startNotify(ctx)
	m.printBanner(ctx)
	m.startPurger()
	return nil
}

// setupFaults creates the fault rules (with the catalog's) and the quotas.
func (m *Main) setupFaults(file *catalog.File) error {
	seed := mathrand.Uint64()
	if m.Config.FaultSeed != nil {
		seed = *m.Config.FaultSeed
	}
	// Logged so that a failing run with a random seed can be replayed.
	m.Logger.Info("fault rules seeded", "fault_seed", seed)
	m.Faults = faults.NewRules(seed)
	if file != nil {
		if err := m.Faults.AddCatalog(file); err != nil {
			return catalogError(m.Config.Catalog, err)
		}
	}
	if m.Config.Quotas == "aws" {
		rates := faults.DefaultRates()
		if err := faults.ParseRates(m.Config.QuotaRate, rates); err != nil {
			return fmt.Errorf("--quota-rate: %w", err)
		}
		m.quotas = faults.NewQuotas(rates)
	}
	return nil
}

// catalogError prefixes each line of err, a problem of the catalog's fault
// rules at a line, with the file's path, as catalog.Load does its own.
func catalogError(path string, err error) error {
	if path == "" {
		path = "catalog"
	}
	return errors.New(path + ":" + strings.ReplaceAll(err.Error(), "\n", "\n"+path+":"))
}

// Close stops accepting requests, lets in-flight requests finish, and closes
// the store.
func (m *Main) Close() error {
	var err error
	if m.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err = m.srv.Shutdown(ctx)
	}
	m.stopPurger()
	m.stopNotifier()
	if m.stopMarket != nil {
		m.stopMarket()
		<-m.marketDone
	}
	if m.Ledger != nil {
		err = errors.Join(err, m.Ledger.Close())
	}
	return err
}

// URL is the base URL the server answers on.
func (m *Main) URL() string {
	scheme := "http"
	if m.Config.TLSCert != "" {
		scheme = "https"
	}
	return scheme + "://" + dialAddr(m.ln.Addr())
}

func (m *Main) openStore(ctx context.Context) (meterd.Ledger, error) {
	if m.Config.Store != "sqlite" {
		return postgres.Open(ctx, m.Config.Store)
	}
	warning, err := fileperm.Dir(m.Config.Data)
	if err != nil {
		return nil, fmt.Errorf("--data: %w", err)
	}
	if warning != "" {
		m.Logger.Warn(warning)
	}
	return sqlite.Open(ctx, filepath.Join(m.Config.Data, "meterd.db"))
}

// seed applies the catalog file, or the demo catalog on a first start.
func (m *Main) seed(ctx context.Context, file *catalog.File) error {
	if file == nil {
		empty, err := catalog.Empty(ctx, m.Ledger)
		if err != nil || !empty {
			return err
		}
		file = catalog.Demo()
	}
	return catalog.Apply(ctx, m.Ledger, file, m.Clock.Now())
}

// ensureAdminToken stores the hash of the admin token named default: the
// one given, or a newly generated one written to <data>/admin-token when the
// store has no admin token at all (so that a revoked default stays revoked
// on a restart).
func (m *Main) ensureAdminToken(ctx context.Context) error {
	if tok := m.Config.AdminToken; tok != "" {
		m.tokenWhere = "as given with --admin-token"
		return m.putDefaultToken(ctx, tok)
	}
	if file := m.Config.AdminTokenFile; file != "" {
		tok, err := ReadTokenFile(file)
		if err != nil {
			return fmt.Errorf("--admin-token-file: %w", err)
		}
		m.tokenWhere = "as given with --admin-token-file " + file
		return m.putDefaultToken(ctx, tok)
	}
	path := filepath.Join(m.Config.Data, "admin-token")
	if abs, err := filepath.Abs(path); err == nil {
		path = abs // the banner names it wherever the CLI is run from
	}
	tokens, err := m.Ledger.AdminTokens(ctx)
	if err != nil {
		return err
	}
	if len(tokens) > 0 {
		m.tokenWhere = "kept by the node that generated it, or made with meterd admin-tokens create (this store has its hash)"
		if b, err := os.ReadFile(path); err == nil && meterd.MatchAdminToken(tokens, strings.TrimSpace(string(b))) != nil {
			m.tokenWhere = path
		}
		return nil
	}
	tok := meterd.NewAdminTokenSecret()
	if err := os.MkdirAll(m.Config.Data, 0o700); err != nil {
		return err
	}
	if err := fileperm.WriteSecret(path, []byte(tok+"\n")); err != nil {
		return fmt.Errorf("write admin token: %w", err)
	}
	m.tokenWhere = path
	return m.putDefaultToken(ctx, tok)
}

// ReadTokenFile reads a token from the first line of path, refusing an
// empty one: a token file is how a secret stays off the command line.
func ReadTokenFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	tok := strings.TrimSpace(line)
	if tok == "" {
		return "", fmt.Errorf("%s: the first line holds no token", path)
	}
	return tok, nil
}

// putDefaultToken stores tok as the admin token named default.
func (m *Main) putDefaultToken(ctx context.Context, tok string) error {
	return m.Ledger.PutAdminToken(ctx, &meterd.AdminToken{
		Name: meterd.DefaultAdminToken, Role: meterd.RoleAdmin, Hash: meterd.HashAdminToken(tok), CreatedAt: m.Clock.Now(),
	})
}

// handler routes the AWS API, health checks and (later) the admin API.
func (m *Main) handler() http.Handler {
	met := metrics.New(storeStats(m.Ledger))
	m.metrics = met
	meteringAPI := met.Service(&faults.Service{
		Inner: &metering.Service{
			Ledger:     met.Ledger(m.Ledger),
			Clock:      m.Clock,
			PastWindow: m.Config.PastWindow,
			FutureSkew: m.Config.FutureSkew,
		},
		Rules:  m.Faults,
		Quotas: m.quotas,
	})
	entitlements := &marketplace.Entitlements{Store: m.Ledger, Clock: m.Clock, TokenKey: m.tokenKey}
	getEntitlements := faults.Guard(m.Faults, m.quotas, meterd.OpGetEntitlements,
		func(in *meterd.GetEntitlementsInput) string { return in.ProductCode }, entitlements.GetEntitlements)
	agreements := &marketplace.Agreements{Store: m.Ledger, Clock: m.Clock, Market: m.Market, TokenKey: m.tokenKey}
	agreementJSON, agreementCBOR := awsjson.Agreement(agreements), rpcv2.Agreement(agreements)
	for _, s := range []*awsjson.Service{agreementJSON, agreementCBOR} {
		for _, op := range meterd.AgreementOperations() {
			s.Operations[op] = faults.GuardOperation(m.Faults, m.quotas, op, s.Operations[op])
		}
	}
	catalogAPI := catalogapi.Service(&marketplace.Entities{Store: m.Ledger, TokenKey: m.tokenKey})
	for _, op := range meterd.CatalogOperations() {
		catalogAPI.Operations[op] = faults.GuardOperation(m.Faults, m.quotas, op, catalogAPI.Operations[op])
	}
	verifiers := m.verifiers()
	services := []*awsjson.Service{}
	if m.notify.queues != nil {
		sqs := events.SQS(m.notify.queues)
		for op := range sqs.Operations {
			sqs.Operations[op] = faults.GuardOperation(m.Faults, m.quotas, op, sqs.Operations[op])
		}
		services = append(services, sqs)
	}
	if m.Console == nil {
		m.Console = &console.Console{}
	}
	api := &awsjson.Handler{
		Services: append(services,
			awsjson.Metering(meteringAPI),
			awsjson.Entitlement(getEntitlements),
			rpcv2.Entitlement(getEntitlements),
			agreementJSON,
			agreementCBOR,
			catalogAPI,
		),
		Authenticate: authenticate(verifiers),
		Logger:       m.Logger,
		Observe: func(o awsjson.Outcome) {
			met.Observe(o.Operation, o.Code, o.Duration)
			m.Console.Observe(o)
		},
	}
	// Any verifier tells known keys apart: they share the credential store.
	knownKey := verifiers["aws-marketplace"].KnownKey
	if m.Config.Auth == "none" {
		knownKey = nil // every request is let in: none is told apart
	}
	api.Admission = awsjson.NewAdmission(m.Config.MaxInFlight, knownKey, m.Config.BodyTimeout, 0, 0)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", met.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /readyz", &readiness{ledger: m.Ledger, logger: m.Logger, now: time.Now})
	if m.Profile {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	}
	adminAPI := (&admin.Server{Ledger: m.Ledger, Clock: m.Clock, Market: m.Market, Reseed: m.reseed, Faults: m.Faults, Logger: m.Logger, BackupDir: m.Config.Data,
		Notify: m.notify.notifications}).Handler()
	mux.Handle("/admin/v1/", adminAPI)
	m.notifyRoutes(mux)
	m.Console.Admin, m.Console.Secure, m.Console.Logger = adminAPI, m.Config.TLSCert != "", m.Logger
	consoleUI := m.Console.Handler()
	mux.Handle("/console/", consoleUI)
	mux.Handle("/console", consoleUI)
	mux.Handle("/marketplace/", consoleUI)
	mux.Handle("/marketplace", consoleUI)
	mux.Handle("/", met.CountInFlight(events.WithEndpoint(api)))
	return mux
}

// verifiers are the SigV4 verifiers of the AWS APIs, by signing name
// (aws-marketplace, sqs): each refuses a scope naming another service.
func (m *Main) verifiers() map[string]*sigv4.Verifier {
	verifiers := map[string]*sigv4.Verifier{}
	for _, name := range []string{"aws-marketplace", "sqs"} {
		verifiers[name] = &sigv4.Verifier{
			Credentials:      m.Ledger,
			Service:          name,
			Insecure:         m.Config.Auth == "none",
			DefaultAccountID: catalog.DemoSellerAccount,

			AllowUnsignedPayload: m.Config.AllowUnsignedPayload,
		}
	}
	return verifiers
}

// authenticate verifies a request with the verifier of its service's
// signing name.
func authenticate(verifiers map[string]*sigv4.Verifier) func(r *http.Request, body []byte, signingName string) (*meterd.Caller, error) {
	return func(r *http.Request, body []byte, signingName string) (*meterd.Caller, error) {
		v := verifiers[signingName]
		if v == nil {
			return nil, fmt.Errorf("no SigV4 verifier for service %q", signingName)
		}
		return v.Verify(r, body)
	}
}

// storeStats reads the group-commit counters of the SQLite or PostgreSQL
// store for the metrics; nil for another Ledger.
func storeStats(l meterd.Ledger) func() metrics.StoreStats {
	switch s := l.(type) {
	case *sqlite.Store:
		return func() metrics.StoreStats {
			st := s.Stats()
			return metrics.StoreStats{Transactions: st.Transactions, Batches: st.Batches, Records: st.Records, WALFrames: st.WALFrames,
				RollupLag: st.RollupLag}
		}
	case *postgres.Store:
		return func() metrics.StoreStats {
			st := s.Stats()
			return metrics.StoreStats{Transactions: st.Transactions, Batches: st.Batches, Records: st.Records, WALFrames: -1, RollupLag: st.RollupLag}
		}
	}
	return nil
}

// catalog is the catalog to apply: Catalog, or the file Config.Catalog
// names (read again each time), or nil for none.
func (m *Main) catalog() (*catalog.File, error) {
	if m.Catalog != nil {
		return m.Catalog, m.Catalog.Validate()
	}
	if m.Config.Catalog == "" {
		return nil, nil
	}
	return catalog.Load(m.Config.Catalog)
}

// reseed applies the catalog file (read again) or the demo after the admin
// API emptied the ledger. The fault rules, too, start again from the
// catalog's, so that a reset gives a clean slate.
func (m *Main) reseed(ctx context.Context) error {
	file, err := m.catalog()
	if err != nil {
		return err
	}
	if file == nil {
		file = catalog.Demo()
	}
	m.Faults.Clear()
	if err := m.Faults.AddCatalog(file); err != nil {
		return err
	}
	return catalog.Apply(ctx, m.Ledger, file, m.Clock.Now())
}

// printBanner tells the user, in a few lines, how to reach the server and
// what the store holds.
func (m *Main) printBanner(ctx context.Context) {
	var b strings.Builder
	fmt.Fprintf(&b, "meterd is listening on %s (store: %s, auth: %s)\n", m.URL(), StoreName(m.Config.Store), m.Config.Auth)
	if addr := m.ln.Addr().String(); dialAddr(m.ln.Addr()) != addr {
		fmt.Fprintf(&b, "  (on every interface, %s", addr)
		if inContainer(m.root) {
			b.WriteString("; this is a container: from the host, use the port published for it, such as -p 4579:4579")
		}
		b.WriteString(")\n")
	}
	b.WriteString("\n")
	// Only the demo's well-known keys are printed; a catalog's secrets are not.
	key, secret := "<a seller key of your catalog>", "<its secret>"
	if k, err := m.Ledger.AccessKey(ctx, "test"); err == nil && k.Secret == "test" {
		key, secret = "test", "test"
	}
	for _, v := range ClientEnv(m.URL(), key, secret, "us-east-1") {
		fmt.Fprintf(&b, "  export %s=%s\n", v.Name, v.Value)
	}
	if m.URL() != DefaultURL {
		fmt.Fprintf(&b, "  export METERD_SERVER=%s   # for the meterd CLI\n", m.URL())
	}
	if k, err := m.Ledger.AccessKey(ctx, "buyer"); err == nil && k.Secret == "buyer" {
		fmt.Fprintf(&b, "  buyer key buyer/buyer (account %s) for MeterUsage and RegisterUsage\n", k.AccountID)
	}
	b.WriteString("\n")
	products, err := m.Ledger.Products(ctx)
	if err != nil {
		m.Logger.Error("banner", "err", err)
	}
	const shown = 5
	for i, p := range products {
		if i == shown {
			fmt.Fprintf(&b, "  ... and %d more products\n", len(products)-shown)
			break
		}
		var dims []string
		for _, d := range p.Dimensions {
			dims = append(dims, d.Name)
		}
		fmt.Fprintf(&b, "  product %s (%s, seller %s; dimensions: %s)\n", p.Code, p.Type, p.SellerAccountID, strings.Join(dims, ", "))
		customers, _ := m.Ledger.Customers(ctx, p.Code)
		for j, c := range customers {
			if j == shown {
				fmt.Fprintf(&b, "    ... and %d more customers\n", len(customers)-shown)
				break
			}
			fmt.Fprintf(&b, "    customer %s (account %s, %s)\n", c.CustomerIdentifier, c.CustomerAWSAccountID, c.EffectiveStatus(m.Clock.Now()))
		}
	}
	m.bannerQueues(ctx, &b)
	fmt.Fprintf(&b, "\n  admin token: %s\n", m.tokenWhere)
	io.WriteString(m.Stdout, b.String())
}

// StoreName is the store for the banner, without a URL's password.
func StoreName(store string) string {
	if u, err := url.Parse(store); err == nil && u.User != nil {
		u.User = url.User(u.User.Username())
		return u.String()
	}
	return store
}
