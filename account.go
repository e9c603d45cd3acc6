package meterd

import "time"

// Account is an AWS account known to meterd: a seller that publishes
// products, a buyer that is a customer of them, or both.
type Account struct {
	ID        string // 12 digits
	Name      string
	CreatedAt time.Time
}

// ValidAccountID reports whether id is an AWS account id: 12 digits.
// (A loop rather than a regular expression: every package-level pattern is
// compiled when any meterd command starts.)
func ValidAccountID(id string) bool {
	if len(id) != 12 {
		return false
	}
	for i := range len(id) {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	return true
}

// AccessKey is an AWS access key pair that signs Metering API requests on
// behalf of an account. A key with a SessionToken emulates temporary role
// credentials: requests signed with it must present the token.
type AccessKey struct {
	ID           string
	Secret       string
	SessionToken string
	AccountID    string
	CreatedAt    time.Time
}

// Caller is the authenticated identity of a Metering API request.
type Caller struct {
	AccountID   string
	AccessKeyID string
	Region      string // the region of the SigV4 credential scope
}
