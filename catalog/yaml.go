package catalog

import (
	"fmt"
	"slices"

	"go.yaml.in/yaml/v3"
)

// The catalog refuses unknown keys so that a typo is an error, not a silent
// default. knownKeys lists, per path pattern, the keys a mapping may have.
var knownKeys = map[string][]string{
	"":                         {"accounts", "products", "faults", "notifications"},
	"accounts[]":               {"id", "name", "access_keys"},
	"accounts[].access_keys[]": {"id", "secret", "session_token"},
	"products[]": {"code", "id", "seller", "type", "regions", "fulfillment_url", "public_key_versions", "concurrent_agreements",
		"dimensions", "offers", "customers", "agreements"},
	"products[].dimensions[]":   {"name", "unit", "price", "contract", "value_type"},
	"products[].offers[]":       {"id", "name", "pricing", "durations", "auto_renew", "visibility", "buyers", "trial", "eula_url", "refund_policy", "agreement_duration", "start_date"},
	"products[].offers[].trial": {"duration", "grants", "converts"},
	"products[].agreements[]":   {"buyer", "offer", "duration", "quantities", "auto_renew", "trial", "start"},
	"products[].customers[]":    {"aws_account_id", "customer_identifier", "license_arn", "status", "platform"},
	"faults[]":                  {"operation", "product", "customer", "dimension", "account", "error", "unprocessed", "latency", "drop_response", "probability", "count"},

	"notifications":                       {"queues", "subscriptions", "rules"},
	"notifications.queues[]":              {"account", "name"},
	"notifications.subscriptions[]":       {"product", "topic", "protocol", "endpoint", "raw", "signature_version", "insecure_skip_verify"},
	"notifications.rules[]":               {"account", "detail_types", "pattern", "target"},
	"notifications.rules[].target":        {"protocol", "endpoint", "header", "insecure_skip_verify"},
	"notifications.rules[].target.header": {"name", "value"},
}

// checkKeys walks the document and reports every unknown key with its line.
func checkKeys(n *yaml.Node, pattern string) []*lineError {
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil
		}
		return checkKeys(n.Content[0], pattern)
	}
	var errs []*lineError
	switch n.Kind {
	case yaml.SequenceNode:
		for _, c := range n.Content {
			errs = append(errs, checkKeys(c, pattern+"[]")...)
		}
	case yaml.MappingNode:
		allowed, ok := knownKeys[pattern]
		if !ok {
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if !slices.Contains(allowed, k.Value) {
				errs = append(errs, &lineError{line: k.Line, msg: fmt.Sprintf("unknown field %q (known: %v)", k.Value, allowed)})
				continue
			}
			child := k.Value
			if pattern != "" {
				child = pattern + "." + k.Value
			}
			errs = append(errs, checkKeys(n.Content[i+1], child)...)
		}
	}
	return errs
}

// Each catalog element remembers its line, so validation errors can name it.

func (a *Account) UnmarshalYAML(n *yaml.Node) error {
	type plain Account
	a.line = n.Line
	return n.Decode((*plain)(a))
}

func (k *AccessKey) UnmarshalYAML(n *yaml.Node) error {
	type plain AccessKey
	k.line = n.Line
	return n.Decode((*plain)(k))
}

func (p *Product) UnmarshalYAML(n *yaml.Node) error {
	type plain Product
	p.line = n.Line
	return n.Decode((*plain)(p))
}

func (d *Dimension) UnmarshalYAML(n *yaml.Node) error {
	type plain Dimension
	d.line = n.Line
	return n.Decode((*plain)(d))
}

func (c *Customer) UnmarshalYAML(n *yaml.Node) error {
	type plain Customer
	c.line = n.Line
	return n.Decode((*plain)(c))
}

func (r *Fault) UnmarshalYAML(n *yaml.Node) error {
	type plain Fault
	r.line = n.Line
	return n.Decode((*plain)(r))
}

func (o *Offer) UnmarshalYAML(n *yaml.Node) error {
	type plain Offer
	o.line = n.Line
	return n.Decode((*plain)(o))
}

func (a *Agreement) UnmarshalYAML(n *yaml.Node) error {
	type plain Agreement
	a.line = n.Line
	return n.Decode((*plain)(a))
}

func (q *Queue) UnmarshalYAML(n *yaml.Node) error {
	type plain Queue
	q.line = n.Line
	return n.Decode((*plain)(q))
}

func (s *Subscription) UnmarshalYAML(n *yaml.Node) error {
	type plain Subscription
	s.line = n.Line
	return n.Decode((*plain)(s))
}

func (r *Rule) UnmarshalYAML(n *yaml.Node) error {
	type plain Rule
	r.line = n.Line
	return n.Decode((*plain)(r))
}
