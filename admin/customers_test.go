package admin

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/catalog"
	"github.com/meterd/meterd/metering"
)

func TestSubscribe(t *testing.T) {
	f := newFixture(t)
	gen, err := f.c.Subscribe(f.ctx, catalog.DemoProduct, SubscribeInput{})
	must(t, "Subscribe(generated)", err)
	if !regexp.MustCompile(`^[1-9][0-9]{11}$`).MatchString(gen.AWSAccountID) ||
		!strings.HasPrefix(gen.CustomerIdentifier, "cust-") ||
		!strings.HasPrefix(gen.LicenseArn, "arn:aws:license-manager::"+catalog.DemoSellerAccount+":license:l-") ||
		gen.Status != "subscribed" || gen.Platform != "other" || !gen.CreatedAt.Equal(t0) {
		t.Errorf("Subscribe(generated) = %+v, want generated account, identifier and license, subscribed, platform other", gen)
	}

	in := SubscribeInput{AWSAccountID: "222233334444", CustomerIdentifier: "cust-given", Platform: "eks",
		LicenseArn: "arn:aws:license-manager::111122223333:license:l-0123456789abcdef"}
	given, err := f.c.Subscribe(f.ctx, catalog.DemoProduct, in)
	must(t, "Subscribe(given)", err)
	want := Customer{ProductCode: catalog.DemoProduct, CustomerIdentifier: "cust-given", AWSAccountID: "222233334444",
		LicenseArn: in.LicenseArn, Status: "subscribed", Platform: "eks", StatusChangedAt: t0, CreatedAt: t0}
	if *given != want {
		t.Errorf("Subscribe(given) = %+v, want %+v", given, want)
	}
	got, err := f.c.Customer(f.ctx, catalog.DemoProduct, "cust-given")
	must(t, "Customer", err)
	if *got != want {
		t.Errorf("Customer = %+v, want %+v", got, want)
	}
	list, err := f.c.Customers(f.ctx, catalog.DemoProduct)
	must(t, "Customers", err)
	if len(list) != 4 {
		t.Errorf("Customers = %d customers, want 4 (two of the demo, two subscribed)", len(list))
	}

	tests := []struct {
		name   string
		code   string
		in     SubscribeInput
		status int
		ecode  string
	}{
		{"UnknownProduct", "nope", SubscribeInput{}, 404, "NotFound"},
		{"AccountOfAnother", catalog.DemoProduct, SubscribeInput{AWSAccountID: "222233334444", CustomerIdentifier: "cust-other"}, 409, "Conflict"},
		{"OtherAccount", catalog.DemoProduct, SubscribeInput{AWSAccountID: "999988887777", CustomerIdentifier: "cust-given"}, 409, "Conflict"},
		{"OtherLicense", catalog.DemoProduct, SubscribeInput{CustomerIdentifier: "cust-given", LicenseArn: "arn:aws:license-manager::1:license:l-1"}, 409, "Conflict"},
		{"BadAccount", catalog.DemoProduct, SubscribeInput{AWSAccountID: "12"}, 422, "Invalid"},
		{"BadPlatform", catalog.DemoProduct, SubscribeInput{Platform: "mainframe"}, 422, "Invalid"},
		{"BadLicense", catalog.DemoProduct, SubscribeInput{LicenseArn: "license"}, 422, "Invalid"},
		{"BadIdentifier", catalog.DemoProduct, SubscribeInput{CustomerIdentifier: "a b"}, 422, "Invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.c.Subscribe(f.ctx, tt.code, tt.in)
			wantError(t, "Subscribe", err, tt.status, tt.ecode)
		})
	}
	_, err = f.c.Customer(f.ctx, catalog.DemoProduct, "nope")
	wantError(t, "Customer(unknown)", err, 404, "NotFound")
	_, err = f.c.Customers(f.ctx, "nope")
	wantError(t, "Customers(unknown product)", err, 404, "NotFound")
}

func TestSetCustomerStatus(t *testing.T) {
	f := newFixture(t)
	for _, status := range []string{"suspended", "subscribe-failed", "unsubscribed", "subscribed"} {
		t.Run(status, func(t *testing.T) {
			f.clock.Advance(time.Minute)
			c, err := f.c.SetCustomerStatus(f.ctx, catalog.DemoProduct, catalog.DemoCustomer2, status)
			must(t, "SetCustomerStatus", err)
			stored, err := f.ledger.Customer(f.ctx, catalog.DemoProduct, catalog.DemoCustomer2)
			must(t, "ledger Customer", err)
			if c.Status != status || stored.Status != status || !stored.StatusChangedAt.Equal(f.clock.Now()) {
				t.Errorf("after SetCustomerStatus(%s): answer %s, stored %s changed at %s, want %s changed at %s",
					status, c.Status, stored.Status, stored.StatusChangedAt, status, f.clock.Now())
			}
		})
	}
	_, err := f.c.SetCustomerStatus(f.ctx, catalog.DemoProduct, catalog.DemoCustomer2, "gone")
	wantError(t, "SetCustomerStatus(gone)", err, 422, "Invalid")
	_, err = f.c.SetCustomerStatus(f.ctx, catalog.DemoProduct, "nope", "suspended")
	wantError(t, "SetCustomerStatus(unknown customer)", err, 404, "NotFound")
}

// TestUnsubscribeLifecycle follows the Seller Guide's lifecycle: unsubscribe-pending, then
// unsubscribed an hour later by the server clock, unless the customer
// resubscribes first. BatchMeterUsage sees the same statuses.
func TestUnsubscribeLifecycle(t *testing.T) {
	f := newFixture(t)
	svc := &metering.Service{Ledger: f.ledger, Clock: f.clock, PastWindow: 6 * time.Hour, FutureSkew: 5 * time.Minute}
	meter := func(t *testing.T) string {
		t.Helper()
		ctx := meterd.NewContextWithCaller(f.ctx, &meterd.Caller{AccountID: catalog.DemoSellerAccount, AccessKeyID: "test", Region: "us-east-1"})
		ts, q := f.clock.Now(), int64(1)
		out, err := svc.BatchMeterUsage(ctx, &meterd.BatchMeterUsageInput{ProductCode: catalog.DemoProduct, UsageRecords: []meterd.UsageRecord{
			{Timestamp: &ts, CustomerIdentifier: catalog.DemoCustomer1, Dimension: "requests", Quantity: &q},
		}})
		must(t, "BatchMeterUsage", err)
		return out.Results[0].Status
	}
	status := func(t *testing.T, want, wantMeter string) {
		t.Helper()
		c, err := f.c.Customer(f.ctx, catalog.DemoProduct, catalog.DemoCustomer1)
		must(t, "Customer", err)
		if c.Status != want {
			t.Errorf("status at %s = %s, want %s", f.clock.Now().Format(time.TimeOnly), c.Status, want)
		}
		if got := meter(t); got != wantMeter {
			t.Errorf("BatchMeterUsage status at %s = %s, want %s", f.clock.Now().Format(time.TimeOnly), got, wantMeter)
		}
	}

	c, err := f.c.Unsubscribe(f.ctx, catalog.DemoProduct, catalog.DemoCustomer1)
	must(t, "Unsubscribe", err)
	if c.Status != "unsubscribe-pending" || !c.StatusChangedAt.Equal(t0) {
		t.Errorf("Unsubscribe = %s at %s, want unsubscribe-pending at %s", c.Status, c.StatusChangedAt, t0)
	}
	status(t, "unsubscribe-pending", "Success")
	f.clock.Advance(59 * time.Minute)
	status(t, "unsubscribe-pending", "Success")

	// A resubscribe before the hour is over cancels the unsubscribe.
	c, err = f.c.Subscribe(f.ctx, catalog.DemoProduct, SubscribeInput{CustomerIdentifier: catalog.DemoCustomer1})
	must(t, "Subscribe(resubscribe)", err)
	if c.Status != "subscribed" || c.AWSAccountID != catalog.DemoBuyerAccount1 {
		t.Errorf("resubscribe = %+v, want subscribed with account %s", c, catalog.DemoBuyerAccount1)
	}
	f.clock.Advance(2 * time.Hour)
	status(t, "subscribed", "Success")

	// Unsubscribe again and let the hour pass.
	start := f.clock.Now()
	_, err = f.c.Unsubscribe(f.ctx, catalog.DemoProduct, catalog.DemoCustomer1)
	must(t, "Unsubscribe", err)
	f.clock.Advance(time.Hour)
	status(t, "unsubscribed", "CustomerNotSubscribed")
	c, err = f.c.Customer(f.ctx, catalog.DemoProduct, catalog.DemoCustomer1)
	must(t, "Customer", err)
	if want := start.Add(time.Hour); !c.StatusChangedAt.Equal(want) {
		t.Errorf("status_changed_at = %s, want %s (the end of the grace hour)", c.StatusChangedAt, want)
	}

	// Subscribing (by AWS account id) after that is a new subscription of
	// the same customer.
	c, err = f.c.Subscribe(f.ctx, catalog.DemoProduct, SubscribeInput{AWSAccountID: catalog.DemoBuyerAccount1})
	must(t, "Subscribe(again)", err)
	if c.CustomerIdentifier != catalog.DemoCustomer1 || c.Status != "subscribed" {
		t.Errorf("Subscribe(again) = %+v, want %s subscribed", c, catalog.DemoCustomer1)
	}
	status(t, "subscribed", "Success")
}

func TestCreateToken(t *testing.T) {
	f := newFixture(t)
	tok, err := f.c.CreateToken(f.ctx, catalog.DemoProduct, catalog.DemoCustomer1, 0)
	must(t, "CreateToken", err)
	if tok.ProductCode != catalog.DemoProduct || tok.CustomerIdentifier != catalog.DemoCustomer1 || !tok.ExpiresAt.Equal(t0.Add(4*time.Hour)) || len(tok.Token) < 40 {
		t.Errorf("CreateToken = %+v, want a token for demo-customer-1 expiring at %s", tok, t0.Add(4*time.Hour))
	}
	stored, err := f.ledger.RegistrationToken(f.ctx, tok.Token)
	must(t, "ledger RegistrationToken", err)
	if stored.CustomerIdentifier != catalog.DemoCustomer1 {
		t.Errorf("stored token customer = %s, want %s", stored.CustomerIdentifier, catalog.DemoCustomer1)
	}
	tok, err = f.c.CreateToken(f.ctx, catalog.DemoProduct, catalog.DemoCustomer1, 90*time.Second)
	must(t, "CreateToken(90s)", err)
	if !tok.ExpiresAt.Equal(t0.Add(90 * time.Second)) {
		t.Errorf("CreateToken(90s) expires at %s, want %s", tok.ExpiresAt, t0.Add(90*time.Second))
	}

	tests := []struct {
		name   string
		code   string
		in     TokenInput
		status int
		ecode  string
	}{
		{"UnknownProduct", "nope", TokenInput{Customer: catalog.DemoCustomer1}, 404, "NotFound"},
		{"UnknownCustomer", catalog.DemoProduct, TokenInput{Customer: "nope"}, 422, "Invalid"},
		{"NoCustomer", catalog.DemoProduct, TokenInput{}, 422, "Invalid"},
		{"NegativeTTL", catalog.DemoProduct, TokenInput{Customer: catalog.DemoCustomer1, TTL: "-1h"}, 422, "Invalid"},
		{"ZeroTTL", catalog.DemoProduct, TokenInput{Customer: catalog.DemoCustomer1, TTL: "0s"}, 422, "Invalid"},
		{"BadTTL", catalog.DemoProduct, TokenInput{Customer: catalog.DemoCustomer1, TTL: "4 hours"}, 422, "Invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out Token
			err := f.c.call(f.ctx, "POST", p("products", tt.code, "tokens"), nil, tt.in, &out)
			wantError(t, "POST tokens", err, tt.status, tt.ecode)
		})
	}
}

func TestClock(t *testing.T) {
	f := newFixture(t)
	c, err := f.c.Clock(f.ctx)
	must(t, "Clock", err)
	if !c.Now.Equal(t0) || !c.Frozen {
		t.Errorf("Clock = %+v, want frozen at %s", c, t0)
	}
	c, err = f.c.AdvanceClock(f.ctx, 90*time.Minute)
	must(t, "AdvanceClock", err)
	if !c.Now.Equal(t0.Add(90*time.Minute)) || !f.clock.Now().Equal(c.Now) {
		t.Errorf("AdvanceClock = %+v, want %s", c, t0.Add(90*time.Minute))
	}
	at := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	c, err = f.c.SetClock(f.ctx, at)
	must(t, "SetClock", err)
	if !c.Now.Equal(at) || !c.Frozen {
		t.Errorf("SetClock = %+v, want frozen at %s", c, at)
	}
	c, err = f.c.ResetClock(f.ctx)
	must(t, "ResetClock", err)
	if c.Frozen || time.Since(c.Now).Abs() > time.Minute {
		t.Errorf("ResetClock = %+v, want real time, not frozen", c)
	}

	for name, body := range map[string]string{
		"Nothing":     `{}`,
		"Two":         `{"reset": true, "advance": "1h"}`,
		"BadDuration": `{"advance": "an hour"}`,
	} {
		t.Run(name, func(t *testing.T) {
			status, out := f.raw(t, "POST", "/admin/v1/clock", "Bearer "+testToken, body)
			if status != 422 {
				t.Errorf("POST clock %s = %d %s, want 422", body, status, out)
			}
		})
	}
	status, out := f.raw(t, "POST", "/admin/v1/clock", "Bearer "+testToken, `{"set": "yesterday"}`)
	if status != 400 {
		t.Errorf("POST clock set yesterday = %d %s, want 400", status, out)
	}
}

func TestReset(t *testing.T) {
	f := newFixture(t)
	_, err := f.c.CreateAccount(f.ctx, AccountInput{ID: "123456789012"})
	must(t, "CreateAccount", err)
	f.commit(t, record(catalog.DemoCustomer1, "requests", meterd.Hour(t0), 1))

	must(t, "Reset", f.c.Reset(f.ctx))

	_, err = f.c.Account(f.ctx, "123456789012")
	wantError(t, "Account after Reset", err, 404, "NotFound")
	if _, err := f.c.Product(f.ctx, catalog.DemoProduct); err != nil {
		t.Errorf("Product(demo) after Reset: %v, want the demo re-applied", err)
	}
	page, err := f.c.Usage(f.ctx, UsageQuery{})
	must(t, "Usage", err) // the token still works: settings survive
	if len(page.Records) != 0 {
		t.Errorf("Usage after Reset = %d records, want 0", len(page.Records))
	}
}
