package console

import (
	"cmp"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/meterd/meterd/awsjson"
)

// Bounds of the requests kept in memory.
const (
	tailBacklog     = 200 // recent requests a new live tail starts with
	tailBuffer      = 256 // requests queued for one slow reader before it misses some
	maxTailReaders  = 32  // live tails open at once
	errorHoursKept  = 24  // hours of error counts kept for the dashboard
	maxCodesPerHour = 64  // distinct error codes counted in one hour; more count as "other"
)

// apiRequest is one answered AWS API request as the live tail shows it.
type apiRequest struct {
	Seq         int64   `json:"seq"`
	Time        string  `json:"time"` // RFC 3339 with milliseconds, real time
	RequestID   string  `json:"request_id"`
	Service     string  `json:"service"`
	Operation   string  `json:"operation"`
	Outcome     string  `json:"outcome"` // "ok" or the error code
	Status      int     `json:"status"`
	AccountID   string  `json:"account_id"`
	AccessKeyID string  `json:"access_key_id"`
	DurationMS  float64 `json:"duration_ms"`
}

// requestLog keeps what this process answered on the AWS APIs: the last
// requests for the live tail, handed to each open tail through a bounded
// queue that Observe never waits on, and the error codes per hour for
// the dashboard. It is in memory: meterd stores no API errors, so the
// counts start when the process does and are this process's alone.
type requestLog struct {
	mu      sync.Mutex
	seq     int64
	recent  []apiRequest // ring of tailBacklog
	readers map[*tailReader]struct{}
	errors  map[int64]map[string]int64 // hour (Unix seconds) → code → count
}

// tailReader is one open live tail: its queue, and how many requests it
// missed because the queue was full.
type tailReader struct {
	queue  chan apiRequest
	missed int64 // guarded by requestLog.mu
}

// Observe records one answered request; it has the signature of
// awsjson.Handler.Observe and never blocks on a reader.
// Errors are counted in the hour of the console's clock (real time).
func (c *Console) Observe(o awsjson.Outcome) {
	c.requests.observe(o, c.now())
}

func (l *requestLog) observe(o awsjson.Outcome, now time.Time) {
	outcome := "ok"
	if o.Code != "" {
		outcome = o.Code
	}
	req := apiRequest{
		Time: o.Start.UTC().Format("2006-01-02T15:04:05.000Z07:00"), RequestID: o.RequestID, Service: o.Service,
		Operation: o.Operation, Outcome: outcome, Status: o.Status, AccountID: o.AccountID, AccessKeyID: o.AccessKeyID,
		DurationMS: float64(o.Duration.Microseconds()) / 1000,
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	req.Seq = l.seq
	if len(l.recent) < tailBacklog {
		l.recent = append(l.recent, req)
	} else {
		l.recent[(l.seq-1)%tailBacklog] = req
	}
	for r := range l.readers {
		select {
		case r.queue <- req:
		default:
			r.missed++
		}
	}
	if o.Code != "" {
		l.countError(now, o.Code)
	}
}

// countError counts code in its hour and forgets hours older than
// errorHoursKept. Called with l.mu held.
func (l *requestLog) countError(t time.Time, code string) {
	hour := t.UTC().Truncate(time.Hour).Unix()
	if l.errors == nil {
		l.errors = map[int64]map[string]int64{}
	}
	for h := range l.errors {
		if h <= hour-errorHoursKept*3600 {
			delete(l.errors, h)
		}
	}
	codes := l.errors[hour]
	if codes == nil {
		codes = map[string]int64{}
		l.errors[hour] = codes
	}
	if _, ok := codes[code]; !ok && len(codes) >= maxCodesPerHour {
		code = "other"
	}
	codes[code]++
}

// backlog returns the kept requests after seq, oldest first.
func (l *requestLog) backlog(after int64) []apiRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]apiRequest, 0, len(l.recent))
	for _, r := range l.recent {
		if r.Seq > after {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b apiRequest) int { return cmp.Compare(a.Seq, b.Seq) })
	return out
}

// subscribe opens a live tail, or returns nil when maxTailReaders are open.
func (l *requestLog) subscribe() *tailReader {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.readers) >= maxTailReaders {
		return nil
	}
	if l.readers == nil {
		l.readers = map[*tailReader]struct{}{}
	}
	r := &tailReader{queue: make(chan apiRequest, tailBuffer)}
	l.readers[r] = struct{}{}
	return r
}

func (l *requestLog) unsubscribe(r *tailReader) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.readers, r)
}

// takeMissed returns and zeroes how many requests r missed.
func (l *requestLog) takeMissed(r *tailReader) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := r.missed
	r.missed = 0
	return n
}

// errorSeries is the API errors of each code per hour over the n hours
// that end with the hour of now, for a chart: hour starts and one series
// per code, codes in order.
type errorSeries struct {
	Hours  []int64            `json:"hours"`
	Codes  []string           `json:"codes"`
	Counts map[string][]int64 `json:"counts"`
	Total  int64              `json:"total"`
}

func (l *requestLog) errorsPerHour(now time.Time, n int) errorSeries {
	last := now.UTC().Truncate(time.Hour)
	first := last.Add(-time.Duration(n-1) * time.Hour)
	s := errorSeries{Hours: make([]int64, n), Codes: []string{}, Counts: map[string][]int64{}}
	for i := range n {
		s.Hours[i] = first.Add(time.Duration(i) * time.Hour).Unix()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for hour, codes := range l.errors {
		i := int((hour - first.Unix()) / 3600)
		if hour < first.Unix() || i >= n {
			continue
		}
		for code, count := range codes {
			if s.Counts[code] == nil {
				s.Counts[code] = make([]int64, n)
			}
			s.Counts[code][i] += count
			s.Total += count
		}
	}
	s.Codes = append(s.Codes, slices.Sorted(maps.Keys(s.Counts))...)
	return s
}
