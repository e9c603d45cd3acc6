package events

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/meterd/meterd"
)

// MarketplaceAccount is the account that owns the Marketplace SNS topics,
// in meterd as on AWS (the account of AWS Marketplace's own topics).
const MarketplaceAccount = "287250355862"

// SNS message types (the envelope's Type and x-amz-sns-message-type).
const (
	TypeNotification             = "Notification"
	TypeSubscriptionConfirmation = "SubscriptionConfirmation"
)

// snsTimeLayout is SNS's Timestamp: RFC 3339 UTC with milliseconds.
const snsTimeLayout = "2006-01-02T15:04:05.000Z"

// TopicArn returns the ARN of a product's SNS topic (meterd.TopicSubscription
// or meterd.TopicEntitlement).
func TopicArn(productCode, topic string) string {
	name := "aws-mp-subscription-notification-"
	if topic == meterd.TopicEntitlement {
		name = "aws-mp-entitlement-notification-"
	}
	return "arn:aws:sns:us-east-1:" + MarketplaceAccount + ":" + name + productCode
}

// SubscriptionArn returns the ARN of a subscription: its topic's ARN and
// its id, as SNS writes them.
func SubscriptionArn(s *meterd.Subscription) string {
	return TopicArn(s.ProductCode, s.Topic) + ":" + s.ID
}

// snsMessage is the SNS envelope as SNS delivers it to HTTP(S) endpoints
// and (without raw delivery) to queues, in SNS's member order.
type snsMessage struct {
	Type             string
	MessageId        string
	Token            string `json:",omitempty"`
	TopicArn         string
	Message          string
	SubscribeURL     string `json:",omitempty"`
	Timestamp        string
	SignatureVersion string
	Signature        string
	SigningCertURL   string
	UnsubscribeURL   string `json:",omitempty"`
}

// stringToSign is SNS's: name and value lines of the signed members in
// alphabetical order (the confirmation's set, or the notification's).
func (m *snsMessage) stringToSign() string {
	var b strings.Builder
	add := func(name, value string) { b.WriteString(name + "\n" + value + "\n") }
	add("Message", m.Message)
	add("MessageId", m.MessageId)
	if m.Type == TypeSubscriptionConfirmation {
		add("SubscribeURL", m.SubscribeURL)
		add("Timestamp", m.Timestamp)
		add("Token", m.Token)
	} else {
		add("Timestamp", m.Timestamp)
	}
	add("TopicArn", m.TopicArn)
	add("Type", m.Type)
	return b.String()
}

// SigningSetting is the store setting that holds the SNS signing key and
// its certificate (PEM), so that every node sharing a store signs alike.
const SigningSetting = "sns_signing_key"

// Signer signs SNS messages with meterd's key and serves its certificate.
type Signer struct {
	key   *rsa.PrivateKey
	cert  []byte // PEM
	KeyID string // names the certificate in SigningCertURL
}

// NewSigner returns the store's signer, creating its key and a self-signed
// certificate on first use. Nodes starting together all read back the one
// stored first.
func NewSigner(ctx context.Context, st interface {
	InitSetting(ctx context.Context, name, value string) (string, error)
}) (*Signer, error) {
	fresh, err := newSigningPEM()
	if err != nil {
		return nil, err
	}
	v, err := st.InitSetting(ctx, SigningSetting, fresh)
	if err != nil {
		return nil, fmt.Errorf("events: store the SNS signing key: %w", err)
	}
	return parseSigner(v)
}

func newSigningPEM() (string, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "sns.meterd.local", Organization: []string{"meterd (not AWS)"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(20, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})) +
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), nil
}

func parseSigner(v string) (*Signer, error) {
	s := &Signer{}
	rest := []byte(v)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch b.Type {
		case "RSA PRIVATE KEY":
			k, err := x509.ParsePKCS1PrivateKey(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("events: setting %s: %w", SigningSetting, err)
			}
			s.key = k
		case "CERTIFICATE":
			s.cert = pem.EncodeToMemory(b)
			sum := sha256.Sum256(b.Bytes)
			s.KeyID = hex.EncodeToString(sum[:16])
		}
	}
	if s.key == nil || s.cert == nil {
		return nil, errors.New("events: setting " + SigningSetting + " holds no RSA key and certificate")
	}
	return s, nil
}

// Certificate returns the signing certificate (PEM).
func (s *Signer) Certificate() []byte { return s.cert }

// CertPath is the path of the signing certificate on meterd's listener.
func (s *Signer) CertPath() string {
	return "/_meterd/sns/SimpleNotificationService-" + s.KeyID + ".pem"
}

// sign sets m's SignatureVersion and Signature: SHA1withRSA for version 1,
// SHA256withRSA for 2.
func (s *Signer) sign(m *snsMessage, version int) {
	m.SignatureVersion, m.Signature = s.signature(m.stringToSign(), version)
}

// signature returns the SignatureVersion and Signature of a string to sign.
func (s *Signer) signature(data string, version int) (string, string) {
	var sig []byte
	if version == 2 {
		sum := sha256.Sum256([]byte(data))
		sig, _ = rsa.SignPKCS1v15(nil, s.key, crypto.SHA256, sum[:])
	} else {
		sum := sha1.Sum([]byte(data))
		sig, _ = rsa.SignPKCS1v15(nil, s.key, crypto.SHA1, sum[:])
		version = 1
	}
	return strconv.Itoa(version), base64.StdEncoding.EncodeToString(sig)
}

// notificationKey is what a Notification's signature depends on: the
// signed members (Message, MessageId, Timestamp, TopicArn and Type, all
// the event's and its topic's, since SNS gives a published message one
// MessageId for every subscription) and the signature version. The
// subscription's own members (SigningCertURL, UnsubscribeURL) are not
// signed, so every subscription of a topic shares one signature.
type notificationKey struct {
	event   string
	topic   string
	version int
}

func notificationKeyOf(sub *meterd.Subscription, e *meterd.Event) notificationKey {
	return notificationKey{event: e.ID, topic: TopicArn(sub.ProductCode, sub.Topic), version: sub.SignatureVersion}
}

// notificationMessage is the SNS envelope of an outbox event for a
// subscription, unsigned. Its MessageId is the same on every attempt, as
// SNS keeps it on retries, so that receivers can drop duplicates.
func (s *Signer) notificationMessage(base string, sub *meterd.Subscription, e *meterd.Event) *snsMessage {
	topic := TopicArn(sub.ProductCode, sub.Topic)
	return &snsMessage{
		Type: TypeNotification, MessageId: messageID(e.ID, topic), TopicArn: topic,
		Message: e.Payload, Timestamp: e.CreatedAt.UTC().Format(snsTimeLayout),
		SigningCertURL: base + s.CertPath(),
		UnsubscribeURL: base + "/_meterd/sns/unsubscribe?SubscriptionArn=" + url.QueryEscape(SubscriptionArn(sub)),
	}
}

// messageID derives a UUID-shaped SNS MessageId from an event and the ARN
// of the topic that publishes it.
func messageID(eventID, target string) string {
	sum := sha256.Sum256([]byte(eventID + "\x00" + target))
	sum[6] = sum[6]&0x0f | 0x50
	sum[8] = sum[8]&0x3f | 0x80
	h := hex.EncodeToString(sum[:16])
	return fmt.Sprintf("%s-%s-%s-%s-%s", h[0:8], h[8:12], h[12:16], h[16:20], h[20:])
}

// Notification returns the signed SNS envelope (JSON) of an outbox event
// for sub, as the dispatcher sends it to HTTP(S) endpoints and queues:
// tests that put chosen envelopes on a queue (duplicates, tampered ones)
// use it. base is meterd's URL as receivers reach it.
func (s *Signer) Notification(base string, sub *meterd.Subscription, e *meterd.Event) []byte {
	m := s.notificationMessage(base, sub, e)
	s.sign(m, sub.SignatureVersion)
	out, _ := json.Marshal(m)
	return out
}
