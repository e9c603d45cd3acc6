package admin

// Fault rules: /admin/v1/faults. The rules live in the memory of the
// process that serves the request (see package faults).

import (
	"context"
	"net/http"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/faults"
)

// FaultSpec defines a fault rule: the body of POST /admin/v1/faults.
type FaultSpec = faults.Spec

// FaultRule is a fault rule in force, with its id and hits.
type FaultRule = faults.Rule

// rules returns the server's fault rules, or NotFound when it has none
// (a server built without fault injection).
func (s *Server) rules() (*faults.Rules, error) {
	if s.Faults == nil {
		return nil, meterd.Errorf(meterd.ENotFound, "this server has no fault injection")
	}
	return s.Faults, nil
}

func (s *Server) listFaults(w http.ResponseWriter, r *http.Request) error {
	rs, err := s.rules()
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rs.List())
}

func (s *Server) addFault(w http.ResponseWriter, r *http.Request) error {
	rs, err := s.rules()
	if err != nil {
		return err
	}
	var in FaultSpec
	if err := readJSON(r, &in); err != nil {
		return err
	}
	rule, err := rs.Add(in)
	if err != nil {
		return err
	}
	s.Logger.Info("admin: fault rule added", "id", rule.ID, "operation", rule.Operation)
	return writeJSON(w, http.StatusCreated, rule)
}

func (s *Server) clearFaults(w http.ResponseWriter, r *http.Request) error {
	rs, err := s.rules()
	if err != nil {
		return err
	}
	rs.Clear()
	s.Logger.Info("admin: fault rules cleared")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) deleteFault(w http.ResponseWriter, r *http.Request) error {
	rs, err := s.rules()
	if err != nil {
		return err
	}
	if err := rs.Delete(r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Faults lists the fault rules in force.
func (c *Client) Faults(ctx context.Context) ([]FaultRule, error) {
	var out []FaultRule
	return out, c.call(ctx, "GET", p("faults"), nil, nil, &out)
}

// AddFault adds a fault rule and returns it with its id.
func (c *Client) AddFault(ctx context.Context, spec FaultSpec) (*FaultRule, error) {
	var out FaultRule
	return &out, c.call(ctx, "POST", p("faults"), nil, spec, &out)
}

// DeleteFault deletes a fault rule.
func (c *Client) DeleteFault(ctx context.Context, id string) error {
	return c.call(ctx, "DELETE", p("faults", id), nil, nil, nil)
}

// ClearFaults deletes every fault rule.
func (c *Client) ClearFaults(ctx context.Context) error {
	return c.call(ctx, "DELETE", p("faults"), nil, nil, nil)
}
