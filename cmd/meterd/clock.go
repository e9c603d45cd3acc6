package main

import (
	"context"
	"flag"
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
	return c.clock(fs, args, 0, func(cl *admin.Client, _ []string) (*admin.ClockState, error) {
		return cl.Clock(ctx)
	})
}

func clockSet(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Freezes the server clock at TIME, an RFC 3339 time such as 2026-11-23T07:30:00Z.\n" +
		"It stays there until \"meterd clock advance\" or \"meterd clock reset\".")
	return c.clock(fs, args, 1, func(cl *admin.Client, pos []string) (*admin.ClockState, error) {
		t, err := c.parseTime("TIME", pos[0])
		if err != nil {
			return nil, err
		}
		return cl.SetClock(ctx, t)
	})
}

func clockAdvance(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Moves the server clock by DURATION, a Go duration such as 90s or 2h; a negative\n" +
		"one such as -1h moves it back.")
	return c.clock(fs, args, 1, func(cl *admin.Client, pos []string) (*admin.ClockState, error) {
		d, err := time.ParseDuration(pos[0])
		if err != nil {
			return nil, c.usagef("DURATION: %q is not a Go duration such as 90s or 2h", pos[0])
		}
		return cl.AdvanceClock(ctx, d)
	})
}

func clockReset(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Returns the server clock to real time.")
	return c.clock(fs, args, 0, func(cl *admin.Client, _ []string) (*admin.ClockState, error) {
		return cl.ResetClock(ctx)
	})
}

// clock parses a clock verb's arguments, calls do and prints the clock.
func (c *cli) clock(fs *flag.FlagSet, args []string, npos int, do func(*admin.Client, []string) (*admin.ClockState, error)) error {
	pos, err := c.parse(fs, args, npos)
	if err != nil {
		return err
	}
	client, err := c.client()
	if err != nil {
		return err
	}
	s, err := do(client, pos)
	if err != nil {
		return err
	}
	return c.print(s, clockTable(s))
}

func clockTable(s *admin.ClockState) *table {
	t := &table{header: []string{"now", "frozen"}}
	t.add(s.Now.UTC().Format(time.RFC3339Nano), strconv.FormatBool(s.Frozen))
	return t
}
