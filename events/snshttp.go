package events

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/meterd/meterd"
)

// confirmationMessage is the text SNS puts in a SubscriptionConfirmation.
const confirmationMessage = "You have chosen to subscribe to the topic %s.\nTo confirm the subscription, visit the SubscribeURL included in this message."

// SubscribeURL is where an http(s) subscriber confirms its subscription
// (a GET, as SNS's SubscribeURL).
func SubscribeURL(base string, s *meterd.Subscription) string {
	return base + "/_meterd/sns/confirm?SubscriptionArn=" + urlEscape(SubscriptionArn(s)) + "&Token=" + s.Token
}

func urlEscape(s string) string {
	r := strings.NewReplacer(":", "%3A", "/", "%2F", "+", "%2B", " ", "%20", "&", "%26", "=", "%3D", "?", "%3F")
	return r.Replace(s)
}

// confirmation returns the signed SubscriptionConfirmation of s.
func (s *Signer) confirmation(base string, sub *meterd.Subscription, now time.Time) *snsMessage {
	arn := TopicArn(sub.ProductCode, sub.Topic)
	m := &snsMessage{
		Type: TypeSubscriptionConfirmation, MessageId: newMessageID(), Token: sub.Token, TopicArn: arn,
		Message: fmt.Sprintf(confirmationMessage, arn), SubscribeURL: SubscribeURL(base, sub),
		Timestamp: now.UTC().Format(snsTimeLayout), SigningCertURL: base + s.CertPath(),
	}
	s.sign(m, sub.SignatureVersion)
	return m
}

// snsHeaders are the headers SNS sends with a message to an http(s)
// subscriber.
func snsHeaders(typ, messageID string, sub *meterd.Subscription) map[string]string {
	h := map[string]string{
		"Content-Type":           "text/plain; charset=UTF-8",
		"User-Agent":             "Amazon Simple Notification Service Agent (meterd)",
		"x-amz-sns-message-type": typ,
		"x-amz-sns-message-id":   messageID,
		"x-amz-sns-topic-arn":    TopicArn(sub.ProductCode, sub.Topic),
	}
	if typ == TypeNotification {
		h["x-amz-sns-subscription-arn"] = SubscriptionArn(sub)
		if sub.Raw {
			h["x-amz-sns-rawdelivery"] = "true"
		}
	}
	return h
}

// post sends one body to an http(s) endpoint; any 2xx is delivered.
func (d *Dispatcher) post(ctx context.Context, dst destination, body string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, dst.url, strings.NewReader(body))
	if err != nil {
		return &permanentError{err.Error()}
	}
	for k, v := range dst.headers {
		req.Header.Set(k, v)
	}
	client := d.HTTPClient
	if dst.insecure {
		client = d.insecure
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s answered %s", dst.url, resp.Status)
	}
	return nil
}

// insecureClient is the client of endpoints whose certificate is not
// checked (self-signed test receivers).
func insecureClient(timeout time.Duration) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	return &http.Client{Timeout: timeout, Transport: t}
}

// confirmPending sends a SubscriptionConfirmation to each http(s)
// subscription not confirmed yet whose last one is not recent, as SNS
// does when the subscription is made. The endpoint confirms by a GET of
// its SubscribeURL (Handler).
func (d *Dispatcher) confirmPending(ctx context.Context, t *targets) {
	now := d.Now()
	for _, id := range t.order {
		s, ok := t.subs[id]
		if !ok || s.Confirmed || s.Protocol == meterd.ProtocolSQS {
			continue
		}
		d.mu.Lock()
		next, tried := d.confirmAt[id]
		d.mu.Unlock()
		if tried && now.Before(next) {
			continue
		}
		m := d.Signer.confirmation(d.BaseURL, s, now)
		body, _ := json.Marshal(m)
		dst := destination{protocol: s.Protocol, url: s.Endpoint, insecure: s.InsecureSkipVerify,
			headers: snsHeaders(TypeSubscriptionConfirmation, m.MessageId, s)}
		err := d.post(ctx, dst, string(body))
		wait := time.Hour // sent: another only if not confirmed within the hour
		if err != nil {
			wait = maxBackoff
			d.Logger.Warn("subscription confirmation not delivered", "subscription", id, "endpoint", s.Endpoint, "err", err)
		}
		d.mu.Lock()
		d.confirmAt[id] = now.Add(wait)
		d.mu.Unlock()
	}
}

// Reconfirm makes the dispatcher send the subscription's confirmation
// again at once (a repeated subscribe of a pending subscription).
func (d *Dispatcher) Reconfirm(id string) {
	d.init()
	d.mu.Lock()
	delete(d.confirmAt, id)
	d.mu.Unlock()
	d.Wake()
}

// SNSHandler serves what SNS serves publicly, without the admin token:
// the signing certificate at SigningCertURL, the SubscribeURL that
// confirms an http(s) subscription and the UnsubscribeURL.
type SNSHandler struct {
	Store  Store
	Signer *Signer
}

// snsResponse is the XML answer of SNS's ConfirmSubscription and
// Unsubscribe.
type snsResponse struct {
	XMLName         xml.Name
	Xmlns           string `xml:"xmlns,attr"`
	SubscriptionArn string `xml:"ConfirmSubscriptionResult>SubscriptionArn,omitempty"`
	RequestID       string `xml:"ResponseMetadata>RequestId"`
}

// Routes adds the handler's routes to mux.
func (h *SNSHandler) Routes(mux *http.ServeMux) {
	cert := h.Signer.Certificate()
	mux.HandleFunc("GET "+h.Signer.CertPath(), func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-x509-ca-cert")
		w.Write(cert)
	})
	mux.HandleFunc("GET /_meterd/sns/confirm", h.confirm)
	mux.HandleFunc("GET /_meterd/sns/unsubscribe", h.unsubscribe)
}

// subscriptionID is the id at the end of a subscription ARN.
func subscriptionID(arn string) string {
	return arn[strings.LastIndex(arn, ":")+1:]
}

func (h *SNSHandler) confirm(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	arn, token := q.Get("SubscriptionArn"), q.Get("Token")
	last, err := h.Store.LastEventSeq(r.Context())
	if err == nil {
		err = h.Store.ConfirmSubscription(r.Context(), subscriptionID(arn), token, last)
	}
	h.answer(w, "ConfirmSubscriptionResponse", arn, err)
}

func (h *SNSHandler) unsubscribe(w http.ResponseWriter, r *http.Request) {
	arn := r.URL.Query().Get("SubscriptionArn")
	id := subscriptionID(arn)
	err := errors.New("not found")
	if sub, e := h.Store.Subscription(r.Context(), id); e == nil && SubscriptionArn(sub) == arn {
		err = h.Store.DeleteSubscription(r.Context(), id)
	}
	h.answer(w, "UnsubscribeResponse", "", err)
}

// answer writes SNS's XML answer, or its NotFound error: a wrong token or
// ARN is told apart from nothing else, as SNS does.
func (h *SNSHandler) answer(w http.ResponseWriter, name, arn string, err error) {
	w.Header().Set("Content-Type", "text/xml")
	if err != nil {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type><Code>NotFound</Code><Message>Subscription or token not found</Message></Error><RequestId>%s</RequestId></ErrorResponse>`, newMessageID())
		return
	}
	xml.NewEncoder(w).Encode(snsResponse{XMLName: xml.Name{Local: name}, Xmlns: "http://sns.amazonaws.com/doc/2010-03-31/",
		SubscriptionArn: arn, RequestID: newMessageID()})
}
