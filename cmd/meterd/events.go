package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"strconv"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/admin"
)

// eventsPage is how many events one admin API call fetches.
const eventsPage = 1000

// tailPoll is how often events tail asks for new events (wall time).
const tailPoll = 500 * time.Millisecond

// runEvents runs meterd events: the outbox of lifecycle events.
func runEvents(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runNoun(ctx, noun{
		name:    "events",
		summary: "the outbox of lifecycle events (SNS messages and EventBridge events), in order",
		verbs: []verb{
			{"list", "[--product C] [--type T] [--after SEQ]", "list the events", eventsList},
			{"tail", "[--product C] [--type T] [--after SEQ]", "print events as JSON lines as they happen, until Ctrl-C", eventsTail},
		},
	}, args, stdout, stderr)
}

// eventFlags declares the filters of events list and tail.
func eventFlags(c *cli, help string) (*admin.EventQuery, *flag.FlagSet) {
	fs := c.flags(help)
	q := &admin.EventQuery{}
	fs.StringVar(&q.Product, "product", "", "only this product's events")
	fs.StringVar(&q.Type, "type", "", "only this type: an SNS action (subscribe-success, ...) or an EventBridge detail-type")
	fs.Int64Var(&q.After, "after", 0, "only events after this sequence number")
	return q, fs
}

func eventsList(ctx context.Context, c *cli, args []string) error {
	q, fs := eventFlags(c, "Lists the events of the outbox in order (seq), each with its payload: the SNS\n"+
		"message or EventBridge event exactly as delivered. The table leaves the payload out.")
	client, err := c.connect(fs, args)
	if err != nil {
		return err
	}
	if q.After < 0 {
		return c.usagef("--after: %d is not a sequence number", q.After)
	}
	var all []meterd.Event
	err = eachEventPage(ctx, client, *q, func(page []meterd.Event) error {
		all = append(all, page...)
		return nil
	})
	if err != nil {
		return err
	}
	t := &table{header: []string{"seq", "created_at", "channel", "type", "product_code", "customer_identifier", "agreement_id"}}
	for _, e := range all {
		t.add(strconv.FormatInt(e.Seq, 10), timeText(e.CreatedAt), e.Channel, e.Type, e.ProductCode, e.CustomerIdentifier, e.AgreementID)
	}
	return c.print(nonNilEvents(all), t)
}

func eventsTail(ctx context.Context, c *cli, args []string) error {
	q, fs := eventFlags(c, "Prints every event of the outbox after --after (default: from the first), one JSON\n"+
		"object a line, then each new one as it is stored, until interrupted (Ctrl-C).")
	client, err := c.connect(fs, args)
	if err != nil {
		return err
	}
	if q.After < 0 {
		return c.usagef("--after: %d is not a sequence number", q.After)
	}
	enc := json.NewEncoder(c.stdout)
	for {
		err := eachEventPage(ctx, client, *q, func(page []meterd.Event) error {
			for _, e := range page {
				if err := enc.Encode(e); err != nil {
					return err
				}
				q.After = e.Seq
			}
			return nil
		})
		if ctx.Err() != nil {
			return nil // interrupted: the normal end of a tail
		}
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(tailPoll):
		}
	}
}

// eachEventPage calls fn with each page of the events q selects, in order.
func eachEventPage(ctx context.Context, client *admin.Client, q admin.EventQuery, fn func([]meterd.Event) error) error {
	q.Limit = eventsPage
	for {
		page, err := client.Events(ctx, q)
		if err != nil {
			return err
		}
		if err := fn(page); err != nil {
			return err
		}
		if len(page) < eventsPage {
			return nil
		}
		q.After = page[len(page)-1].Seq
	}
}

// nonNilEvents makes an empty list print [] rather than null.
func nonNilEvents(es []meterd.Event) []meterd.Event {
	if es == nil {
		return []meterd.Event{}
	}
	return es
}
