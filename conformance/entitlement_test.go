package conformance

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/fxamacker/cbor/v2"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/internal/meterdtest"
	"github.com/meterd/meterd/rpcv2"
	"github.com/meterd/meterd/sqlite"
)

// The Entitlement Service's suite: every client that has the service runs
// the same GetEntitlements scenarios against the binary, in its own
// protocol, each error checked as the client's users see it, and README's
// Entitlement Service table is kept in sync with the results.

// contractProduct is the conformance catalog's contract product; its
// customers' agreements are written into the store before the clients run.
const contractProduct = "conf-contract"

// entitlementScenarios are the scenarios of the suite, the same for every
// client; NewOnly ones need a model with CustomerAWSAccountId and LicenseArn.
var entitlementScenarios = []scenario{
	{"GetEntitlements all", "GetEntitlements", "main", false},
	{"GetEntitlements CUSTOMER_IDENTIFIER", "GetEntitlements", "main", false},
	{"GetEntitlements CUSTOMER_IDENTIFIER and DIMENSION", "GetEntitlements", "main", false},
	{"GetEntitlements CUSTOMER_AWS_ACCOUNT_ID", "GetEntitlements", "main", true},
	{"GetEntitlements LICENSE_ARN and DIMENSION", "GetEntitlements", "main", true},
	{"GetEntitlements none found", "GetEntitlements", "main", false},
	{"GetEntitlements pages of 1", "GetEntitlements", "main", false},
	{"GetEntitlements DIMENSION alone InvalidParameterException", "Errors", "main", false},
	{"GetEntitlements forged NextToken InvalidParameterException", "Errors", "main", false},
	{"GetEntitlements NextToken of another filter InvalidParameterException", "Errors", "main", false},
	{"GetEntitlements not the seller InvalidParameterException", "Errors", "main", false},
	{"GetEntitlements eu-west-1 InvalidParameterException", "Errors", "main", false},
	{"Retries ThrottlingException retried", "Retries", "retry-ThrottlingException", false},
}

var entitlementPhases = []string{"main", "retry-ThrottlingException"}

// entitlementClient is a client of the Entitlement Service's suite.
type entitlementClient struct {
	client
	Protocol string
	// Unavailable: a client users run that cannot be had here (README says
	// why); it has a row in the table but no run.
	Unavailable bool
}

// entitlementClients are the suite's clients, in its table's order.
func entitlementClients() []entitlementClient {
	py := func(interp, kind string) func() *exec.Cmd {
		return func() *exec.Cmd {
			return exec.Command(interp, filepath.Join("python", "entitlement_scenarios.py"), kind)
		}
	}
	return []entitlementClient{
		{client: client{ID: "go", Name: "Go SDK v2 (service/marketplaceentitlementservice)", Version: "—"}, Protocol: "RPC v2 CBOR",
			Unavailable: true},
		{client: client{ID: "boto3", Name: "boto3 (image Python)", Version: "1.43.11", New: true, EnvEndpoint: true,
			version: pyModuleVersion("python3", "boto3"), command: py("python3", "boto3")}, Protocol: "awsJson1_1"},
		{client: client{ID: "boto3-cbor", Name: "botocore's RPC v2 CBOR (image Python, model limited to smithy-rpc-v2-cbor)", Version: "1.43.11", New: true, EnvEndpoint: true,
			version: pyModuleVersion("python3", "botocore"), command: py("python3", "boto3-cbor")}, Protocol: "RPC v2 CBOR"},
		{client: client{ID: "awscli-v1", Name: "AWS CLI v1 (image Python)", Version: "1.45.11", New: true, EnvEndpoint: true,
			version: pyModuleVersion("python3", "awscli"), command: py("python3", "cli")}, Protocol: "awsJson1_1"},
		{client: client{ID: "js", Name: "JS SDK v3 (@aws-sdk/client-marketplace-entitlement-service)", Version: "3.1138.0", New: true, EnvEndpoint: true,
			version: jsPackageVersion("client-marketplace-entitlement-service"), command: func() *exec.Cmd { return exec.Command("node", "js/entitlement.mjs") }},
			Protocol: "awsJson1_1"},
		{client: client{ID: "awscli-v2-debian", Name: "AWS CLI v2 (Debian awscli)", Version: "2.9.19",
			version: pyModuleVersion("/usr/bin/python3", "awscli"), command: py("/usr/bin/python3", "cli")}, Protocol: "awsJson1_1"},
		{client: client{ID: "boto3-debian", Name: "boto3 (Debian python3-boto3)", Version: "1.26.27",
			version: pyModuleVersion("/usr/bin/python3", "boto3"), command: py("/usr/bin/python3", "boto3")}, Protocol: "awsJson1_1"},
		{client: client{ID: "java-v1", Name: "Java SDK v1 (aws-java-sdk-marketplaceentitlement)", Version: "1.12.780", EndpointFrom: "`withEndpointConfiguration`",
			version: javaVersion("aws-java-sdk-marketplaceentitlement"), command: javaDriver("v1-entitlement")}, Protocol: "awsJson1_1"},
	}
}

// jsPackageVersion reads the installed version of an @aws-sdk package.
func jsPackageVersion(name string) func() (string, string) {
	return func() (string, string) {
		b, err := os.ReadFile("js/node_modules/@aws-sdk/" + name + "/package.json")
		if err != nil {
			return "", "the JS SDK is not installed: run `npm ci` in conformance/js (" + err.Error() + ")"
		}
		var pkg struct{ Version string }
		if err := json.Unmarshal(b, &pkg); err != nil {
			return "", err.Error()
		}
		return pkg.Version, ""
	}
}

// entitlementFixture is what a client's script needs.
type entitlementFixture struct {
	Client       string              `json:"client"`
	Model        string              `json:"model"`
	Endpoint     string              `json:"endpoint,omitempty"`
	Product      string              `json:"product"`
	Seller       creds               `json:"seller"`
	Other        creds               `json:"other"` // a key of another account
	Entitlements []wantedEntitlement `json:"entitlements"`
}

// wantedEntitlement is an entitlement as the clients must read it.
type wantedEntitlement struct {
	CustomerIdentifier   string         `json:"CustomerIdentifier"`
	Dimension            string         `json:"Dimension"`
	ProductCode          string         `json:"ProductCode"`
	Value                map[string]any `json:"Value"`
	ExpirationDate       float64        `json:"ExpirationDate"` // epoch seconds
	CustomerAWSAccountID string         `json:"CustomerAWSAccountId"`
	LicenseArn           string         `json:"LicenseArn"`
}

// contractCustomers are conf-contract's customers of the conformance
// catalog: identifier, account and purchased seats.
var contractCustomers = []struct {
	id, account string
	seats       int64
}{
	{"cust-c1", "666677778888", 10},
	{"cust-c2", "888899990000", 25},
}

// seedAgreements writes an ACTIVE twelve-month contract agreement for each
// of conf-contract's customers into the stopped server's store, and returns
// the entitlements GetEntitlements must answer, in its order.
func seedAgreements(t *testing.T, srv *meterdtest.Server) []wantedEntitlement {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(srv.Data, "meterd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	start := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	end := start.AddDate(1, 0, 0).Add(250 * time.Millisecond) // milliseconds on the wire
	ch := &meterd.MarketChange{}
	var want []wantedEntitlement
	for i, c := range contractCustomers {
		license := fmt.Sprintf("arn:aws:license-manager::%s:license:l-%032x", "111122223333", i+1)
		ch.Insert = append(ch.Insert, &meterd.Agreement{
			ID: fmt.Sprintf("agmt-conformance%09d", i+1), Status: meterd.AgreementActive, Intent: meterd.IntentNew,
			ProductCode: contractProduct, OfferID: "offer-confcontract01", BuyerAccountID: c.account, SellerAccountID: "111122223333",
			CustomerIdentifier: c.id, LicenseArn: license, AcceptanceTime: start, StartTime: start, EndTime: &end, Duration: "P12M",
			Dimensions: []meterd.AgreementDimension{{Name: "seats", Quantity: c.seats},
				{Name: "premium", Quantity: 1, ValueType: meterd.ValueBoolean}},
			RequestKey: "conformance-" + c.id, UpdatedAt: start,
		})
		exp := float64(end.UnixMilli()) / 1000
		for _, d := range []struct {
			name  string
			value map[string]any
		}{{"premium", map[string]any{"BooleanValue": true}}, {"seats", map[string]any{"IntegerValue": c.seats}}} {
			want = append(want, wantedEntitlement{CustomerIdentifier: c.id, Dimension: d.name, ProductCode: contractProduct,
				Value: d.value, ExpirationDate: exp, CustomerAWSAccountID: c.account, LicenseArn: license})
		}
	}
	if err := store.ApplyMarketChange(ctx, ch); err != nil {
		t.Fatalf("ApplyMarketChange() = %v", err)
	}
	return want
}

// TestEntitlementConformance runs the Entitlement Service's scenarios with
// every client. A missing client fails its subtest with what to install.
func TestEntitlementConformance(t *testing.T) {
	t.Parallel()
	srv := meterdtest.Serve(t, meterdtest.Build(t), "--catalog", "testdata/catalog.yaml")
	srv.Stop()
	want := seedAgreements(t, srv)
	srv.Restart()
	s := &suite{srv: srv, admin: admin.NewClient(srv.URL, srv.AdminToken)}
	var all []result
	started := 0
	for _, c := range entitlementClients() {
		if c.Unavailable {
			started++
			continue
		}
		t.Run(c.ID, func(t *testing.T) {
			started++
			v, why := c.version()
			if why != "" || v != c.Version {
				t.Fatalf("%s: version %q, want %s; %s (see .ci/run for how to install it)", c.Name, v, c.Version, why)
			}
			fx := entitlementFixture{Client: c.ID, Model: "old", Product: contractProduct, Seller: seller, Other: buyer, Entitlements: want}
			if c.New {
				fx.Model = "new"
			}
			if !c.EnvEndpoint {
				fx.Endpoint = srv.URL
			}
			p := s.startScript(t, c.client, fx)
			defer p.close(t)
			var got []result
			for _, phase := range entitlementPhases {
				got = append(got, s.runEntitlementPhase(t, p, phase)...)
			}
			all = append(all, got...)
			byName := map[string]result{}
			for _, r := range got {
				byName[r.Scenario] = r
			}
			for _, sc := range entitlementScenarios {
				if sc.NewOnly && !c.New {
					continue
				}
				t.Run(sc.Name, func(t *testing.T) {
					switch r, ok := byName[sc.Name]; {
					case !ok:
						t.Errorf("%s printed no result for %q", c.ID, sc.Name)
					case !r.OK:
						t.Errorf("%s: %s", sc.Name, r.Detail)
					}
				})
			}
		})
	}
	t.Run("raw", func(t *testing.T) { rawEntitlementRequests(t, srv.URL) })
	if started < len(entitlementClients()) {
		t.Logf("not every client ran (-run): the README's table is not checked")
		return
	}
	checkReadmeTable(t, entitlementTableBegin, entitlementTableEnd, entitlementTable(all))
}

// runEntitlementPhase runs one phase, with a ThrottlingException fault
// rule in force for the retry phase.
func (s *suite) runEntitlementPhase(t *testing.T, p *script, phase string) []result {
	t.Helper()
	ctx := context.Background()
	if phase != "retry-ThrottlingException" {
		return p.run(t, phase)
	}
	if _, err := s.admin.AddFault(ctx, admin.FaultSpec{Operation: meterd.OpGetEntitlements, Error: meterd.EThrottling, Count: 1}); err != nil {
		t.Fatalf("AddFault() = %v", err)
	}
	defer s.admin.ClearFaults(ctx)
	got := p.run(t, phase)
	if rules, err := s.admin.Faults(ctx); err != nil || len(rules) != 0 {
		for i := range got {
			got[i].OK, got[i].Detail = false, "the fault rule was not hit: "+got[i].Detail
		}
	}
	return got
}

const (
	entitlementTableBegin = "<!-- entitlement compatibility table: generated by `go test ./conformance -update`; do not edit -->\n"
	entitlementTableEnd   = "<!-- end of entitlement compatibility table -->\n"
)

// entitlementColumns are the Entitlement Service table's result columns.
var entitlementColumns = []string{"GetEntitlements", "Errors", "Retries"}

// entitlementTable renders the Entitlement Service's client table.
func entitlementTable(results []result) string {
	ops := map[string]string{}
	for _, sc := range entitlementScenarios {
		ops[sc.Name] = sc.Operation
	}
	cells := countCells(results, ops)
	var b strings.Builder
	b.WriteString("| client | version | protocol | endpoint from | " + strings.Join(entitlementColumns, " | ") + " |\n")
	b.WriteString("|---|---|---|---|" + strings.Repeat("---|", len(entitlementColumns)) + "\n")
	for _, c := range entitlementClients() {
		endpoint := "`AWS_ENDPOINT_URL_MARKETPLACE_ENTITLEMENT_SERVICE`"
		switch {
		case c.Unavailable:
			endpoint = "—"
		case c.EndpointFrom != "":
			endpoint = c.EndpointFrom
		case !c.EnvEndpoint && strings.Contains(c.ID, "cli"):
			endpoint = "`--endpoint-url`"
		case !c.EnvEndpoint:
			endpoint = "`endpoint_url`"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |", c.Name, c.Version, c.Protocol, endpoint)
		for _, op := range entitlementColumns {
			if c.Unavailable {
				b.WriteString(" not available |")
				continue
			}
			b.WriteString(cells.cell(c.ID, op))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// rawEntitlementRequests are requests no SDK sends, signed by hand: what
// botocore's client-side validation would refuse (an unknown filter name)
// and what the RPC v2 protocol forbids.
func rawEntitlementRequests(t *testing.T, url string) {
	cborMap := func(m map[string]any) []byte {
		b, err := cbor.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	rpcPath := "/service/AWSMPEntitlementService/operation/GetEntitlements"
	tests := []struct {
		name     string
		path     string
		headers  map[string]string
		body     []byte
		wantType string // the error's __type as the protocol writes it
	}{
		{"JSONUnknownFilter", "/", map[string]string{"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AWSMPEntitlementService.GetEntitlements"},
			[]byte(`{"ProductCode":"conf-contract","Filter":{"COLOUR":["red"]}}`), "InvalidParameterException"},
		{"JSONMaxResultsText", "/", map[string]string{"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AWSMPEntitlementService.GetEntitlements"},
			[]byte(`{"ProductCode":"conf-contract","MaxResults":"5"}`), "SerializationException"},
		{"CBORUnknownFilter", rpcPath, map[string]string{"Content-Type": "application/cbor", "Smithy-Protocol": "rpc-v2-cbor"},
			cborMap(map[string]any{"ProductCode": "conf-contract", "Filter": map[string][]string{"COLOUR": {"red"}}}),
			rpcv2.EntitlementNamespace + "#InvalidParameterException"},
		{"CBORWithXAmzTarget", rpcPath, map[string]string{"Content-Type": "application/cbor", "Smithy-Protocol": "rpc-v2-cbor",
			"X-Amz-Target": "AWSMPEntitlementService.GetEntitlements"},
			cborMap(map[string]any{"ProductCode": "conf-contract"}), rpcv2.EntitlementNamespace + "#SerializationException"},
		{"CBORNotAMap", rpcPath, map[string]string{"Content-Type": "application/cbor", "Smithy-Protocol": "rpc-v2-cbor"},
			[]byte{0x80}, rpcv2.EntitlementNamespace + "#SerializationException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := http.NewRequest(http.MethodPost, url+tt.path, bytes.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			sum := sha256.Sum256(tt.body)
			creds := aws.Credentials{AccessKeyID: seller.Key, SecretAccessKey: seller.Secret}
			if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hex.EncodeToString(sum[:]), "aws-marketplace", "us-east-1", time.Now()); err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			var e struct {
				Type    string `json:"__type" cbor:"__type"`
				Message string `json:"message" cbor:"message"`
			}
			if strings.HasPrefix(tt.path, "/service/") {
				err = cbor.Unmarshal(body, &e)
			} else {
				err = json.Unmarshal(body, &e)
			}
			if err != nil || resp.StatusCode != 400 || e.Type != tt.wantType || e.Message == "" {
				t.Errorf("answer %d %q (%v), want 400 with __type %s and a message", resp.StatusCode, body, err, tt.wantType)
			}
		})
	}
}
