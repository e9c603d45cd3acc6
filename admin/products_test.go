package admin

import (
	"crypto/x509"
	"encoding/pem"
	"reflect"
	"testing"
	"time"

	"github.com/meterd/meterd/catalog"
)

// newProduct is a valid product input of the demo seller.
func newProduct(code string) ProductInput {
	return ProductInput{
		Code: code, Seller: catalog.DemoSellerAccount, Type: "saas", Regions: []string{"us-east-1"},
		FulfillmentURL: "https://example.com/register",
		Dimensions:     []Dimension{{Name: "requests", Unit: "Requests", Price: "0.0001"}, {Name: "storage_gb", Unit: "GB-Hours"}},
	}
}

func TestProducts(t *testing.T) {
	f := newFixture(t)
	in := newProduct("prod-a")
	p, err := f.c.CreateProduct(f.ctx, in)
	must(t, "CreateProduct", err)
	want := Product{
		Code: "prod-a", Seller: catalog.DemoSellerAccount, Type: "saas", Regions: []string{"us-east-1"},
		FulfillmentURL: "https://example.com/register", Dimensions: in.Dimensions, CreatedAt: t0,
	}
	if !reflect.DeepEqual(*p, want) {
		t.Errorf("CreateProduct = %+v, want %+v", p, want)
	}
	got, err := f.c.Product(f.ctx, "prod-a")
	must(t, "Product", err)
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("Product = %+v, want %+v", got, want)
	}
	all, err := f.c.Products(f.ctx)
	must(t, "Products", err)
	if len(all) != 2 || all[0].Code != catalog.DemoProduct || all[1].Code != "prod-a" {
		t.Errorf("Products = %+v, want demo-product and prod-a", all)
	}

	d, err := f.c.AddDimension(f.ctx, "prod-a", Dimension{Name: "users", Unit: "Users", Price: "2.50"})
	must(t, "AddDimension", err)
	if d.Name != "users" || d.Price != "2.50" {
		t.Errorf("AddDimension = %+v, want users at 2.50", d)
	}
	dims, err := f.c.Dimensions(f.ctx, "prod-a")
	must(t, "Dimensions", err)
	if len(dims) != 3 || dims[2] != (Dimension{Name: "users", Unit: "Users", Price: "2.50"}) {
		t.Errorf("Dimensions = %+v, want the two given and users", dims)
	}
	_, err = f.c.AddDimension(f.ctx, "prod-a", Dimension{Name: "users"})
	wantError(t, "AddDimension(existing)", err, 409, "Conflict")
	_, err = f.c.AddDimension(f.ctx, "nope", Dimension{Name: "users"})
	wantError(t, "AddDimension(unknown product)", err, 404, "NotFound")
	_, err = f.c.AddDimension(f.ctx, "prod-a", Dimension{Name: "x", Price: "cheap"})
	wantError(t, "AddDimension(bad price)", err, 422, "Invalid")
	_, err = f.c.Dimensions(f.ctx, "nope")
	wantError(t, "Dimensions(unknown product)", err, 404, "NotFound")
	_, err = f.c.Product(f.ctx, "nope")
	wantError(t, "Product(unknown)", err, 404, "NotFound")
}

func TestCreateProductErrors(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name   string
		edit   func(*ProductInput)
		status int
		code   string
	}{
		{"Conflict", func(p *ProductInput) { p.Code = catalog.DemoProduct }, 409, "Conflict"},
		{"NoCode", func(p *ProductInput) { p.Code = "" }, 422, "Invalid"},
		{"BadCode", func(p *ProductInput) { p.Code = "a b" }, 422, "Invalid"},
		{"BadSeller", func(p *ProductInput) { p.Seller = "1" }, 422, "Invalid"},
		{"UnknownSeller", func(p *ProductInput) { p.Seller = "999999999999" }, 422, "Invalid"},
		{"BadType", func(p *ProductInput) { p.Type = "desktop" }, 422, "Invalid"},
		{"NoDimensions", func(p *ProductInput) { p.Dimensions = nil }, 422, "Invalid"},
		{"UnnamedDimension", func(p *ProductInput) { p.Dimensions = []Dimension{{Unit: "x"}} }, 422, "Invalid"},
		{"TwiceDimension", func(p *ProductInput) { p.Dimensions = append(p.Dimensions, Dimension{Name: "requests"}) }, 422, "Invalid"},
		{"BadPrice", func(p *ProductInput) { p.Dimensions[0].Price = "-1" }, 422, "Invalid"},
		{"BadURL", func(p *ProductInput) { p.FulfillmentURL = "ftp://x" }, 422, "Invalid"},
		{"TooManyKeys", func(p *ProductInput) { p.PublicKeyVersions = 1000 }, 422, "Invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := newProduct("prod-x")
			tt.edit(&in)
			_, err := f.c.CreateProduct(f.ctx, in)
			wantError(t, "CreateProduct", err, tt.status, tt.code)
		})
	}
}

func TestPublicKeys(t *testing.T) {
	f := newFixture(t)
	in := newProduct("prod-k")
	in.PublicKeyVersions = 2
	_, err := f.c.CreateProduct(f.ctx, in)
	must(t, "CreateProduct", err)
	keys, err := f.c.PublicKeys(f.ctx, "prod-k")
	must(t, "PublicKeys", err)
	if len(keys) != 2 || keys[0].Version != 1 || keys[0].RotatedAt == nil || keys[1].Version != 2 || keys[1].RotatedAt != nil {
		t.Fatalf("PublicKeys = %+v, want v1 rotated and v2 current", keys)
	}
	for _, k := range keys {
		block, _ := pem.Decode([]byte(k.PublicKeyPEM))
		if block == nil || block.Type != "PUBLIC KEY" {
			t.Fatalf("v%d public_key_pem = %q, want a PEM PUBLIC KEY", k.Version, k.PublicKeyPEM)
		}
		if _, err := x509.ParsePKIXPublicKey(block.Bytes); err != nil {
			t.Errorf("v%d public key: %v", k.Version, err)
		}
	}

	f.clock.Advance(time.Hour)
	k3, err := f.c.RotatePublicKey(f.ctx, "prod-k")
	must(t, "RotatePublicKey", err)
	if k3.Version != 3 || k3.RotatedAt != nil || !k3.CreatedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("RotatePublicKey = v%d rotated %v created %s, want v3 current created %s", k3.Version, k3.RotatedAt, k3.CreatedAt, t0.Add(time.Hour))
	}
	keys, err = f.c.PublicKeys(f.ctx, "prod-k")
	must(t, "PublicKeys", err)
	if len(keys) != 3 || keys[1].RotatedAt == nil || !keys[1].RotatedAt.Equal(t0.Add(time.Hour)) || !keys[0].RotatedAt.Equal(t0) || keys[2].RotatedAt != nil {
		t.Errorf("PublicKeys after rotation = %+v, want v1 rotated at t0, v2 rotated an hour later, v3 current", keys)
	}
	if keys[2].PublicKeyPEM == keys[1].PublicKeyPEM {
		t.Errorf("rotated key v3 has the same public key as v2")
	}

	_, err = f.c.PublicKeys(f.ctx, "nope")
	wantError(t, "PublicKeys(unknown)", err, 404, "NotFound")
	_, err = f.c.RotatePublicKey(f.ctx, "nope")
	wantError(t, "RotatePublicKey(unknown)", err, 404, "NotFound")
}

// TestEscapedPathValues checks that codes and identifiers with the
// characters the Metering API allows, "/" included, survive the path.
func TestEscapedPathValues(t *testing.T) {
	f := newFixture(t)
	const code, customer = "a/b:c=d@e", "x/y.z"
	_, err := f.c.CreateProduct(f.ctx, newProduct(code))
	must(t, "CreateProduct", err)
	p, err := f.c.Product(f.ctx, code)
	must(t, "Product", err)
	_, err = f.c.Subscribe(f.ctx, code, SubscribeInput{CustomerIdentifier: customer})
	must(t, "Subscribe", err)
	c, err := f.c.Customer(f.ctx, code, customer)
	must(t, "Customer", err)
	if p.Code != code || c.CustomerIdentifier != customer || c.ProductCode != code {
		t.Errorf("Product, Customer = %s, %s/%s, want %s, %s/%s", p.Code, c.ProductCode, c.CustomerIdentifier, code, code, customer)
	}
}
