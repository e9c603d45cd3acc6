package marketplace

import (
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/meterd/meterd"
)

// Defaults of the terms every offer has.
const (
	DefaultEULA         = "https://aws.amazon.com/marketplace/standard-contracts"
	DefaultRefundPolicy = "No refunds (simulated by meterd)."
)

// OfferSpec is an offer as the catalog file, the CLI and the admin API
// declare it; NewOffer turns it into the offer's terms. Field names are
// those of the catalog file.
type OfferSpec struct {
	ID         string                       `json:"id,omitempty"` // generated when empty
	Name       string                       `json:"name,omitempty"`
	Pricing    string                       `json:"pricing"`
	Durations  map[string]map[string]string `json:"durations,omitempty"` // duration → contract dimension → price per unit
	AutoRenew  *bool                        `json:"auto_renew,omitempty"`
	Visibility string                       `json:"visibility,omitempty"`
	Buyers     []string                     `json:"buyers,omitempty"`
	Trial      *TrialSpec                   `json:"trial,omitempty"`
	EULA       string                       `json:"eula_url,omitempty"`
	Refund     string                       `json:"refund_policy,omitempty"`
	// AgreementDuration and StartDate make a ValidityTerm: the agreement
	// lasts that long (a usage offer gets an end time), from that date.
	AgreementDuration string     `json:"agreement_duration,omitempty"`
	StartDate         *time.Time `json:"start_date,omitempty"`
}

// TrialSpec is a free trial: its duration (PnD), the quantities it grants
// per dimension, and whether the paid terms start at its end.
type TrialSpec struct {
	Duration string           `json:"duration"`
	Grants   map[string]int64 `json:"grants,omitempty"`
	Converts *bool            `json:"converts,omitempty"` // default true
}

var (
	pricePattern = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)
	dayPattern   = regexp.MustCompile(`^P[1-9][0-9]{0,2}D$`)
)

// NewOffer validates spec against the product and returns the offer with
// its terms, created at now. Errors are EInvalid and name the field.
func NewOffer(p *meterd.Product, spec *OfferSpec, now time.Time) (*meterd.Offer, error) {
	if err := validateOffer(p, spec); err != nil {
		return nil, err
	}
	o := &meterd.Offer{
		ID: spec.ID, ProductCode: p.Code, Name: spec.Name, Pricing: spec.Pricing, Visibility: spec.Visibility,
		Buyers: slices.Clone(spec.Buyers), CreatedAt: now.UTC().Truncate(time.Millisecond),
	}
	if o.ID == "" {
		o.ID = NewOfferID()
	}
	if o.Visibility == "" {
		o.Visibility = meterd.VisibilityPublic
	}
	if o.Buyers == nil {
		o.Buyers = []string{}
	}
	if o.Name == "" {
		o.Name = map[string]string{meterd.PricingUsage: "Pay as you go", meterd.PricingContract: "Contract",
			meterd.PricingContractWithConsumption: "Contract with consumption", meterd.PricingFreeTrial: "Free trial"}[o.Pricing]
	}
	o.AgreementProposalID = proposalID(o.ID)
	term := func(typ string) meterd.Term { return meterd.Term{ID: termID(o.ID, typ), Type: typ} }
	if spec.Trial != nil {
		t := term(meterd.TermFreeTrialPricing)
		t.Duration = spec.Trial.Duration
		converts := spec.Trial.Converts == nil || *spec.Trial.Converts
		t.Converts = &converts
		for _, name := range sortedKeys(spec.Trial.Grants) {
			t.Grants = append(t.Grants, meterd.GrantItem{DimensionKey: name, MaxQuantity: spec.Trial.Grants[name]})
		}
		o.Terms = append(o.Terms, t)
	}
	contract := len(spec.Durations) > 0
	if !contract || spec.Pricing == meterd.PricingContractWithConsumption {
		t := term(meterd.TermUsageBasedPricing)
		t.CurrencyCode = "USD"
		for _, d := range p.Dimensions {
			if !d.Contract {
				t.RateCard = append(t.RateCard, meterd.RateCardItem{DimensionKey: d.Name, Price: d.Price})
			}
		}
		o.Terms = append(o.Terms, t)
	}
	if contract {
		t := term(meterd.TermConfigurableUpfrontPrice)
		t.CurrencyCode = "USD"
		for _, dur := range []string{"P1M", "P12M", "P24M", "P36M"} {
			prices, ok := spec.Durations[dur]
			if !ok {
				continue
			}
			card := meterd.DurationRateCard{Duration: dur}
			for _, name := range sortedKeys(prices) {
				card.RateCard = append(card.RateCard, meterd.RateCardItem{DimensionKey: name, Price: prices[name]})
			}
			t.RateCards = append(t.RateCards, card)
		}
		o.Terms = append(o.Terms, t)
		r := term(meterd.TermRenewal)
		auto := spec.AutoRenew == nil || *spec.AutoRenew
		r.AutoRenew = &auto
		o.Terms = append(o.Terms, r)
	}
	legal := term(meterd.TermLegal)
	legal.Documents = []meterd.DocumentItem{{Type: "StandardEula", URL: or(spec.EULA, DefaultEULA)}}
	support := term(meterd.TermSupport)
	support.RefundPolicy = or(spec.Refund, DefaultRefundPolicy)
	o.Terms = append(o.Terms, legal, support)
	if spec.AgreementDuration != "" || spec.StartDate != nil {
		v := term(meterd.TermValidity)
		v.AgreementDuration = spec.AgreementDuration
		if spec.StartDate != nil {
			s := spec.StartDate.UTC()
			v.AgreementStartDate = &s
		}
		o.Terms = append(o.Terms, v)
	}
	return o, nil
}

// DefaultOffer returns a product's generated default offer: public,
// pay-as-you-go, with a stable id.
func DefaultOffer(p *meterd.Product, now time.Time) *meterd.Offer {
	o, err := NewOffer(p, &OfferSpec{ID: DefaultOfferID(p.Code), Pricing: meterd.PricingUsage}, now)
	if err != nil {
		panic(err) // a usage offer with no other field is always valid
	}
	o.Default = true
	return o
}

func validateOffer(p *meterd.Product, s *OfferSpec) error {
	if s.ID != "" && !meterd.ValidOfferID(s.ID) {
		return invalid("id", "%q is not offer- followed by 13 lowercase letters or digits", s.ID)
	}
	if len(s.Name) > 255 {
		return invalid("name", "at most 255 characters")
	}
	switch s.Pricing {
	case meterd.PricingUsage:
		if len(s.Durations) > 0 {
			return invalid("durations", "a usage offer has no contract durations; use pricing contract or contract-with-consumption")
		}
	case meterd.PricingContract, meterd.PricingContractWithConsumption:
		if len(s.Durations) == 0 {
			return invalid("durations", "a %s offer needs at least one duration (P1M, P12M, P24M or P36M) with the price of each contract dimension", s.Pricing)
		}
	case meterd.PricingFreeTrial:
		if s.Trial == nil {
			return invalid("trial", "a free-trial offer needs trial: {duration: P30D, ...}")
		}
	default:
		return invalid("pricing", "%q is not usage, contract, contract-with-consumption or free-trial", s.Pricing)
	}
	if s.Trial != nil && s.Pricing != meterd.PricingFreeTrial {
		return invalid("trial", "only a free-trial offer has a trial")
	}
	for dur, prices := range s.Durations {
		if !meterd.ValidContractDuration(dur) {
			return invalid("durations", "%q is not P1M, P12M, P24M or P36M", dur)
		}
		if len(prices) == 0 {
			return invalid("durations."+dur, "give the price of at least one contract dimension")
		}
		for name, price := range prices {
			d, ok := p.Dimension(name)
			if !ok || !d.Contract {
				return invalid("durations."+dur+"."+name, "product %s has no contract dimension %q (declare it with contract: true)", p.Code, name)
			}
			if !pricePattern.MatchString(price) {
				return invalid("durations."+dur+"."+name, "%q is not a decimal price", price)
			}
		}
	}
	if s.Trial != nil {
		if !dayPattern.MatchString(s.Trial.Duration) {
			return invalid("trial.duration", "%q is not a number of days such as P30D", s.Trial.Duration)
		}
		for name, q := range s.Trial.Grants {
			if _, ok := p.Dimension(name); !ok {
				return invalid("trial.grants."+name, "product %s has no dimension %q", p.Code, name)
			}
			if q < 0 {
				return invalid("trial.grants."+name, "a grant is a quantity of 0 (unlimited) or more")
			}
		}
	}
	switch s.Visibility {
	case "", meterd.VisibilityPublic:
		if len(s.Buyers) > 0 {
			return invalid("buyers", "only a private offer has an allow-list of buyers")
		}
	case meterd.VisibilityPrivate:
		if len(s.Buyers) == 0 {
			return invalid("buyers", "a private offer needs at least one buyer account")
		}
	default:
		return invalid("visibility", "%q is not public or private", s.Visibility)
	}
	for i, b := range s.Buyers {
		if !meterd.ValidAccountID(b) {
			return invalid(fmt.Sprintf("buyers[%d]", i), "%q is not a 12-digit account id", b)
		}
	}
	if s.AgreementDuration != "" {
		if _, err := meterd.AddISODuration(time.Time{}, s.AgreementDuration); err != nil {
			return invalid("agreement_duration", "%v", err)
		}
	}
	return nil
}

// invalid returns an EInvalid error naming the field.
func invalid(field, format string, args ...any) error {
	return meterd.Errorf(meterd.EInvalid, "%s: %s", field, fmt.Sprintf(format, args...))
}

func or(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
