package meterd

import (
	"slices"
	"strings"
	"time"
)

// Product types, as in AWS Marketplace listings.
const (
	ProductSaaS      = "saas"
	ProductAMI       = "ami"
	ProductContainer = "container"
)

// Product is a Marketplace product whose usage is metered. Its code is what
// callers send as ProductCode.
type Product struct {
	Code            string
	ID              string // the catalog entity id: prod- + 13 lowercase letters/digits
	SellerAccountID string
	Type            string   // ProductSaaS, ProductAMI or ProductContainer
	Regions         []string // where the API is enabled; empty means every region
	FulfillmentURL  string
	Dimensions      []Dimension
	// ConcurrentAgreements: a customer may hold several active licenses,
	// and records must then name their LicenseArn.
	ConcurrentAgreements bool
	CreatedAt            time.Time
}

// ValidProductCode reports whether code can name a product in meterd's
// catalog: 1 to 255 of the letters, digits and -/=:_.@ that the Metering
// API's ProductCode pattern allows.
func ValidProductCode(code string) bool {
	if len(code) < 1 || len(code) > 255 {
		return false
	}
	for i := range len(code) {
		c := code[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-/=:_.@", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// Dimension is a pricing dimension of a product (UsageDimension on the wire).
type Dimension struct {
	Name  string
	Unit  string
	Price string // decimal price per unit; empty when unpriced
	// Contract marks a dimension sold by quantity in contract offers; its
	// entitlements have ValueType ValueInteger (default) or ValueBoolean.
	Contract  bool
	ValueType string
}

// Value types of a contract dimension's entitlements.
const (
	ValueInteger = "integer"
	ValueBoolean = "boolean"
)

// EntityType returns the Catalog API entity type of the product
// (SaaSProduct, AmiProduct or ContainerProduct).
func (p *Product) EntityType() string {
	switch p.Type {
	case ProductAMI:
		return "AmiProduct"
	case ProductContainer:
		return "ContainerProduct"
	}
	return "SaaSProduct"
}

// Dimension returns the product's dimension with the given name.
func (p *Product) Dimension(name string) (Dimension, bool) {
	for _, d := range p.Dimensions {
		if d.Name == name {
			return d, true
		}
	}
	return Dimension{}, false
}

// RegionEnabled reports whether the API is enabled for the product in region.
func (p *Product) RegionEnabled(region string) bool {
	return len(p.Regions) == 0 || slices.Contains(p.Regions, region)
}

// DefaultPlatform is the platform a customer of a product of type typ runs on
// when the catalog does not say.
func DefaultPlatform(typ string) string {
	switch typ {
	case ProductAMI:
		return PlatformEC2
	case ProductContainer:
		return PlatformECS
	}
	return PlatformOther
}
