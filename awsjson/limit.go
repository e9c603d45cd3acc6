package awsjson

import (
	"net/http"

	"github.com/meterd/meterd"
)

// LimitInFlight bounds the requests h serves at once to n. A request beyond
// the bound is answered at once with ThrottlingException (400), which every
// SDK retries with backoff, instead of queueing until the server collapses.
// rejected, when non-nil, is called for each refused request (for metrics).
// n < 1 means no bound.
func LimitInFlight(h http.Handler, n int, rejected func(op string)) http.Handler {
	if n < 1 {
		return h
	}
	slots := make(chan struct{}, n)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case slots <- struct{}{}:
		default:
			if rejected != nil {
				// The operation named by X-Amz-Target ("" if none), so that
				// refusals are counted under the operation they refused.
				op, _ := lookupTarget(r.Header.Values("X-Amz-Target"))
				rejected(op.name)
			}
			// Close the connection: its unread body may be large, and a client
			// pushing the server over its bound should reconnect later.
			w.Header().Set("Connection", "close")
			WriteError(w, meterd.Errorf(meterd.EThrottling, "Too many requests in flight (limit %d); retry with backoff", n))
			return
		}
		defer func() { <-slots }()
		h.ServeHTTP(w, r)
	})
}
