// Package catalog reads the catalog file (YAML or JSON) that declares
// accounts, products, customers and faults, and applies it to a ledger.
package catalog

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/meterd/meterd"
)

// File is a parsed catalog file.
type File struct {
	Accounts []Account `yaml:"accounts"`
	Products []Product `yaml:"products"`
	Faults   []Fault   `yaml:"faults"`
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
	Seller            string      `yaml:"seller"`
	Type              string      `yaml:"type"`
	Regions           []string    `yaml:"regions"`
	FulfillmentURL    string      `yaml:"fulfillment_url"`
	PublicKeyVersions int64       `yaml:"public_key_versions"`
	Dimensions        []Dimension `yaml:"dimensions"`
	Customers         []Customer  `yaml:"customers"`
	line              int
}

// Dimension is a pricing dimension of a product.
type Dimension struct {
	Name  string `yaml:"name"`
	Unit  string `yaml:"unit"`
	Price string `yaml:"price"`
	line  int
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

// Load reads and validates the catalog file at path.
func Load(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	f, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s:%w", path, err)
	}
	return f, nil
}

// Parse decodes and validates a catalog in YAML or JSON. Errors name the
// line and the field, as "12: products[0].dimensions[1].name: required".
func Parse(b []byte) (*File, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if err := checkKeys(&root, ""); err != nil {
		return nil, err
	}
	var f File
	if err := root.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return &f, nil
}

// fieldError is a validation error at a line of the file.
func fieldError(line int, field, format string, args ...any) error {
	return fmt.Errorf("%d: %s: %s", line, field, fmt.Sprintf(format, args...))
}

var pricePattern = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

// Validate checks required fields and values, naming the field and line of
// the first problem.
func (f *File) Validate() error {
	accounts := map[string]bool{}
	for i, a := range f.Accounts {
		at := fmt.Sprintf("accounts[%d]", i)
		if !meterd.ValidAccountID(a.ID) {
			return fieldError(a.line, at+".id", "must be 12 digits, got %q", a.ID)
		}
		accounts[a.ID] = true
		for j, k := range a.AccessKeys {
			if k.ID == "" || k.Secret == "" {
				return fieldError(k.line, fmt.Sprintf("%s.access_keys[%d]", at, j), "id and secret are required")
			}
		}
	}
	codes := map[string]bool{}
	for i := range f.Products {
		if err := f.Products[i].validate(fmt.Sprintf("products[%d]", i)); err != nil {
			return err
		}
		p := &f.Products[i]
		if codes[p.Code] {
			return fieldError(p.line, fmt.Sprintf("products[%d].code", i), "duplicate product %q", p.Code)
		}
		codes[p.Code] = true
		if !accounts[p.Seller] {
			return fieldError(p.line, fmt.Sprintf("products[%d].seller", i), "account %q is not in accounts", p.Seller)
		}
	}
	for i, r := range f.Faults {
		if r.Operation == "" {
			return fieldError(r.line, fmt.Sprintf("faults[%d].operation", i), "required")
		}
	}
	return nil
}

func (p *Product) validate(at string) error {
	if !meterd.ValidProductCode(p.Code) {
		return fieldError(p.line, at+".code", "required, 1..255 of letters, digits and -/=:_.@, got %q", p.Code)
	}
	if p.Seller == "" {
		return fieldError(p.line, at+".seller", "required")
	}
	switch p.Type {
	case meterd.ProductSaaS, meterd.ProductAMI, meterd.ProductContainer:
	default:
		return fieldError(p.line, at+".type", "must be saas, ami or container, got %q", p.Type)
	}
	if p.PublicKeyVersions < 0 {
		return fieldError(p.line, at+".public_key_versions", "must be at least 1")
	}
	if len(p.Dimensions) == 0 {
		return fieldError(p.line, at+".dimensions", "at least one dimension is required")
	}
	for j, d := range p.Dimensions {
		field := fmt.Sprintf("%s.dimensions[%d]", at, j)
		if d.Name == "" || len(d.Name) > 255 {
			return fieldError(d.line, field+".name", "required, 1..255 characters")
		}
		if d.Price != "" && !pricePattern.MatchString(d.Price) {
			return fieldError(d.line, field+".price", "must be a decimal number, got %q", d.Price)
		}
	}
	for j, c := range p.Customers {
		field := fmt.Sprintf("%s.customers[%d]", at, j)
		if c.AWSAccountID != "" && !meterd.ValidAccountID(c.AWSAccountID) {
			return fieldError(c.line, field+".aws_account_id", "must be 12 digits, got %q", c.AWSAccountID)
		}
		if c.Status != "" && !meterd.ValidStatus(c.Status) {
			return fieldError(c.line, field+".status", "unknown status %q", c.Status)
		}
		if c.Platform != "" && !meterd.ValidPlatform(c.Platform) {
			return fieldError(c.line, field+".platform", "unknown platform %q", c.Platform)
		}
	}
	return nil
}
