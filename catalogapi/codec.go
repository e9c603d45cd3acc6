package catalogapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/meterd/meterd"
)

// Decoding matches member names exactly (AWS's are case-sensitive), checks
// each member's JSON type, and ignores members it does not know (newer SDKs
// send newer ones). Errors are SerializationException naming the member.

// decodeDescribeEntity reads DescribeEntity's query members catalog and
// entityId.
func decodeDescribeEntity(q map[string][]string) (*meterd.DescribeEntityInput, error) {
	first := func(name string) string {
		if v := q[name]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	return &meterd.DescribeEntityInput{Catalog: first("catalog"), EntityID: first("entityId")}, nil
}

// reader walks a decoded JSON document, keeping the first error.
type reader struct{ err error }

func (d *reader) fail(format string, args ...any) {
	if d.err == nil {
		d.err = meterd.Errorf(meterd.ESerialization, format, args...)
	}
}

// object returns v as a JSON object (nil, without error, for an absent
// member).
func (d *reader) object(v any, path string) map[string]any {
	if v == nil {
		return nil
	}
	o, ok := v.(map[string]any)
	if !ok {
		d.fail("%s must be a JSON object, not %s", path, kind(v))
	}
	return o
}

func (d *reader) str(o map[string]any, name, path string) string {
	v, ok := o[name]
	if !ok || v == nil {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		d.fail("%s%s must be a string, not %s", path, name, kind(v))
	}
	return s
}

func (d *reader) strs(o map[string]any, name, path string) []string {
	v, ok := o[name]
	if !ok || v == nil {
		return nil
	}
	list, ok := v.([]any)
	if !ok {
		d.fail("%s%s must be a list, not %s", path, name, kind(v))
		return nil
	}
	out := make([]string, 0, len(list))
	for i, e := range list {
		s, ok := e.(string)
		if !ok {
			d.fail("%s%s[%d] must be a string, not %s", path, name, i, kind(e))
			return nil
		}
		out = append(out, s)
	}
	return out
}

func (d *reader) integer(o map[string]any, name string) *int64 {
	v, ok := o[name]
	if !ok || v == nil {
		return nil
	}
	n, ok := v.(json.Number)
	i, err := n.Int64()
	if !ok || err != nil {
		d.fail("%s must be an integer, not %s", name, kind(v))
		return nil
	}
	return &i
}

func (d *reader) date(o map[string]any, name, path string) *time.Time {
	s := d.str(o, name, path)
	if s == "" || d.err != nil {
		return nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		d.err = meterd.Errorf(meterd.EValidation, "%s%s must be a date such as 2018-02-27T13:45:22Z, not %q", path, name, clip(s))
		return nil
	}
	return &t
}

// kind names a JSON value's type for messages.
func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	}
	return "an object"
}

// document decodes a request body into generic JSON values.
func document(body []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return map[string]any{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, meterd.Errorf(meterd.ESerialization, "The request body is not valid JSON: %s", clip(err.Error()))
	}
	if dec.More() {
		return nil, meterd.Errorf(meterd.ESerialization, "The request body holds more than one JSON value")
	}
	o, ok := v.(map[string]any)
	if !ok {
		return nil, meterd.Errorf(meterd.ESerialization, "The request body must be a JSON object, not %s", kind(v))
	}
	return o, nil
}

func decodeListEntities(body []byte) (*meterd.ListEntitiesInput, error) {
	o, err := document(body)
	if err != nil {
		return nil, err
	}
	var d reader
	in := &meterd.ListEntitiesInput{
		Catalog:       d.str(o, "Catalog", ""),
		EntityType:    d.str(o, "EntityType", ""),
		NextToken:     d.str(o, "NextToken", ""),
		MaxResults:    d.integer(o, "MaxResults"),
		OwnershipType: d.str(o, "OwnershipType", ""),
	}
	if list, ok := o["FilterList"].([]any); ok {
		for i, v := range list {
			path := fmt.Sprintf("FilterList[%d].", i)
			f := d.object(v, path[:len(path)-1])
			in.Filters = append(in.Filters, meterd.EntityFilter{Name: d.str(f, "Name", path), Values: d.strs(f, "ValueList", path)})
		}
	} else if v, ok := o["FilterList"]; ok && v != nil {
		d.fail("FilterList must be a list, not %s", kind(v))
	}
	var typed []meterd.EntityFilter
	in.FiltersOf, typed = d.typeFilters(o["EntityTypeFilters"])
	in.Filters = append(in.Filters, typed...)
	if s := d.object(o["Sort"], "Sort"); s != nil {
		in.SortBy, in.SortOrder = d.str(s, "SortBy", "Sort."), d.str(s, "SortOrder", "Sort.")
	}
	if of, s := d.union(o["EntityTypeSort"], "EntityTypeSort"); s != nil {
		in.SortOf = of
		in.SortBy, in.SortOrder = d.str(s, "SortBy", "EntityTypeSort."+of+"."), d.str(s, "SortOrder", "EntityTypeSort."+of+".")
	}
	if d.err != nil {
		return nil, d.err
	}
	return in, nil
}

// union returns the one member set of a union (EntityTypeFilters,
// EntityTypeSort) and its value as an object.
func (d *reader) union(v any, path string) (string, map[string]any) {
	u := d.object(v, path)
	var set []string
	for name, m := range u {
		if m != nil {
			set = append(set, name)
		}
	}
	switch len(set) {
	case 0:
		return "", nil
	case 1:
		return set[0], d.object(u[set[0]], path+"."+set[0])
	}
	sort.Strings(set)
	d.fail("%s is a union: set one of its members, not %d (%v)", path, len(set), set)
	return "", nil
}

// typeFilters reads EntityTypeFilters: its member (SaaSProductFilters, ...)
// and each of that member's filters, by attribute name.
func (d *reader) typeFilters(v any) (string, []meterd.EntityFilter) {
	of, u := d.union(v, "EntityTypeFilters")
	var names []string
	for name := range u {
		names = append(names, name)
	}
	sort.Strings(names) // a stable order, for messages and NextToken scopes
	var out []meterd.EntityFilter
	for _, name := range names {
		path := "EntityTypeFilters." + of + "." + name + "."
		f := d.object(u[name], path[:len(path)-1])
		if f == nil {
			continue
		}
		ef := meterd.EntityFilter{Name: name, Values: d.strs(f, "ValueList", path), WildCard: d.str(f, "WildCardValue", path)}
		if r := d.object(f["DateRange"], path+"DateRange"); r != nil {
			ef.After, ef.Before = d.date(r, "AfterValue", path+"DateRange."), d.date(r, "BeforeValue", path+"DateRange.")
		}
		out = append(out, ef)
	}
	return of, out
}

// The wire shapes of the outputs, members as in the model.

type wireDescribeEntityOutput struct {
	EntityType       string          `json:"EntityType"`
	EntityIdentifier string          `json:"EntityIdentifier"`
	EntityArn        string          `json:"EntityArn"`
	LastModifiedDate string          `json:"LastModifiedDate"`
	Details          string          `json:"Details"`
	DetailsDocument  json.RawMessage `json:"DetailsDocument"`
}

// isoDate is the model's DateTimeISO8601: UTC to the second.
func isoDate(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func encodeDescribeEntity(out *meterd.DescribeEntityOutput) ([]byte, error) {
	doc, err := json.Marshal(out.Details)
	if err != nil {
		return nil, fmt.Errorf("catalogapi: entity document: %w", err)
	}
	return json.Marshal(wireDescribeEntityOutput{
		EntityType: out.EntityType, EntityIdentifier: out.EntityIdentifier, EntityArn: out.EntityArn,
		LastModifiedDate: isoDate(out.LastModifiedDate), Details: string(doc), DetailsDocument: doc,
	})
}

type wireProductSummary struct {
	ProductTitle string `json:"ProductTitle"`
	Visibility   string `json:"Visibility"`
}

type wireOfferSummary struct {
	Name          string   `json:"Name"`
	ProductID     string   `json:"ProductId"`
	ReleaseDate   string   `json:"ReleaseDate"`
	BuyerAccounts []string `json:"BuyerAccounts"`
	State         string   `json:"State"`
	Targeting     []string `json:"Targeting"`
}

type wireEntitySummary struct {
	Name                    string              `json:"Name"`
	EntityType              string              `json:"EntityType"`
	EntityID                string              `json:"EntityId"`
	EntityArn               string              `json:"EntityArn"`
	LastModifiedDate        string              `json:"LastModifiedDate"`
	Visibility              string              `json:"Visibility"`
	SaaSProductSummary      *wireProductSummary `json:"SaaSProductSummary,omitempty"`
	AmiProductSummary       *wireProductSummary `json:"AmiProductSummary,omitempty"`
	ContainerProductSummary *wireProductSummary `json:"ContainerProductSummary,omitempty"`
	OfferSummary            *wireOfferSummary   `json:"OfferSummary,omitempty"`
}

type wireListEntitiesOutput struct {
	EntitySummaryList []wireEntitySummary `json:"EntitySummaryList"`
	NextToken         string              `json:"NextToken,omitempty"`
}

func encodeListEntities(out *meterd.ListEntitiesOutput) ([]byte, error) {
	w := wireListEntitiesOutput{EntitySummaryList: []wireEntitySummary{}, NextToken: out.NextToken}
	for _, e := range out.EntitySummaryList {
		s := wireEntitySummary{Name: e.Name, EntityType: e.EntityType, EntityID: e.EntityID, EntityArn: e.EntityArn,
			LastModifiedDate: isoDate(e.LastModifiedDate), Visibility: e.Visibility}
		if p := e.Product; p != nil {
			ps := &wireProductSummary{ProductTitle: p.ProductTitle, Visibility: p.Visibility}
			switch e.EntityType {
			case "AmiProduct":
				s.AmiProductSummary = ps
			case "ContainerProduct":
				s.ContainerProductSummary = ps
			default:
				s.SaaSProductSummary = ps
			}
		}
		if o := e.Offer; o != nil {
			s.OfferSummary = &wireOfferSummary{Name: o.Name, ProductID: o.ProductID, ReleaseDate: isoDate(o.ReleaseDate),
				BuyerAccounts: append([]string{}, o.BuyerAccounts...), State: o.State, Targeting: append([]string{}, o.Targeting...)}
		}
		w.EntitySummaryList = append(w.EntitySummaryList, s)
	}
	return json.Marshal(w)
}
