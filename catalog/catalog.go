// Package catalog reads the catalog file (YAML or JSON) that declares
// accounts, products, customers and faults, and applies it to a ledger.
package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/meterd/meterd"
)

// File is a parsed catalog file.
type File struct {
	Accounts []Account `yaml:"accounts"`
	Products []Product `yaml:"products"`
	Faults   []Fault   `yaml:"faults"`
	// Notifications are queues, subscriptions and rules (notifications.go).
	Notifications *Notifications `yaml:"notifications"`
}

// Account is an AWS account of the catalog.
type Account struct {
	ID         string      `yaml:"id"`
	Name       string      `yaml:"name"`
	AccessKeys []AccessKey `yaml:"access_keys"`
	line       int
}

// AccessKey is an access key pair of an account.
type AccessKey struct {
	ID           string `yaml:"id"`
	Secret       string `yaml:"secret"`
	SessionToken string `yaml:"session_token"`
	line         int
}

// Product is a product of the catalog.
type Product struct {
	Code              string      `yaml:"code"`
	ID                string      `yaml:"id"` // prod-...; derived from the code when absent
	Seller            string      `yaml:"seller"`
	Type              string      `yaml:"type"`
	Regions           []string    `yaml:"regions"`
	FulfillmentURL    string      `yaml:"fulfillment_url"`
	PublicKeyVersions int64       `yaml:"public_key_versions"`
	Dimensions        []Dimension `yaml:"dimensions"`
	// ConcurrentAgreements: a customer may hold several licenses, and
	// records must then name theirs.
	ConcurrentAgreements bool        `yaml:"concurrent_agreements"`
	Offers               []Offer     `yaml:"offers"`
	Customers            []Customer  `yaml:"customers"`
	Agreements           []Agreement `yaml:"agreements"`
	line                 int
}

// Offer is an offer of a product; omitted, the product has one public
// usage offer.
type Offer struct {
	ID                string                       `yaml:"id"`
	Name              string                       `yaml:"name"`
	Pricing           string                       `yaml:"pricing"`
	Durations         map[string]map[string]string `yaml:"durations"`
	AutoRenew         *bool                        `yaml:"auto_renew"`
	Visibility        string                       `yaml:"visibility"`
	Buyers            []string                     `yaml:"buyers"`
	Trial             *Trial                       `yaml:"trial"`
	EULA              string                       `yaml:"eula_url"`
	RefundPolicy      string                       `yaml:"refund_policy"`
	AgreementDuration string                       `yaml:"agreement_duration"`
	StartDate         *time.Time                   `yaml:"start_date"`
	line              int
}

// Trial is a free-trial offer's trial.
type Trial struct {
	Duration string           `yaml:"duration"`
	Grants   map[string]int64 `yaml:"grants"`
	Converts *bool            `yaml:"converts"`
}

// Agreement is an agreement accepted when the catalog is applied (once).
type Agreement struct {
	Buyer      string           `yaml:"buyer"`
	Offer      string           `yaml:"offer"`
	Duration   string           `yaml:"duration"`
	Quantities map[string]int64 `yaml:"quantities"`
	AutoRenew  *bool            `yaml:"auto_renew"`
	Trial      bool             `yaml:"trial"`
	Start      *time.Time       `yaml:"start"`
	line       int
}

// Dimension is a pricing dimension of a product.
type Dimension struct {
	Name      string `yaml:"name"`
	Unit      string `yaml:"unit"`
	Price     string `yaml:"price"`
	Contract  bool   `yaml:"contract"`
	ValueType string `yaml:"value_type"` // integer (default) or boolean
	line      int
}

// Customer is a subscription of a buyer to a product.
type Customer struct {
	AWSAccountID       string `yaml:"aws_account_id"`
	CustomerIdentifier string `yaml:"customer_identifier"`
	LicenseArn         string `yaml:"license_arn"`
	Status             string `yaml:"status"`
	Platform           string `yaml:"platform"`
	line               int
}

// Fault is a fault rule declared in the catalog; the fields are those of
// `meterd faults add`.
type Fault struct {
	Operation    string  `yaml:"operation"`
	Product      string  `yaml:"product"`
	Customer     string  `yaml:"customer"`
	Dimension    string  `yaml:"dimension"`
	Account      string  `yaml:"account"`
	Error        string  `yaml:"error"`
	Unprocessed  float64 `yaml:"unprocessed"`
	Latency      string  `yaml:"latency"`
	DropResponse bool    `yaml:"drop_response"`
	Probability  float64 `yaml:"probability"`
	Count        int64   `yaml:"count"`
	line         int
}

// Load reads and validates the catalog file at path. Each problem is one
// line of the error, as "catalog.yaml:14: products[0].dimensions[0].name:
// required".
func Load(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	f, err := Parse(b)
	if err != nil {
		return nil, errors.New(path + ":" + strings.ReplaceAll(err.Error(), "\n", "\n"+path+":"))
	}
	return f, nil
}

// Parse decodes and validates a catalog in YAML or JSON. The error lists
// every problem of the file, one a line, ordered by line, each naming the
// line of the field at fault and the field, as "12:
// products[0].dimensions[1].name: required"; a syntax error, after which
// nothing more can be read, comes alone.
func Parse(b []byte) (*File, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&root); errors.Is(err, io.EOF) {
		return nil, fileErrors{{line: 1, msg: "the catalog is empty"}}
	} else if err != nil {
		return nil, fileErrors{syntaxError(b, err)}
	}
	errs := checkKeys(&root, "")
	var f File
	if err := root.Decode(&f); err != nil {
		errs = append(errs, typeErrors(err)...)
	}
	errs = append(errs, flatten(f.Validate())...)
	if len(errs) > 0 {
		lines := map[string]int{}
		fieldLines(&root, "", lines)
		return nil, locate(errs, lines)
	}
	return &f, nil
}

var pricePattern = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

// Validate checks required fields and values. Its error holds every
// problem found, each naming its field and the line of its element.
func (f *File) Validate() error {
	var errs []error
	accounts := map[string]bool{}
	for i, a := range f.Accounts {
		at := fmt.Sprintf("accounts[%d]", i)
		if !meterd.ValidAccountID(a.ID) {
			errs = append(errs, fieldError(a.line, at+".id", "must be 12 digits, got %q", a.ID))
		}
		accounts[a.ID] = true
		for j, k := range a.AccessKeys {
			if k.ID == "" || k.Secret == "" {
				errs = append(errs, fieldError(k.line, fmt.Sprintf("%s.access_keys[%d]", at, j), "id and secret are required"))
			}
		}
	}
	codes := map[string]bool{}
	for i := range f.Products {
		errs = append(errs, f.Products[i].validate(fmt.Sprintf("products[%d]", i)))
		p := &f.Products[i]
		if codes[p.Code] {
			errs = append(errs, fieldError(p.line, fmt.Sprintf("products[%d].code", i), "duplicate product %q", p.Code))
		}
		codes[p.Code] = true
		if p.Seller != "" && !accounts[p.Seller] {
			errs = append(errs, fieldError(p.line, fmt.Sprintf("products[%d].seller", i), "account %q is not in accounts", p.Seller))
		}
	}
	if f.Notifications != nil {
		sellers := map[string]string{}
		for _, p := range f.Products {
			sellers[p.Code] = p.Seller
		}
		errs = append(errs, f.Notifications.validate(accounts, sellers))
	}
	for i, r := range f.Faults {
		if r.Operation == "" {
			errs = append(errs, fieldError(r.line, fmt.Sprintf("faults[%d].operation", i), "required"))
		}
	}
	return errors.Join(errs...)
}

// Line is the line of the fault rule in its file, for the errors of the
// fault rules' own validation.
func (r *Fault) Line() int { return r.line }

func (p *Product) validate(at string) error {
	var errs []error
	if !meterd.ValidProductCode(p.Code) {
		errs = append(errs, fieldError(p.line, at+".code", "required, 1..255 of letters, digits and -/=:_.@, got %q", p.Code))
	}
	if p.Seller == "" {
		errs = append(errs, fieldError(p.line, at+".seller", "required"))
	}
	switch p.Type {
	case meterd.ProductSaaS, meterd.ProductAMI, meterd.ProductContainer:
	default:
		errs = append(errs, fieldError(p.line, at+".type", "must be saas, ami or container, got %q", p.Type))
	}
	for j, r := range p.Regions {
		if !meterd.KnownRegion(r) {
			errs = append(errs, fieldError(p.line, fmt.Sprintf("%s.regions[%d]", at, j), "unknown AWS region %q", r))
		}
	}
	if p.PublicKeyVersions < 0 {
		errs = append(errs, fieldError(p.line, at+".public_key_versions", "must be at least 1"))
	}
	if len(p.Dimensions) == 0 {
		errs = append(errs, fieldError(p.line, at+".dimensions", "at least one dimension is required"))
	}
	dimensions := map[string]int{}
	for j, d := range p.Dimensions {
		field := fmt.Sprintf("%s.dimensions[%d]", at, j)
		if d.Name == "" || len(d.Name) > 255 {
			errs = append(errs, fieldError(d.line, field+".name", "required, 1..255 characters"))
		} else if first, dup := dimensions[d.Name]; dup {
			errs = append(errs, fieldError(d.line, field+".name", "duplicate dimension %q (also dimensions[%d])", d.Name, first))
		} else {
			dimensions[d.Name] = j
		}
		if d.Price != "" && !pricePattern.MatchString(d.Price) {
			errs = append(errs, fieldError(d.line, field+".price", "must be a decimal number, got %q", d.Price))
		}
		switch d.ValueType {
		case "", meterd.ValueInteger:
		case meterd.ValueBoolean:
			if !d.Contract {
				return fieldError(d.line, field+".value_type", "only a contract dimension (contract: true) has a value type")
			}
		default:
			return fieldError(d.line, field+".value_type", "must be integer or boolean, got %q", d.ValueType)
		}
	}
	if p.ID != "" && !meterd.ValidProductID(p.ID) {
		return fieldError(p.line, at+".id", "must be prod- followed by 13 lowercase letters or digits, got %q", p.ID)
	}
	if err := p.validateMarketplace(at); err != nil {
		return err
	}
	for j, c := range p.Customers {
		field := fmt.Sprintf("%s.customers[%d]", at, j)
		if c.AWSAccountID != "" && !meterd.ValidAccountID(c.AWSAccountID) {
			errs = append(errs, fieldError(c.line, field+".aws_account_id", "must be 12 digits, got %q", c.AWSAccountID))
		}
		if c.Status != "" && !meterd.ValidStatus(c.Status) {
			errs = append(errs, fieldError(c.line, field+".status", "unknown status %q", c.Status))
		}
		if c.Platform != "" && !meterd.ValidPlatform(c.Platform) {
			errs = append(errs, fieldError(c.line, field+".platform", "unknown platform %q", c.Platform))
		}
	}
	return errors.Join(errs...)
}
