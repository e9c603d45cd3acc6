package admin

import (
	"net/http"
	"testing"

	"github.com/meterd/meterd"
)

func TestFaults(t *testing.T) {
	f := newFixture(t)
	got, err := f.c.Faults(f.ctx)
	must(t, "Faults", err)
	if len(got) != 0 {
		t.Errorf("Faults() on a new server = %v, want none", got)
	}
	a, err := f.c.AddFault(f.ctx, FaultSpec{Operation: "BatchMeterUsage", Unprocessed: 0.3, Customer: "demo-customer-1"})
	must(t, "AddFault unprocessed", err)
	b, err := f.c.AddFault(f.ctx, FaultSpec{Operation: "MeterUsage", Error: meterd.EThrottling, Count: 2, Probability: 0.5})
	must(t, "AddFault error", err)
	if a.ID == "" || a.ID == b.ID || b.Count != 2 || b.Probability != 0.5 || a.Customer != "demo-customer-1" {
		t.Errorf("AddFault() = %+v and %+v, want distinct ids and the specs echoed", a, b)
	}
	got, err = f.c.Faults(f.ctx)
	must(t, "Faults", err)
	if len(got) != 2 || got[0].ID != a.ID || got[1].ID != b.ID || got[1].Hits != 0 {
		t.Errorf("Faults() = %+v, want %s then %s without hits", got, a.ID, b.ID)
	}
	// Only the process's rules change: the server's own Rules see the API's rule.
	if n := len(f.server.Faults.List()); n != 2 {
		t.Errorf("server rules = %d, want 2", n)
	}

	must(t, "DeleteFault", f.c.DeleteFault(f.ctx, a.ID))
	wantError(t, "DeleteFault again", f.c.DeleteFault(f.ctx, a.ID), http.StatusNotFound, meterd.ENotFound)
	got, _ = f.c.Faults(f.ctx)
	if len(got) != 1 || got[0].ID != b.ID {
		t.Errorf("Faults() after delete = %+v, want only %s", got, b.ID)
	}
	must(t, "ClearFaults", f.c.ClearFaults(f.ctx))
	got, _ = f.c.Faults(f.ctx)
	if len(got) != 0 {
		t.Errorf("Faults() after clear = %+v, want none", got)
	}
}

func TestAddFaultInvalid(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name string
		spec FaultSpec
	}{
		{"NoOperation", FaultSpec{Error: meterd.EThrottling}},
		{"NoEffect", FaultSpec{Operation: "MeterUsage"}},
		{"TwoEffects", FaultSpec{Operation: "BatchMeterUsage", DropResponse: true, Unprocessed: 0.1}},
		{"UnknownError", FaultSpec{Operation: "MeterUsage", Error: "TeapotException"}},
		{"BadLatency", FaultSpec{Operation: "MeterUsage", Latency: "a while"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.c.AddFault(f.ctx, tt.spec)
			wantError(t, "AddFault", err, http.StatusUnprocessableEntity, meterd.EInvalid)
		})
	}
	if got, _ := f.c.Faults(f.ctx); len(got) != 0 {
		t.Errorf("Faults() after invalid adds = %+v, want none", got)
	}
}

func TestFaultsDisabled(t *testing.T) {
	f := newFixture(t)
	f.server.Faults = nil
	_, err := f.c.Faults(f.ctx)
	wantError(t, "Faults without fault injection", err, http.StatusNotFound, meterd.ENotFound)
}
