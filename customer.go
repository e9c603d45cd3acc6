package meterd

import "time"

// Customer subscription statuses. They follow the SNS subscription actions of
// the Seller Guide.
const (
	StatusSubscribed         = "subscribed"
	StatusUnsubscribePending = "unsubscribe-pending"
	StatusUnsubscribed       = "unsubscribed"
	StatusSubscribeFailed    = "subscribe-failed"
	StatusSuspended          = "suspended"
)

// Platforms a buyer's workload runs on. MeterUsage from agentcore follows the
// AgentCore rules (no hour rounding); RegisterUsage needs ecs, eks or fargate.
const (
	PlatformEC2       = "ec2"
	PlatformECS       = "ecs"
	PlatformEKS       = "eks"
	PlatformFargate   = "fargate"
	PlatformAgentCore = "agentcore"
	PlatformOther     = "other"
)

// UnsubscribeGrace is how long records are still accepted after a customer
// becomes unsubscribe-pending; then the status becomes unsubscribed by itself.
const UnsubscribeGrace = time.Hour

// Customer is a buyer's subscription to a product.
type Customer struct {
	ProductCode          string
	CustomerIdentifier   string
	CustomerAWSAccountID string
	LicenseArn           string
	Status               string
	Platform             string
	StatusChangedAt      time.Time // by the server clock
	CreatedAt            time.Time
}

// EffectiveStatus returns the status at now: unsubscribe-pending turns into
// unsubscribed once the grace hour has passed.
func (c *Customer) EffectiveStatus(now time.Time) string {
	if c.Status == StatusUnsubscribePending && !now.Before(c.StatusChangedAt.Add(UnsubscribeGrace)) {
		return StatusUnsubscribed
	}
	return c.Status
}

// CanMeter reports whether usage for the customer is accepted at now.
func (c *Customer) CanMeter(now time.Time) bool {
	switch c.EffectiveStatus(now) {
	case StatusSubscribed, StatusUnsubscribePending:
		return true
	}
	return false
}

// ValidStatus reports whether s is a known customer status.
func ValidStatus(s string) bool {
	switch s {
	case StatusSubscribed, StatusUnsubscribePending, StatusUnsubscribed, StatusSubscribeFailed, StatusSuspended:
		return true
	}
	return false
}

// ValidPlatform reports whether p is a known platform.
func ValidPlatform(p string) bool {
	switch p {
	case PlatformEC2, PlatformECS, PlatformEKS, PlatformFargate, PlatformAgentCore, PlatformOther:
		return true
	}
	return false
}

// RegistrationToken is the opaque token a buyer's browser posts to the
// seller's fulfillment URL; ResolveCustomer exchanges it for the customer.
type RegistrationToken struct {
	Token              string
	ProductCode        string
	CustomerIdentifier string
	// LicenseArn is the license of the agreement the token was issued for,
	// which ResolveCustomer answers; "" for a customer's token, which
	// answers the customer's newest license.
	LicenseArn string
	ExpiresAt  time.Time // by the server clock
	CreatedAt  time.Time
}

// PublicKey is one version of a product's RegisterUsage signing key pair.
type PublicKey struct {
	ProductCode  string
	Version      int64
	PrivateKey   []byte // PKCS#8 DER; never leaves the server
	PublicKeyPEM string // PEM SubjectPublicKeyInfo
	CreatedAt    time.Time
	RotatedAt    *time.Time // set when a newer version replaced this one
}

// MatchableAccounts returns the account ids of awsAccountIDs that can match
// a customer in Ledger.CustomersByKeys: all but the empty ones, since a
// customer without an account must match nothing.
func MatchableAccounts(awsAccountIDs []string) []string {
	accounts := make([]string, 0, len(awsAccountIDs))
	for _, a := range awsAccountIDs {
		if a != "" {
			accounts = append(accounts, a)
		}
	}
	return accounts
}
