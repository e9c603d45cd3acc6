package meterd

import "time"

// AgreementRequest is a buyer's quote for an agreement (the Agreement
// Service's CreateAgreementRequest): what accepting it would make, kept
// until AcceptAgreementRequest turns it into the agreement. Intent NEW and
// REPLACE name an offer (the proposal's); AMEND and REPLACE name the
// source agreement. Duration, Quantities and AutoRenew are the buyer's
// contract configuration; Trial, the offer's free trial.
type AgreementRequest struct {
	ID                string           `json:"id"` // ar- + 25 letters/digits
	BuyerAccountID    string           `json:"buyer"`
	Intent            string           `json:"intent"`
	ProductCode       string           `json:"product_code"`
	OfferID           string           `json:"offer_id,omitempty"`
	SourceAgreementID string           `json:"source_agreement_id,omitempty"`
	Duration          string           `json:"duration,omitempty"`
	Quantities        map[string]int64 `json:"quantities,omitempty"`
	AutoRenew         *bool            `json:"auto_renew,omitempty"`
	Trial             bool             `json:"trial,omitempty"`
	// ClientToken makes the creation idempotent per buyer; Fingerprint is
	// a digest of the request's members, so that a token reused for other
	// members can be told from a retry.
	ClientToken string    `json:"client_token,omitempty"`
	Fingerprint string    `json:"fingerprint,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	// AgreementID is the agreement its acceptance made (NEW, REPLACE) or
	// changed (AMEND); empty until accepted.
	AgreementID string    `json:"agreement_id,omitempty"`
	AcceptedAt  time.Time `json:"accepted_at,omitzero"`
}
