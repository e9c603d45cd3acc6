package marketplace

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/meterd/meterd"
)

// EntityStore is what the Catalog API reads; meterd.Ledger satisfies it.
type EntityStore interface {
	// Products returns every product.
	Products(ctx context.Context) ([]*meterd.Product, error)
	// Offers returns a product's offers.
	Offers(ctx context.Context, productCode string) ([]*meterd.Offer, error)
}

// Entities is the Catalog API's read side: a seller's products and offers
// as catalog entities, their documents filled from meterd's catalog. Another
// seller's entities do not exist for the caller. It implements
// meterd.CatalogService.
type Entities struct {
	Store EntityStore
	// TokenKey signs the NextTokens it issues, as Entitlements.TokenKey.
	TokenKey []byte
}

var _ meterd.CatalogService = (*Entities)(nil)

// entityID is the model's ResourceId pattern.
var entityID = regexp.MustCompile(`^[\w-]{1,255}$`)

// entity is a product or an offer of the caller, with what filters and
// sorts read of it.
type entity struct {
	product *meterd.Product
	offer   *meterd.Offer // nil for a product
	summary meterd.EntitySummary
}

// DescribeEntity returns one of the caller's products (SaaSProduct@1.0,
// AmiProduct@1.0, ContainerProduct@1.0) or offers (Offer@1.0) with its
// document.
func (s *Entities) DescribeEntity(ctx context.Context, in *meterd.DescribeEntityInput) (*meterd.DescribeEntityOutput, error) {
	caller, err := catalogCaller(ctx, in.Catalog)
	if err != nil {
		return nil, err
	}
	if in.EntityID == "" {
		return nil, meterd.Errorf(meterd.EValidation, "EntityId is required")
	}
	if !entityID.MatchString(in.EntityID) {
		return nil, meterd.Errorf(meterd.EValidation, "EntityId must be 1 to 255 letters, digits, '_' or '-'")
	}
	all, err := s.entities(ctx, caller.AccountID, "")
	if err != nil {
		return nil, err
	}
	for _, e := range all {
		if e.summary.EntityID != in.EntityID {
			continue
		}
		out := &meterd.DescribeEntityOutput{
			EntityType:       e.summary.EntityType + "@1.0",
			EntityIdentifier: e.summary.EntityID + "@1",
			EntityArn:        e.summary.EntityArn,
			LastModifiedDate: e.summary.LastModifiedDate,
		}
		if e.offer != nil {
			out.Details = offerDocument(e.product, e.offer)
		} else {
			out.Details = productDocument(e.product)
		}
		return out, nil
	}
	return nil, meterd.Errorf(meterd.EResourceNotFound, "Entity %s does not exist in catalog %s for account %s", in.EntityID, meterd.CatalogName, caller.AccountID)
}

// catalogCaller returns the authenticated caller of a request naming
// catalog, refusing another catalog or a region other than us-east-1.
func catalogCaller(ctx context.Context, catalog string) (*meterd.Caller, error) {
	caller := meterd.CallerFromContext(ctx)
	if caller == nil {
		return nil, fmt.Errorf("marketplace: a Catalog API call without a caller")
	}
	if caller.Region != AgreementRegion {
		return nil, meterd.Errorf(meterd.EValidation, "The Catalog API is available only in %s, not in %s", AgreementRegion, clipEcho(caller.Region))
	}
	if catalog != meterd.CatalogName {
		return nil, meterd.Errorf(meterd.EValidation, "Catalog must be %s, not %q", meterd.CatalogName, clipEcho(catalog))
	}
	return caller, nil
}

// entities returns the seller's products and offers, only those of
// entityType when it is not "".
func (s *Entities) entities(ctx context.Context, seller, entityType string) ([]*entity, error) {
	products, err := s.Store.Products(ctx)
	if err != nil {
		return nil, fmt.Errorf("marketplace: products: %w", err)
	}
	var out []*entity
	for _, p := range products {
		if p.SellerAccountID != seller {
			continue
		}
		if entityType == "" || entityType == p.EntityType() {
			out = append(out, &entity{product: p, summary: productSummary(p)})
		}
		if entityType != "" && entityType != offerEntity {
			continue
		}
		offers, err := s.Store.Offers(ctx, p.Code)
		if err != nil {
			return nil, fmt.Errorf("marketplace: offers of %s: %w", p.Code, err)
		}
		for _, o := range offers {
			out = append(out, &entity{product: p, offer: o, summary: offerSummary(p, o)})
		}
	}
	return out, nil
}

const offerEntity = "Offer"

// entityArn is an entity's ARN in the seller's catalog.
func entityArn(seller, typ, id string) string {
	return "arn:aws:aws-marketplace:" + AgreementRegion + ":" + seller + ":" + meterd.CatalogName + "/" + typ + "/" + id
}

func productSummary(p *meterd.Product) meterd.EntitySummary {
	return meterd.EntitySummary{
		Name: p.Code, EntityType: p.EntityType(), EntityID: p.ID,
		EntityArn:        entityArn(p.SellerAccountID, p.EntityType(), p.ID),
		LastModifiedDate: p.CreatedAt.UTC().Truncate(time.Second), Visibility: "Public",
		Product: &meterd.ProductSummary{ProductTitle: p.Code, Visibility: "Public"},
	}
}

func offerSummary(p *meterd.Product, o *meterd.Offer) meterd.EntitySummary {
	visibility, targeting := "Public", []string{"None"}
	if o.Visibility == meterd.VisibilityPrivate {
		visibility, targeting = "Limited", []string{"BuyerAccounts"}
	}
	created := o.CreatedAt.UTC().Truncate(time.Second)
	return meterd.EntitySummary{
		Name: o.Name, EntityType: offerEntity, EntityID: o.ID,
		EntityArn:        entityArn(p.SellerAccountID, offerEntity, o.ID),
		LastModifiedDate: created, Visibility: visibility,
		Offer: &meterd.OfferSummary{Name: o.Name, ProductID: p.ID, ReleaseDate: created,
			BuyerAccounts: slices.Clone(o.Buyers), State: "Released", Targeting: targeting},
	}
}

// ListEntities lists the caller's entities of one type, filtered, sorted
// (LastModifiedDate, DESCENDING by default; ties by EntityId) and
// paginated (MaxResults 1 to 50, default 20). A NextToken is bound to the
// caller and the request's type, filters and sort, and signed by the
// server.
func (s *Entities) ListEntities(ctx context.Context, in *meterd.ListEntitiesInput) (*meterd.ListEntitiesOutput, error) {
	caller, err := catalogCaller(ctx, in.Catalog)
	if err != nil {
		return nil, err
	}
	q, err := checkListEntities(in)
	if err != nil {
		return nil, err
	}
	out := &meterd.ListEntitiesOutput{EntitySummaryList: []meterd.EntitySummary{}}
	if !q.served {
		return out, nil // a type, or an ownership, of which meterd holds no entity
	}
	all, err := s.entities(ctx, caller.AccountID, in.EntityType)
	if err != nil {
		return nil, err
	}
	var kept []*entity
	for _, e := range all {
		if q.match(e) {
			kept = append(kept, e)
		}
	}
	q.sort(kept)

	tokens := &Entitlements{TokenKey: s.TokenKey}
	scope := listScope(caller.AccountID, in)
	from := 0
	if in.NextToken != "" {
		// An entity deleted since the previous page can make the index
		// pass the end: that is an empty last page, not a bad token.
		n, ok := tokens.openIndex(in.NextToken, scope, math.MaxInt)
		if !ok {
			return nil, meterd.Errorf(meterd.EValidation, "The NextToken is not valid: pass the NextToken of the previous ListEntities call with the same EntityType, filters and sort")
		}
		from = min(n, len(kept))
	}
	to := min(from+q.limit, len(kept))
	for _, e := range kept[from:to] {
		out.EntitySummaryList = append(out.EntitySummaryList, e.summary)
	}
	if to < len(kept) {
		out.NextToken = tokens.sealIndex(scope, to)
	}
	return out, nil
}

// listScope binds a NextToken to the caller and what the request lists.
func listScope(account string, in *meterd.ListEntitiesInput) string {
	key := *in
	key.NextToken, key.MaxResults = "", nil
	sum := sha256.Sum256(fmt.Appendf(nil, "%q %#v", account, key))
	return "entities " + hex.EncodeToString(sum[:16])
}

// compareEntities orders by one sort attribute, then by EntityId.
func compareEntities(by string) func(a, b *entity) int {
	return func(a, b *entity) int {
		return cmp.Or(cmp.Compare(sortKey(a, by), sortKey(b, by)), strings.Compare(a.summary.EntityID, b.summary.EntityID))
	}
}

// sortKey is an entity's value of a sort attribute, as a string that sorts
// as the value does (times in RFC 3339 UTC seconds do).
func sortKey(e *entity, by string) string {
	s := e.summary
	switch by {
	case "EntityId":
		return s.EntityID
	case "ProductTitle", "Name":
		return s.Name
	case "Visibility":
		return s.Visibility
	case "ProductId":
		return s.Offer.ProductID
	case "State":
		return s.Offer.State
	case "ReleaseDate":
		return s.Offer.ReleaseDate.Format(time.RFC3339)
	}
	return s.LastModifiedDate.Format(time.RFC3339)
}
