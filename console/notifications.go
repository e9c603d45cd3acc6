package console

import (
	"net/http"
	"strconv"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/admin"
)

// maxDeliveriesShown bounds the deliveries the page lists, newest first.
const maxDeliveriesShown = 200

type notificationsData struct {
	Subscriptions []admin.Subscription
	Rules         []meterd.Rule
	Queues        []admin.Queue
	Status        string // the deliveries' status filter: "", pending, delivered or failed
	Deliveries    []meterd.Delivery
	More          bool // more deliveries match than the newest maxDeliveriesShown listed
}

// notifications shows the subscriptions, rules and queues, and the
// deliveries of events to them with each event's body and the last
// error, from the admin API's notification routes.
func (c *Console) notifications(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	cl := c.client(s)
	d := notificationsData{Status: r.URL.Query().Get("status")}
	var err error
	if d.Subscriptions, err = cl.Subscriptions(ctx, ""); err != nil {
		return err
	}
	if d.Rules, err = cl.Rules(ctx); err != nil {
		return err
	}
	if d.Queues, err = cl.Queues(ctx, ""); err != nil {
		return err
	}
	// The newest, one more than shown to tell whether there are more: every
	// delivery ever made, read to count them, grows without bound.
	newest, err := cl.NewestDeliveries(ctx, d.Status, maxDeliveriesShown+1)
	if err != nil {
		return err
	}
	d.More = len(newest) > maxDeliveriesShown
	d.Deliveries = newest[:min(len(newest), maxDeliveriesShown)]
	c.render(w, http.StatusOK, "notifications", page{Title: "Notifications", Nav: "notifications", CSRF: s.csrf, ReadOnly: s.readOnly, Flash: r.URL.Query().Get("done"), Data: d})
	return nil
}

// retryDelivery sends a delivery again now.
func (c *Console) retryDelivery(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return &formError{"delivery " + quoted(r.PathValue("id")) + " is not a delivery id"}
	}
	dl, err := c.client(s).RetryDelivery(r.Context(), id)
	if err != nil {
		return err
	}
	redirectFlash(w, r, "/console/notifications", "delivery "+strconv.FormatInt(dl.ID, 10)+" is "+dl.Status+" (attempt "+strconv.Itoa(dl.Attempts)+")")
	return nil
}
