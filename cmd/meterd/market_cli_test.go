package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	mm "github.com/aws/aws-sdk-go-v2/service/marketplacemetering"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/catalog"
	"github.com/meterd/meterd/internal/meterdtest"
)

// TestMarketCLI runs the verbs of offers, agreements, buyers, entitlements
// and events as the built binary against a server with the demo catalog.
// The subtests share the server and run in order.
func TestMarketCLI(t *testing.T) {
	bin := meterdtest.Build(t)
	h := &cliHarness{bin: bin, srv: meterdtest.Serve(t, bin)}
	h.ok(t, "accounts", "create", "--id", marketBuyer)
	t.Run("Help", h.testMarketHelp)
	t.Run("UsageErrors", h.testMarketUsageErrors)
	t.Run("Offers", h.testOffers)
	t.Run("Agreements", h.testAgreements)
	t.Run("Purchase", h.testPurchase)
	t.Run("PurchasePost", h.testPurchasePost)
	t.Run("Entitlements", h.testEntitlements)
	t.Run("Events", h.testEvents)
	t.Run("Tail", h.testTail)
	t.Run("Completion", testMarketCompletion)
}

// testMarketCompletion asks bash to complete the nouns, verbs and flags.
func testMarketCompletion(t *testing.T) {
	script, stderr, code := runHere("completion", "bash")
	if code != 0 {
		t.Fatalf("completion bash = exit %d, %s", code, stderr)
	}
	file := filepath.Join(t.TempDir(), "meterd.bash")
	os.WriteFile(file, []byte(script), 0o600)
	for _, tt := range []struct {
		words []string
		want  string
	}{
		{[]string{"meterd", "agr"}, "agreements"},
		{[]string{"meterd", "ent"}, "entitlements"},
		{[]string{"meterd", "agreements", "te"}, "terms terminate"},
		{[]string{"meterd", "buyers", "p"}, "purchase"},
		{[]string{"meterd", "events", "t"}, "tail"},
		{[]string{"meterd", "agreements", "accept", "--no"}, "--no-auto-renew"},
		{[]string{"meterd", "offers", "create", "--trial"}, "--trial --trial-converts --trial-grant"},
		{[]string{"meterd", "buyers", "purchase", "--cl"}, "--client-token"},
	} {
		line := "source " + file + "\nCOMP_WORDS=(" + strings.Join(tt.words, " ") + "); COMP_CWORD=" + strconv.Itoa(len(tt.words)-1) + "\n_meterd; echo \"${COMPREPLY[@]}\""
		out, err := exec.Command("bash", "-c", line).CombinedOutput()
		if got := strings.TrimSpace(string(out)); err != nil || got != tt.want {
			t.Errorf("bash completion of %v = %q, %v; want %q", tt.words, got, err, tt.want)
		}
	}
}

// marketBuyer is the buyer account the market tests create and act as.
const marketBuyer = "123456789012"

func (h *cliHarness) testMarketHelp(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"offers", "agreements", "buyers", "entitlements", "events"}},
		{[]string{"offers", "--help"}, []string{"meterd offers list", "meterd offers show ID", "meterd offers create --product C --pricing"}},
		{[]string{"offers", "create", "--help"}, []string{"-duration", "-trial", "-trial-grant", "-private", "-buyer", "-eula-url", "-refund-policy", "-output"}},
		{[]string{"agreements", "--help"}, []string{"list", "show ID", "terms ID", "accept --buyer A --offer O", "amend ID", "replace ID", "cancel ID", "terminate ID"}},
		{[]string{"agreements", "accept", "--help"}, []string{"-buyer", "-offer", "-duration", "-quantity", "-no-auto-renew", "-start", "-trial", "-fail", "-client-token"}},
		{[]string{"agreements", "amend", "--help"}, []string{"-quantity", "-auto-renew"}},
		{[]string{"buyers", "purchase", "--help"}, []string{"x-amzn-marketplace-token", "free-trial", "-buyer", "-quantity", "-client-token", "-post", "prints the seller"}},
		{[]string{"entitlements", "list", "--help"}, []string{"-product", "-customer", "-aws-account-id", "-license", "-dimension"}},
		{[]string{"events", "--help"}, []string{"meterd events list", "meterd events tail", "JSON lines"}},
		{[]string{"events", "tail", "--help"}, []string{"-after", "-type", "Ctrl-C"}},
	} {
		r := h.run(t, tt.args...)
		for _, w := range tt.want {
			if r.code != 0 || !strings.Contains(r.stdout, w) {
				t.Errorf("meterd %s = exit %d, stdout lacks %q:\n%s", strings.Join(tt.args, " "), r.code, w, r.stdout)
			}
		}
	}
}

func (h *cliHarness) testMarketUsageErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"OfferNoPricing", []string{"offers", "create", "--product", "demo-product"}, "--pricing is required"},
		{"OfferBadDuration", []string{"offers", "create", "--product", "demo-product", "--pricing", "contract", "--duration", "P12M"}, "--duration"},
		{"OfferBadPrice", []string{"offers", "create", "--product", "demo-product", "--pricing", "contract", "--duration", "P12M=seats"}, `"seats" in "P12M=seats" is not DIM:PRICE`},
		{"OfferGrantWithoutTrial", []string{"offers", "create", "--product", "demo-product", "--pricing", "usage", "--trial-grant", "requests=1"}, "need --trial"},
		{"OfferBuyerPublic", []string{"offers", "create", "--product", "demo-product", "--pricing", "usage", "--buyer", marketBuyer}, "--buyer needs --private"},
		{"OfferBadStart", []string{"offers", "create", "--product", "demo-product", "--pricing", "usage", "--start", "tomorrow"}, "--start"},
		{"OfferShowNoID", []string{"offers", "show"}, "want 1 argument"},
		{"AcceptNoBuyer", []string{"agreements", "accept", "--offer", catalog.DemoUsageOffer}, "--buyer is required"},
		{"AcceptNoOffer", []string{"agreements", "accept", "--buyer", marketBuyer}, "--offer is required"},
		{"AcceptBadQuantity", []string{"agreements", "accept", "--buyer", marketBuyer, "--offer", catalog.DemoContractOffer, "--quantity", "seats=-1"}, "--quantity"},
		{"AcceptTwice", []string{"agreements", "accept", "--buyer", marketBuyer, "--offer", catalog.DemoContractOffer, "--quantity", "seats=1", "--quantity", "seats=2"}, "seats given twice"},
		{"AcceptBadStart", []string{"agreements", "accept", "--buyer", marketBuyer, "--offer", catalog.DemoUsageOffer, "--start", "now"}, "RFC 3339"},
		{"AmendNothing", []string{"agreements", "amend", "agmt-x"}, "nothing to amend"},
		{"AmendBadAutoRenew", []string{"agreements", "amend", "agmt-x", "--auto-renew=maybe"}, `"maybe" is not true or false`},
		{"ReplaceNoOffer", []string{"agreements", "replace", "agmt-x"}, "--offer is required"},
		{"CancelNoID", []string{"agreements", "cancel"}, "want 1 argument"},
		{"PurchaseNoBuyer", []string{"buyers", "purchase", "--offer", catalog.DemoUsageOffer}, "--buyer is required"},
		{"EntitlementsNoProduct", []string{"entitlements", "list"}, "--product is required"},
		{"EntitlementsBoth", []string{"entitlements", "list", "--product", "demo-product", "--customer", "x", "--aws-account-id", marketBuyer}, "exclude each other"},
		{"EventsBadAfter", []string{"events", "list", "--after", "x"}, "-after"},
		{"EventsNegativeAfter", []string{"events", "tail", "--after=-1"}, "not a sequence number"},
		{"BadOutput", []string{"agreements", "list", "--output", "yaml"}, "--output"},
	} {
		t.Run(tt.name, func(t *testing.T) { h.wantExit(t, exitUsage, tt.want, tt.args...) })
	}
}

func (h *cliHarness) testOffers(t *testing.T) {
	var offers []meterd.Offer
	h.json(t, &offers, "offers", "list", "--product", "demo-product")
	if len(offers) != 3 {
		t.Fatalf("offers list --product demo-product = %d offers, want the demo's 3", len(offers))
	}
	var o meterd.Offer
	h.json(t, &o, "offers", "create", "--product", "demo-product", "--pricing", "contract", "--id", "offer-cliprivate001",
		"--name", "Private deal", "--duration", "P12M=seats:100,premium:900", "--duration", "P1M=seats:10,premium:90",
		"--no-auto-renew", "--private", "--buyer", marketBuyer, "--eula-url", "https://seller.test/eula", "--refund-policy", "30 days")
	if o.ID != "offer-cliprivate001" || o.Visibility != "private" || len(o.Buyers) != 1 || o.Buyers[0] != marketBuyer || o.Name != "Private deal" {
		t.Errorf("offers create = %+v, want the private offer for %s", o, marketBuyer)
	}
	cup, _ := o.Term(meterd.TermConfigurableUpfrontPrice)
	renew, _ := o.Term(meterd.TermRenewal)
	legal, _ := o.Term(meterd.TermLegal)
	support, _ := o.Term(meterd.TermSupport)
	if cup == nil || len(cup.RateCards) != 2 || cup.RateCards[1].Duration != "P12M" || cup.RateCards[1].RateCard[1] != (meterd.RateCardItem{DimensionKey: "seats", Price: "100"}) ||
		renew == nil || *renew.AutoRenew || legal == nil || legal.Documents[0].URL != "https://seller.test/eula" || support == nil || support.RefundPolicy != "30 days" {
		t.Errorf("offers create terms = %+v, want the rate cards, no auto-renewal, the EULA and refund policy given", o.Terms)
	}
	h.json(t, &o, "offers", "create", "--product", "demo-product", "--pricing", "free-trial", "--id", "offer-clitrial00001",
		"--trial", "P14D", "--trial-grant", "requests=500", "--trial-converts=false")
	trial, _ := o.Term(meterd.TermFreeTrialPricing)
	if trial == nil || trial.Duration != "P14D" || len(trial.Grants) != 1 || trial.Grants[0].MaxQuantity != 500 || *trial.Converts {
		t.Errorf("offers create --trial = %+v, want a 14-day trial of 500 requests that does not convert", o.Terms)
	}
	rows := h.csv(t, "offers", "show", "offer-cliprivate001")
	if strings.Join(rows[0], ",") != "offer_id,term_id,type,details" || len(rows) != 5 || !strings.Contains(rows[1][3], "P12M=premium:900,seats:100") {
		t.Errorf("offers show --output csv = %q, want a header and the offer's 4 terms", rows)
	}
	table := h.ok(t, "offers", "list")
	for _, w := range []string{"offer-cliprivate001", "Private deal", marketBuyer, "offer-clitrial00001", catalog.DemoContractOffer} {
		if !strings.Contains(table, w) {
			t.Errorf("offers list lacks %q:\n%s", w, table)
		}
	}
	h.wantExit(t, exitError, `"P13M" is not P1M, P12M, P24M or P36M`, "offers", "create", "--product", "demo-product", "--pricing", "contract", "--duration", "P13M=seats:1")
	h.wantExit(t, exitError, "no product", "offers", "create", "--product", "no-such-product", "--pricing", "usage")
	h.wantExit(t, exitError, "404", "offers", "show", "offer-nosuchoffer01")
	if again := h.csv(t, "offers", "list", "--product", "demo-product"); len(again) != 6 {
		t.Errorf("after refused creates, offers list = %d rows, want the header and 5 offers (nothing half-written)", len(again))
	}
}

func (h *cliHarness) testAgreements(t *testing.T) {
	var a meterd.Agreement
	h.json(t, &a, "agreements", "accept", "--buyer", marketBuyer, "--offer", "offer-cliprivate001", "--duration", "P1M",
		"--quantity", "seats=3", "--quantity", "premium=1", "--client-token", "cli-token-1")
	if a.Status != "ACTIVE" || a.Intent != "NEW" || a.Duration != "P1M" || a.AutoRenew || a.EndTime == nil || !a.EndTime.Equal(a.StartTime.AddDate(0, 1, 0)) {
		t.Fatalf("agreements accept = %+v, want an ACTIVE 1-month contract without auto-renewal", a)
	}
	var again meterd.Agreement
	h.json(t, &again, "agreements", "accept", "--buyer", marketBuyer, "--offer", "offer-cliprivate001", "--duration", "P1M",
		"--quantity", "seats=3", "--quantity", "premium=1", "--client-token", "cli-token-1")
	if again.ID != a.ID {
		t.Errorf("accept with the same --client-token = %s, want %s", again.ID, a.ID)
	}
	h.wantExit(t, exitError, "private", "agreements", "accept", "--buyer", catalog.DemoBuyerAccount1, "--offer", "offer-cliprivate001", "--duration", "P1M", "--quantity", "seats=1")
	h.wantExit(t, exitError, "duration", "agreements", "accept", "--buyer", marketBuyer, "--offer", catalog.DemoContractOffer, "--duration", "P24M", "--quantity", "seats=1")

	var amended meterd.Agreement
	h.json(t, &amended, "agreements", "amend", a.ID, "--quantity", "seats=5", "--auto-renew=true")
	if amended.ID != a.ID || !amended.AutoRenew || quantity(amended, "seats") != 5 {
		t.Errorf("agreements amend = %+v, want the same agreement with 5 seats and auto-renewal", amended)
	}
	var terms []meterd.Term
	h.json(t, &terms, "agreements", "terms", a.ID)
	if cup, ok := findTerm(terms, meterd.TermConfigurableUpfrontPrice); !ok || cup.Configuration == nil || cup.Configuration.SelectorValue != "P1M" {
		t.Errorf("agreements terms = %+v, want the contract term configured for P1M", terms)
	}
	if show := h.ok(t, "agreements", "show", a.ID); !strings.Contains(show, a.ID) || !strings.Contains(show, "seats=5") {
		t.Errorf("agreements show = %q, want the agreement and its configured terms", show)
	}

	var replaced meterd.Agreement
	h.json(t, &replaced, "agreements", "replace", a.ID, "--offer", catalog.DemoContractOffer, "--duration", "P12M", "--quantity", "seats=8", "--quantity", "premium=1")
	if replaced.Intent != "REPLACE" || replaced.PreviousAgreementID != a.ID || replaced.LicenseArn != a.LicenseArn {
		t.Errorf("agreements replace = %+v, want intent REPLACE from %s with its license", replaced, a.ID)
	}
	rows := h.csv(t, "agreements", "list", "--buyer", marketBuyer, "--status", "replaced")
	if len(rows) != 2 || rows[1][0] != a.ID || rows[1][1] != "REPLACED" {
		t.Errorf("agreements list --status replaced = %q, want %s REPLACED", rows, a.ID)
	}
	h.wantExit(t, exitError, "REPLACED, not ACTIVE", "agreements", "cancel", a.ID)

	var cancelled meterd.Agreement
	h.json(t, &cancelled, "agreements", "cancel", replaced.ID)
	if cancelled.Status != "CANCELLED" {
		t.Errorf("agreements cancel = %s, want CANCELLED", cancelled.Status)
	}
	var usage meterd.Agreement
	h.json(t, &usage, "agreements", "accept", "--buyer", marketBuyer, "--offer", catalog.DemoUsageOffer)
	var terminated meterd.Agreement
	h.json(t, &terminated, "agreements", "terminate", usage.ID)
	if terminated.Status != "TERMINATED" || terminated.EndTime != nil && terminated.EndTime.After(time.Now().Add(time.Minute)) {
		t.Errorf("agreements terminate = %+v, want TERMINATED", terminated)
	}
	h.wantExit(t, exitError, "404", "agreements", "terminate", "agmt-NOSUCHAGREEMENT0000000000")
	h.wantExit(t, exitError, "ACTIVE, ARCHIVED", "agreements", "list", "--status", "happy")

	failed := h.ok(t, "agreements", "accept", "--buyer", marketBuyer, "--offer", catalog.DemoUsageOffer, "--fail", "--output", "csv")
	if !strings.HasPrefix(failed, "failed,customer_identifier\ntrue,") {
		t.Errorf("agreements accept --fail = %q, want failed true and the customer", failed)
	}
}

func (h *cliHarness) testPurchase(t *testing.T) {
	h.ok(t, "products", "create", "--code", "cli-saas", "--seller", catalog.DemoSellerAccount, "--type", "saas",
		"--dimension", "requests", "--fulfillment-url", "https://seller.test/register")
	var o meterd.Offer
	h.json(t, &o, "offers", "create", "--product", "cli-saas", "--pricing", "usage")
	var p purchase
	h.json(t, &p, "buyers", "purchase", "--buyer", marketBuyer, "--offer", o.ID)
	if p.Agreement == nil || p.FulfillmentURL != "https://seller.test/register" || p.Form[formToken] == "" || p.Form[formOfferType] != "" {
		t.Fatalf("buyers purchase = %+v, want the agreement, the fulfillment URL and a token, no offer type", p)
	}
	out, err := h.metering("test", "test").ResolveCustomer(context.Background(), &mm.ResolveCustomerInput{RegistrationToken: aws.String(p.Form[formToken])})
	if err != nil || aws.ToString(out.CustomerIdentifier) != p.Agreement.CustomerIdentifier || aws.ToString(out.CustomerAWSAccountId) != marketBuyer {
		t.Errorf("ResolveCustomer(the form's token) = %+v, %v; want customer %s of %s", out, err, p.Agreement.CustomerIdentifier, marketBuyer)
	}
	// A second purchase makes a second license, the customer's newest; the
	// first form's token still answers the first agreement's license.
	var second purchase
	h.json(t, &o, "offers", "create", "--product", "cli-saas", "--pricing", "usage")
	h.json(t, &second, "buyers", "purchase", "--buyer", marketBuyer, "--offer", o.ID)
	// The Go SDK's model here has no ResolveCustomerOutput.LicenseArn: the AWS CLI v1's has.
	resolve := exec.Command("aws", "meteringmarketplace", "resolve-customer", "--registration-token", p.Form[formToken],
		"--query", "LicenseArn", "--output", "text")
	resolve.Env = h.srv.Env("test", "test")
	got, err := resolve.Output()
	if err != nil || second.Agreement == nil || second.Agreement.LicenseArn == p.Agreement.LicenseArn || strings.TrimSpace(string(got)) != p.Agreement.LicenseArn {
		t.Errorf("ResolveCustomer(the first form's token) after a second purchase = %q, %v; want the first license %s", got, err, p.Agreement.LicenseArn)
	}
	h.wantExit(t, exitError, "not an agreement of customer", "tokens", "create", "--product", "demo-product", "--customer", catalog.DemoCustomer1, "--agreement", second.Agreement.ID)
	r := h.run(t, "buyers", "purchase", "--buyer", catalog.DemoBuyerAccount1, "--offer", catalog.DemoTrialOffer, "--output", "csv")
	if r.code != 0 || !strings.Contains(r.stdout, "\nx-amzn-marketplace-offer-type,free-trial\n") || !strings.Contains(r.stdout, "\nx-amzn-marketplace-token,") ||
		!strings.Contains(r.stderr, "no fulfillment_url") {
		t.Errorf("buyers purchase of a trial = exit %d, %q, %q; want the free-trial field and a warning that demo-product has no fulfillment URL", r.code, r.stdout, r.stderr)
	}
	h.wantExit(t, exitError, "one trial per buyer", "buyers", "purchase", "--buyer", catalog.DemoBuyerAccount1, "--offer", catalog.DemoTrialOffer)
}

func (h *cliHarness) testEntitlements(t *testing.T) {
	var es []meterd.Entitlement
	h.json(t, &es, "entitlements", "list", "--product", "demo-product", "--customer", catalog.DemoCustomer2)
	if len(es) != 2 || es[0].Dimension != "premium" || es[0].BooleanValue == nil || !*es[0].BooleanValue || es[1].Dimension != "seats" || *es[1].IntegerValue != 10 {
		t.Errorf("entitlements list --customer %s = %+v, want premium true and 10 seats", catalog.DemoCustomer2, es)
	}
	rows := h.csv(t, "entitlements", "list", "--product", "demo-product", "--aws-account-id", catalog.DemoBuyerAccount2, "--dimension", "seats")
	if strings.Join(rows[0], ",") != "customer_identifier,customer_aws_account_id,dimension,value,expiration_date,license_arn,agreement_id" ||
		len(rows) != 2 || rows[1][3] != "10" || rows[1][5] != es[1].LicenseArn {
		t.Errorf("entitlements list --output csv = %q, want the header and 10 seats", rows)
	}
	h.json(t, &es, "entitlements", "list", "--product", "demo-product", "--license", "arn:aws:license-manager::111122223333:license:l-none")
	if len(es) != 0 {
		t.Errorf("entitlements list of an unknown license = %+v, want none", es)
	}
}

func (h *cliHarness) testEvents(t *testing.T) {
	var events []meterd.Event
	h.json(t, &events, "events", "list", "--product", "demo-product", "--type", "subscribe-fail")
	if len(events) != 1 || events[0].Type != "subscribe-fail" || !strings.Contains(events[0].Payload, `"action":"subscribe-fail"`) {
		t.Errorf("events list --type subscribe-fail = %+v, want the one of the failed acceptance", events)
	}
	var all []meterd.Event
	h.json(t, &all, "events", "list")
	for i := 1; i < len(all); i++ {
		if all[i].Seq <= all[i-1].Seq {
			t.Fatalf("events list is not in seq order at %d: %d after %d", i, all[i].Seq, all[i-1].Seq)
		}
	}
	var after []meterd.Event
	h.json(t, &after, "events", "list", "--after", "5")
	if len(after) != len(all)-5 || after[0].Seq != all[5].Seq {
		t.Errorf("events list --after 5 = %d events from %d, want %d from %d", len(after), after[0].Seq, len(all)-5, all[5].Seq)
	}
	if table := h.ok(t, "events", "list", "--type", "License Deprovisioned - Manufacturer"); !strings.Contains(table, "SEQ") || strings.Count(table, "License Deprovisioned") != 2 {
		t.Errorf("events list --type 'License Deprovisioned - Manufacturer' = %q, want the 2 of the cancel and the terminate (a replacement keeps its license)", table)
	}
}

// testTail runs events tail in this process with a context it cancels once
// the tail printed the events of an acceptance made meanwhile.
func (h *cliHarness) testTail(t *testing.T) {
	var all []meterd.Event
	h.json(t, &all, "events", "list")
	last := all[len(all)-1].Seq
	t.Setenv("METERD_SERVER", h.srv.URL)
	t.Setenv("METERD_DATA", h.srv.Data)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan int)
	go func() {
		var stderr strings.Builder
		code := run(ctx, []string{"events", "tail", "--product", "demo-product", "--after", strconv.FormatInt(last, 10)}, pw, &stderr)
		pw.CloseWithError(io.EOF)
		done <- code
	}()
	var a meterd.Agreement
	h.json(t, &a, "agreements", "accept", "--buyer", catalog.DemoBuyerAccount1, "--offer", catalog.DemoUsageOffer)
	lines := bufio.NewScanner(pr)
	var got []meterd.Event
	for len(got) < 4 && lines.Scan() {
		var e meterd.Event
		if err := json.Unmarshal(lines.Bytes(), &e); err != nil {
			t.Fatalf("events tail line %q: %v", lines.Text(), err)
		}
		got = append(got, e)
	}
	cancel()
	go io.Copy(io.Discard, pr)
	if code := <-done; code != exitOK {
		t.Errorf("events tail ended by its context = exit %d, want 0", code)
	}
	if len(got) != 4 || got[0].Seq != last+1 || got[0].AgreementID != a.ID || got[3].Type != "subscribe-success" {
		t.Errorf("events tail = %+v, want the 4 events of %s after seq %d", got, a.ID, last)
	}
}

// quantity is an agreement's quantity of a dimension.
func quantity(a meterd.Agreement, dim string) int64 {
	for _, d := range a.Dimensions {
		if d.Name == dim {
			return d.Quantity
		}
	}
	return -1
}

// findTerm is the first term of the type.
func findTerm(terms []meterd.Term, typ string) (*meterd.Term, bool) {
	for i := range terms {
		if terms[i].Type == typ {
			return &terms[i], true
		}
	}
	return nil, false
}
