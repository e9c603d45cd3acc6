package admin

import (
	"net/http"

	"github.com/meterd/meterd"
)

func (s *Server) listAdminTokens(w http.ResponseWriter, r *http.Request) error {
	tokens, err := s.Ledger.AdminTokens(r.Context())
	if err != nil {
		return err
	}
	out := []AdminToken{}
	for _, t := range tokens {
		out = append(out, AdminToken{Name: t.Name, Role: t.Role, CreatedAt: t.CreatedAt})
	}
	return writeJSON(w, http.StatusOK, out)
}

// createAdminToken generates a token and answers it once: the store keeps
// only its hash.
func (s *Server) createAdminToken(w http.ResponseWriter, r *http.Request) error {
	var in AdminTokenInput
	if err := readJSON(r, &in); err != nil {
		return err
	}
	if err := meterd.ValidateAdminToken(in.Name, in.Role); err != nil {
		return err
	}
	secret := meterd.NewAdminTokenSecret()
	t := &meterd.AdminToken{Name: in.Name, Role: in.Role, Hash: meterd.HashAdminToken(secret), CreatedAt: s.Clock.Now()}
	if err := s.Ledger.CreateAdminToken(r.Context(), t); err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, AdminToken{Name: t.Name, Role: t.Role, CreatedAt: t.CreatedAt, Token: secret})
}

func (s *Server) revokeAdminToken(w http.ResponseWriter, r *http.Request) error {
	if err := s.Ledger.DeleteAdminToken(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
