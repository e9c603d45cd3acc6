package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/meterd/meterd/admin"
)

// runFaults runs meterd faults: the fault rules of a running server, which
// make the Metering API fail on purpose to test a client's retry code.
func runFaults(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runNoun(ctx, noun{
		name:    "faults",
		summary: "fault rules: injected errors, unprocessed records, latency, dropped responses",
		verbs: []verb{
			{"list", "", "list the fault rules in force", faultsList},
			{"add", "--operation OP [--product C] [--customer X] [--dimension D] [--account A] " +
				"(--error CODE | --unprocessed FRACTION | --latency D | --drop-response | --duplicate) [--probability P] [--count N]",
				"add a fault rule", faultsAdd},
			{"delete", "ID", "delete a fault rule", faultsDelete},
			{"clear", "", "delete every fault rule", faultsClear},
		},
	}, args, stdout, stderr)
}

func faultsList(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Lists the fault rules in force on the server, in the order they apply.")
	if _, err := c.parse(fs, args, 0); err != nil {
		return err
	}
	client, err := c.client()
	if err != nil {
		return err
	}
	rules, err := client.Faults(ctx)
	if err != nil {
		return err
	}
	return c.print(rules, faultTable(rules...))
}

const faultsAddHelp = `Adds a fault rule. It matches requests of --operation, narrowed by any of
--product, --customer (CustomerIdentifier or CustomerAWSAccountId of a record;
for MeterUsage and RegisterUsage the calling buyer's account), --dimension and
--account (the caller's AWS account), and has exactly one effect:

  --error CODE           answer this exception, such as ThrottlingException (400)
                         or InternalServiceErrorException (500); nothing is stored
  --unprocessed F        BatchMeterUsage: move each matching record to
                         UnprocessedRecords with probability F; those are not stored
  --latency D            delay the request by D, such as 2s
  --drop-response        store the records, then close the connection unanswered

With --operation Notify the rule acts on deliveries of lifecycle events
(SNS messages, EventBridge events) instead, matched by --product, --customer
(the event's) and --account (the receiving seller): --drop-response loses the
delivery (recorded failed, "meterd deliveries retry" re-sends it), --latency D
holds it back D before its first attempt (later ones of its customer wait;
other customers' overtake it), --duplicate sends it twice with one MessageId.

--probability P affects a matching request with chance P (default 1); --count N
deletes the rule after N affected requests (default unlimited). Draws come from
the server's --fault-seed, so a run with the same seed is reproducible.`

func faultsAdd(ctx context.Context, c *cli, args []string) error {
	fs := c.flags(faultsAddHelp)
	var in admin.FaultSpec
	fs.StringVar(&in.Operation, "operation", "", "an operation served: BatchMeterUsage, MeterUsage, RegisterUsage, ResolveCustomer, GetEntitlements, an Agreement Service, Catalog API (DescribeEntity, ListEntities) or SQS operation (required)")
	fs.StringVar(&in.Product, "product", "", "match this product code")
	fs.StringVar(&in.Customer, "customer", "", "match this customer identifier or customer AWS account id")
	fs.StringVar(&in.Dimension, "dimension", "", "match this dimension")
	fs.StringVar(&in.Account, "account", "", "match this caller AWS account")
	fs.StringVar(&in.Error, "error", "", "answer this exception, such as ThrottlingException")
	fs.Float64Var(&in.Unprocessed, "unprocessed", 0, "fraction of matching BatchMeterUsage records to leave unprocessed")
	fs.StringVar(&in.Latency, "latency", "", "delay, such as 250ms or 2s")
	fs.BoolVar(&in.DropResponse, "drop-response", false, "store the records, then close the connection without an answer (Notify: lose the delivery)")
	fs.BoolVar(&in.Duplicate, "duplicate", false, "Notify: send the delivery twice")
	fs.Float64Var(&in.Probability, "probability", 1, "chance that a matching request is affected")
	fs.Int64Var(&in.Count, "count", 0, "delete the rule after this many affected requests (0: unlimited)")
	client, err := c.connect(fs, args, "operation")
	if err != nil {
		return err
	}
	r, err := client.AddFault(ctx, in)
	if err != nil {
		return err
	}
	return c.print(r, faultTable(*r))
}

func faultsDelete(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Deletes the fault rule with the id \"meterd faults list\" shows.")
	client, id, err := c.connectID(fs, args)
	if err != nil {
		return err
	}
	return client.DeleteFault(ctx, id)
}

func faultsClear(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Deletes every fault rule.")
	if _, err := c.parse(fs, args, 0); err != nil {
		return err
	}
	client, err := c.client()
	if err != nil {
		return err
	}
	return client.ClearFaults(ctx)
}

func faultTable(rules ...admin.FaultRule) *table {
	t := &table{header: []string{"id", "operation", "match", "effect", "probability", "count", "hits"}}
	for _, r := range rules {
		var match []string
		for _, kv := range [][2]string{{"product", r.Product}, {"customer", r.Customer}, {"dimension", r.Dimension}, {"account", r.Account}} {
			if kv[1] != "" {
				match = append(match, kv[0]+"="+kv[1])
			}
		}
		var effect string
		switch {
		case r.Error != "":
			effect = "error " + r.Error
		case r.Unprocessed != 0:
			effect = "unprocessed " + strconv.FormatFloat(r.Unprocessed, 'g', -1, 64)
		case r.Latency != "":
			effect = "latency " + r.Latency
		case r.DropResponse:
			effect = "drop-response"
		case r.Duplicate:
			effect = "duplicate"
		}
		p, count := r.Probability, "unlimited"
		if p == 0 {
			p = 1
		}
		if r.Count != 0 {
			count = strconv.FormatInt(r.Count, 10)
		}
		t.add(r.ID, r.Operation, strings.Join(match, ","), effect, strconv.FormatFloat(p, 'g', -1, 64), count, fmt.Sprint(r.Hits))
	}
	return t
}
