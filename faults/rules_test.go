package faults

import (
	"strings"
	"testing"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/catalog"
)

func TestSpecValidate(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
		want string // "" for valid, else a substring of the error
	}{
		{"Error", Spec{Operation: "MeterUsage", Error: meterd.EThrottling}, ""},
		{"Unprocessed", Spec{Operation: "BatchMeterUsage", Unprocessed: 0.3, Probability: 0.5, Count: 2}, ""},
		{"Latency", Spec{Operation: "ResolveCustomer", Latency: "250ms"}, ""},
		{"DropResponse", Spec{Operation: "BatchMeterUsage", DropResponse: true}, ""},
		{"ErrOperation", Spec{Operation: "batchmeterusage", DropResponse: true}, "operation"},
		{"ErrNoEffect", Spec{Operation: "MeterUsage"}, "exactly one effect"},
		{"ErrTwoEffects", Spec{Operation: "MeterUsage", Error: meterd.EThrottling, Latency: "1s"}, "exactly one effect"},
		{"ErrUnknownCode", Spec{Operation: "MeterUsage", Error: "NoSuchException"}, "error:"},
		{"ErrAdminCode", Spec{Operation: "MeterUsage", Error: meterd.ENotFound}, "error:"},
		{"ErrUnprocessedOperation", Spec{Operation: "MeterUsage", Unprocessed: 0.5}, "only BatchMeterUsage"},
		{"ErrUnprocessedRange", Spec{Operation: "BatchMeterUsage", Unprocessed: 1.5}, "unprocessed"},
		{"ErrLatency", Spec{Operation: "MeterUsage", Latency: "soon"}, "latency"},
		{"ErrLatencyNegative", Spec{Operation: "MeterUsage", Latency: "-1s"}, "latency"},
		{"ErrProbability", Spec{Operation: "MeterUsage", DropResponse: true, Probability: 2}, "probability"},
		{"ErrCount", Spec{Operation: "MeterUsage", DropResponse: true, Count: -1}, "count"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.spec.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.want != "" && (meterd.ErrorCode(err) != meterd.EInvalid || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate() = %v, want Invalid mentioning %q", err, tt.want)
			}
		})
	}
}

func TestRuleMatch(t *testing.T) {
	batch := &request{op: meterd.OpBatchMeterUsage, product: "p", account: "111122223333", records: []meterd.UsageRecord{
		{CustomerIdentifier: "cust-a", Dimension: "requests"},
		{CustomerAWSAccountID: "444455556666", Dimension: "storage"},
	}}
	tests := []struct {
		name string
		spec Spec
		want bool
	}{
		{"Operation", Spec{Operation: "BatchMeterUsage"}, true},
		{"OtherOperation", Spec{Operation: "MeterUsage"}, false},
		{"Product", Spec{Operation: "BatchMeterUsage", Product: "p"}, true},
		{"OtherProduct", Spec{Operation: "BatchMeterUsage", Product: "q"}, false},
		{"CustomerIdentifier", Spec{Operation: "BatchMeterUsage", Customer: "cust-a"}, true},
		{"CustomerAWSAccountId", Spec{Operation: "BatchMeterUsage", Customer: "444455556666"}, true},
		{"OtherCustomer", Spec{Operation: "BatchMeterUsage", Customer: "cust-b"}, false},
		{"Dimension", Spec{Operation: "BatchMeterUsage", Dimension: "storage"}, true},
		{"CustomerAndDimensionOfOneRecord", Spec{Operation: "BatchMeterUsage", Customer: "cust-a", Dimension: "requests"}, true},
		{"CustomerAndDimensionOfTwoRecords", Spec{Operation: "BatchMeterUsage", Customer: "cust-a", Dimension: "storage"}, false},
		{"Account", Spec{Operation: "BatchMeterUsage", Account: "111122223333"}, true},
		{"OtherAccount", Spec{Operation: "BatchMeterUsage", Account: "999999999999"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.spec.match(batch); got != tt.want {
				t.Errorf("%+v.match(batch) = %v, want %v", tt.spec, got, tt.want)
			}
		})
	}
}

func TestRulesCount(t *testing.T) {
	rs := NewRules(1)
	r, err := rs.Add(Spec{Operation: "MeterUsage", Error: meterd.EThrottling, Count: 2})
	if err != nil {
		t.Fatal(err)
	}
	req := &request{op: meterd.OpMeterUsage, records: []meterd.UsageRecord{{}}}
	for i, want := range []string{meterd.EThrottling, meterd.EThrottling, ""} {
		if got := meterd.ErrorCode(rs.decide(req).err); got != want {
			t.Errorf("request %d: error code = %q, want %q", i+1, got, want)
		}
	}
	if got := rs.List(); len(got) != 0 {
		t.Errorf("List() after %d hits of rule %s = %v, want it deleted", r.Count, r.ID, got)
	}
}

func TestRulesProbabilityAndSeed(t *testing.T) {
	spec := Spec{Operation: "BatchMeterUsage", Unprocessed: 0.5}
	records := make([]meterd.UsageRecord, 25)
	req := &request{op: meterd.OpBatchMeterUsage, records: records}
	run := func(seed uint64) string {
		rs := NewRules(seed)
		if _, err := rs.Add(spec); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for range 4 {
			for _, u := range rs.decide(req).unprocessed {
				if u {
					b.WriteByte('u')
				} else {
					b.WriteByte('.')
				}
			}
		}
		return b.String()
	}
	a, b, c := run(42), run(42), run(43)
	if a != b {
		t.Errorf("seed 42 twice: %s and %s, want equal", a, b)
	}
	if a == c {
		t.Errorf("seeds 42 and 43 both gave %s, want different", a)
	}
	if n := strings.Count(a, "u"); n < 25 || n > 75 {
		t.Errorf("unprocessed 0.5 moved %d of 100 records, want about 50", n)
	}

	rs := NewRules(7)
	if _, err := rs.Add(Spec{Operation: "MeterUsage", Error: meterd.EInternal, Probability: 0.25}); err != nil {
		t.Fatal(err)
	}
	fired := 0
	for range 400 {
		if rs.decide(&request{op: meterd.OpMeterUsage, records: []meterd.UsageRecord{{}}}).err != nil {
			fired++
		}
	}
	if fired < 60 || fired > 140 {
		t.Errorf("probability 0.25 fired %d of 400 times, want about 100", fired)
	}
}

func TestRulesFirstErrorWins(t *testing.T) {
	rs := NewRules(1)
	lat, _ := rs.Add(Spec{Operation: "MeterUsage", Latency: "1s"})
	first, _ := rs.Add(Spec{Operation: "MeterUsage", Error: meterd.EThrottling})
	second, _ := rs.Add(Spec{Operation: "MeterUsage", Error: meterd.EInternal})
	d := rs.decide(&request{op: meterd.OpMeterUsage, records: []meterd.UsageRecord{{}}})
	if got := meterd.ErrorCode(d.err); got != meterd.EThrottling || d.latency.String() != "1s" {
		t.Errorf("decide() = %s after %v, want %s after 1s", got, d.latency, meterd.EThrottling)
	}
	hits := map[string]int64{}
	for _, r := range rs.List() {
		hits[r.ID] = r.Hits
	}
	if hits[lat.ID] != 1 || hits[first.ID] != 1 || hits[second.ID] != 0 {
		t.Errorf("hits = %v, want 1, 1 and 0 (the walk stops at the first error)", hits)
	}
}

func TestRulesDeleteClear(t *testing.T) {
	rs := NewRules(1)
	a, _ := rs.Add(Spec{Operation: "MeterUsage", DropResponse: true})
	b, _ := rs.Add(Spec{Operation: "RegisterUsage", DropResponse: true})
	if err := rs.Delete(a.ID); err != nil {
		t.Fatalf("Delete(%s) = %v", a.ID, err)
	}
	if err := rs.Delete(a.ID); meterd.ErrorCode(err) != meterd.ENotFound {
		t.Errorf("Delete(%s) again = %v, want NotFound", a.ID, err)
	}
	if got := rs.List(); len(got) != 1 || got[0].ID != b.ID {
		t.Errorf("List() = %v, want only %s", got, b.ID)
	}
	c, _ := rs.Add(Spec{Operation: "MeterUsage", DropResponse: true})
	if c.ID == a.ID || c.ID == b.ID {
		t.Errorf("new rule id %s reuses an earlier id", c.ID)
	}
	rs.Clear()
	if got := rs.List(); len(got) != 0 {
		t.Errorf("List() after Clear = %v, want none", got)
	}
}

func TestAddCatalog(t *testing.T) {
	f, err := catalog.Parse([]byte(`
accounts: [{id: "111122223333"}]
products:
  - {code: p, seller: "111122223333", type: saas, dimensions: [{name: d}]}
faults:
  - {operation: BatchMeterUsage, unprocessed: 0.3, probability: 1.0}
  - {operation: MeterUsage, customer: "444455556666", error: ThrottlingException, count: 3}
`))
	if err != nil {
		t.Fatal(err)
	}
	rs := NewRules(1)
	if err := rs.AddCatalog(f); err != nil {
		t.Fatalf("AddCatalog() = %v", err)
	}
	got := rs.List()
	if len(got) != 2 || got[0].Unprocessed != 0.3 || got[1].Error != meterd.EThrottling || got[1].Count != 3 || got[1].Customer != "444455556666" {
		t.Errorf("List() = %+v, want the catalog's two rules", got)
	}
	f.Faults[0].Error = "Nope"
	f.Faults[1].Count = -1
	empty := NewRules(1)
	err = empty.AddCatalog(f)
	if err == nil || !strings.HasPrefix(err.Error(), "6: faults[0]: give exactly one effect") || !strings.Contains(err.Error(), "\n7: faults[1]: count") {
		t.Errorf("AddCatalog(two bad rules) = %v, want both, each with its line", err)
	}
	if len(empty.List()) != 0 {
		t.Errorf("AddCatalog(two bad rules) added %v, want none", empty.List())
	}
}
