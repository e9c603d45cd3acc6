package meterd

import (
	"fmt"
	"strconv"
	"time"
)

// Offer pricing models (the catalog's and the CLI's `pricing`).
const (
	PricingUsage                   = "usage"
	PricingContract                = "contract"
	PricingContractWithConsumption = "contract-with-consumption"
	PricingFreeTrial               = "free-trial"
)

// Offer visibilities.
const (
	VisibilityPublic  = "public"
	VisibilityPrivate = "private"
)

// Term types, as the Agreement API names them.
const (
	TermUsageBasedPricing        = "UsageBasedPricingTerm"
	TermConfigurableUpfrontPrice = "ConfigurableUpfrontPricingTerm"
	TermFreeTrialPricing         = "FreeTrialPricingTerm"
	TermLegal                    = "LegalTerm"
	TermSupport                  = "SupportTerm"
	TermRenewal                  = "RenewalTerm"
	TermValidity                 = "ValidityTerm"
)

// Contract durations a ConfigurableUpfrontPricingTerm offers rate cards for.
var contractDurations = []string{"P1M", "P12M", "P24M", "P36M"}

// ValidContractDuration reports whether d is one of the contract durations
// P1M, P12M, P24M or P36M.
func ValidContractDuration(d string) bool {
	for _, c := range contractDurations {
		if c == d {
			return true
		}
	}
	return false
}

// Offer is what a buyer accepts to make an agreement: a product's terms,
// public or private to an allow-list of buyer accounts.
type Offer struct {
	ID                  string    `json:"id"` // offer- + 13 lowercase letters/digits
	ProductCode         string    `json:"product_code"`
	Name                string    `json:"name"`
	Pricing             string    `json:"pricing"`    // PricingUsage, ...
	Visibility          string    `json:"visibility"` // VisibilityPublic or VisibilityPrivate
	Buyers              []string  `json:"buyers"`     // the allow-list of a private offer
	AgreementProposalID string    `json:"agreement_proposal_id"`
	Terms               []Term    `json:"terms"`
	Default             bool      `json:"default"` // the product's default offer (catalog customers' agreements)
	CreatedAt           time.Time `json:"created_at"`
}

// VisibleTo reports whether the buyer account may see and accept the offer.
func (o *Offer) VisibleTo(account string) bool {
	if o.Visibility != VisibilityPrivate {
		return true
	}
	for _, b := range o.Buyers {
		if b == account {
			return true
		}
	}
	return false
}

// Term returns the offer's first term of the given type.
func (o *Offer) Term(typ string) (*Term, bool) {
	return findTerm(o.Terms, typ)
}

func findTerm(terms []Term, typ string) (*Term, bool) {
	for i := range terms {
		if terms[i].Type == typ {
			return &terms[i], true
		}
	}
	return nil, false
}

// IsContract reports whether the offer sells contract dimensions
// (contract, contract-with-consumption, or a trial converting to them).
func (o *Offer) IsContract() bool {
	_, ok := o.Term(TermConfigurableUpfrontPrice)
	return ok
}

// Term is one term of an offer (and, once accepted, of an agreement), with
// the members of the Agreement API's term of its Type. Configuration holds
// the buyer's choices in an agreement's accepted terms.
type Term struct {
	ID   string `json:"id"` // term- + 32 hex
	Type string `json:"type"`

	CurrencyCode string `json:"currency_code,omitempty"`
	// UsageBasedPricingTerm: the price of each usage dimension.
	RateCard []RateCardItem `json:"rate_card,omitempty"`
	// ConfigurableUpfrontPricingTerm: one rate card per duration.
	RateCards []DurationRateCard `json:"rate_cards,omitempty"`
	// FreeTrialPricingTerm.
	Duration string      `json:"duration,omitempty"` // such as P30D
	Grants   []GrantItem `json:"grants,omitempty"`
	Converts *bool       `json:"converts,omitempty"` // trial ends: the paid terms start (true) or the agreement expires
	// LegalTerm.
	Documents []DocumentItem `json:"documents,omitempty"`
	// SupportTerm.
	RefundPolicy string `json:"refund_policy,omitempty"`
	// RenewalTerm: the buyer's default choice.
	AutoRenew *bool `json:"auto_renew,omitempty"`
	// ValidityTerm.
	AgreementDuration  string     `json:"agreement_duration,omitempty"`
	AgreementStartDate *time.Time `json:"agreement_start_date,omitempty"`

	Configuration *TermConfiguration `json:"configuration,omitempty"`
}

// RateCardItem is the price per unit of one dimension.
type RateCardItem struct {
	DimensionKey string `json:"dimension_key"`
	Price        string `json:"price"`
}

// DurationRateCard is the rate card of one contract duration (the Selector
// of type Duration).
type DurationRateCard struct {
	Duration string         `json:"duration"` // P1M, P12M, P24M or P36M
	RateCard []RateCardItem `json:"rate_card"`
}

// GrantItem is a free trial's grant of a dimension; MaxQuantity 0 means
// unlimited.
type GrantItem struct {
	DimensionKey string `json:"dimension_key"`
	MaxQuantity  int64  `json:"max_quantity,omitempty"`
}

// DocumentItem is a legal document of a LegalTerm.
type DocumentItem struct {
	Type string `json:"type"` // such as StandardEula
	URL  string `json:"url"`
}

// TermConfiguration is what the buyer chose when accepting a term: the
// contract's duration and quantities, or the renewal choice.
type TermConfiguration struct {
	SelectorValue   string           `json:"selector_value,omitempty"`
	Dimensions      []DimensionValue `json:"dimensions,omitempty"`
	EnableAutoRenew *bool            `json:"enable_auto_renew,omitempty"`
}

// DimensionValue is a purchased quantity of a contract dimension.
type DimensionValue struct {
	DimensionKey   string `json:"dimension_key"`
	DimensionValue int64  `json:"dimension_value"`
}

// AddISODuration returns t plus the ISO 8601 duration d of one unit, PnD,
// PnM or PnY (the durations offers use), in UTC. Months are calendar
// months (time.AddDate).
func AddISODuration(t time.Time, d string) (time.Time, error) {
	if len(d) < 3 || d[0] != 'P' {
		return time.Time{}, fmt.Errorf("duration %q is not an ISO 8601 duration such as P30D, P1M or P1Y", d)
	}
	n, err := strconv.Atoi(d[1 : len(d)-1])
	if err != nil || n <= 0 || n > 1200 {
		return time.Time{}, fmt.Errorf("duration %q is not an ISO 8601 duration such as P30D, P1M or P1Y", d)
	}
	t = t.UTC()
	switch d[len(d)-1] {
	case 'D':
		return t.AddDate(0, 0, n), nil
	case 'M':
		return t.AddDate(0, n, 0), nil
	case 'Y':
		return t.AddDate(n, 0, 0), nil
	}
	return time.Time{}, fmt.Errorf("duration %q is not an ISO 8601 duration such as P30D, P1M or P1Y", d)
}

// ValidOfferID reports whether id is offer- + 13 lowercase letters/digits.
func ValidOfferID(id string) bool { return prefixed(id, "offer-", 13, lowerAlnum) }

// ValidProductID reports whether id is prod- + 13 lowercase letters/digits.
func ValidProductID(id string) bool { return prefixed(id, "prod-", 13, lowerAlnum) }

// ValidAgreementID reports whether id is agmt- + 25 letters/digits.
func ValidAgreementID(id string) bool { return prefixed(id, "agmt-", 25, alnum) }

// ValidProposalID reports whether id is ap- + 25 letters/digits.
func ValidProposalID(id string) bool { return prefixed(id, "ap-", 25, alnum) }

// ValidTermID reports whether id is term- + 32 hex digits.
func ValidTermID(id string) bool { return prefixed(id, "term-", 32, lowerHex) }

func lowerAlnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }
func alnum(c byte) bool      { return lowerAlnum(c) || 'A' <= c && c <= 'Z' }
func lowerHex(c byte) bool   { return 'a' <= c && c <= 'f' || '0' <= c && c <= '9' }

func prefixed(id, prefix string, n int, ok func(byte) bool) bool {
	if len(id) != len(prefix)+n || id[:len(prefix)] != prefix {
		return false
	}
	for i := len(prefix); i < len(id); i++ {
		if !ok(id[i]) {
			return false
		}
	}
	return true
}
