package console_test

import (
	"strings"
	"testing"

	"github.com/meterd/meterd/console"
	"github.com/meterd/meterd/ledgertest"
)

// TestRollupsBehind: with the roller stopped and more records after the
// rollups' watermark than the console reads, the dashboard and the usage
// explorer count the records up to that limit and say how many they may
// leave out; once the roller has caught up they count every record and
// say nothing.
func TestRollupsBehind(t *testing.T) {
	s := startServerOn(t, "sqlite", t.TempDir(), func(c *console.Console) { c.TailLimit = 3 })
	roller := s.Ledger.(ledgertest.Roller)
	roller.StopRoller()
	s.meter(t, "demo-customer-1", 5, s.Clock.Now()) // quantities 1 to 5, in commit order
	c := browser(t)
	login(t, s, c, adminToken)
	const notice = "The rollups trail the ledger by 5 records (the roller is behind or stopped): this page reads 3 of them, so up to 2 of the records committed last are not in it yet."
	check := func(when, path string, wants []string, records int) {
		t.Helper()
		code, body, _ := get(t, c, s.URL+path)
		if code != 200 {
			t.Fatalf("%s %s = %d: %s", when, path, code, body)
		}
		for _, want := range wants {
			if !strings.Contains(body, want) {
				t.Errorf("%s, %s lacks %q", when, path, want)
			}
		}
		if strings.Contains(body, "trail the ledger") != (wants[0] == notice) {
			t.Errorf("%s, %s says the rollups trail the ledger: %v, want %v", when, path, !(wants[0] == notice), wants[0] == notice)
		}
		if n := strings.Count(body, "<td>demo-customer-1</td>"); records >= 0 && n != records {
			t.Errorf("%s, %s lists %d records, want %d", when, path, n, records)
		}
	}
	check("behind", "/console/", []string{notice, "last 24 h (3 in all)", "last 7 d (3 in all)",
		`demo-customer-1</a></td><td class="num">3</td><td class="num">6</td>`}, -1)
	check("behind", "/console/usage?customer=demo-customer-1", []string{notice}, 3)
	check("behind", "/console/usage", []string{notice}, 3)
	check("behind", "/console/usage/tags?customer=demo-customer-1", []string{notice}, -1)
	// Once on a page, inside the part the explorer's filters fetch alone.
	for _, path := range []string{"/console/usage", "/console/usage/tags", "/console/"} {
		_, body, _ := get(t, c, s.URL+path)
		if n := strings.Count(body, "trail the ledger"); n != 1 {
			t.Errorf("%s says the rollups trail the ledger %d times, want once", path, n)
		}
	}
	_, body, _ := get(t, c, s.URL+"/console/usage")
	if i, j := strings.Index(body, `<section id="results">`), strings.Index(body, "trail the ledger"); i < 0 || j < i {
		t.Errorf("the explorer's notice is not inside #results")
	}

	if n, err := roller.RollUp(t.Context(), 100); err != nil || n != 5 {
		t.Fatalf("RollUp = %d, %v; want 5 records", n, err)
	}
	check("caught up", "/console/", []string{"last 24 h (5 in all)", `demo-customer-1</a></td><td class="num">5</td><td class="num">15</td>`}, -1)
	check("caught up", "/console/usage?customer=demo-customer-1", []string{"Usage"}, 5)
}
