package marketplace

import (
	"time"

	"github.com/meterd/meterd"
)

// The entity documents DescribeEntity answers as DetailsDocument, with
// AWS's member names (those of AWS's published Catalog API shapes): what a
// seller's code reads of them is there (a product's ProductCode and
// dimensions, an offer's product and terms); the listing's marketing
// content, which meterd's catalog does not hold, is not.

type productDoc struct {
	Description productDescription `json:"Description"`
	Dimensions  []dimensionDoc     `json:"Dimensions"`
}

type productDescription struct {
	ProductTitle string `json:"ProductTitle"`
	ProductCode  string `json:"ProductCode"`
	Manufacturer string `json:"Manufacturer"` // the seller's account id
	ProductState string `json:"ProductState"`
	Visibility   string `json:"Visibility"`
}

// dimensionDoc is a pricing dimension; Types is ExternallyMetered for a
// usage dimension, Entitled for a contract dimension.
type dimensionDoc struct {
	Key         string   `json:"Key"`
	Name        string   `json:"Name"`
	Description string   `json:"Description"`
	Unit        string   `json:"Unit"`
	Types       []string `json:"Types"`
}

func productDocument(p *meterd.Product) *productDoc {
	d := &productDoc{
		Description: productDescription{ProductTitle: p.Code, ProductCode: p.Code, Manufacturer: p.SellerAccountID,
			ProductState: "Active", Visibility: "Public"},
		Dimensions: []dimensionDoc{},
	}
	for _, dim := range p.Dimensions {
		typ := "ExternallyMetered"
		if dim.Contract {
			typ = "Entitled"
		}
		d.Dimensions = append(d.Dimensions, dimensionDoc{Key: dim.Name, Name: dim.Name, Description: dim.Name,
			Unit: dim.Unit, Types: []string{typ}})
	}
	return d
}

type offerDoc struct {
	ID        string    `json:"Id"`
	ProductID string    `json:"ProductId"`
	Name      string    `json:"Name"`
	State     string    `json:"State"`
	Terms     []termDoc `json:"Terms"`
	Rules     []ruleDoc `json:"Rules"`
}

// termDoc is an offer's term; only its type's members are set.
type termDoc struct {
	Type               string        `json:"Type"`
	ID                 string        `json:"Id"`
	CurrencyCode       string        `json:"CurrencyCode,omitempty"`
	RateCards          []rateCardDoc `json:"RateCards,omitempty"`
	Duration           string        `json:"Duration,omitempty"`
	Grants             []grantDoc    `json:"Grants,omitempty"`
	Documents          []documentDoc `json:"Documents,omitempty"`
	RefundPolicy       string        `json:"RefundPolicy,omitempty"`
	AgreementDuration  string        `json:"AgreementDuration,omitempty"`
	AgreementStartDate string        `json:"AgreementStartDate,omitempty"`
}

type rateCardDoc struct {
	Selector    *selectorDoc    `json:"Selector,omitempty"`
	Constraints *constraintsDoc `json:"Constraints,omitempty"`
	RateCard    []rateItemDoc   `json:"RateCard"`
}

type selectorDoc struct {
	Type  string `json:"Type"`
	Value string `json:"Value"`
}

type constraintsDoc struct {
	MultipleDimensionSelection string `json:"MultipleDimensionSelection"`
	QuantityConfiguration      string `json:"QuantityConfiguration"`
}

type rateItemDoc struct {
	DimensionKey string `json:"DimensionKey"`
	Price        string `json:"Price"`
}

type grantDoc struct {
	DimensionKey string `json:"DimensionKey"`
	MaxQuantity  int64  `json:"MaxQuantity,omitempty"`
}

type documentDoc struct {
	Type string `json:"Type"`
	URL  string `json:"Url"`
}

// ruleDoc is an offer's rule: a private offer's TargetingRule names its
// buyers.
type ruleDoc struct {
	Type              string        `json:"Type"`
	PositiveTargeting *targetingDoc `json:"PositiveTargeting,omitempty"`
}

type targetingDoc struct {
	BuyerAccounts []string `json:"BuyerAccounts"`
}

func offerDocument(p *meterd.Product, o *meterd.Offer) *offerDoc {
	d := &offerDoc{ID: o.ID, ProductID: p.ID, Name: o.Name, State: "Released", Terms: []termDoc{}, Rules: []ruleDoc{}}
	for _, t := range o.Terms {
		d.Terms = append(d.Terms, termDocument(t))
	}
	if o.Visibility == meterd.VisibilityPrivate {
		d.Rules = append(d.Rules, ruleDoc{Type: "TargetingRule", PositiveTargeting: &targetingDoc{BuyerAccounts: append([]string{}, o.Buyers...)}})
	}
	return d
}

func termDocument(t meterd.Term) termDoc {
	d := termDoc{Type: t.Type, ID: t.ID, Duration: t.Duration, RefundPolicy: t.RefundPolicy, AgreementDuration: t.AgreementDuration}
	switch t.Type {
	case meterd.TermUsageBasedPricing:
		d.CurrencyCode = or(t.CurrencyCode, "USD")
		d.RateCards = []rateCardDoc{{RateCard: rateItems(t.RateCard)}}
	case meterd.TermConfigurableUpfrontPrice:
		d.CurrencyCode = or(t.CurrencyCode, "USD")
		for _, rc := range t.RateCards {
			d.RateCards = append(d.RateCards, rateCardDoc{
				Selector:    &selectorDoc{Type: "Duration", Value: rc.Duration},
				Constraints: &constraintsDoc{MultipleDimensionSelection: "Allowed", QuantityConfiguration: "Allowed"},
				RateCard:    rateItems(rc.RateCard),
			})
		}
	}
	for _, g := range t.Grants {
		d.Grants = append(d.Grants, grantDoc{DimensionKey: g.DimensionKey, MaxQuantity: g.MaxQuantity})
	}
	for _, doc := range t.Documents {
		d.Documents = append(d.Documents, documentDoc{Type: doc.Type, URL: doc.URL})
	}
	if t.AgreementStartDate != nil {
		d.AgreementStartDate = t.AgreementStartDate.UTC().Format(time.RFC3339)
	}
	return d
}

func rateItems(items []meterd.RateCardItem) []rateItemDoc {
	out := []rateItemDoc{}
	for _, it := range items {
		out = append(out, rateItemDoc{DimensionKey: it.DimensionKey, Price: it.Price})
	}
	return out
}
