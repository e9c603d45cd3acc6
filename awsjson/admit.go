package awsjson

import (
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/meterd/meterd"
)

// Defaults of an Admission.
const (
	// DefaultBodyTimeout is how long a request body may take to arrive.
	DefaultBodyTimeout = 10 * time.Second
	// DefaultMaxUnknown bounds the bodies being read at once whose
	// Authorization names no known access key.
	DefaultMaxUnknown = 32
	// DefaultMaxUnknownPerAddr bounds those bodies from one remote address.
	DefaultMaxUnknownPerAddr = 4
)

// Admission decides which Metering API requests the server takes on, so
// that a client without credentials cannot take capacity from one with
// them. A request's body is read (within MaxBodySize and BodyTimeout) and
// its signature verified before it takes one of the MaxInFlight slots;
// while its body is read, a request whose Authorization names no known
// access key holds one of a few slots of its own, globally and per remote
// address. Beyond any bound a request is answered at once with
// ThrottlingException (400), which every SDK retries with backoff.
//
// Create one with NewAdmission; its methods are safe for concurrent use. A
// nil *Admission admits every request without a body deadline.
type Admission struct {
	maxInFlight int
	slots       chan struct{} // nil: no bound
	knownKey    func(r *http.Request) bool
	bodyTimeout time.Duration

	maxUnknown, maxUnknownPerAddr int
	mu                            sync.Mutex
	unknown                       int            // bodies being read that name no known key
	unknownByAddr                 map[string]int // of those, by remote address
}

// NewAdmission returns an Admission serving at most maxInFlight verified
// requests at once (maxInFlight < 1: no bound). knownKey reports whether a
// request's Authorization header names a known access key; it must be
// cheap (no body, no signature) and is nil when every request counts as
// known (--auth none). Zero bodyTimeout, maxUnknown or maxUnknownPerAddr
// take the defaults.
func NewAdmission(maxInFlight int, knownKey func(r *http.Request) bool, bodyTimeout time.Duration, maxUnknown, maxUnknownPerAddr int) *Admission {
	a := &Admission{
		maxInFlight:       maxInFlight,
		knownKey:          knownKey,
		bodyTimeout:       orDefault(bodyTimeout, DefaultBodyTimeout),
		maxUnknown:        orDefault(maxUnknown, DefaultMaxUnknown),
		maxUnknownPerAddr: orDefault(maxUnknownPerAddr, DefaultMaxUnknownPerAddr),
		unknownByAddr:     make(map[string]int),
	}
	if maxInFlight > 0 {
		a.slots = make(chan struct{}, maxInFlight)
	}
	return a
}

// orDefault returns v, or def when v is zero.
func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// throttled is the error of a request beyond a bound.
func throttled(what string, n int) error {
	return meterd.Errorf(meterd.EThrottling, "Too many %s (limit %d); retry with backoff", what, n)
}

// reading admits r to have its body read. A request naming no known key
// takes one of the slots of such bodies (globally and for its address);
// the returned release gives it back and may be called more than once.
func (a *Admission) reading(r *http.Request) (release func(), err error) {
	if a == nil || a.knownKey == nil || a.knownKey(r) {
		return func() {}, nil
	}
	addr := remoteHost(r.RemoteAddr)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.unknown >= a.maxUnknown {
		return nil, throttled("requests without known credentials in progress", a.maxUnknown)
	}
	if a.unknownByAddr[addr] >= a.maxUnknownPerAddr {
		return nil, throttled("requests without known credentials in progress from "+addr, a.maxUnknownPerAddr)
	}
	a.unknown++
	a.unknownByAddr[addr]++
	var once sync.Once
	return func() {
		once.Do(func() {
			a.mu.Lock()
			defer a.mu.Unlock()
			a.unknown--
			if a.unknownByAddr[addr]--; a.unknownByAddr[addr] == 0 {
				delete(a.unknownByAddr, addr)
			}
		})
	}, nil
}

// readBody reads r's body within the body deadline, then lifts the
// deadline: a deadline left behind would cancel the request's context
// while the operation runs (net/http's background read sees it pass).
func (a *Admission) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if a == nil {
		return readBody(w, r, 0)
	}
	rc := http.NewResponseController(w)
	// ErrNotSupported (a test's recorder) leaves the server's own timeouts.
	rc.SetReadDeadline(time.Now().Add(a.bodyTimeout))
	defer rc.SetReadDeadline(time.Time{})
	return readBody(w, r, a.bodyTimeout)
}

// serving takes one of the MaxInFlight slots for a verified request; done
// gives it back.
func (a *Admission) serving() (done func(), err error) {
	if a == nil || a.slots == nil {
		return func() {}, nil
	}
	select {
	case a.slots <- struct{}{}:
		return func() { <-a.slots }, nil
	default:
		return nil, throttled("requests in flight", a.maxInFlight)
	}
}

// remoteHost is the address part of a RemoteAddr (host:port).
func remoteHost(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}
