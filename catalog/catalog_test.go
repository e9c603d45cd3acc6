package catalog

import (
	"fmt"
	"os"
	"path/filepath"
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
		{"ErrType", func(s string) string { return strings.Replace(s, "type: container", "type: lambda", 1) }, `10: products[0].type: must be saas, ami or container`},
		{"ErrNoDimensionName", func(s string) string { return strings.Replace(s, "{name: requests, ", "{", 1) }, `14: products[0].dimensions[0].name: required`},
		{"ErrPrice", func(s string) string { return strings.Replace(s, `"0.0001"`, `"cheap"`, 1) }, `14: products[0].dimensions[0].price: must be a decimal number`},
		{"ErrStatus", func(s string) string { return strings.Replace(s, "unsubscribe-pending", "gone", 1) }, `17: products[0].customers[0].status: unknown status "gone"`},
		{"ErrUnknownSeller", func(s string) string {
			return strings.Replace(s, `seller: "111122223333"`, `seller: "999999999999"`, 1)
		}, `9: products[0].seller: account "999999999999" is not in accounts`},
		{"ErrFaultOperation", func(s string) string { return strings.Replace(s, "operation: BatchMeterUsage, ", "", 1) }, `19: faults[0].operation: required`},
		{"ErrSyntax", func(s string) string { return s + "\n  - [unclosed" }, `21: syntax error: did not find expected ',' or ']'`},
		{"ErrIndent", func(s string) string { return strings.Replace(s, "    regions:", "   regions:", 1) }, `11: syntax error:`},
		{"ErrTab", func(s string) string { return strings.Replace(s, "    regions:", "\tregions:", 1) }, `11: syntax error:`},
		{"ErrUnterminated", func(s string) string { return strings.Replace(s, `type: container`, `type: "container`, 1) }, `: syntax error:`},
		{"ErrDuplicateKey", func(s string) string {
			return strings.Replace(s, "type: container", "type: container\n    type: saas", 1)
		}, `11: mapping key "type" already defined at line 10`},
		{"ErrDuplicateDimension", func(s string) string {
			return strings.Replace(s, `      - {name: requests, unit: Requests, price: "0.0001"}`, `      - {name: requests, unit: Requests, price: "0.0001"}`+"\n      - {name: requests}", 1)
		}, `15: products[0].dimensions[1].name: duplicate dimension "requests" (also dimensions[0])`},
		{"ErrRegion", func(s string) string { return strings.Replace(s, "[us-east-1]", "[us-east-1, mars-north-1]", 1) }, `11: products[0].regions[1]: unknown AWS region "mars-north-1"`},
		{"ErrWrongType", func(s string) string {
			return strings.Replace(s, "public_key_versions: 2", "public_key_versions: many", 1)
		}, `12: cannot unmarshal !!str ` + "`many`" + ` into int64`},
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

// TestParseAllErrors: every problem of a file is reported at once, one a
// line, in the order of the file, each at the line of its own field.
func TestParseAllErrors(t *testing.T) {
	bad := strings.NewReplacer(
		"type: container", "type: lambda",
		"regions: [us-east-1]", "regions: [us-east-1]\n    colour: blue",
		`price: "0.0001"`, `price: "cheap"`,
		"status: unsubscribe-pending", "status: gone",
		"operation: BatchMeterUsage, ", "",
	).Replace(goodYAML)
	_, err := Parse([]byte(bad))
	if err == nil {
		t.Fatal("Parse(five mistakes) = nil")
	}
	want := []string{
		`10: products[0].type: must be saas, ami or container, got "lambda"`,
		`12: unknown field "colour" (known: [code id seller type regions fulfillment_url public_key_versions concurrent_agreements dimensions offers customers agreements])`,
		`15: products[0].dimensions[0].price: must be a decimal number, got "cheap"`,
		`18: products[0].customers[0].status: unknown status "gone"`,
		`20: faults[0].operation: required`,
	}
	if got := strings.Split(err.Error(), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Parse(five mistakes) =\n%s\nwant\n%s", err, strings.Join(want, "\n"))
	}
}

func TestLoadNamesFileOnEveryLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.yaml")
	bad := strings.Replace(strings.Replace(goodYAML, "type: container", "type: lambda", 1), `"0.0001"`, `"cheap"`, 1)
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	lines := strings.Split(fmt.Sprint(err), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], path+":10: ") || !strings.HasPrefix(lines[1], path+":14: ") {
		t.Errorf("Load = %v, want two lines, each starting with %s:LINE", err, path)
	}
	empty := filepath.Join(t.TempDir(), "empty.yaml")
	os.WriteFile(empty, nil, 0o600)
	if _, err := Load(empty); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("Load(empty file) = %v, want an error saying it is empty", err)
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
