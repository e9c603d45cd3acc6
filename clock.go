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

// Hour returns t truncated to the start of its UTC hour: the bucket of the
// duplicate rules.
func Hour(t time.Time) time.Time { return t.UTC().Truncate(time.Hour) }
