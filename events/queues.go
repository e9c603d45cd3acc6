// Package events delivers the marketplace's lifecycle events and serves the
// SQS-compatible queues they can be delivered to. The queue operations are
// plain functions over a meterd.QueueStore and the wall clock (visibility
// timeouts and long polls do not follow the server clock); the awsJson1_0
// adapter decodes and encodes them.
package events

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/meterd/meterd"
)

// SQS error codes, as the SQS model names its exceptions.
const (
	EQueueDoesNotExist      = "QueueDoesNotExist"
	EQueueNameExists        = "QueueNameExists"
	EReceiptHandleIsInvalid = "ReceiptHandleIsInvalid"
	EMessageNotInflight     = "MessageNotInflight"
	EInvalidAttributeName   = "InvalidAttributeName"
	EInvalidAttributeValue  = "InvalidAttributeValue"
	EInvalidParameterValue  = "InvalidParameterValue"
)

// Default queue attributes, SQS's.
const (
	defaultVisibility = 30 * time.Second
	maxWait           = 20 * time.Second
)

// Queues serves the SQS operations over a store. Its zero value is not
// usable: set Store; Now defaults to time.Now.
type Queues struct {
	Store meterd.QueueStore
	// Now is the wall clock.
	Now func() time.Time
	// Recheck is how often a queue on which long polls wait is looked at
	// in the store (default 1 s), for what this process is not told of:
	// messages sent by another process sharing the store, and messages
	// that become visible again (a visibility timeout or a delay ends).
	Recheck time.Duration

	mu      sync.Mutex
	waiting map[string]*waiting // queue key → its waiting long polls
}

func (q *Queues) now() time.Time {
	if q.Now != nil {
		return q.Now()
	}
	return time.Now()
}

// QueueURL is a queue's URL: <endpoint>/<account>/<name>.
func QueueURL(endpoint, accountID, name string) string {
	return strings.TrimRight(endpoint, "/") + "/" + accountID + "/" + name
}

// caller returns the account of the request's caller.
func caller(ctx context.Context) (string, error) {
	c := meterd.CallerFromContext(ctx)
	if c == nil || c.AccountID == "" {
		return "", meterd.Errorf(meterd.EAccessDenied, "no caller")
	}
	return c.AccountID, nil
}

// resolve returns the account and name of queueURL, refusing a queue of
// another account as SQS does.
func resolve(ctx context.Context, queueURL string) (account, name string, err error) {
	me, err := caller(ctx)
	if err != nil {
		return "", "", err
	}
	u, err := url.Parse(queueURL)
	if err != nil || queueURL == "" {
		return "", "", meterd.Errorf(EQueueDoesNotExist, "The specified queue does not exist.")
	}
	parts := strings.Split(strings.Trim(u.EscapedPath(), "/"), "/")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return "", "", meterd.Errorf(EQueueDoesNotExist, "The specified queue does not exist.")
	}
	if parts[0] != me {
		return "", "", meterd.Errorf(meterd.EAccessDenied, "Access to the resource %s is denied.", queueURL)
	}
	return parts[0], parts[1], nil
}

// storeErr turns a store's ENotFound for a queue into SQS's error.
func storeErr(err error) error {
	if meterd.ErrorCode(err) == meterd.ENotFound {
		return meterd.Errorf(EQueueDoesNotExist, "The specified queue does not exist.")
	}
	return err
}

// validName reports whether name is an SQS queue name: 1 to 80
// alphanumerics, hyphens and underscores (".fifo" queues are not served).
func validName(name string) bool {
	if len(name) == 0 || len(name) > 80 {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// receipt is a receipt handle: the queue, the message and which receive
// it came from, so that only the latest receive's handle deletes.
func receipt(account, name, messageID string, count int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(account + "/" + name + "/" + messageID + "/" + strconv.Itoa(count)))
}

// parseReceipt returns the message and receive count of a handle of the
// queue account/name, or ReceiptHandleIsInvalid.
func parseReceipt(account, name, handle string) (string, int, error) {
	bad := meterd.Errorf(EReceiptHandleIsInvalid, "The input receipt handle %q is not a valid receipt handle.", handle)
	b, err := base64.RawURLEncoding.DecodeString(handle)
	if err != nil {
		return "", 0, bad
	}
	parts := strings.Split(string(b), "/")
	if len(parts) != 4 || parts[0] != account || parts[1] != name {
		return "", 0, bad
	}
	n, err := strconv.Atoi(parts[3])
	if err != nil || n < 1 {
		return "", 0, bad
	}
	return parts[2], n, nil
}

// receiptOf resolves a queue URL and one of its receipt handles: the
// queue, the message and the receive count the handle was issued for.
type receiptOf struct {
	account, name, messageID string
	count                    int
}

func resolveReceipt(ctx context.Context, queueURL, handle string) (receiptOf, error) {
	account, name, err := resolve(ctx, queueURL)
	if err != nil {
		return receiptOf{}, err
	}
	id, count, err := parseReceipt(account, name, handle)
	if err != nil {
		return receiptOf{}, err
	}
	return receiptOf{account, name, id, count}, nil
}

// newMessageID returns an SQS-style message id (a UUID's text form).
func newMessageID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return fmt.Sprintf("%s-%s-%s-%s-%s", h[0:8], h[8:12], h[12:16], h[16:20], h[20:])
}
