package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/marketplace"
)

// runOffers runs meterd offers: what buyers accept to make agreements.
func runOffers(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runNoun(ctx, noun{
		name:    "offers",
		summary: "offers of a product (pay as you go, contracts, free trials) and their terms",
		verbs: []verb{
			{"list", "[--product C]", "list the offers", offersList},
			{"show", "ID", "show an offer and its terms", offersShow},
			{"create", "--product C --pricing usage|contract|contract-with-consumption|free-trial [--duration P12M=DIM:PRICE,...]... " +
				"[--trial P30D [--trial-grant DIM=N]... [--trial-converts=false]] [--private --buyer A...] [--eula-url U] [--refund-policy TEXT]",
				"create an offer", offersCreate},
		},
	}, args, stdout, stderr)
}

func offersList(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Lists the offers, of every product or of one.")
	product := fs.String("product", "", "only this product's offers")
	client, err := c.connect(fs, args)
	if err != nil {
		return err
	}
	offers, err := client.Offers(ctx, *product)
	if err != nil {
		return err
	}
	return c.print(offers, offerTable(offers...))
}

func offersShow(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Shows an offer. The table and CSV outputs have one row per term.")
	client, id, err := c.connectID(fs, args)
	if err != nil {
		return err
	}
	o, err := client.Offer(ctx, id)
	if err != nil {
		return err
	}
	return c.printOffer(o)
}

func offersCreate(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Creates an offer of a product. Pricing usage charges the product's usage dimensions;\n" +
		"contract sells its contract dimensions for a duration, priced by --duration\n" +
		"(P1M, P12M, P24M or P36M = a price per unit of each contract dimension), for example\n" +
		"--duration P12M=seats:120,premium:1000 --duration P1M=seats:12,premium:100;\n" +
		"contract-with-consumption adds the usage dimensions as overage; free-trial is a\n" +
		"trial (--trial P30D, with --trial-grant DIM=N) before the offer's paid terms.")
	var in admin.OfferInput
	var durations, grants, buyers listFlag
	var trial, agreementDuration, start string
	var private, noAutoRenew bool
	converts := optionalBool{}
	fs.StringVar(&in.Product, "product", "", "product code (required)")
	fs.StringVar(&in.Pricing, "pricing", "", "usage, contract, contract-with-consumption or free-trial (required)")
	fs.StringVar(&in.ID, "id", "", "offer id, offer- and 13 lowercase letters or digits (default: generated)")
	fs.StringVar(&in.Name, "name", "", "the offer's name (default: after its pricing)")
	fs.Var(&durations, "duration", "a contract duration and its prices, DURATION=DIM:PRICE,...; repeat for more")
	fs.BoolVar(&noAutoRenew, "no-auto-renew", false, "contracts: the buyer's default is not to renew")
	fs.StringVar(&trial, "trial", "", "a free trial of this length, such as P30D")
	fs.Var(&grants, "trial-grant", "a trial's grant DIM=N (N 0: unlimited); repeat for more")
	fs.Var(&converts, "trial-converts", "whether the paid terms start when the trial ends (default true)")
	fs.BoolVar(&private, "private", false, "a private offer, for the accounts given by --buyer only")
	fs.Var(&buyers, "buyer", "a buyer account a private offer allows; repeat for more")
	fs.StringVar(&in.EULA, "eula-url", "", "the EULA document's URL (default: AWS's standard contract)")
	fs.StringVar(&in.Refund, "refund-policy", "", "the support term's refund policy text")
	fs.StringVar(&agreementDuration, "agreement-duration", "", "a fixed agreement duration, such as P12M (a ValidityTerm)")
	fs.StringVar(&start, "start", "", "a fixed agreement start date, RFC 3339 (a ValidityTerm; in the future: future-dated agreements)")
	if _, err := c.parse(fs, args, 0); err != nil {
		return err
	}
	if err := c.required("product", in.Product, "pricing", in.Pricing); err != nil {
		return err
	}
	var err error
	if in.Durations, err = parseDurations(durations); err != nil {
		return c.usagef("--duration: %v", err)
	}
	if noAutoRenew {
		in.AutoRenew = new(bool)
	}
	if trial != "" {
		in.Trial = &marketplace.TrialSpec{Duration: trial, Converts: converts.v}
		if in.Trial.Grants, err = parseQuantities(grants); err != nil {
			return c.usagef("--trial-grant: %v", err)
		}
	} else if len(grants) > 0 || converts.v != nil {
		return c.usagef("--trial-grant and --trial-converts need --trial")
	}
	switch {
	case private:
		in.Visibility = meterd.VisibilityPrivate
	case len(buyers) > 0:
		return c.usagef("--buyer needs --private: a public offer is for every buyer")
	}
	in.Buyers = buyers
	in.AgreementDuration = agreementDuration
	if in.StartDate, err = c.parseTimePtr("--start", start); err != nil {
		return err
	}
	client, err := c.client()
	if err != nil {
		return err
	}
	o, err := client.CreateOffer(ctx, in)
	if err != nil {
		return err
	}
	return c.printOffer(o)
}

// parseDurations parses DURATION=DIM:PRICE,... flags into the catalog's
// durations map.
func parseDurations(flags []string) (map[string]map[string]string, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	out := map[string]map[string]string{}
	for _, f := range flags {
		dur, list, ok := strings.Cut(f, "=")
		if !ok || dur == "" || list == "" {
			return nil, fmt.Errorf("%q is not DURATION=DIM:PRICE,..., such as P12M=seats:120", f)
		}
		if _, dup := out[dur]; dup {
			return nil, fmt.Errorf("duration %s given twice", dur)
		}
		prices := map[string]string{}
		for _, item := range strings.Split(list, ",") {
			dim, price, ok := strings.Cut(item, ":")
			if !ok || dim == "" || price == "" {
				return nil, fmt.Errorf("%q in %q is not DIM:PRICE, such as seats:120", item, f)
			}
			prices[dim] = price
		}
		out[dur] = prices
	}
	return out, nil
}

// parseQuantities parses DIM=N flags.
func parseQuantities(flags []string) (map[string]int64, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	out := map[string]int64{}
	for _, f := range flags {
		dim, n, ok := strings.Cut(f, "=")
		q, err := strconv.ParseInt(n, 10, 64)
		if !ok || dim == "" || err != nil || q < 0 {
			return nil, fmt.Errorf("%q is not DIM=N with N a whole number of 0 or more, such as seats=10", f)
		}
		if _, dup := out[dim]; dup {
			return nil, fmt.Errorf("dimension %s given twice", dim)
		}
		out[dim] = q
	}
	return out, nil
}

// optionalBool is a boolean flag that tells unset apart from false.
type optionalBool struct{ v *bool }

func (b *optionalBool) IsBoolFlag() bool { return true }
func (b *optionalBool) String() string {
	if b == nil || b.v == nil {
		return ""
	}
	return strconv.FormatBool(*b.v)
}
func (b *optionalBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("%q is not true or false", s)
	}
	b.v = &v
	return nil
}

// offerTable is one row per offer.
func offerTable(offers ...meterd.Offer) *table {
	t := &table{header: []string{"id", "product_code", "name", "pricing", "visibility", "buyers", "agreement_proposal_id", "default"}}
	for _, o := range offers {
		t.add(o.ID, o.ProductCode, o.Name, o.Pricing, o.Visibility, strings.Join(o.Buyers, ","), o.AgreementProposalID, strconv.FormatBool(o.Default))
	}
	return t
}

// printOffer prints an offer: in a table, its row and then its terms; in
// CSV, one row per term.
func (c *cli) printOffer(o *meterd.Offer) error {
	terms := termTable(o.Terms)
	if c.output != "table" {
		csv := &table{header: append([]string{"offer_id"}, terms.header...)}
		for _, r := range terms.rows {
			csv.add(append([]string{o.ID}, r...)...)
		}
		return c.print(o, csv)
	}
	if err := writeTable(c.stdout, offerTable(*o)); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout)
	return writeTable(c.stdout, terms)
}

// termTable is one row per term, its own fields in one column.
func termTable(terms []meterd.Term) *table {
	t := &table{header: []string{"term_id", "type", "details"}}
	for _, term := range terms {
		t.add(term.ID, term.Type, termDetails(term))
	}
	return t
}

// termDetails sums up a term's fields and the buyer's configuration.
func termDetails(t meterd.Term) string {
	var parts []string
	add := func(format string, args ...any) { parts = append(parts, fmt.Sprintf(format, args...)) }
	for _, r := range t.RateCard {
		add("%s:%s", r.DimensionKey, orText(r.Price, "unpriced"))
	}
	for _, card := range t.RateCards {
		items := make([]string, len(card.RateCard))
		for i, r := range card.RateCard {
			items[i] = r.DimensionKey + ":" + r.Price
		}
		add("%s=%s", card.Duration, strings.Join(items, ","))
	}
	if t.Duration != "" {
		add("duration=%s", t.Duration)
	}
	for _, g := range t.Grants {
		add("grant %s=%d", g.DimensionKey, g.MaxQuantity)
	}
	if t.Converts != nil {
		add("converts=%t", *t.Converts)
	}
	for _, d := range t.Documents {
		add("%s %s", d.Type, d.URL)
	}
	if t.RefundPolicy != "" {
		add("refund policy: %s", t.RefundPolicy)
	}
	if t.AutoRenew != nil {
		add("auto_renew=%t", *t.AutoRenew)
	}
	if t.AgreementDuration != "" {
		add("agreement_duration=%s", t.AgreementDuration)
	}
	if t.AgreementStartDate != nil {
		add("start=%s", timeText(*t.AgreementStartDate))
	}
	if cfg := t.Configuration; cfg != nil {
		add("configuration %s", configurationText(cfg))
	}
	return strings.Join(parts, " ")
}

// orText is s, or def when s is empty.
func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// parseTimePtr is parseTime for an optional time: nil when s is empty.
func (c *cli) parseTimePtr(name, s string) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	t, err := c.parseTime(name, s)
	return &t, err
}
