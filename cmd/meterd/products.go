package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/meterd/meterd/admin"
)

// runProducts runs meterd products: the Marketplace products and their
// pricing dimensions.
func runProducts(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runNoun(ctx, noun{
		name:    "products",
		summary: "Marketplace products and their dimensions",
		verbs: []verb{
			{"list", "", "list the products", productsList},
			{"show", "CODE", "show a product and its dimensions", productsShow},
			{"create", "--code C --seller ID --type saas|ami|container --dimension NAME[:UNIT[:PRICE]]... [--fulfillment-url U] [--region R]...",
				"create a product", productsCreate},
		},
	}, args, stdout, stderr)
}

func productsList(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Lists the products with their dimensions as NAME:UNIT:PRICE.")
	if _, err := c.parse(fs, args, 0); err != nil {
		return err
	}
	client, err := c.client()
	if err != nil {
		return err
	}
	products, err := client.Products(ctx)
	if err != nil {
		return err
	}
	t := &table{header: []string{"code", "seller", "type", "regions", "dimensions"}}
	for _, p := range products {
		dims := make([]string, len(p.Dimensions))
		for i, d := range p.Dimensions {
			dims[i] = dimensionText(d)
		}
		t.add(p.Code, p.Seller, p.Type, regionsText(p.Regions), strings.Join(dims, " "))
	}
	return c.print(products, t)
}

func productsShow(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Shows a product. The table and CSV outputs have one row per dimension.")
	pos, err := c.parse(fs, args, 1)
	if err != nil {
		return err
	}
	client, err := c.client()
	if err != nil {
		return err
	}
	p, err := client.Product(ctx, pos[0])
	if err != nil {
		return err
	}
	return c.printProduct(p)
}

// printProduct prints a product: in a table, its fields and then its
// dimensions; in CSV, one row per dimension.
func (c *cli) printProduct(p *admin.Product) error {
	dims := &table{header: []string{"code", "seller", "type", "regions", "fulfillment_url", "dimension", "unit", "price"}}
	for _, d := range p.Dimensions {
		dims.add(p.Code, p.Seller, p.Type, regionsText(p.Regions), p.FulfillmentURL, d.Name, d.Unit, d.Price)
	}
	if c.output != "table" {
		return c.print(p, dims)
	}
	fields := &table{header: []string{"field", "value"}}
	fields.add("code", p.Code)
	fields.add("seller", p.Seller)
	fields.add("type", p.Type)
	fields.add("regions", regionsText(p.Regions))
	fields.add("fulfillment_url", p.FulfillmentURL)
	fields.add("created_at", timeText(p.CreatedAt))
	if err := writeTable(c.stdout, fields); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout)
	t := &table{header: []string{"dimension", "unit", "price"}}
	for _, d := range p.Dimensions {
		t.add(d.Name, d.Unit, d.Price)
	}
	return writeTable(c.stdout, t)
}

func productsCreate(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Creates a product with its dimensions and a RegisterUsage signing key.\n" +
		"--dimension is NAME, NAME:UNIT or NAME:UNIT:PRICE (a decimal price per unit),\n" +
		"for example --dimension requests:Requests:0.0001 --dimension storage_gb:GB-Hours.")
	var in admin.ProductInput
	var dims, regions listFlag
	fs.StringVar(&in.Code, "code", "", "product code (required)")
	fs.StringVar(&in.Seller, "seller", "", "seller account id (required)")
	fs.StringVar(&in.Type, "type", "", "saas, ami or container (required)")
	fs.StringVar(&in.FulfillmentURL, "fulfillment-url", "", "SaaS fulfillment URL")
	fs.Var(&dims, "dimension", "a dimension NAME[:UNIT[:PRICE]]; repeat for more (at least one)")
	fs.Var(&regions, "region", "a region where the product is enabled; repeat for more (default: every region)")
	fs.Int64Var(&in.PublicKeyVersions, "public-key-versions", 0, "RegisterUsage key versions to create (default 1)")
	if _, err := c.parse(fs, args, 0); err != nil {
		return err
	}
	if err := c.required("code", in.Code, "seller", in.Seller, "type", in.Type, "dimension", dims.String()); err != nil {
		return err
	}
	in.Regions = regions
	for _, s := range dims {
		d, err := parseDimension(s)
		if err != nil {
			return c.usagef("--dimension: %v", err)
		}
		in.Dimensions = append(in.Dimensions, d)
	}
	client, err := c.client()
	if err != nil {
		return err
	}
	p, err := client.CreateProduct(ctx, in)
	if err != nil {
		return err
	}
	return c.printProduct(p)
}

// parseDimension parses NAME[:UNIT[:PRICE]].
func parseDimension(s string) (admin.Dimension, error) {
	parts := strings.SplitN(s, ":", 3)
	d := admin.Dimension{Name: parts[0]}
	if d.Name == "" {
		return d, fmt.Errorf("%q has no name", s)
	}
	if len(parts) > 1 {
		d.Unit = parts[1]
	}
	if len(parts) > 2 {
		d.Price = parts[2]
	}
	return d, nil
}

// dimensionText is the inverse of parseDimension.
func dimensionText(d admin.Dimension) string {
	s := d.Name
	if d.Unit != "" || d.Price != "" {
		s += ":" + d.Unit
	}
	if d.Price != "" {
		s += ":" + d.Price
	}
	return s
}

// regionsText shows a product's regions, "*" for every region.
func regionsText(regions []string) string {
	if len(regions) == 0 {
		return "*"
	}
	return strings.Join(regions, ",")
}
