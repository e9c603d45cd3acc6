package console

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// Timing of a live tail's stream (real time: transport, not the server
// clock).
const (
	tailKeepAlive    = 15 * time.Second // a comment line this often keeps proxies and the session check going
	tailWriteTimeout = 30 * time.Second // a reader that takes longer over one write is dropped
)

type tailData struct {
	Requests []apiRequest // newest first
	After    int64        // the newest request's seq, where the stream starts
}

// tail is the live tail's page: the kept requests, newest first, which
// the page's script extends from the event stream.
func (c *Console) tail(w http.ResponseWriter, r *http.Request, s *session) error {
	reqs := c.requests.backlog(0)
	d := tailData{}
	if len(reqs) > 0 {
		d.After = reqs[len(reqs)-1].Seq
	}
	slices.Reverse(reqs)
	d.Requests = reqs
	c.render(w, http.StatusOK, "tail", page{Title: "Live tail", Nav: "tail", CSRF: s.csrf, ReadOnly: s.readOnly, Data: d})
	return nil
}

// tailEvents streams the AWS API requests as server-sent events: first
// the kept ones after Last-Event-ID (or ?after=), then each as it is
// answered. A reader that falls behind misses requests rather than
// slowing the API; it is told how many with a "missed" event. The stream
// ends with the session.
func (c *Console) tailEvents(w http.ResponseWriter, r *http.Request, s *session) error {
	after, _ := strconv.ParseInt(cmp.Or(r.Header.Get("Last-Event-ID"), r.URL.Query().Get("after")), 10, 64)
	reader := c.requests.subscribe()
	if reader == nil {
		http.Error(w, "too many live tails are open: close one and reload", http.StatusServiceUnavailable)
		return nil
	}
	defer c.requests.unsubscribe(reader)
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	send := func(event, id string, data []byte) error {
		rc.SetWriteDeadline(time.Now().Add(tailWriteTimeout))
		if id != "" {
			fmt.Fprintf(w, "id: %s\n", id)
		}
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, data); err != nil {
			return err
		}
		return rc.Flush()
	}
	last := after
	sendRequest := func(req apiRequest) error {
		if req.Seq <= last {
			return nil // sent from the backlog already
		}
		last = req.Seq
		b, _ := json.Marshal(req)
		if err := send("request", strconv.FormatInt(req.Seq, 10), b); err != nil {
			return err
		}
		if n := c.requests.takeMissed(reader); n > 0 {
			return send("missed", "", []byte(strconv.FormatInt(n, 10)))
		}
		return nil
	}
	if err := send("start", "", []byte(strconv.FormatInt(after, 10))); err != nil {
		return nil
	}
	for _, req := range c.requests.backlog(after) {
		if sendRequest(req) != nil {
			return nil
		}
	}
	keepAlive := time.NewTicker(tailKeepAlive)
	defer keepAlive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case req := <-reader.queue:
			if sendRequest(req) != nil {
				return nil
			}
		case <-keepAlive.C:
			if c.session(r) == nil {
				return nil
			}
			rc.SetWriteDeadline(time.Now().Add(tailWriteTimeout))
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return nil
			}
		}
	}
}
