package catalog

import (
	"strings"
	"testing"
)

const goodYAML = `
accounts:
  - id: "111122223333"
    name: Seller
    access_keys:
      - {id: test, secret: test}
products:
  - code: p1
    seller: "111122223333"
    type: container
    regions: [us-east-1]
    public_key_versions: 2
    dimensions:
      - {name: requests, unit: Requests, price: "0.0001"}
    customers:
      - aws_account_id: "444455556666"
        status: unsubscribe-pending
faults:
  - {operation: BatchMeterUsage, unprocessed: 0.3, probability: 1.0}
`

func TestParse(t *testing.T) {
	f, err := Parse([]byte(goodYAML))
	if err != nil {
		t.Fatalf("Parse() = %v", err)
	}
	p := f.Products[0]
	if p.Code != "p1" || p.Type != "container" || p.PublicKeyVersions != 2 || p.Dimensions[0].Price != "0.0001" ||
		p.Customers[0].Status != "unsubscribe-pending" || len(f.Faults) != 1 || f.Faults[0].Unprocessed != 0.3 {
		t.Errorf("Parse() = %+v, want the file's values", f)
	}
}

func TestParseJSON(t *testing.T) {
	f, err := Parse([]byte(`{"accounts":[{"id":"111122223333"}],"products":[{"code":"p","seller":"111122223333","type":"saas","dimensions":[{"name":"d"}]}]}`))
	if err != nil {
		t.Fatalf("Parse(JSON) = %v", err)
	}
	if f.Products[0].Dimensions[0].Name != "d" {
		t.Errorf("Parse(JSON) dimension = %q, want d", f.Products[0].Dimensions[0].Name)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		edit func(string) string
		want string // the error must contain this: line and field
	}{
		{"ErrAccountID", func(s string) string {
			return strings.Replace(s, `"111122223333"`+"\n    name", `"1234"`+"\n    name", 1)
		}, `3: accounts[0].id: must be 12 digits`},
		{"ErrUnknownField", func(s string) string { return strings.Replace(s, "regions:", "region:", 1) }, `11: unknown field "region"`},
		{"ErrType", func(s string) string { return strings.Replace(s, "type: container", "type: lambda", 1) }, `8: products[0].type: must be saas, ami or container`},
		{"ErrNoDimensionName", func(s string) string { return strings.Replace(s, "{name: requests, ", "{", 1) }, `14: products[0].dimensions[0].name: required`},
		{"ErrPrice", func(s string) string { return strings.Replace(s, `"0.0001"`, `"cheap"`, 1) }, `14: products[0].dimensions[0].price: must be a decimal number`},
		{"ErrStatus", func(s string) string { return strings.Replace(s, "unsubscribe-pending", "gone", 1) }, `16: products[0].customers[0].status: unknown status "gone"`},
		{"ErrUnknownSeller", func(s string) string {
			return strings.Replace(s, `seller: "111122223333"`, `seller: "999999999999"`, 1)
		}, `8: products[0].seller: account "999999999999" is not in accounts`},
		{"ErrFaultOperation", func(s string) string { return strings.Replace(s, "operation: BatchMeterUsage, ", "", 1) }, `19: faults[0].operation: required`},
		{"ErrSyntax", func(s string) string { return s + "\n  - [unclosed" }, `line`},
		{"ErrWrongType", func(s string) string {
			return strings.Replace(s, "public_key_versions: 2", "public_key_versions: many", 1)
		}, `line 12`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.edit(goodYAML)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestDemoIsValid(t *testing.T) {
	if err := Demo().Validate(); err != nil {
		t.Errorf("Demo().Validate() = %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(goodYAML))
	f.Add([]byte(`{"accounts":[{"id":"111122223333"}]}`))
	f.Add([]byte("accounts: [{id: 1}]\nproducts: {}"))
	f.Add([]byte("&a [*a]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		f, err := Parse(b)
		if err == nil && f == nil {
			t.Fatal("Parse() = nil, nil")
		}
	})
}
