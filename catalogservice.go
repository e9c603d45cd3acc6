package meterd

import (
	"context"
	"time"
)

// The Catalog API's operations meterd serves (its read side for products
// and offers).
const (
	OpDescribeEntity = "DescribeEntity"
	OpListEntities   = "ListEntities"
)

// CatalogOperations are the Catalog API's operations meterd serves; fault
// rules and quotas may name them.
func CatalogOperations() []string { return []string{OpDescribeEntity, OpListEntities} }

// EResourceNotSupported is the Catalog API's error for an entity whose type
// DescribeEntity does not describe.
const EResourceNotSupported = "ResourceNotSupportedException"

// CatalogName is the one catalog of the Catalog API.
const CatalogName = "AWSMarketplace"

// CatalogUnsupportedOperations are the Catalog API model's operations
// meterd does not serve (change sets, resource policies, tags, batch
// reads, assessments, which newer models have): each answers
// ValidationException "not supported by meterd".
func CatalogUnsupportedOperations() []string {
	return []string{
		"BatchDescribeEntities", "CancelChangeSet", "DeleteResourcePolicy",
		"DescribeAssessment", "ListAssessments",
		"DescribeChangeSet", "GetResourcePolicy", "ListChangeSets",
		"ListTagsForResource", "PutResourcePolicy", "StartChangeSet",
		"TagResource", "UntagResource",
	}
}

// DescribeEntityInput is the request of DescribeEntity.
type DescribeEntityInput struct {
	Catalog  string
	EntityID string
}

// DescribeEntityOutput is the response of DescribeEntity. Details is the
// entity's document, a value that encoding/json writes as the model's
// DetailsDocument (and, as a string, its Details).
type DescribeEntityOutput struct {
	EntityType       string // with its version: SaaSProduct@1.0, Offer@1.0
	EntityIdentifier string // EntityId@RevisionId
	EntityArn        string
	LastModifiedDate time.Time
	Details          any
}

// EntityFilter is one filter of ListEntities on an attribute of the
// entities (EntityId, ProductTitle, Visibility, LastModifiedDate, Name,
// ProductId, State, Targeting, BuyerAccounts, ReleaseDate, ...): its list
// of values, its wildcard (a substring) or its date range (inclusive,
// either end optional).
type EntityFilter struct {
	Name          string
	Values        []string
	WildCard      string
	After, Before *time.Time
}

// ListEntitiesInput is the request of ListEntities. Filters are the
// FilterList's and those of the EntityTypeFilters member FiltersOf names
// (SaaSProductFilters, OfferFilters, ...), all of which must match.
type ListEntitiesInput struct {
	Catalog       string
	EntityType    string
	Filters       []EntityFilter
	FiltersOf     string // the EntityTypeFilters member given, "" for none
	SortBy        string // "" is LastModifiedDate
	SortOrder     string // ASCENDING or DESCENDING ("" is DESCENDING)
	SortOf        string // the EntityTypeSort member given, "" for the Sort member or none
	MaxResults    *int64
	NextToken     string
	OwnershipType string // SELF ("") or SHARED
}

// EntitySummary is an entity as ListEntities lists it. Product is set for
// a product, Offer for an offer.
type EntitySummary struct {
	Name             string
	EntityType       string
	EntityID         string
	EntityArn        string
	LastModifiedDate time.Time
	Visibility       string
	Product          *ProductSummary
	Offer            *OfferSummary
}

// ProductSummary is the SaaSProductSummary, AmiProductSummary or
// ContainerProductSummary of a product.
type ProductSummary struct {
	ProductTitle string
	Visibility   string
}

// OfferSummary is the OfferSummary of an offer.
type OfferSummary struct {
	Name          string
	ProductID     string
	ReleaseDate   time.Time
	BuyerAccounts []string
	State         string
	Targeting     []string
}

// ListEntitiesOutput is the response of ListEntities.
type ListEntitiesOutput struct {
	EntitySummaryList []EntitySummary
	NextToken         string
}

// CatalogService is the Catalog API's read side over meterd's catalog: a
// seller's products and offers, never another seller's.
type CatalogService interface {
	// DescribeEntity returns one of the caller's products or offers.
	// EValidation, EResourceNotFound, EResourceNotSupported, or internal.
	DescribeEntity(ctx context.Context, in *DescribeEntityInput) (*DescribeEntityOutput, error)
	// ListEntities lists the caller's entities of one type. EValidation,
	// or internal.
	ListEntities(ctx context.Context, in *ListEntitiesInput) (*ListEntitiesOutput, error)
}
