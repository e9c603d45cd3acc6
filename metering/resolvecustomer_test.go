package metering

import (
	"testing"
	"time"

	"github.com/meterd/meterd"
)

// token stores a registration token of product p for customer c, valid 4h.
func (f *fixture) token(t *testing.T, p, c string) *meterd.RegistrationToken {
	t.Helper()
	tok := NewRegistrationToken(p, c, "", f.clock.Now(), 4*time.Hour)
	must(t, "PutRegistrationToken", f.ledger.PutRegistrationToken(t.Context(), tok))
	return tok
}

func TestResolveCustomer(t *testing.T) {
	f := newFixture(t)
	tok := f.token(t, product, cust1)
	want := meterd.ResolveCustomerOutput{CustomerIdentifier: cust1, CustomerAWSAccountID: acct1, ProductCode: product, LicenseArn: lic1}
	// Repeated resolves within the lifetime give the same answer, up to the
	// last instant before expiry.
	for _, advance := range []time.Duration{0, time.Hour, 3*time.Hour - time.Millisecond} {
		f.clock.Set(t0.Add(advance))
		out, err := f.svc.ResolveCustomer(asSeller(t), &meterd.ResolveCustomerInput{RegistrationToken: tok.Token})
		must(t, "ResolveCustomer", err)
		if *out != want {
			t.Errorf("ResolveCustomer at +%v = %+v, want %+v", advance, *out, want)
		}
	}
	f.clock.Set(t0.Add(4*time.Hour - time.Millisecond))
	_, err := f.svc.ResolveCustomer(asSeller(t), &meterd.ResolveCustomerInput{RegistrationToken: tok.Token})
	must(t, "ResolveCustomer(just before expiry)", err)
	f.clock.Set(t0.Add(4 * time.Hour))
	_, err = f.svc.ResolveCustomer(asSeller(t), &meterd.ResolveCustomerInput{RegistrationToken: tok.Token})
	wantError(t, "ResolveCustomer(at expiry)", err, meterd.EExpiredToken)
}

// TestResolveCustomerAgreementToken: a token bound to one of the
// customer's agreements answers that agreement's license, not the newest.
func TestResolveCustomerAgreementToken(t *testing.T) {
	f := newFixture(t)
	const older = "arn:aws:license-manager::111122223333:license:l-older"
	tok := NewRegistrationToken(product, cust1, older, f.clock.Now(), 4*time.Hour)
	must(t, "PutRegistrationToken", f.ledger.PutRegistrationToken(t.Context(), tok))
	out, err := f.svc.ResolveCustomer(asSeller(t), &meterd.ResolveCustomerInput{RegistrationToken: tok.Token})
	must(t, "ResolveCustomer", err)
	if out.LicenseArn != older || out.CustomerIdentifier != cust1 {
		t.Errorf("ResolveCustomer(a token of an agreement) = %+v, want customer %s and license %s", *out, cust1, older)
	}
}

func TestResolveCustomerErrors(t *testing.T) {
	f := newFixture(t)
	valid := f.token(t, product, cust1).Token
	other := f.token(t, otherProd, custOther).Token
	f.clock.Set(t0.Add(-5 * time.Hour))
	expired := f.token(t, product, cust2).Token
	expiredOther := f.token(t, otherProd, custOther).Token
	f.clock.Set(t0)
	tests := []struct {
		name    string
		account string
		region  string
		token   string
		code    string
	}{
		{"ErrValidation", seller, region, "", meterd.EValidation},
		{"ErrInvalidTokenUnknown", seller, region, "no-such-token", meterd.EInvalidToken},
		{"ErrInvalidTokenOtherSeller", seller, region, other, meterd.EInvalidToken},
		{"ErrInvalidTokenBuyer", acct1, region, valid, meterd.EInvalidToken},
		{"ErrInvalidTokenOtherSellerExpired", seller, region, expiredOther, meterd.EInvalidToken},
		{"ErrInvalidTokenBeforeRegion", seller, offRegion, other, meterd.EInvalidToken},
		{"ErrDisabledApi", seller, offRegion, valid, meterd.EDisabledAPI},
		{"ErrDisabledApiBeforeExpired", seller, offRegion, expired, meterd.EDisabledAPI},
		{"ErrExpiredToken", seller, region, expired, meterd.EExpiredToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.ResolveCustomer(as(t, tt.account, "k", tt.region), &meterd.ResolveCustomerInput{RegistrationToken: tt.token})
			wantError(t, "ResolveCustomer", err, tt.code)
		})
	}
	// The other seller resolves its own token.
	out, err := f.svc.ResolveCustomer(as(t, otherSeller, "k", offRegion), &meterd.ResolveCustomerInput{RegistrationToken: other})
	must(t, "ResolveCustomer(other seller)", err)
	if out.CustomerIdentifier != custOther || out.ProductCode != otherProd || out.LicenseArn != licOther {
		t.Errorf("ResolveCustomer(other seller) = %+v, want %s of %s", out, custOther, otherProd)
	}
}
