package marketplace

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
)

const (
	lowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789"
	upperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
)

// random returns n characters drawn uniformly from alphabet (math/rand/v2's
// generator is seeded from the system's randomness; ids are not secrets).
func random(alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rand.N(len(alphabet))]
	}
	return string(b)
}

// derive returns a stable hex digest of parts: the ids of what a catalog
// declares are derived from it, so that every apply (and every process
// applying the same catalog) makes the same ones.
func derive(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// NewOfferID returns a random offer id: offer- + 13 lowercase letters/digits.
func NewOfferID() string { return "offer-" + random(lowerAlnum, 13) }

// NewProductID returns a random product id: prod- + 13 lowercase letters/digits.
func NewProductID() string { return "prod-" + random(lowerAlnum, 13) }

// ProductID returns the stable product id of a product code that the
// catalog gives none for.
func ProductID(code string) string { return "prod-" + derive("product", code)[:13] }

// DefaultOfferID returns the id of a product's generated default offer.
func DefaultOfferID(code string) string { return "offer-" + derive("default-offer", code)[:13] }

// DeclaredOfferID returns the stable id of the i-th offer a catalog
// declares for a product without an id.
func DeclaredOfferID(code string, i int) string {
	return "offer-" + derive("offer", code, fmt.Sprint(i))[:13]
}

// proposalID returns the agreement proposal id of an offer.
func proposalID(offerID string) string {
	return "ap-" + strings.ToUpper(derive("proposal", offerID)[:25])
}

// termID returns the id of an offer's term of a type.
func termID(offerID, typ string) string { return "term-" + derive("term", offerID, typ)[:32] }

// newAgreementID returns the id of a new agreement: derived from its
// request key when it has one (so that two processes accepting the same
// request collide on the id too), random otherwise.
func newAgreementID(productCode, requestKey string) string {
	if requestKey != "" {
		return "agmt-" + strings.ToUpper(derive("agreement", productCode, requestKey)[:25])
	}
	return "agmt-" + random(upperAlnum, 25)
}

// NewLicenseArn returns a new license ARN of a seller.
func NewLicenseArn(seller string) string {
	return fmt.Sprintf("arn:aws:license-manager::%s:license:l-%s", seller, random("0123456789abcdef", 32))
}

// newEventID returns a random UUID for an event.
func newEventID() string {
	h := random("0123456789abcdef", 32)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// NewCustomerIdentifier returns a random customer identifier.
func NewCustomerIdentifier() string {
	return "cust-" + random("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 12)
}
