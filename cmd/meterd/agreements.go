package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/marketplace"
)

// acceptSynopsis is the arguments of agreements accept and buyers purchase.
const acceptSynopsis = "--buyer A --offer O [--duration P12M] [--quantity DIM=N]... [--no-auto-renew] [--start T] [--trial] [--fail] [--client-token T]"

// runAgreements runs meterd agreements: buyers' agreements on offers.
func runAgreements(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runNoun(ctx, noun{
		name:    "agreements",
		summary: "agreements: a buyer's acceptance of an offer, and its lifecycle",
		verbs: []verb{
			{"list", "[--product C] [--buyer A] [--status S] [--offer O] [--customer X]", "list agreements", agreementsList},
			{"show", "ID", "show an agreement", agreementsShow},
			{"terms", "ID", "list an agreement's accepted terms with the buyer's configuration", agreementsTerms},
			{"accept", acceptSynopsis, "accept an offer as a buyer account", agreementsAccept},
			{"amend", "ID [--quantity DIM=N]... [--auto-renew=B]", "raise an active agreement's quantities or toggle its auto-renewal", agreementsAmend},
			{"replace", "ID --offer O [--duration P12M] [--quantity DIM=N]... [--no-auto-renew] [--trial]", "replace an active agreement by one on another offer (same license)", agreementsReplace},
			{"cancel", "ID", "cancel an active agreement, as its buyer", agreementsCancel},
			{"terminate", "ID", "terminate an active agreement, as the seller or AWS", agreementsTerminate},
		},
	}, args, stdout, stderr)
}

func agreementsList(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Lists agreements, newest lineage first as the server orders them. Statuses: ACTIVE,\n" +
		"CANCELLED, EXPIRED, RENEWED, REPLACED, TERMINATED (and ARCHIVED, ROLLED_BACK, SUPERSEDED).")
	var q admin.AgreementQuery
	fs.StringVar(&q.Product, "product", "", "only this product's agreements")
	fs.StringVar(&q.Buyer, "buyer", "", "only this buyer account's agreements")
	fs.StringVar(&q.Status, "status", "", "only agreements in this status")
	fs.StringVar(&q.Offer, "offer", "", "only agreements on this offer")
	fs.StringVar(&q.Customer, "customer", "", "only this customer identifier's agreements")
	client, err := c.connect(fs, args)
	if err != nil {
		return err
	}
	q.Status = strings.ToUpper(q.Status)
	agreements, err := client.Agreements(ctx, q)
	if err != nil {
		return err
	}
	return c.print(agreements, agreementTable(agreements...))
}

func agreementsShow(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Shows an agreement; the table output adds its accepted terms.")
	return c.agreementAction(ctx, fs, args, func(client *admin.Client, id string) (*meterd.Agreement, error) {
		return client.Agreement(ctx, id)
	})
}

func agreementsTerms(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Lists an agreement's accepted terms, each with the offer's term id and the buyer's\n" +
		"configuration (duration, quantities, auto-renewal).")
	client, id, err := c.connectID(fs, args)
	if err != nil {
		return err
	}
	terms, err := client.AgreementTerms(ctx, id)
	if err != nil {
		return err
	}
	return c.print(terms, termTable(terms))
}

func agreementsAccept(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Accepts an offer as the buyer account --buyer, as the buyer's page or the Agreement\n" +
		"API would: a contract needs --duration and a --quantity per contract dimension; --fail\n" +
		"makes the acceptance fail (no agreement, the customer subscribe-failed). The same\n" +
		"--client-token again returns the agreement it made.")
	client, accept, err := acceptFlags(fs, true).connect(c, args)
	if err != nil {
		return err
	}
	out, err := client.Accept(ctx, accept)
	if err != nil {
		return err
	}
	return c.printAccept(out)
}

func agreementsAmend(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Amends an active agreement: quantities of contract dimensions up, auto-renewal on or\n" +
		"off. The agreement keeps its id and license.")
	var quantities listFlag
	var autoRenew optionalBool
	fs.Var(&quantities, "quantity", "a contract dimension's new quantity DIM=N; repeat for more")
	fs.Var(&autoRenew, "auto-renew", "renew at the end (true) or not (false)")
	var in marketplace.AmendInput
	return c.agreementAction(ctx, fs, args, func(client *admin.Client, id string) (*meterd.Agreement, error) {
		var err error
		if in.Quantities, err = parseQuantities(quantities); err != nil {
			return nil, c.usagef("--quantity: %v", err)
		}
		if in.AutoRenew = autoRenew.v; in.Quantities == nil && in.AutoRenew == nil {
			return nil, c.usagef("nothing to amend: give --quantity DIM=N or --auto-renew=B")
		}
		return client.Amend(ctx, id, in)
	})
}

func agreementsReplace(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Replaces an active agreement by a new one on --offer (intent REPLACE, same license);\n" +
		"the old one becomes REPLACED. Prints the new agreement.")
	in := acceptFlags(fs, false)
	return c.agreementAction(ctx, fs, args, func(client *admin.Client, id string) (*meterd.Agreement, error) {
		accept, err := in.input(c)
		if err != nil {
			return nil, err
		}
		return client.Replace(ctx, id, accept)
	})
}

func agreementsCancel(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Cancels an active agreement as its buyer: CANCELLED, its license deprovisioned; the\n" +
		"customer's usage is accepted for one more hour if it has no other license.")
	return c.agreementAction(ctx, fs, args, func(client *admin.Client, id string) (*meterd.Agreement, error) {
		return client.CancelAgreement(ctx, id)
	})
}

func agreementsTerminate(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Terminates an active agreement as the seller or AWS would: TERMINATED, otherwise as\n" +
		"a cancel.")
	return c.agreementAction(ctx, fs, args, func(client *admin.Client, id string) (*meterd.Agreement, error) {
		return client.TerminateAgreement(ctx, id)
	})
}

// agreementAction parses a verb whose one argument is an agreement id,
// runs act on it and prints the agreement it returns.
func (c *cli) agreementAction(ctx context.Context, fs *flag.FlagSet, args []string, act func(*admin.Client, string) (*meterd.Agreement, error)) error {
	client, id, err := c.connectID(fs, args)
	if err != nil {
		return err
	}
	a, err := act(client, id)
	if err != nil {
		return err
	}
	return c.printAgreement(a)
}

// acceptArgs are the flags of an acceptance, shared by agreements accept,
// agreements replace and buyers purchase.
type acceptArgs struct {
	in         marketplace.AcceptInput
	quantities listFlag
	start      string
	noRenew    bool
	withBuyer  bool
	fs         *flag.FlagSet
}

// acceptFlags declares the flags of an acceptance on fs; withBuyer adds
// --buyer, --start, --fail and --client-token (a replacement keeps its
// buyer and starts now).
func acceptFlags(fs *flag.FlagSet, withBuyer bool) *acceptArgs {
	a := &acceptArgs{withBuyer: withBuyer, fs: fs}
	if withBuyer {
		fs.StringVar(&a.in.Buyer, "buyer", "", "the buyer's 12-digit AWS account id (required)")
	}
	fs.StringVar(&a.in.OfferID, "offer", "", "the offer's id (required)")
	fs.StringVar(&a.in.Duration, "duration", "", "a contract duration the offer prices: P1M, P12M, P24M or P36M")
	fs.Var(&a.quantities, "quantity", "a contract dimension's quantity DIM=N; repeat for more")
	fs.BoolVar(&a.noRenew, "no-auto-renew", false, "do not renew the contract at its end (default: the offer's choice)")
	fs.BoolVar(&a.in.Trial, "trial", false, "start the offer's free trial")
	if withBuyer {
		fs.StringVar(&a.start, "start", "", "start time, RFC 3339 (default: now; in the future: a future-dated agreement)")
		fs.BoolVar(&a.in.Fail, "fail", false, "make the acceptance fail, as a declined payment would")
		fs.StringVar(&a.in.ClientToken, "client-token", "", "idempotency token: the same token returns the same agreement")
	}
	return a
}

// connect parses args, checks the acceptance's flags and returns the
// admin client and the acceptance.
func (a *acceptArgs) connect(c *cli, args []string) (*admin.Client, marketplace.AcceptInput, error) {
	if _, err := c.parse(a.fs, args, 0); err != nil {
		return nil, a.in, err
	}
	in, err := a.input(c)
	if err != nil {
		return nil, in, err
	}
	client, err := c.client()
	return client, in, err
}

// input checks the parsed flags and returns the acceptance.
func (a *acceptArgs) input(c *cli) (marketplace.AcceptInput, error) {
	in := a.in
	if a.withBuyer {
		if err := c.required("buyer", in.Buyer); err != nil {
			return in, err
		}
	}
	if err := c.required("offer", in.OfferID); err != nil {
		return in, err
	}
	var err error
	if in.Quantities, err = parseQuantities(a.quantities); err != nil {
		return in, c.usagef("--quantity: %v", err)
	}
	if a.noRenew {
		in.AutoRenew = new(bool)
	}
	in.Start, err = c.parseTimePtr("--start", a.start)
	return in, err
}

// printAccept prints an acceptance's agreement, or says that it failed.
func (c *cli) printAccept(out *admin.AcceptOutput) error {
	if out.Agreement != nil {
		return c.printAgreement(out.Agreement)
	}
	t := &table{header: []string{"failed", "customer_identifier"}}
	t.add(strconv.FormatBool(out.Failed), out.CustomerIdentifier)
	return c.print(out, t)
}

// agreementTable is one row per agreement.
func agreementTable(agreements ...meterd.Agreement) *table {
	t := &table{header: []string{"id", "status", "intent", "product_code", "offer_id", "buyer", "customer_identifier",
		"license_arn", "start_time", "end_time", "auto_renew", "previous_agreement_id"}}
	for _, a := range agreements {
		end := ""
		if a.EndTime != nil {
			end = timeText(*a.EndTime)
		}
		t.add(a.ID, a.Status, a.Intent, a.ProductCode, a.OfferID, a.BuyerAccountID, a.CustomerIdentifier,
			a.LicenseArn, timeText(a.StartTime), end, strconv.FormatBool(a.AutoRenew), a.PreviousAgreementID)
	}
	return t
}

// printAgreement prints an agreement: in a table, its row and its terms;
// in CSV, its row.
func (c *cli) printAgreement(a *meterd.Agreement) error {
	if c.output != "table" {
		return c.print(a, agreementTable(*a))
	}
	if err := writeTable(c.stdout, agreementTable(*a)); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout)
	return writeTable(c.stdout, termTable(a.Terms))
}

// configurationText shows the buyer's configuration of a term.
func configurationText(cfg *meterd.TermConfiguration) string {
	var parts []string
	if cfg.SelectorValue != "" {
		parts = append(parts, "duration="+cfg.SelectorValue)
	}
	for _, d := range cfg.Dimensions {
		parts = append(parts, fmt.Sprintf("%s=%d", d.DimensionKey, d.DimensionValue))
	}
	if cfg.EnableAutoRenew != nil {
		parts = append(parts, fmt.Sprintf("auto_renew=%t", *cfg.EnableAutoRenew))
	}
	return strings.Join(parts, ",")
}
