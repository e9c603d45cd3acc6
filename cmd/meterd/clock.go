package main

import (
	"context"
	"io"
	"strconv"
	"time"

	"github.com/meterd/meterd/admin"
)

// runClock runs meterd clock: the server clock that every metering rule
// reads (windows, hours, token expiry, the unsubscribe hour).
func runClock(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runNoun(ctx, noun{
		name:    "clock",
		summary: "the server clock, for tests",
		verbs: []verb{
			{"show", "", "print the server clock", clockShow},
			{"set", "TIME", "freeze the server clock at TIME (RFC 3339)", clockSet},
			{"advance", "DURATION", "move the server clock by DURATION (Go syntax, may be negative)", clockAdvance},
			{"reset", "", "return the server clock to real time", clockReset},
		},
	}, args, stdout, stderr)
}

func clockShow(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Prints the server clock's now and whether it is frozen (set by a test).")
	if _, err := c.parse(fs, args, 0); err != nil {
		return err
	}
	return c.clock(func(cl *admin.Client) (*admin.ClockState, error) { return cl.Clock(ctx) })
}

func clockSet(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Freezes the server clock at TIME, an RFC 3339 time such as 2026-11-23T07:30:00Z.\n" +
		"It stays there until \"meterd clock advance\" or \"meterd clock reset\".")
	pos, err := c.parse(fs, args, 1)
	if err != nil {
		return err
	}
	t, err := c.parseTime("TIME", pos[0])
	if err != nil {
		return err
	}
	return c.clock(func(cl *admin.Client) (*admin.ClockState, error) { return cl.SetClock(ctx, t) })
}

func clockAdvance(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Moves the server clock by DURATION, a Go duration such as 90s or 2h; a negative\n" +
		"one such as -1h moves it back.")
	pos, err := c.parse(fs, args, 1)
	if err != nil {
		return err
	}
	d, err := time.ParseDuration(pos[0])
	if err != nil {
		return c.usagef("DURATION: %q is not a Go duration such as 90s or 2h", pos[0])
	}
	return c.clock(func(cl *admin.Client) (*admin.ClockState, error) { return cl.AdvanceClock(ctx, d) })
}

func clockReset(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Returns the server clock to real time.")
	if _, err := c.parse(fs, args, 0); err != nil {
		return err
	}
	return c.clock(func(cl *admin.Client) (*admin.ClockState, error) { return cl.ResetClock(ctx) })
}

// clock calls do with the admin client and prints the clock it returns.
func (c *cli) clock(do func(*admin.Client) (*admin.ClockState, error)) error {
	client, err := c.client()
	if err != nil {
		return err
	}
	s, err := do(client)
	if err != nil {
		return err
	}
	t := &table{header: []string{"now", "frozen"}}
	t.add(s.Now.UTC().Format(time.RFC3339Nano), strconv.FormatBool(s.Frozen))
	return c.print(s, t)
}
