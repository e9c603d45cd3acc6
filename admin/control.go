package admin

// The server-wide controls: the clock, reset, and the API description.

import (
	_ "embed"
	"fmt"
	"net/http"
)

// openAPIDocument is the OpenAPI 3.1 description of the admin API, kept in
// the repository beside this file and served as is.
//
//go:embed openapi.json
var openAPIDocument []byte

func (s *Server) getClock(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, s.Clock.State())
}

// setClock sets (freezing), advances or resets the server clock.
func (s *Server) setClock(w http.ResponseWriter, r *http.Request) error {
	var in ClockInput
	if err := readJSON(r, &in); err != nil {
		return err
	}
	if err := s.Clock.Change(in); err != nil {
		return err
	}
	// Every transition that became due is applied, with its events,
	// before the answer.
	if _, err := s.Market.ApplyDue(r.Context()); err != nil {
		return err
	}
	state := s.Clock.State()
	s.Logger.Info("admin: clock changed", "now", state.Now, "frozen", state.Frozen)
	return writeJSON(w, http.StatusOK, state)
}

// reset empties the ledger (settings, such as the admin token hash, stay)
// and applies the catalog again.
func (s *Server) reset(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.Ledger.Reset(ctx); err != nil {
		return err
	}
	if s.Reseed != nil {
		if err := s.Reseed(ctx); err != nil {
			return fmt.Errorf("admin: reseed after reset: %w", err)
		}
	}
	s.Logger.Info("admin: ledger reset")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write(openAPIDocument)
	return err
}
