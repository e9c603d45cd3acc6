package admin

import (
	"context"
	"net/http"
	"net/url"
	"regexp"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/catalog"
	"github.com/meterd/meterd/metering"
)

// pricePattern is a plain decimal price. It is never changed.
var pricePattern = regexp.MustCompile(`^[0-9]{1,15}(\.[0-9]{1,12})?$`)

// maxPublicKeyVersions bounds public_key_versions: each is an RSA key to
// generate.
const maxPublicKeyVersions = 20

func (s *Server) listProducts(w http.ResponseWriter, r *http.Request) error {
	products, err := s.Ledger.Products(r.Context())
	if err != nil {
		return err
	}
	out := []Product{}
	for _, p := range products {
		out = append(out, productJSON(p))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) getProduct(w http.ResponseWriter, r *http.Request) error {
	p, err := s.Ledger.Product(r.Context(), r.PathValue("code"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, productJSON(p))
}

func (s *Server) createProduct(w http.ResponseWriter, r *http.Request) error {
	var in ProductInput
	if err := readJSON(r, &in); err != nil {
		return err
	}
	if err := validateProduct(&in); err != nil {
		return err
	}
	ctx := r.Context()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.Ledger.Product(ctx, in.Code); err == nil {
		return meterd.Errorf(meterd.EConflict, "product %s already exists", in.Code)
	} else if meterd.ErrorCode(err) != meterd.ENotFound {
		return err
	}
	if _, err := s.account(ctx, in.Seller); meterd.ErrorCode(err) == meterd.ENotFound {
		return meterd.Errorf(meterd.EInvalid, "seller: account %s does not exist", in.Seller)
	} else if err != nil {
		return err
	}
	now := s.Clock.Now()
	p := &meterd.Product{
		Code: in.Code, SellerAccountID: in.Seller, Type: in.Type, Regions: in.Regions,
		FulfillmentURL: in.FulfillmentURL, CreatedAt: now,
	}
	for _, d := range in.Dimensions {
		p.Dimensions = append(p.Dimensions, meterd.Dimension(d))
	}
	if err := s.Ledger.PutProduct(ctx, p); err != nil {
		return err
	}
	versions := max(in.PublicKeyVersions, 1)
	if err := catalog.EnsurePublicKeys(ctx, s.Ledger, p.Code, versions, now); err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, productJSON(p))
}

// validateProduct checks a new product's fields (EInvalid, naming the field).
func validateProduct(in *ProductInput) error {
	if !meterd.ValidProductCode(in.Code) {
		return meterd.Errorf(meterd.EInvalid, "code: %q is not a product code (1 to 255 of a-z A-Z 0-9 - / = : _ . @)", in.Code)
	}
	if !meterd.ValidAccountID(in.Seller) {
		return meterd.Errorf(meterd.EInvalid, "seller: an account id is 12 digits, not %q", in.Seller)
	}
	switch in.Type {
	case meterd.ProductSaaS, meterd.ProductAMI, meterd.ProductContainer:
	default:
		return meterd.Errorf(meterd.EInvalid, "type: %q is not saas, ami or container", in.Type)
	}
	for i, region := range in.Regions {
		if region == "" {
			return meterd.Errorf(meterd.EInvalid, "regions[%d]: empty region", i)
		}
	}
	if in.FulfillmentURL != "" {
		if u, err := url.Parse(in.FulfillmentURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return meterd.Errorf(meterd.EInvalid, "fulfillment_url: %q is not an http(s) URL", in.FulfillmentURL)
		}
	}
	if in.PublicKeyVersions < 0 || in.PublicKeyVersions > maxPublicKeyVersions {
		return meterd.Errorf(meterd.EInvalid, "public_key_versions: %d is not between 0 and %d", in.PublicKeyVersions, maxPublicKeyVersions)
	}
	if len(in.Dimensions) == 0 {
		return meterd.Errorf(meterd.EInvalid, "dimensions: a product needs at least one dimension")
	}
	seen := map[string]bool{}
	for _, d := range in.Dimensions {
		if err := validateDimension(d); err != nil {
			return err
		}
		if seen[d.Name] {
			return meterd.Errorf(meterd.EInvalid, "dimensions: %q appears twice", d.Name)
		}
		seen[d.Name] = true
	}
	return nil
}

// validateDimension checks a dimension's name and price.
func validateDimension(d Dimension) error {
	if d.Name == "" || len(d.Name) > 255 {
		return meterd.Errorf(meterd.EInvalid, "dimension name: 1 to 255 characters, not %q", d.Name)
	}
	if d.Price != "" && !pricePattern.MatchString(d.Price) {
		return meterd.Errorf(meterd.EInvalid, "dimension %s: price %q is not a decimal such as 0.0001", d.Name, d.Price)
	}
	return nil
}

func (s *Server) listDimensions(w http.ResponseWriter, r *http.Request) error {
	p, err := s.Ledger.Product(r.Context(), r.PathValue("code"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, productJSON(p).Dimensions)
}

func (s *Server) addDimension(w http.ResponseWriter, r *http.Request) error {
	var in Dimension
	if err := readJSON(r, &in); err != nil {
		return err
	}
	if err := validateDimension(in); err != nil {
		return err
	}
	ctx := r.Context()
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.Ledger.Product(ctx, r.PathValue("code"))
	if err != nil {
		return err
	}
	if _, ok := p.Dimension(in.Name); ok {
		return meterd.Errorf(meterd.EConflict, "product %s already has dimension %s", p.Code, in.Name)
	}
	p.Dimensions = append(p.Dimensions, meterd.Dimension(in))
	if err := s.Ledger.PutProduct(ctx, p); err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, in)
}

// product returns the product named in the path (ENotFound).
func (s *Server) product(ctx context.Context, r *http.Request) (*meterd.Product, error) {
	return s.Ledger.Product(ctx, r.PathValue("code"))
}

func (s *Server) listPublicKeys(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p, err := s.product(ctx, r)
	if err != nil {
		return err
	}
	keys, err := s.Ledger.PublicKeys(ctx, p.Code)
	if err != nil {
		return err
	}
	out := []PublicKey{}
	for _, k := range keys {
		out = append(out, publicKeyJSON(k))
	}
	return writeJSON(w, http.StatusOK, out)
}

// rotatePublicKey creates version N+1 and marks the current version
// rotated. The new key is stored first, so a failure between the two
// writes leaves a usable newest key.
func (s *Server) rotatePublicKey(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.product(ctx, r)
	if err != nil {
		return err
	}
	keys, err := s.Ledger.PublicKeys(ctx, p.Code)
	if err != nil {
		return err
	}
	now := s.Clock.Now()
	var last int64
	for _, k := range keys {
		last = max(last, k.Version)
	}
	k, err := metering.NewPublicKey(p.Code, last+1, now)
	if err != nil {
		return err
	}
	if err := s.Ledger.PutPublicKey(ctx, k); err != nil {
		return err
	}
	for _, old := range keys {
		if old.RotatedAt == nil {
			old.RotatedAt = &now
			if err := s.Ledger.PutPublicKey(ctx, old); err != nil {
				return err
			}
		}
	}
	return writeJSON(w, http.StatusCreated, publicKeyJSON(k))
}
