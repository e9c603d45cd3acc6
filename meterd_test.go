package meterd

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestErrorCode(t *testing.T) {
	tests := []struct {
		name string
		err  error
		code string
		msg  string
	}{
		{"Nil", nil, "", ""},
		{"Error", Errorf(EInvalidTag, "bad tag %q", "k"), EInvalidTag, `bad tag "k"`},
		{"Wrapped", fmt.Errorf("store: %w", Errorf(ENotFound, "no such key")), ENotFound, "no such key"},
		{"Internal", errors.New("disk on fire"), EInternal, "An internal error has occurred."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ErrorCode(tc.err); got != tc.code {
				t.Errorf("ErrorCode() = %q, want %q", got, tc.code)
			}
			if got := ErrorMessage(tc.err); got != tc.msg {
				t.Errorf("ErrorMessage() = %q, want %q", got, tc.msg)
			}
		})
	}
}

func TestServerClock(t *testing.T) {
	var c ServerClock
	if d := time.Since(c.Now()); d < -time.Second || d > time.Second || c.Frozen() {
		t.Fatalf("zero ServerClock = %v, want real time", c.Now())
	}
	at := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	c.Set(at)
	c.Advance(90 * time.Second)
	if got, want := c.Now(), at.Add(90*time.Second); !got.Equal(want) || !c.Frozen() {
		t.Errorf("Set+Advance = %v, want frozen at %v", got, want)
	}
	c.Reset()
	c.Advance(2 * time.Hour)
	if d := c.Now().Sub(time.Now()); d < 2*time.Hour-time.Second || d > 2*time.Hour+time.Second {
		t.Errorf("Reset+Advance(2h) = now%+v, want now+2h", d)
	}
}

func TestCustomerEffectiveStatus(t *testing.T) {
	at := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	c := &Customer{Status: StatusUnsubscribePending, StatusChangedAt: at}
	if got := c.EffectiveStatus(at.Add(59 * time.Minute)); got != StatusUnsubscribePending || !c.CanMeter(at.Add(59*time.Minute)) {
		t.Errorf("status after 59m = %q, want %q and meterable", got, StatusUnsubscribePending)
	}
	if got := c.EffectiveStatus(at.Add(time.Hour)); got != StatusUnsubscribed || c.CanMeter(at.Add(time.Hour)) {
		t.Errorf("status after 1h = %q, want %q and not meterable", got, StatusUnsubscribed)
	}
	if (&Customer{Status: StatusSuspended}).CanMeter(at) {
		t.Error("suspended customer can meter, want not")
	}
}

func TestCanonicalAllocations(t *testing.T) {
	q := func(n int64) *int64 { return &n }
	a := []UsageAllocation{
		{AllocatedUsageQuantity: q(4)},
		{AllocatedUsageQuantity: q(6), Tags: []Tag{{"b", "2"}, {"a", "1"}}},
	}
	b := []UsageAllocation{
		{AllocatedUsageQuantity: q(6), Tags: []Tag{{"a", "1"}, {"b", "2"}}},
		{AllocatedUsageQuantity: q(4)},
	}
	if CanonicalAllocations(a) != CanonicalAllocations(b) {
		t.Errorf("CanonicalAllocations differ for the same set in another order:\n%s\n%s", CanonicalAllocations(a), CanonicalAllocations(b))
	}
	b[1].AllocatedUsageQuantity = q(5)
	if CanonicalAllocations(a) == CanonicalAllocations(b) {
		t.Error("CanonicalAllocations equal for different quantities")
	}
	back, err := ParseCanonicalAllocations(CanonicalAllocations(a))
	if err != nil || CanonicalAllocations(back) != CanonicalAllocations(a) {
		t.Errorf("ParseCanonicalAllocations round trip = %v, %v", back, err)
	}
}

// TestPlanSummaryRanges checks that the signed ranges of every window cover
// each hour inside it exactly once and every hour outside it not at all,
// and that a month is read from the monthly rollup.
func TestPlanSummaryRanges(t *testing.T) {
	base := time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC).Unix()
	const hour = 3600
	bounds := []int64{NoFrom, base, base + 11*hour, base + 13*hour, base + 24*hour, base + 29*24*hour + 5*hour, base + 60*24*hour, NoTo}
	lo, hi := base-40*24*hour, base+100*24*hour // the hours the check looks at
	for _, from := range bounds[:len(bounds)-1] {
		for _, to := range bounds[1:] {
			plan := PlanSummaryRanges(from, to)
			for h := lo; h < hi; h += hour {
				var n int64
				for _, r := range plan {
					if h >= r.From && h < r.To {
						n += r.Sign
					}
				}
				want := int64(0)
				if h >= from && h < to {
					want = 1
				}
				if n != want {
					t.Fatalf("PlanSummaryRanges(%d, %d) counts hour %s %d times, want %d (plan %+v)",
						from, to, time.Unix(h, 0).UTC().Format(time.RFC3339), n, want, plan)
				}
			}
		}
	}
	feb := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC).Unix()
	mar := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).Unix()
	got := PlanSummaryRanges(feb+2*hour, mar-hour)
	want := SummaryRange{Grain: GrainMonth, From: feb, To: mar, Sign: 1}
	if len(got) == 0 || got[0] != want {
		t.Errorf("PlanSummaryRanges(February less 3 hours) = %+v, want first %+v", got, want)
	}
}

// TestWidenSummaryWindow: an end is left open only where the rollups hold
// no hour beyond it; the hour at first or last is inside the rollups.
func TestWidenSummaryWindow(t *testing.T) {
	const hour = 3600
	first, last := int64(100*hour), int64(200*hour)
	for _, c := range []struct{ from, to, wantFrom, wantTo int64 }{
		{first, last + hour, NoFrom, NoTo},
		{first - hour, last + 2*hour, NoFrom, NoTo},
		{first + hour, last, first + hour, last},
		{NoFrom, NoTo, NoFrom, NoTo},
		{first + hour, last + hour, first + hour, NoTo},
		{first, last, NoFrom, last},
	} {
		if from, to := WidenSummaryWindow(c.from, c.to, first, last); from != c.wantFrom || to != c.wantTo {
			t.Errorf("WidenSummaryWindow(%d, %d) = %d, %d, want %d, %d", c.from, c.to, from, to, c.wantFrom, c.wantTo)
		}
	}
}

// TestServerClockChange: a change names exactly one of set, advance or
// reset; anything else is EInvalid and leaves the clock where it was.
func TestServerClockChange(t *testing.T) {
	at := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name    string
		change  ClockChange
		want    ClockState // zero Now: following the wall clock
		wantErr string
	}{
		{"set", ClockChange{Set: &at}, ClockState{Now: at, Frozen: true}, ""},
		{"advance", ClockChange{Advance: "90m"}, ClockState{Now: at.Add(150 * time.Minute), Frozen: true}, ""},
		{"reset", ClockChange{Reset: true}, ClockState{}, ""},
		{"none", ClockChange{}, ClockState{Now: at.Add(time.Hour), Frozen: true}, "exactly one"},
		{"two", ClockChange{Set: &at, Reset: true}, ClockState{Now: at.Add(time.Hour), Frozen: true}, "exactly one"},
		{"bad duration", ClockChange{Advance: "soon"}, ClockState{Now: at.Add(time.Hour), Frozen: true}, "not a duration"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var c ServerClock
			c.Set(at.Add(time.Hour))
			err := c.Change(tt.change)
			if tt.wantErr != "" {
				if ErrorCode(err) != EInvalid || !strings.Contains(ErrorMessage(err), tt.wantErr) {
					t.Fatalf("Change(%+v) = %v, want %s with %q", tt.change, err, EInvalid, tt.wantErr)
				}
			} else if err != nil {
				t.Fatalf("Change(%+v) = %v, want nil", tt.change, err)
			}
			got := c.State()
			if tt.want.Now.IsZero() {
				if got.Frozen || time.Since(got.Now).Abs() > time.Minute {
					t.Errorf("State() = %+v, want the wall clock", got)
				}
			} else if got != tt.want {
				t.Errorf("State() = %+v, want %+v", got, tt.want)
			}
		})
	}
}
