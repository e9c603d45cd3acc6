package admin

import (
	"context"
	"crypto/rand"
	"net/http"

	"github.com/meterd/meterd"
)

// Alphabets of generated credentials, like AWS's own.
const (
	upperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	alnum      = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	digits     = "0123456789"
)

// randomString returns n characters drawn uniformly from alphabet with
// crypto/rand (bytes beyond the last whole multiple are rejected, so no
// character is favoured).
func randomString(alphabet string, n int) string {
	limit := 256 - 256%len(alphabet)
	out := make([]byte, 0, n)
	buf := make([]byte, 2*n)
	for len(out) < n {
		rand.Read(buf)
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out)
}

func (s *Server) listAccounts(w http.ResponseWriter, r *http.Request) error {
	accounts, err := s.Ledger.Accounts(r.Context())
	if err != nil {
		return err
	}
	out := []Account{}
	for _, a := range accounts {
		out = append(out, accountJSON(a))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) createAccount(w http.ResponseWriter, r *http.Request) error {
	var in AccountInput
	if err := readJSON(r, &in); err != nil {
		return err
	}
	if !meterd.ValidAccountID(in.ID) {
		return meterd.Errorf(meterd.EInvalid, "id: an account id is 12 digits, not %q", in.ID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.account(r.Context(), in.ID); err == nil {
		return meterd.Errorf(meterd.EConflict, "account %s already exists", in.ID)
	} else if meterd.ErrorCode(err) != meterd.ENotFound {
		return err
	}
	a := &meterd.Account{ID: in.ID, Name: in.Name, CreatedAt: s.Clock.Now()}
	if err := s.Ledger.PutAccount(r.Context(), a); err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, accountJSON(a))
}

func (s *Server) getAccount(w http.ResponseWriter, r *http.Request) error {
	a, err := s.account(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, accountJSON(a))
}

// account returns an account by id (ENotFound). The Ledger only lists
// accounts; there are few.
func (s *Server) account(ctx context.Context, id string) (*meterd.Account, error) {
	accounts, err := s.Ledger.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	for _, a := range accounts {
		if a.ID == id {
			return a, nil
		}
	}
	return nil, meterd.Errorf(meterd.ENotFound, "account %s does not exist", id)
}

func (s *Server) listAccountKeys(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := s.account(r.Context(), id); err != nil {
		return err
	}
	return s.writeKeys(w, r, id)
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) error {
	return s.writeKeys(w, r, "")
}

// writeKeys lists the keys of an account ("" for all), without secrets.
func (s *Server) writeKeys(w http.ResponseWriter, r *http.Request, accountID string) error {
	keys, err := s.Ledger.AccessKeys(r.Context(), accountID)
	if err != nil {
		return err
	}
	out := []AccessKey{}
	for _, k := range keys {
		out = append(out, accessKeyJSON(k))
	}
	return writeJSON(w, http.StatusOK, out)
}

// createKey creates an access key. Its answer is the only place the secret
// ever appears.
func (s *Server) createKey(w http.ResponseWriter, r *http.Request) error {
	var in AccessKeyInput
	if err := readJSON(r, &in); err != nil {
		return err
	}
	ctx := r.Context()
	accountID := r.PathValue("id")
	if in.ID == "" {
		in.ID = "AKIA" + randomString(upperAlnum, 16)
	}
	if in.Secret == "" {
		in.Secret = randomString(alnum, 40)
	}
	if len(in.ID) > 128 || len(in.Secret) > 128 {
		return meterd.Errorf(meterd.EInvalid, "id and secret are at most 128 characters")
	}
	// An admin token must never work as an AWS credential.
	tokens, err := s.Ledger.AdminTokens(ctx)
	if err != nil {
		return err
	}
	for _, v := range []string{in.ID, in.Secret, in.SessionToken} {
		if meterd.MatchAdminToken(tokens, v) != nil {
			return meterd.Errorf(meterd.EInvalid, "an admin token cannot be used as an AWS credential")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.account(ctx, accountID); err != nil {
		return err
	}
	if _, err := s.Ledger.AccessKey(ctx, in.ID); err == nil {
		return meterd.Errorf(meterd.EConflict, "access key %s already exists", in.ID)
	} else if meterd.ErrorCode(err) != meterd.ENotFound {
		return err
	}
	k := &meterd.AccessKey{ID: in.ID, Secret: in.Secret, SessionToken: in.SessionToken, AccountID: accountID, CreatedAt: s.Clock.Now()}
	if err := s.Ledger.PutAccessKey(ctx, k); err != nil {
		return err
	}
	out := accessKeyJSON(k)
	out.Secret, out.SessionToken = k.Secret, k.SessionToken
	return writeJSON(w, http.StatusCreated, out)
}

func (s *Server) deleteKey(w http.ResponseWriter, r *http.Request) error {
	if err := s.Ledger.DeleteAccessKey(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
