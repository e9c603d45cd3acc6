package faults

import (
	"fmt"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/catalog"
)

// FromCatalog returns the spec of a fault rule of the catalog file.
func FromCatalog(f catalog.Fault) Spec {
	return Spec{
		Operation: f.Operation, Product: f.Product, Customer: f.Customer, Dimension: f.Dimension,
		Account: f.Account, Error: f.Error, Unprocessed: f.Unprocessed, Latency: f.Latency,
		DropResponse: f.DropResponse, Probability: f.Probability, Count: f.Count,
	}
}

// AddCatalog adds the fault rules of a catalog file, in order.
func (rs *Rules) AddCatalog(f *catalog.File) error {
	for i, cf := range f.Faults {
		if _, err := rs.Add(FromCatalog(cf)); err != nil {
			return fmt.Errorf("catalog faults[%d]: %s", i, meterd.ErrorMessage(err))
		}
	}
	return nil
}
