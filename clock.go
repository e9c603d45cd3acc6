package meterd

import (
	"sync"
	"time"
)

// Clock is the time every metering rule reads: past window, future skew, hour
// buckets, token expiry, the unsubscribe lifecycle. Transport concerns (SigV4
// skew, Date headers, quotas, timeouts) use wall time instead.
type Clock interface {
	Now() time.Time
}

// WallClock is real time.
type WallClock struct{}

// Now returns time.Now in UTC.
func (WallClock) Now() time.Time { return time.Now().UTC() }

// ServerClock is the server's settable clock: real time shifted by an offset,
// or frozen at a fixed instant. The zero value follows real time.
type ServerClock struct {
	mu     sync.Mutex
	offset time.Duration
	frozen *time.Time
}

// Now returns the server time in UTC.
func (c *ServerClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen != nil {
		return *c.frozen
	}
	return time.Now().UTC().Add(c.offset)
}

// Set freezes the clock at t; it stays there until advanced or reset.
func (c *ServerClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t = t.UTC()
	c.frozen = &t
}

// Advance moves the clock forward (or back, for a negative d).
func (c *ServerClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen != nil {
		t := c.frozen.Add(d)
		c.frozen = &t
		return
	}
	c.offset += d
}

// Reset returns the clock to real time.
func (c *ServerClock) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.frozen, c.offset = nil, 0
}

// Frozen reports whether the clock is stopped at a set time.
func (c *ServerClock) Frozen() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.frozen != nil
}

// ClockState is what a ServerClock reads: its time, and whether it is
// frozen (set) rather than following the wall clock.
type ClockState struct {
	Now    time.Time `json:"now"`
	Frozen bool      `json:"frozen"`
}

// State returns the clock's time and whether it is frozen.
func (c *ServerClock) State() ClockState {
	return ClockState{Now: c.Now(), Frozen: c.Frozen()}
}

// ClockChange moves a ServerClock: exactly one of Set (freezes it at that
// time), Advance (a Go duration such as 90s or 2h) or Reset (back to the
// wall clock). It is the body of the admin API's and the relay's clock
// endpoints.
type ClockChange struct {
	Set     *time.Time `json:"set,omitempty"`
	Advance string     `json:"advance,omitempty"`
	Reset   bool       `json:"reset,omitempty"`
}

// Change applies ch. A change that names not exactly one of its fields, an
// Advance that is not a duration, or one that would move the clock out of
// 1970-01-01..9999-12-31, is an EInvalid error and moves nothing.
func (c *ServerClock) Change(ch ClockChange) error {
	n := 0
	for _, given := range []bool{ch.Set != nil, ch.Advance != "", ch.Reset} {
		if given {
			n++
		}
	}
	if n != 1 {
		return Errorf(EInvalid, "give exactly one of set, advance or reset")
	}
	switch {
	case ch.Set != nil:
		if err := checkClockRange("set", *ch.Set); err != nil {
			return err
		}
		c.Set(*ch.Set)
	case ch.Advance != "":
		d, err := time.ParseDuration(ch.Advance)
		if err != nil {
			return Errorf(EInvalid, "advance: %q is not a duration such as 90s or 2h", ch.Advance)
		}
		if err := checkClockRange("advance", c.Now().Add(d)); err != nil {
			return err
		}
		c.Advance(d)
	default:
		c.Reset()
	}
	return nil
}

// The range a ServerClock may be moved in: the unix epoch, before which
// the stores' millisecond times turn negative, to the last year that
// RFC 3339 (and so every JSON answer naming the time) can write.
var (
	minClock = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	maxClock = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
)

// checkClockRange refuses a clock time outside minClock..maxClock.
func checkClockRange(field string, t time.Time) error {
	if t.Before(minClock) || t.After(maxClock) {
		return Errorf(EInvalid, "%s: the clock must stay between 1970-01-01 and 9999-12-31, not %s",
			field, t.UTC().Format("2006-01-02T15:04:05Z"))
	}
	return nil
}

// Hour returns t truncated to the start of its UTC hour: the bucket of the
// duplicate rules.
func Hour(t time.Time) time.Time { return t.UTC().Truncate(time.Hour) }
