// Package schemaversion holds the check both ledger stores make before they
// migrate: a ledger migrated by a newer meterd is refused, not run on.
package schemaversion

import (
	"fmt"
	"slices"
)

// Check returns an error when applied, the migration versions a ledger has
// recorded, holds one that known, the versions this build embeds, lacks: a
// newer meterd migrated the ledger, and this one would run on a schema it
// does not know (a build from before the rollups' watermark, migration
// 0070, would roll each record up in Commit as well as leave it to the
// roller, and count it twice). Every unknown version counts, not only one
// above the last known: the engineers' migrations are numbered in ranges,
// so a newer build can add one below this build's last. Version 0 is the
// PostgreSQL migrators' lock row, no migration.
func Check(applied, known []int64) error {
	var unknown []int64
	for _, v := range applied {
		if v != 0 && !slices.Contains(known, v) {
			unknown = append(unknown, v)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	return fmt.Errorf("written by a newer meterd (schema version %04d; this one knows up to %04d and lacks migration %s): run that meterd or a later one on it",
		slices.Max(applied), slices.Max(known), list(unknown))
}

func list(vs []int64) string {
	s := ""
	for i, v := range vs {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%04d", v)
	}
	return s
}
