package marketplace

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/meterd/meterd"
)

// EntitlementRegion is the one region the Entitlement Service exists in.
const EntitlementRegion = "us-east-1"

// Page sizes of GetEntitlements (the model's PageSizeInteger).
const (
	maxEntitlementResults     = 25
	defaultEntitlementResults = 25
)

// filterNames are GetEntitlements' filter names, in the model's order.
var filterNames = []string{meterd.FilterCustomerIdentifier, meterd.FilterDimension, meterd.FilterCustomerAWSAccountID, meterd.FilterLicenseArn}

// EntitlementStore is what GetEntitlements reads; meterd.Ledger satisfies it.
type EntitlementStore interface {
	// Product returns a product. ENotFound.
	Product(ctx context.Context, code string) (*meterd.Product, error)
	// Entitlements returns the entitlements matching f, in order.
	Entitlements(ctx context.Context, f meterd.EntitlementFilter) ([]*meterd.Entitlement, error)
}

// Entitlements is the Entitlement Service: GetEntitlements over the store's
// entitlements as of the server clock. It implements
// meterd.EntitlementService.
type Entitlements struct {
	Store EntitlementStore
	Clock meterd.Clock
	// TokenKey signs the NextTokens it issues (see TokenKey); every node
	// sharing a store must use the same key.
	TokenKey []byte
}

var _ meterd.EntitlementService = (*Entitlements)(nil)

// GetEntitlements lists the entitlements of one of the caller's products,
// filtered and paginated. Every refusal is EInvalidParameter, the only
// client error the model has: a product of another seller (or none), a
// region other than us-east-1, a bad filter, MaxResults outside 1..25, a
// NextToken not issued for this caller, product and filter.
func (s *Entitlements) GetEntitlements(ctx context.Context, in *meterd.GetEntitlementsInput) (*meterd.GetEntitlementsOutput, error) {
	caller := meterd.CallerFromContext(ctx)
	if caller == nil {
		return nil, fmt.Errorf("marketplace: GetEntitlements without a caller")
	}
	if caller.Region != EntitlementRegion {
		return nil, invalidParameter("The Entitlement Service is available only in %s", EntitlementRegion)
	}
	f, limit, err := checkEntitlementsInput(in)
	if err != nil {
		return nil, err
	}
	p, err := s.Store.Product(ctx, in.ProductCode)
	if meterd.ErrorCode(err) == meterd.ENotFound || (err == nil && p.SellerAccountID != caller.AccountID) {
		// The same answer for a product that does not exist and one of
		// another seller, so that no caller learns which codes exist.
		return nil, invalidParameter("Product code %s is not a product of the calling account %s", clipEcho(in.ProductCode), caller.AccountID)
	} else if err != nil {
		return nil, err
	}
	scope := tokenScope(caller.AccountID, in.ProductCode, in.Filter)
	if in.NextToken != "" {
		after, ok := s.openToken(in.NextToken, scope)
		if !ok {
			return nil, invalidParameter("The NextToken is not valid for this product and filter: pass the NextToken of the previous GetEntitlements call with the same ProductCode and Filter")
		}
		f.After = after
	}
	f.At = s.Clock.Now()
	f.Limit = limit + 1 // one more tells whether a next page exists
	es, err := s.Store.Entitlements(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("marketplace: entitlements of %s: %w", in.ProductCode, err)
	}
	out := &meterd.GetEntitlementsOutput{Entitlements: es}
	if len(es) > limit {
		out.Entitlements = es[:limit]
		last := es[limit-1].Key()
		out.NextToken = s.sealToken(scope, last)
	}
	if out.Entitlements == nil {
		out.Entitlements = []*meterd.Entitlement{}
	}
	return out, nil
}

// checkEntitlementsInput validates the request and returns its store filter
// (product and values) and page size.
func checkEntitlementsInput(in *meterd.GetEntitlementsInput) (meterd.EntitlementFilter, int, error) {
	var f meterd.EntitlementFilter
	if n := len(in.ProductCode); n < 1 || n > 255 {
		return f, 0, invalidParameter("ProductCode must be 1 to 255 characters long")
	}
	f.ProductCode = in.ProductCode
	limit := defaultEntitlementResults
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > maxEntitlementResults {
			return f, 0, invalidParameter("MaxResults must be between 1 and %d, got %d", maxEntitlementResults, *in.MaxResults)
		}
		limit = int(*in.MaxResults)
	}
	for name, values := range in.Filter {
		if !slices.Contains(filterNames, name) {
			return f, 0, invalidParameter("Invalid filter name %q: the names are %s", clipEcho(name), strings.Join(filterNames, ", "))
		}
		if len(values) == 0 {
			return f, 0, invalidParameter("Filter %s must list at least one value", name)
		}
	}
	f.CustomerIdentifiers = in.Filter[meterd.FilterCustomerIdentifier]
	f.AWSAccountIDs = in.Filter[meterd.FilterCustomerAWSAccountID]
	f.Dimensions = in.Filter[meterd.FilterDimension]
	f.LicenseArns = in.Filter[meterd.FilterLicenseArn]
	switch {
	case f.CustomerIdentifiers != nil && f.AWSAccountIDs != nil:
		return f, 0, invalidParameter("Filters %s and %s are mutually exclusive: use one or the other", meterd.FilterCustomerIdentifier, meterd.FilterCustomerAWSAccountID)
	case f.Dimensions != nil && f.CustomerIdentifiers == nil && f.AWSAccountIDs == nil && f.LicenseArns == nil:
		// What the real service answers for a dimension alone.
		return f, 0, invalidParameter("Invalid filter combination provided")
	}
	return f, limit, nil
}

// tokenScope is what a NextToken is bound to: the caller, the product and
// the filter (names and values, in a canonical order, since values are a
// set and Go maps have none), hashed.
func tokenScope(account, product string, filter map[string][]string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%q %q", account, product)
	for _, name := range filterNames {
		values, ok := filter[name]
		if !ok {
			continue
		}
		values = slices.Clone(values)
		slices.Sort(values)
		values = slices.Compact(values)
		fmt.Fprintf(h, " %s=%q", name, values)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// pageToken is a NextToken's content: its scope and the last entitlement
// of the page it follows.
type pageToken struct {
	Scope string `json:"s"`
	C     string `json:"c"`
	D     string `json:"d"`
	L     string `json:"l"`
}

// tokenSeparator parts a token's payload from its MAC: '=' is never in
// unpadded base64url, and the Agreement Service's NextToken pattern
// ([a-zA-Z0-9+/=_-]+) allows it where it does not allow '.'.
const tokenSeparator = "="

// sealToken returns the NextToken after last: the JSON of a pageToken and
// its HMAC-SHA256 under TokenKey, each base64url.
func (s *Entitlements) sealToken(scope string, last meterd.EntitlementKey) string {
	payload, _ := json.Marshal(pageToken{Scope: scope, C: last.CustomerIdentifier, D: last.Dimension, L: last.LicenseArn}) // strings always marshal
	enc := base64.RawURLEncoding
	return enc.EncodeToString(payload) + tokenSeparator + enc.EncodeToString(s.mac(payload))
}

// openToken verifies a NextToken and returns its cursor; ok is false for a
// token that is malformed, not signed with TokenKey, or of another scope.
func (s *Entitlements) openToken(tok, scope string) (after *meterd.EntitlementKey, ok bool) {
	enc := base64.RawURLEncoding
	p, m, found := strings.Cut(tok, tokenSeparator)
	if !found {
		return nil, false
	}
	payload, err1 := enc.DecodeString(p)
	sum, err2 := enc.DecodeString(m)
	if err1 != nil || err2 != nil || !hmac.Equal(sum, s.mac(payload)) {
		return nil, false
	}
	var t pageToken
	if json.Unmarshal(payload, &t) != nil || t.Scope != scope {
		return nil, false
	}
	return &meterd.EntitlementKey{CustomerIdentifier: t.C, Dimension: t.D, LicenseArn: t.L}, true
}

// sealIndex returns a NextToken whose cursor is the index of the next
// item of a list computed whole (an agreement's terms, a seller's
// entities).
func (s *Entitlements) sealIndex(scope string, next int) string {
	return s.sealToken(scope, meterd.EntitlementKey{Dimension: strconv.Itoa(next)})
}

// openIndex verifies a token of sealIndex; ok is false for a token that is
// malformed, forged, of another scope, or past n items.
func (s *Entitlements) openIndex(tok, scope string, n int) (next int, ok bool) {
	after, ok := s.openToken(tok, scope)
	if !ok {
		return 0, false
	}
	next, err := strconv.Atoi(after.Dimension)
	if err != nil || next < 0 || next > n {
		return 0, false
	}
	return next, true
}

func (s *Entitlements) mac(payload []byte) []byte {
	h := hmac.New(sha256.New, s.TokenKey)
	h.Write(payload)
	return h.Sum(nil)
}

// TokenSetting is the store setting holding the key that signs pagination
// tokens (hex), so that every node sharing a store accepts the others'.
const TokenSetting = "pagination_token_key"

// SettingStore initializes server settings; meterd.Ledger satisfies it.
type SettingStore interface {
	InitSetting(ctx context.Context, name, value string) (string, error)
}

// TokenKey returns the store's pagination token key, creating a random one
// on first use (meterd serve calls it at start). Nodes of a shared store
// started for the first time at the same instant all read back the one key
// that was stored first.
func TokenKey(ctx context.Context, st SettingStore) ([]byte, error) {
	fresh := make([]byte, 32)
	rand.Read(fresh)
	v, err := st.InitSetting(ctx, TokenSetting, hex.EncodeToString(fresh))
	if err != nil {
		return nil, fmt.Errorf("marketplace: store the token key: %w", err)
	}
	key, err := hex.DecodeString(v)
	if err != nil || len(key) < 16 {
		return nil, fmt.Errorf("marketplace: setting %s is not a hex key of 16 bytes or more", TokenSetting)
	}
	return key, nil
}

func invalidParameter(format string, args ...any) error {
	return meterd.Errorf(meterd.EInvalidParameter, format, args...)
}

// clipped shortens client-supplied text echoed in messages.
func clipEcho(s string) string {
	const max = 128
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
