package admin

import (
	"net/http"
	"strconv"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/marketplace"
)

// OfferInput creates an offer: the product and the offer as the catalog
// file declares one.
type OfferInput struct {
	Product string `json:"product"`
	marketplace.OfferSpec
}

// AcceptOutput is the answer to an acceptance: the agreement made, or for
// a failed acceptance (fail: true) none and the customer marked
// subscribe-failed.
type AcceptOutput struct {
	Agreement          *meterd.Agreement `json:"agreement,omitempty"`
	Failed             bool              `json:"failed,omitempty"`
	CustomerIdentifier string            `json:"customer_identifier"`
}

func (s *Server) listOffers(w http.ResponseWriter, r *http.Request) error {
	offers, err := s.Ledger.Offers(r.Context(), r.URL.Query().Get("product"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, nonNil(offers))
}

func (s *Server) getOffer(w http.ResponseWriter, r *http.Request) error {
	o, err := s.Ledger.Offer(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, o)
}

func (s *Server) createOffer(w http.ResponseWriter, r *http.Request) error {
	var in OfferInput
	if err := readJSON(r, &in); err != nil {
		return err
	}
	if in.Product == "" {
		return meterd.Errorf(meterd.EInvalid, "product: required")
	}
	o, err := s.Market.CreateOffer(r.Context(), in.Product, &in.OfferSpec)
	if meterd.ErrorCode(err) == meterd.ENotFound {
		return meterd.Errorf(meterd.EInvalid, "product: no product %q", in.Product)
	} else if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, o)
}

func (s *Server) listAgreements(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := meterd.AgreementFilter{ProductCode: q.Get("product"), BuyerAccountID: q.Get("buyer"), Status: q.Get("status"),
		OfferID: q.Get("offer"), CustomerIdentifier: q.Get("customer")}
	if f.Status != "" && !meterd.ValidAgreementStatus(f.Status) {
		return meterd.Errorf(meterd.EInvalid, "status: %q is not ACTIVE, ARCHIVED, CANCELLED, EXPIRED, RENEWED, REPLACED, ROLLED_BACK, SUPERSEDED or TERMINATED", f.Status)
	}
	agreements, err := s.Ledger.Agreements(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, nonNil(agreements))
}

func (s *Server) getAgreement(w http.ResponseWriter, r *http.Request) error {
	a, err := s.Ledger.Agreement(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}

func (s *Server) agreementTerms(w http.ResponseWriter, r *http.Request) error {
	a, err := s.Ledger.Agreement(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, nonNil(a.Terms))
}

func (s *Server) acceptOffer(w http.ResponseWriter, r *http.Request) error {
	var in marketplace.AcceptInput
	if err := readJSON(r, &in); err != nil {
		return err
	}
	res, err := s.Market.Accept(r.Context(), in)
	if err != nil {
		return err
	}
	out := AcceptOutput{Agreement: res.Agreement, Failed: res.Failed}
	if res.Customer != nil {
		out.CustomerIdentifier = res.Customer.CustomerIdentifier
	} else if res.Agreement != nil {
		out.CustomerIdentifier = res.Agreement.CustomerIdentifier
	}
	status := http.StatusCreated
	if res.Failed {
		status = http.StatusOK
	}
	return writeJSON(w, status, out)
}

func (s *Server) amendAgreement(w http.ResponseWriter, r *http.Request) error {
	var in marketplace.AmendInput
	if err := readJSON(r, &in); err != nil {
		return err
	}
	a, err := s.Market.Amend(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}

func (s *Server) replaceAgreement(w http.ResponseWriter, r *http.Request) error {
	var in marketplace.AcceptInput
	if err := readJSON(r, &in); err != nil {
		return err
	}
	a, err := s.Market.Replace(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, a)
}

func (s *Server) cancelAgreement(w http.ResponseWriter, r *http.Request) error {
	var in struct{} // {}: the action takes no input
	if err := readJSON(r, &in); err != nil {
		return err
	}
	a, err := s.Market.Cancel(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}

func (s *Server) terminateAgreement(w http.ResponseWriter, r *http.Request) error {
	var in struct{} // {}: the action takes no input
	if err := readJSON(r, &in); err != nil {
		return err
	}
	a, err := s.Market.Terminate(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}

func (s *Server) listEntitlements(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := meterd.EntitlementFilter{ProductCode: q.Get("product"), CustomerIdentifiers: q["customer"], AWSAccountIDs: q["aws_account_id"],
		Dimensions: q["dimension"], LicenseArns: q["license"], At: s.Clock.Now()}
	if f.ProductCode == "" {
		return meterd.Errorf(meterd.EInvalid, "product: required")
	}
	es, err := s.Ledger.Entitlements(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, nonNil(es))
}

func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := meterd.EventFilter{ProductCode: q.Get("product"), Type: q.Get("type")}
	for _, p := range []struct {
		name string
		v    *int64
	}{{"after", &f.AfterSeq}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return meterd.Errorf(meterd.EInvalid, "%s: %q is not a sequence number", p.name, v)
			}
			*p.v = n
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return meterd.Errorf(meterd.EInvalid, "limit: %q is not 1 to 10000", v)
		}
		f.Limit = n
	}
	events, err := s.Ledger.Events(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, nonNil(events))
}

// nonNil makes an empty list answer [] rather than null.
func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}
