package admin

import (
	"net/http"
	"strconv"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/events"
)

// Subscription is a subscription as the admin API answers it: with its
// ARN and its topic's.
type Subscription struct {
	*meterd.Subscription
	Arn      string `json:"arn"`
	TopicArn string `json:"topic_arn"`
}

// QueueInput creates a queue of an account.
type QueueInput struct {
	Account string `json:"account"`
	Name    string `json:"name"`
}

// Queue is a queue with its URL and message counts.
type Queue struct {
	Account    string            `json:"account"`
	Name       string            `json:"name"`
	URL        string            `json:"url"`
	Attributes map[string]string `json:"attributes"`
	Visible    int               `json:"visible"`
	InFlight   int               `json:"in_flight"`
	CreatedAt  time.Time         `json:"created_at"`
}

// notifications returns the server's notifications, or NotFound when the
// store keeps none.
func (s *Server) notifications() (*events.Notifications, error) {
	if s.Notify == nil {
		return nil, meterd.Errorf(meterd.ENotFound, "this server's store keeps no notifications")
	}
	return s.Notify, nil
}

// notifyErr turns the SQS operations' error codes into the admin API's.
func notifyErr(err error) error {
	switch meterd.ErrorCode(err) {
	case events.EQueueDoesNotExist:
		return meterd.Errorf(meterd.ENotFound, "%s", meterd.ErrorMessage(err))
	case events.EInvalidParameterValue, events.EInvalidAttributeName, events.EInvalidAttributeValue, events.EQueueNameExists:
		return meterd.Errorf(meterd.EInvalid, "%s", meterd.ErrorMessage(err))
	}
	return err
}

func subscriptionOut(sub *meterd.Subscription) Subscription {
	return Subscription{Subscription: sub, Arn: events.SubscriptionArn(sub), TopicArn: events.TopicArn(sub.ProductCode, sub.Topic)}
}

func (s *Server) listSubscriptions(w http.ResponseWriter, r *http.Request) error {
	n, err := s.notifications()
	if err != nil {
		return err
	}
	subs, err := n.Store.Subscriptions(r.Context(), r.URL.Query().Get("product"))
	if err != nil {
		return err
	}
	out := make([]Subscription, len(subs))
	for i, sub := range subs {
		out[i] = subscriptionOut(sub)
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) createSubscription(w http.ResponseWriter, r *http.Request) error {
	var in events.SubscriptionSpec
	if err := readJSON(r, &in); err != nil {
		return err
	}
	n, err := s.notifications()
	if err != nil {
		return err
	}
	sub, err := n.Subscribe(r.Context(), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, subscriptionOut(sub))
}

func (s *Server) getSubscription(w http.ResponseWriter, r *http.Request) error {
	n, err := s.notifications()
	if err != nil {
		return err
	}
	sub, err := n.Store.Subscription(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, subscriptionOut(sub))
}

func (s *Server) deleteSubscription(w http.ResponseWriter, r *http.Request) error {
	n, err := s.notifications()
	if err != nil {
		return err
	}
	if err := n.Store.DeleteSubscription(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listRules(w http.ResponseWriter, r *http.Request) error {
	n, err := s.notifications()
	if err != nil {
		return err
	}
	rules, err := n.Store.Rules(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, nonNil(rules))
}

func (s *Server) createRule(w http.ResponseWriter, r *http.Request) error {
	var in events.RuleSpec
	if err := readJSON(r, &in); err != nil {
		return err
	}
	n, err := s.notifications()
	if err != nil {
		return err
	}
	rule, err := n.AddRule(r.Context(), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, rule)
}

func (s *Server) deleteRule(w http.ResponseWriter, r *http.Request) error {
	n, err := s.notifications()
	if err != nil {
		return err
	}
	if err := n.Store.DeleteRule(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request) error {
	n, err := s.notifications()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := meterd.DeliveryFilter{Status: q.Get("status"), Target: q.Get("target")}
	switch f.Status {
	case "", meterd.DeliveryPending, meterd.DeliveryDelivered, meterd.DeliveryFailed:
	default:
		return meterd.Errorf(meterd.EInvalid, "status: %q is not pending, delivered or failed", f.Status)
	}
	if v := q.Get("event"); v != "" {
		if f.EventSeq, err = strconv.ParseInt(v, 10, 64); err != nil || f.EventSeq < 1 {
			return meterd.Errorf(meterd.EInvalid, "event: %q is not an event seq", v)
		}
	}
	if v := q.Get("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 {
			return meterd.Errorf(meterd.EInvalid, "limit: %q is not a positive number", v)
		}
	}
	switch v := q.Get("order"); v {
	case "", "oldest":
	case "newest":
		f.Newest = true
	default:
		return meterd.Errorf(meterd.EInvalid, "order: %q is not oldest or newest", v)
	}
	ds, err := n.Store.Deliveries(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, nonNil(ds))
}

func (s *Server) retryDelivery(w http.ResponseWriter, r *http.Request) error {
	if err := readJSON(r, &struct{}{}); err != nil {
		return err
	}
	n, err := s.notifications()
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return meterd.Errorf(meterd.ENotFound, "delivery %q not found", r.PathValue("id"))
	}
	d, err := n.Retry(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

func (s *Server) listQueues(w http.ResponseWriter, r *http.Request) error {
	n, err := s.notifications()
	if err != nil {
		return err
	}
	qs, err := n.Store.Queues(r.Context(), r.URL.Query().Get("account"), "")
	if err != nil {
		return err
	}
	out := make([]Queue, 0, len(qs))
	now := time.Now()
	for _, q := range qs {
		visible, inFlight, err := n.Store.QueueCounts(r.Context(), q.AccountID, q.Name, now)
		if err != nil {
			return err
		}
		out = append(out, Queue{Account: q.AccountID, Name: q.Name, URL: events.QueueURL(n.BaseURL, q.AccountID, q.Name),
			Attributes: q.Attributes, Visible: visible, InFlight: inFlight, CreatedAt: q.CreatedAt})
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) createQueue(w http.ResponseWriter, r *http.Request) error {
	var in QueueInput
	if err := readJSON(r, &in); err != nil {
		return err
	}
	n, err := s.notifications()
	if err != nil {
		return err
	}
	url, err := n.CreateQueue(r.Context(), in.Account, in.Name)
	if err != nil {
		return notifyErr(err)
	}
	return writeJSON(w, http.StatusCreated, Queue{Account: in.Account, Name: in.Name, URL: url})
}

func (s *Server) receiveQueue(w http.ResponseWriter, r *http.Request) error {
	if err := readJSON(r, &struct{}{}); err != nil {
		return err
	}
	n, err := s.notifications()
	if err != nil {
		return err
	}
	account, err := n.FindQueue(r.Context(), r.URL.Query().Get("account"), r.PathValue("name"))
	if err != nil {
		return err
	}
	var wait time.Duration
	if v := r.URL.Query().Get("wait"); v != "" {
		if wait, err = time.ParseDuration(v); err != nil {
			return meterd.Errorf(meterd.EInvalid, "wait: %q is not a duration such as 20s", v)
		}
	}
	msgs, err := n.Receive(r.Context(), account, r.PathValue("name"), wait)
	if err != nil {
		return notifyErr(err)
	}
	return writeJSON(w, http.StatusOK, nonNil(msgs))
}

func (s *Server) purgeQueue(w http.ResponseWriter, r *http.Request) error {
	if err := readJSON(r, &struct{}{}); err != nil {
		return err
	}
	n, err := s.notifications()
	if err != nil {
		return err
	}
	account, err := n.FindQueue(r.Context(), r.URL.Query().Get("account"), r.PathValue("name"))
	if err != nil {
		return err
	}
	if err := n.Purge(r.Context(), account, r.PathValue("name")); err != nil {
		return notifyErr(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
