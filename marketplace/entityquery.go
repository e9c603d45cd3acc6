package marketplace

import (
	"slices"
	"strings"
	"time"

	"github.com/meterd/meterd"
)

// entityAttributes are, per entity type meterd holds, the attributes the
// model lets ListEntities filter on and sort by (its *Filters and *SortBy
// shapes). Those meterd's entities have no value of (ResaleAuthorizationId,
// AvailabilityEndDate, OfferSetId, DeliveryOptionTypes, ...) match no
// filter and sort as empty.
var entityAttributes = map[string]struct{ filters, sorts []string }{
	"SaaSProduct": {
		filters: []string{"EntityId", "ProductTitle", "Visibility", "LastModifiedDate"},
		sorts:   []string{"EntityId", "ProductTitle", "Visibility", "LastModifiedDate", "DeliveryOptionTypes"},
	},
	"AmiProduct": {
		filters: []string{"EntityId", "LastModifiedDate", "ProductTitle", "Visibility"},
		sorts:   []string{"EntityId", "LastModifiedDate", "ProductTitle", "Visibility"},
	},
	"ContainerProduct": {
		filters: []string{"EntityId", "LastModifiedDate", "ProductTitle", "Visibility", "CompatibleAWSServices"},
		sorts:   []string{"EntityId", "LastModifiedDate", "ProductTitle", "Visibility", "CompatibleAWSServices"},
	},
	offerEntity: {
		filters: []string{"EntityId", "Name", "ProductId", "ResaleAuthorizationId", "ReleaseDate", "AvailabilityEndDate",
			"BuyerAccounts", "State", "Targeting", "LastModifiedDate", "OfferSetId"},
		sorts: []string{"EntityId", "Name", "ProductId", "ResaleAuthorizationId", "ReleaseDate", "AvailabilityEndDate",
			"BuyerAccounts", "State", "Targeting", "LastModifiedDate", "OfferSetId"},
	},
}

// otherEntityTypes are the model's other entity types: meterd holds none
// of them, so they list empty.
var otherEntityTypes = []string{"DataProduct", "ProcurementPolicy", "Experience", "Audience", "BrandingSettings",
	"Seller", "ResaleAuthorization", "MachineLearningProduct", "OfferSet"}

// Bounds of ListEntities, the model's.
const (
	defaultEntityResults = 20
	maxEntityResults     = 50
	maxEntityFilters     = 8
)

// listQuery is a checked ListEntities request.
type listQuery struct {
	served     bool // false: nothing of this type or ownership is held
	filters    []meterd.EntityFilter
	sortBy     string
	descending bool
	limit      int
}

// checkListEntities checks a request against the model and what meterd
// serves. EValidation naming the member at fault.
func checkListEntities(in *meterd.ListEntitiesInput) (*listQuery, error) {
	q := &listQuery{limit: defaultEntityResults, sortBy: "LastModifiedDate", descending: true}
	attrs, held := entityAttributes[in.EntityType]
	switch {
	case in.EntityType == "":
		return nil, meterd.Errorf(meterd.EValidation, "EntityType is required")
	case !held && !slices.Contains(otherEntityTypes, in.EntityType):
		return nil, meterd.Errorf(meterd.EValidation, "EntityType %q is not an entity type of the catalog: meterd lists SaaSProduct, AmiProduct, ContainerProduct and Offer", clipEcho(in.EntityType))
	}
	switch in.OwnershipType {
	case "", "SELF":
		q.served = held
	case "SHARED":
		// Nothing is shared through AWS RAM with a meterd account.
	default:
		return nil, meterd.Errorf(meterd.EValidation, "OwnershipType must be SELF or SHARED, not %q", clipEcho(in.OwnershipType))
	}
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > maxEntityResults {
			return nil, meterd.Errorf(meterd.EValidation, "MaxResults must be between 1 and %d, got %d", maxEntityResults, *in.MaxResults)
		}
		q.limit = int(*in.MaxResults)
	}
	if in.FiltersOf != "" && in.FiltersOf != in.EntityType+"Filters" {
		return nil, meterd.Errorf(meterd.EValidation, "EntityTypeFilters.%s does not filter entities of type %s", clipEcho(in.FiltersOf), in.EntityType)
	}
	if in.SortOf != "" && in.SortOf != in.EntityType+"Sort" {
		return nil, meterd.Errorf(meterd.EValidation, "EntityTypeSort.%s does not sort entities of type %s", clipEcho(in.SortOf), in.EntityType)
	}
	if len(in.Filters) > maxEntityFilters {
		return nil, meterd.Errorf(meterd.EValidation, "At most %d filters may be given, not %d", maxEntityFilters, len(in.Filters))
	}
	for _, f := range in.Filters {
		if held && !slices.Contains(attrs.filters, f.Name) {
			return nil, meterd.Errorf(meterd.EValidation, "Entities of type %s cannot be filtered on %q: the filters are %s", in.EntityType, clipEcho(f.Name), strings.Join(attrs.filters, ", "))
		}
	}
	q.filters = in.Filters
	if in.SortBy != "" {
		if held && !slices.Contains(attrs.sorts, in.SortBy) {
			return nil, meterd.Errorf(meterd.EValidation, "Entities of type %s cannot be sorted by %q: the sorts are %s", in.EntityType, clipEcho(in.SortBy), strings.Join(attrs.sorts, ", "))
		}
		q.sortBy = in.SortBy
	}
	switch in.SortOrder {
	case "", "DESCENDING":
	case "ASCENDING":
		q.descending = false
	default:
		return nil, meterd.Errorf(meterd.EValidation, "SortOrder must be ASCENDING or DESCENDING, not %q", clipEcho(in.SortOrder))
	}
	return q, nil
}

// match reports whether an entity passes every filter.
func (q *listQuery) match(e *entity) bool {
	for _, f := range q.filters {
		if !matchFilter(e, f) {
			return false
		}
	}
	return true
}

func matchFilter(e *entity, f meterd.EntityFilter) bool {
	s := e.summary
	switch f.Name {
	case "EntityId":
		return matchValue(s.EntityID, f)
	case "ProductTitle", "Name":
		return matchValue(s.Name, f)
	case "Visibility":
		return matchValue(s.Visibility, f)
	case "LastModifiedDate":
		return inRange(s.LastModifiedDate, f)
	}
	o := s.Offer
	if o == nil {
		return false
	}
	switch f.Name {
	case "ProductId":
		return matchValue(o.ProductID, f)
	case "State":
		return matchValue(o.State, f)
	case "ReleaseDate":
		return inRange(o.ReleaseDate, f)
	case "Targeting":
		return slices.ContainsFunc(o.Targeting, func(t string) bool { return matchValue(t, f) })
	case "BuyerAccounts":
		return slices.ContainsFunc(o.BuyerAccounts, func(b string) bool { return matchValue(b, f) })
	}
	return false // an attribute meterd's entities have no value of
}

// matchValue: v is one of the filter's values, and holds its wildcard.
func matchValue(v string, f meterd.EntityFilter) bool {
	return (len(f.Values) == 0 || slices.Contains(f.Values, v)) && strings.Contains(v, f.WildCard)
}

// inRange: t is inside the filter's date range, both ends inclusive.
func inRange(t time.Time, f meterd.EntityFilter) bool {
	return (f.After == nil || !t.Before(*f.After)) && (f.Before == nil || !t.After(*f.Before))
}

// sort orders the entities as the request asks.
func (q *listQuery) sort(es []*entity) {
	c := compareEntities(q.sortBy)
	if q.descending {
		slices.SortStableFunc(es, func(a, b *entity) int { return c(b, a) })
		return
	}
	slices.SortStableFunc(es, c)
}
