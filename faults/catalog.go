package faults

import (
	"errors"
	"fmt"
	"strings"

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

// AddCatalog adds the fault rules of a catalog file, in order, once every
// one is valid: otherwise it adds none and its error names each invalid
// rule with its line in the file, one a line ("19: faults[0]: ...").
func (rs *Rules) AddCatalog(f *catalog.File) error {
	var problems []string
	for i := range f.Faults {
		spec := FromCatalog(f.Faults[i])
		if err := spec.Validate(); err != nil {
			problems = append(problems, fmt.Sprintf("%d: faults[%d]: %s", f.Faults[i].Line(), i, meterd.ErrorMessage(err)))
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	for _, cf := range f.Faults {
		if _, err := rs.Add(FromCatalog(cf)); err != nil {
			return fmt.Errorf("%d: faults: %s", cf.Line(), meterd.ErrorMessage(err))
		}
	}
	return nil
}
