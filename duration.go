package meterd

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Day is 24 hours, the unit "d" of ParseDuration.
const Day = 24 * time.Hour

// ParseDuration parses a Go duration ("90s", "6h", "1h30m") that may start
// with a number of days ("35d", "400d", "1d12h"), as retention periods are
// written. A number without a unit is refused with a message saying so
// ("6": missing unit, e.g. 6h), rather than Go's `time: missing unit in
// duration "6"`.
func ParseDuration(s string) (time.Duration, error) {
	rest, sign := s, time.Duration(1)
	if r, ok := strings.CutPrefix(rest, "-"); ok {
		rest, sign = r, -1
	} else {
		rest = strings.TrimPrefix(rest, "+")
	}
	var days time.Duration
	i := strings.IndexByte(rest, 'd')
	if i >= 0 {
		n, err := strconv.ParseInt(rest[:i], 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%q is not a duration such as 90s, 6h or 35d: days must be a whole number", s)
		}
		if n > int64(math.MaxInt64/Day) {
			return 0, fmt.Errorf("%q is too long a duration", s)
		}
		days, rest = time.Duration(n)*Day, rest[i+1:]
	}
	var d time.Duration
	if rest != "" || i < 0 {
		var err error
		if d, err = time.ParseDuration(rest); err != nil {
			if _, numErr := strconv.ParseFloat(rest, 64); numErr == nil {
				return 0, fmt.Errorf("%q: missing unit, e.g. %sh", s, s)
			}
			return 0, fmt.Errorf("%q is not a duration such as 90s, 6h or 35d", s)
		}
		if d < 0 || strings.HasPrefix(rest, "+") {
			return 0, fmt.Errorf("%q is not a duration such as 90s, 6h or 35d: one sign, first", s)
		}
	}
	if d > math.MaxInt64-days {
		return 0, fmt.Errorf("%q is too long a duration", s)
	}
	return sign * (days + d), nil
}

// FormatDuration writes d as ParseDuration reads it: whole days as "35d",
// anything else as Go does ("6h0m0s").
func FormatDuration(d time.Duration) string {
	if d != 0 && d%Day == 0 {
		return strconv.FormatInt(int64(d/Day), 10) + "d"
	}
	return d.String()
}
