package meterd

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"time"
)

// Admin token roles: what a bearer of the token may do on the admin API.
const (
	// RoleAdmin may do everything.
	RoleAdmin = "admin"
	// RoleReadOnly may read (the usage, the catalog, the clock, the fault
	// rules) and change nothing.
	RoleReadOnly = "read-only"
)

// DefaultAdminToken is the name of the token that meterd serve's
// --admin-token sets, or that it generates on a store without tokens.
const DefaultAdminToken = "default"

// AdminToken is one bearer token of the admin API. The store keeps only the
// token's hash (HashAdminToken), never the token itself, so that a copy of
// the database does not open the admin API.
type AdminToken struct {
	Name      string
	Role      string // RoleAdmin or RoleReadOnly
	Hash      string // HashAdminToken of the token
	CreatedAt time.Time
}

// validAdminTokenName reports whether name is what a token name may be:
// 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit,
// so that it is safe on a command line and in a URL path.
func validAdminTokenName(name string) bool {
	if len(name) == 0 || len(name) > 64 {
		return false
	}
	for i, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// ValidateAdminToken checks a token's name and role: EInvalid saying what is
// wrong.
func ValidateAdminToken(name, role string) error {
	if !validAdminTokenName(name) {
		return Errorf(EInvalid, "admin token name %q must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", name)
	}
	if role != RoleAdmin && role != RoleReadOnly {
		return Errorf(EInvalid, "admin token role %q must be %s or %s", role, RoleAdmin, RoleReadOnly)
	}
	return nil
}

// HashAdminToken is how admin tokens are kept: the hex SHA-256 of the token.
func HashAdminToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// MatchAdminToken returns the token of tokens whose hash is that of token,
// or nil. Every hash is compared, each in constant time, so that the time
// taken says nothing about which token (or which prefix of a hash) matched.
func MatchAdminToken(tokens []*AdminToken, token string) *AdminToken {
	if token == "" {
		return nil
	}
	h := []byte(HashAdminToken(token))
	var found *AdminToken
	for _, t := range tokens {
		if subtle.ConstantTimeCompare(h, []byte(t.Hash)) == 1 {
			found = t
		}
	}
	return found
}

// NewAdminTokenSecret returns a new random admin token: 32 bytes from
// crypto/rand, in hex.
func NewAdminTokenSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}
