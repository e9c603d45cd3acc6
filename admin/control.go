package admin

// The server-wide controls: the clock, reset, and the API description.

import (
	_ "embed"
	"fmt"
	"net/http"
	"time"

	"github.com/meterd/meterd"
)

// openAPIDocument is the OpenAPI 3.1 description of the admin API, kept in
// the repository beside this file and served as is.
//
//go:embed openapi.json
var openAPIDocument []byte

func (s *Server) getClock(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, s.clockState())
}

func (s *Server) clockState() ClockState {
	return ClockState{Now: s.Clock.Now(), Frozen: s.Clock.Frozen()}
}

// setClock sets (freezing), advances or resets the server clock.
func (s *Server) setClock(w http.ResponseWriter, r *http.Request) error {
	var in ClockInput
	if err := readJSON(r, &in); err != nil {
		return err
	}
	n := 0
	for _, given := range []bool{in.Set != nil, in.Advance != "", in.Reset} {
		if given {
			n++
		}
	}
	if n != 1 {
		return meterd.Errorf(meterd.EInvalid, "give exactly one of set, advance or reset")
	}
	switch {
	case in.Set != nil:
		s.Clock.Set(*in.Set)
	case in.Advance != "":
		d, err := time.ParseDuration(in.Advance)
		if err != nil {
			return meterd.Errorf(meterd.EInvalid, "advance: %q is not a duration such as 90s or 2h", in.Advance)
		}
		s.Clock.Advance(d)
	default:
		s.Clock.Reset()
	}
	state := s.clockState()
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
