package conformance

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/internal/meterdtest"
)

// Credentials of testdata/catalog.yaml.
var (
	seller = creds{Key: "AKIDCONFSELLER", Secret: "conformance-seller-secret"}
	buyer  = creds{Key: "AKIDCONFBUYER", Secret: "conformance-buyer-secret"}
)

type creds struct {
	Key    string `json:"key"`
	Secret string `json:"secret"`
}

// fixture is what a client's script needs, passed as JSON in the
// CONFORMANCE_FIXTURE environment variable.
type fixture struct {
	Client       string `json:"client"`
	Model        string `json:"model"`              // "new" or "old"
	Endpoint     string `json:"endpoint,omitempty"` // only for clients without the env variable
	TS           int64  `json:"ts"`                 // epoch seconds of the usage
	SaaS         string `json:"saas"`
	Container    string `json:"container"`
	Seller       creds  `json:"seller"`
	Buyer        creds  `json:"buyer"`
	Token        string `json:"token"`
	ExpiredToken string `json:"expired_token"`
	PublicKeyPEM string `json:"public_key_pem"`
	url          string // the server, for the Go SDK
}

// result is one line of a script's output.
type result struct {
	Client   string `json:"client"`
	Scenario string `json:"scenario"`
	OK       bool   `json:"ok"`
	Detail   string `json:"detail"`
}

// scenario is a scenario every client runs in a phase. Retry phases run
// with one fault rule in force.
type scenario struct {
	Name      string
	Operation string // the README table's column
	Phase     string
	NewOnly   bool // needs CustomerAWSAccountId or ClientToken
}

// scenarios are the scenarios of the suite, the same for every client.
var scenarios = []scenario{
	{"BatchMeterUsage success", "BatchMeterUsage", "main", false},
	{"BatchMeterUsage identical retry", "BatchMeterUsage", "main", false},
	{"BatchMeterUsage DuplicateRecord", "BatchMeterUsage", "main", false},
	{"BatchMeterUsage CustomerNotSubscribed", "BatchMeterUsage", "main", false},
	{"BatchMeterUsage allocations with tags", "BatchMeterUsage", "main", false},
	{"BatchMeterUsage CustomerAWSAccountId", "BatchMeterUsage", "main", true},
	{"BatchMeterUsage TimestampOutOfBoundsException", "BatchMeterUsage", "main", false},
	{"BatchMeterUsage InvalidProductCodeException", "BatchMeterUsage", "main", false},
	{"BatchMeterUsage InvalidUsageDimensionException", "BatchMeterUsage", "main", false},
	{"BatchMeterUsage 26 records ValidationException", "BatchMeterUsage", "main", false},
	{"BatchMeterUsage wrong secret InvalidSignatureException", "BatchMeterUsage", "main", false},
	{"MeterUsage success", "MeterUsage", "main", false},
	{"MeterUsage DryRunOperation", "MeterUsage", "main", false},
	{"MeterUsage DuplicateRequestException", "MeterUsage", "main", false},
	{"MeterUsage IdempotencyConflictException", "MeterUsage", "main", true},
	{"RegisterUsage signature verified", "RegisterUsage", "main", false},
	{"ResolveCustomer valid", "ResolveCustomer", "main", false},
	{"ResolveCustomer InvalidTokenException", "ResolveCustomer", "main", false},
	{"ResolveCustomer ExpiredTokenException", "ResolveCustomer", "expired", false},
	{"Retries ThrottlingException retried", "Retries", "retry-ThrottlingException", false},
	{"Retries InternalServiceErrorException retried", "Retries", "retry-InternalServiceErrorException", false},
	{"Retries InvalidTagException not retried", "Retries", "noretry-InvalidTagException", false},
}

// phases in the order they run.
var phases = []string{"main", "expired", "retry-ThrottlingException", "retry-InternalServiceErrorException", "noretry-InvalidTagException"}

// suite is a running server with the conformance catalog.
type suite struct {
	srv   *meterdtest.Server
	admin *admin.Client
}

func startSuite(t *testing.T) *suite {
	t.Helper()
	srv := meterdtest.Serve(t, meterdtest.Build(t), "--catalog", "testdata/catalog.yaml")
	return &suite{srv: srv, admin: admin.NewClient(srv.URL, srv.AdminToken)}
}

// TestConformance runs every scenario with every client. A missing client
// fails its subtest with what to install; it is never skipped.
func TestConformance(t *testing.T) {
	t.Parallel()
	s := startSuite(t)
	var all []result
	started := 0
	for _, c := range clients() {
		t.Run(c.ID, func(t *testing.T) {
			started++
			v, why := c.version()
			if why != "" || v != c.Version {
				t.Fatalf("%s: version %q, want %s; %s (see .ci/run for how to install it)", c.Name, v, c.Version, why)
			}
			got := s.runClient(t, c)
			all = append(all, got...)
			byName := map[string]result{}
			for _, r := range got {
				byName[r.Scenario] = r
			}
			for _, sc := range scenarios {
				if sc.NewOnly && !c.New {
					continue
				}
				t.Run(sc.Name, func(t *testing.T) {
					r, ok := byName[sc.Name]
					switch {
					case !ok:
						t.Errorf("%s printed no result for %q", c.ID, sc.Name)
					case !r.OK:
						t.Errorf("%s: %s", sc.Name, r.Detail)
					}
				})
			}
		})
	}
	if started < len(clients()) {
		t.Logf("not every client ran (-run): the README's table is not checked")
		return
	}
	checkTable(t, all)
}

// runClient resets the server and runs every phase of one client.
func (s *suite) runClient(t *testing.T, c client) []result {
	t.Helper()
	ctx := context.Background()
	if err := s.admin.Reset(ctx); err != nil {
		t.Fatalf("Reset() = %v", err)
	}
	fx := s.fixture(t, c)
	var p *script
	if c.command != nil {
		p = s.startScript(t, c, fx)
		defer p.close(t)
	}
	var out []result
	for _, phase := range phases {
		out = append(out, s.runPhase(t, p, fx, phase)...)
	}
	return out
}

// fixture mints the client's registration tokens and reads the public key.
func (s *suite) fixture(t *testing.T, c client) fixture {
	t.Helper()
	ctx := context.Background()
	tok, err := s.admin.CreateToken(ctx, "conf-saas", "cust-a", 0)
	if err != nil {
		t.Fatalf("CreateToken() = %v", err)
	}
	expiring, err := s.admin.CreateToken(ctx, "conf-saas", "cust-a", time.Hour)
	if err != nil {
		t.Fatalf("CreateToken(1h) = %v", err)
	}
	keys, err := s.admin.PublicKeys(ctx, "conf-container")
	if err != nil || len(keys) == 0 || keys[0].Version != 1 {
		t.Fatalf("PublicKeys() = %v, %v; want version 1 first", keys, err)
	}
	fx := fixture{
		Client: c.ID, Model: "old", TS: time.Now().Add(-time.Minute).Unix(),
		SaaS: "conf-saas", Container: "conf-container", Seller: seller, Buyer: buyer,
		Token: tok.Token, ExpiredToken: expiring.Token, PublicKeyPEM: keys[0].PublicKeyPEM, url: s.srv.URL,
	}
	if c.New {
		fx.Model = "new"
	}
	if !c.EnvEndpoint {
		fx.Endpoint = s.srv.URL
	}
	return fx
}

// runPhase sets up the phase's server state (a moved clock, a fault rule),
// runs it and undoes the setup.
func (s *suite) runPhase(t *testing.T, p *script, fx fixture, phase string) []result {
	t.Helper()
	ctx := context.Background()
	var rule *admin.FaultRule
	switch {
	case phase == "expired":
		if _, err := s.admin.AdvanceClock(ctx, 2*time.Hour); err != nil {
			t.Fatalf("AdvanceClock() = %v", err)
		}
		defer func() {
			if _, err := s.admin.ResetClock(ctx); err != nil {
				t.Fatalf("ResetClock() = %v", err)
			}
		}()
	case strings.Contains(phase, "retry-"):
		_, code, _ := strings.Cut(phase, "-")
		var err error
		rule, err = s.admin.AddFault(ctx, admin.FaultSpec{Operation: "BatchMeterUsage", Error: code, Count: 1})
		if err != nil {
			t.Fatalf("AddFault(%s) = %v", code, err)
		}
		defer s.admin.ClearFaults(ctx)
	}
	var got []result
	if p == nil {
		got = runGo(fx, phase)
	} else {
		got = p.run(t, phase)
	}
	if rule != nil {
		// The rule is deleted after its one hit: a request did meet the fault.
		if rules, err := s.admin.Faults(ctx); err != nil || len(rules) != 0 {
			for i := range got {
				got[i].OK, got[i].Detail = false, "the fault rule was not hit: "+got[i].Detail
			}
		}
	}
	return got
}

// script is a client's script process, reading phases from stdin.
type script struct {
	id     string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    *bufio.Scanner
	stderr *bytes.Buffer
	timer  *time.Timer
}

// startScript starts a client's script with the fixture and the
// environment of an AWS client pointed at the server.
func (s *suite) startScript(t *testing.T, c client, fx any) *script {
	t.Helper()
	b, _ := json.Marshal(fx)
	p := &script{id: c.ID, cmd: c.command(), stderr: &bytes.Buffer{}}
	// The command's own variables, if any, come after (and so over) the server's.
	p.cmd.Env = append(append(s.srv.Env(seller.Key, seller.Secret), p.cmd.Env...), "CONFORMANCE_FIXTURE="+string(b), "PYTHONDONTWRITEBYTECODE=1")
	p.cmd.Stderr = p.stderr
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.out = bufio.NewScanner(stdout)
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("%s: %v", c.ID, err)
	}
	// A hung client fails its phases instead of the whole test binary.
	p.timer = time.AfterFunc(2*time.Minute, func() { p.cmd.Process.Kill() })
	return p
}

// run runs one phase and returns its results.
func (p *script) run(t *testing.T, phase string) []result {
	t.Helper()
	if _, err := io.WriteString(p.stdin, phase+"\n"); err != nil {
		t.Errorf("%s: write phase %s: %v", p.id, phase, err)
		return nil
	}
	var got []result
	for p.out.Scan() {
		var r struct {
			result
			Done string `json:"done"`
		}
		if err := json.Unmarshal(p.out.Bytes(), &r); err != nil {
			t.Errorf("%s %s: not a result line: %q", p.id, phase, p.out.Text())
			continue
		}
		if r.Done == phase {
			return got
		}
		got = append(got, r.result)
	}
	t.Errorf("%s stopped in phase %s", p.id, phase)
	return got
}

// close ends the script and logs what it wrote to stderr.
func (p *script) close(t *testing.T) {
	t.Helper()
	p.stdin.Close()
	err := p.cmd.Wait()
	p.timer.Stop()
	if err != nil || p.stderr.Len() > 0 {
		t.Logf("%s: exit %v; stderr:\n%s", p.id, err, p.stderr.String())
	}
}
