package ledgertest

import (
	"slices"
	"testing"
	"time"

	"github.com/meterd/meterd"
)

func testAccounts(t *testing.T, open Open) {
	t.Run("Empty", func(t *testing.T) {
		l := open(t)
		got, err := l.Accounts(t.Context())
		must(t, "Accounts()", err)
		if len(got) != 0 {
			t.Fatalf("Accounts() on an empty store = %d accounts, want 0", len(got))
		}
	})
	t.Run("Upsert", func(t *testing.T) {
		l := open(t)
		ctx := t.Context()
		must(t, "PutAccount", l.PutAccount(ctx, &meterd.Account{ID: buyer1, Name: "B", CreatedAt: h0}))
		must(t, "PutAccount", l.PutAccount(ctx, &meterd.Account{ID: seller, Name: "Old", CreatedAt: h0}))
		// An update changes the name and keeps the creation time.
		must(t, "PutAccount", l.PutAccount(ctx, &meterd.Account{ID: seller, Name: "New", CreatedAt: h1}))
		got, err := l.Accounts(ctx)
		must(t, "Accounts()", err)
		if len(got) != 2 {
			t.Fatalf("Accounts() = %d accounts, want 2", len(got))
		}
		if got[0].ID != seller || got[1].ID != buyer1 {
			t.Errorf("Accounts() ids = [%s %s], want [%s %s] (ordered by id)", got[0].ID, got[1].ID, seller, buyer1)
		}
		if got[0].Name != "New" {
			t.Errorf("Accounts()[0].Name = %q, want %q", got[0].Name, "New")
		}
		checkTime(t, "Accounts()[0].CreatedAt", got[0].CreatedAt, h0)
	})
}

func testAccessKeys(t *testing.T, open Open) {
	setup := func(t *testing.T) meterd.Ledger {
		l := open(t)
		must(t, "PutAccount", l.PutAccount(t.Context(), &meterd.Account{ID: seller, CreatedAt: h0}))
		must(t, "PutAccount", l.PutAccount(t.Context(), &meterd.Account{ID: buyer1, CreatedAt: h0}))
		return l
	}
	t.Run("PutGet", func(t *testing.T) {
		l := setup(t)
		ctx := t.Context()
		want := &meterd.AccessKey{ID: "test", Secret: "s1", AccountID: seller, CreatedAt: h0}
		must(t, "PutAccessKey", l.PutAccessKey(ctx, want))
		// Put replaces the key.
		want = &meterd.AccessKey{ID: "test", Secret: "s2", SessionToken: "tok", AccountID: seller, CreatedAt: h1}
		must(t, "PutAccessKey", l.PutAccessKey(ctx, want))
		got, err := l.AccessKey(ctx, "test")
		must(t, "AccessKey(test)", err)
		if got.ID != want.ID || got.Secret != want.Secret || got.SessionToken != want.SessionToken || got.AccountID != want.AccountID {
			t.Errorf("AccessKey(test) = %+v, want %+v", got, want)
		}
		checkTime(t, "AccessKey(test).CreatedAt", got.CreatedAt, h1)
	})
	t.Run("List", func(t *testing.T) {
		l := setup(t)
		ctx := t.Context()
		for _, k := range []*meterd.AccessKey{
			{ID: "k3", Secret: "x", AccountID: seller, CreatedAt: h0},
			{ID: "k1", Secret: "x", AccountID: seller, CreatedAt: h0},
			{ID: "k2", Secret: "x", AccountID: buyer1, CreatedAt: h0},
		} {
			must(t, "PutAccessKey", l.PutAccessKey(ctx, k))
		}
		tests := []struct {
			account string
			want    []string
		}{
			{"", []string{"k1", "k2", "k3"}},
			{seller, []string{"k1", "k3"}},
			{buyer1, []string{"k2"}},
			{"999999999999", nil},
		}
		for _, tt := range tests {
			got, err := l.AccessKeys(ctx, tt.account)
			must(t, "AccessKeys", err)
			var gotIDs []string
			for _, k := range got {
				gotIDs = append(gotIDs, k.ID)
			}
			if !slices.Equal(gotIDs, tt.want) {
				t.Errorf("AccessKeys(%q) = %v, want %v", tt.account, gotIDs, tt.want)
			}
		}
	})
	t.Run("EInvalidUnknownAccount", func(t *testing.T) {
		l := setup(t)
		err := l.PutAccessKey(t.Context(), &meterd.AccessKey{ID: "k", Secret: "x", AccountID: "999999999999", CreatedAt: h0})
		checkCode(t, "PutAccessKey(unknown account)", err, meterd.EInvalid)
		_, err = l.AccessKey(t.Context(), "k")
		checkCode(t, "AccessKey after a failed put", err, meterd.ENotFound)
	})
	t.Run("ENotFound", func(t *testing.T) {
		l := setup(t)
		_, err := l.AccessKey(t.Context(), "nope")
		checkCode(t, "AccessKey(nope)", err, meterd.ENotFound)
		checkCode(t, "DeleteAccessKey(nope)", l.DeleteAccessKey(t.Context(), "nope"), meterd.ENotFound)
	})
	t.Run("Delete", func(t *testing.T) {
		l := setup(t)
		ctx := t.Context()
		must(t, "PutAccessKey", l.PutAccessKey(ctx, &meterd.AccessKey{ID: "k", Secret: "x", AccountID: seller, CreatedAt: h0}))
		must(t, "DeleteAccessKey(k)", l.DeleteAccessKey(ctx, "k"))
		_, err := l.AccessKey(ctx, "k")
		checkCode(t, "AccessKey after delete", err, meterd.ENotFound)
		checkCode(t, "second DeleteAccessKey", l.DeleteAccessKey(ctx, "k"), meterd.ENotFound)
	})
}

func testProducts(t *testing.T, open Open) {
	setup := func(t *testing.T) meterd.Ledger {
		l := open(t)
		must(t, "PutAccount", l.PutAccount(t.Context(), &meterd.Account{ID: seller, CreatedAt: h0}))
		return l
	}
	t.Run("RoundTrip", func(t *testing.T) {
		l := setup(t)
		ctx := t.Context()
		want := &meterd.Product{
			Code: product1, SellerAccountID: seller, Type: meterd.ProductContainer,
			Regions:        []string{"us-east-1", "eu-west-1"},
			FulfillmentURL: "http://127.0.0.1:3000/register",
			Dimensions: []meterd.Dimension{
				{Name: "storage_gb", Unit: "GB-Hours"},
				{Name: "requests", Unit: "Requests", Price: "0.0001"},
			},
			CreatedAt: h0,
		}
		must(t, "PutProduct", l.PutProduct(ctx, want))
		got, err := l.Product(ctx, product1)
		must(t, "Product", err)
		checkProduct(t, got, want)
	})
	t.Run("UpsertReplacesDimensions", func(t *testing.T) {
		l := setup(t)
		ctx := t.Context()
		p := &meterd.Product{
			Code: product1, SellerAccountID: seller, Type: meterd.ProductSaaS,
			Regions:    []string{"us-east-1"},
			Dimensions: []meterd.Dimension{{Name: "a"}, {Name: "b"}},
			CreatedAt:  h0,
		}
		must(t, "PutProduct", l.PutProduct(ctx, p))
		// A customer must survive the update of its product.
		must(t, "PutCustomer", l.PutCustomer(ctx, &meterd.Customer{ProductCode: product1, CustomerIdentifier: customer1,
			CustomerAWSAccountID: buyer1, Status: meterd.StatusSubscribed, Platform: meterd.PlatformOther, StatusChangedAt: h0, CreatedAt: h0}))
		want := &meterd.Product{
			Code: product1, SellerAccountID: seller, Type: meterd.ProductAMI,
			Dimensions: []meterd.Dimension{{Name: "c", Unit: "Units", Price: "1.5"}},
			CreatedAt:  h0,
		}
		upd := *want
		upd.CreatedAt = h1 // an update keeps the creation time
		must(t, "PutProduct(update)", l.PutProduct(ctx, &upd))
		got, err := l.Product(ctx, product1)
		must(t, "Product", err)
		checkProduct(t, got, want)
		if _, err := l.Customer(ctx, product1, customer1); err != nil {
			t.Errorf("Customer after PutProduct(update) = %v, want the customer kept", err)
		}
	})
	t.Run("List", func(t *testing.T) {
		l := setup(t)
		ctx := t.Context()
		for _, code := range []string{"zeta", "alpha", "mid"} {
			must(t, "PutProduct", l.PutProduct(ctx, &meterd.Product{Code: code, SellerAccountID: seller, Type: meterd.ProductSaaS,
				Dimensions: []meterd.Dimension{{Name: "d-" + code}}, CreatedAt: h0}))
		}
		got, err := l.Products(ctx)
		must(t, "Products", err)
		var codes []string
		for _, p := range got {
			codes = append(codes, p.Code)
			if len(p.Dimensions) != 1 || p.Dimensions[0].Name != "d-"+p.Code {
				t.Errorf("Products() %s dimensions = %+v, want [d-%s]", p.Code, p.Dimensions, p.Code)
			}
		}
		if want := []string{"alpha", "mid", "zeta"}; !slices.Equal(codes, want) {
			t.Errorf("Products() codes = %v, want %v", codes, want)
		}
	})
	t.Run("EInvalidUnknownSeller", func(t *testing.T) {
		l := setup(t)
		err := l.PutProduct(t.Context(), &meterd.Product{Code: "x", SellerAccountID: "999999999999", Type: meterd.ProductSaaS,
			Dimensions: []meterd.Dimension{{Name: "d"}}, CreatedAt: h0})
		checkCode(t, "PutProduct(unknown seller)", err, meterd.EInvalid)
		_, err = l.Product(t.Context(), "x")
		checkCode(t, "Product after a failed put", err, meterd.ENotFound)
	})
	t.Run("ENotFound", func(t *testing.T) {
		l := setup(t)
		_, err := l.Product(t.Context(), "nope")
		checkCode(t, "Product(nope)", err, meterd.ENotFound)
	})
}

// checkProduct compares products; nil and empty region lists are equal.
func checkProduct(t *testing.T, got, want *meterd.Product) {
	t.Helper()
	if got.Code != want.Code || got.SellerAccountID != want.SellerAccountID || got.Type != want.Type || got.FulfillmentURL != want.FulfillmentURL {
		t.Errorf("Product = %+v, want %+v", got, want)
	}
	if !slices.Equal(got.Regions, want.Regions) {
		t.Errorf("Product(%s).Regions = %q, want %q", want.Code, got.Regions, want.Regions)
	}
	if !slices.Equal(got.Dimensions, want.Dimensions) {
		t.Errorf("Product(%s).Dimensions = %+v, want %+v (in the order given)", want.Code, got.Dimensions, want.Dimensions)
	}
	checkTime(t, "Product.CreatedAt", got.CreatedAt, want.CreatedAt)
}

func testCustomers(t *testing.T, open Open) {
	setup := func(t *testing.T) meterd.Ledger {
		l := open(t)
		seedCatalog(t, l)
		return l
	}
	t.Run("RoundTrip", func(t *testing.T) {
		l := setup(t)
		ctx := t.Context()
		want := &meterd.Customer{ProductCode: product2, CustomerIdentifier: "cust-x", CustomerAWSAccountID: buyer2,
			LicenseArn: "arn:aws:license-manager::111122223333:license:l-0123456789abcdef",
			Status:     meterd.StatusUnsubscribePending, Platform: meterd.PlatformEKS,
			StatusChangedAt: h1.Add(17*time.Minute + 250*time.Millisecond), CreatedAt: h0.Add(123 * time.Millisecond)}
		must(t, "PutCustomer", l.PutCustomer(ctx, want))
		got, err := l.Customer(ctx, product2, "cust-x")
		must(t, "Customer", err)
		checkCustomer(t, got, want)
		got, err = l.CustomerByAccount(ctx, product2, buyer2)
		must(t, "CustomerByAccount", err)
		checkCustomer(t, got, want)
	})
	t.Run("Upsert", func(t *testing.T) {
		l := setup(t)
		ctx := t.Context()
		want, err := l.Customer(ctx, product1, customer1)
		must(t, "Customer", err)
		want.Status, want.StatusChangedAt, want.Platform = meterd.StatusSuspended, h2, meterd.PlatformFargate
		upd := *want
		upd.CreatedAt = h2 // an update keeps the creation time
		must(t, "PutCustomer(update)", l.PutCustomer(ctx, &upd))
		got, err := l.Customer(ctx, product1, customer1)
		must(t, "Customer", err)
		checkCustomer(t, got, want)
		// Its own AWS account is no conflict; neither is the same account in
		// another product.
		got.CustomerAWSAccountID = buyer1
		must(t, "PutCustomer(same account)", l.PutCustomer(ctx, got))
	})
	t.Run("List", func(t *testing.T) {
		l := setup(t)
		got, err := l.Customers(t.Context(), product1)
		must(t, "Customers", err)
		var idents []string
		for _, c := range got {
			idents = append(idents, c.CustomerIdentifier)
		}
		if want := []string{customer1, customer2}; !slices.Equal(idents, want) {
			t.Errorf("Customers(%s) = %v, want %v", product1, idents, want)
		}
		got, err = l.Customers(t.Context(), "nope")
		must(t, "Customers(nope)", err)
		if len(got) != 0 {
			t.Errorf("Customers(nope) = %d customers, want 0", len(got))
		}
	})
	t.Run("ByKeys", func(t *testing.T) { testCustomersByKeys(t, setup(t)) })
	t.Run("EConflictSameAccount", func(t *testing.T) {
		l := setup(t)
		err := l.PutCustomer(t.Context(), &meterd.Customer{ProductCode: product1, CustomerIdentifier: "cust-3",
			CustomerAWSAccountID: buyer1, Status: meterd.StatusSubscribed, Platform: meterd.PlatformOther, StatusChangedAt: h0, CreatedAt: h0})
		checkCode(t, "PutCustomer(account of another customer)", err, meterd.EConflict)
		_, err = l.Customer(t.Context(), product1, "cust-3")
		checkCode(t, "Customer after a conflict", err, meterd.ENotFound)
		c, err := l.CustomerByAccount(t.Context(), product1, buyer1)
		must(t, "CustomerByAccount", err)
		if c.CustomerIdentifier != customer1 {
			t.Errorf("CustomerByAccount(%s) = %s, want %s kept", buyer1, c.CustomerIdentifier, customer1)
		}
	})
	t.Run("ENotFoundUnknownProduct", func(t *testing.T) {
		l := setup(t)
		err := l.PutCustomer(t.Context(), &meterd.Customer{ProductCode: "nope", CustomerIdentifier: "c",
			CustomerAWSAccountID: buyer1, Status: meterd.StatusSubscribed, Platform: meterd.PlatformOther, StatusChangedAt: h0, CreatedAt: h0})
		checkCode(t, "PutCustomer(unknown product)", err, meterd.ENotFound)
	})
	t.Run("ENotFound", func(t *testing.T) {
		l := setup(t)
		_, err := l.Customer(t.Context(), product1, "nope")
		checkCode(t, "Customer(nope)", err, meterd.ENotFound)
		_, err = l.Customer(t.Context(), "nope", customer1)
		checkCode(t, "Customer(unknown product)", err, meterd.ENotFound)
		_, err = l.CustomerByAccount(t.Context(), product1, "000000000000")
		checkCode(t, "CustomerByAccount(unknown account)", err, meterd.ENotFound)
		_, err = l.CustomerByAccount(t.Context(), product2, buyer2)
		checkCode(t, "CustomerByAccount(account of another product)", err, meterd.ENotFound)
	})
}

// testCustomersByKeys checks CustomersByKeys on the seeded catalog plus a
// customer of product1 without an AWS account, which an empty account id
// must not find.
func testCustomersByKeys(t *testing.T, l meterd.Ledger) {
	must(t, "PutCustomer", l.PutCustomer(t.Context(), &meterd.Customer{ProductCode: product1, CustomerIdentifier: "cust-3",
		Status: meterd.StatusSubscribed, Platform: meterd.PlatformOther, StatusChangedAt: h0, CreatedAt: h0}))
	tests := []struct {
		name        string
		product     string
		identifiers []string
		accounts    []string
		want        []string // identifiers, in order
	}{
		{"Identifiers", product1, []string{customer2, customer1}, nil, []string{customer1, customer2}},
		{"Accounts", product1, nil, []string{buyer2}, []string{customer2}},
		{"BothListsEachOnce", product1, []string{customer1, customer1}, []string{buyer1, buyer2, buyer1}, []string{customer1, customer2}},
		{"EmptyLists", product1, []string{}, []string{}, nil},
		{"NilLists", product1, nil, nil, nil},
		{"UnknownKeys", product1, []string{"nope"}, []string{"000000000000"}, nil},
		{"EmptyAccountMatchesNothing", product1, nil, []string{""}, nil},
		{"WithoutAccountByIdentifier", product1, []string{"cust-3"}, []string{""}, []string{"cust-3"}},
		{"OtherProductNotReturned", product2, []string{customer2}, []string{buyer2}, nil},
		{"OtherProductOwnCustomer", product2, []string{customer1}, []string{buyer1}, []string{customer1}},
		{"UnknownProduct", "nope", []string{customer1}, []string{buyer1}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := l.CustomersByKeys(t.Context(), tt.product, tt.identifiers, tt.accounts)
			must(t, "CustomersByKeys", err)
			var idents []string
			for _, c := range got {
				idents = append(idents, c.CustomerIdentifier)
				if c.ProductCode != tt.product {
					t.Errorf("CustomersByKeys(%s, %v, %v) returned %s of product %s", tt.product, tt.identifiers, tt.accounts,
						c.CustomerIdentifier, c.ProductCode)
				}
			}
			if !slices.Equal(idents, tt.want) {
				t.Errorf("CustomersByKeys(%s, %v, %v) = %v, want %v", tt.product, tt.identifiers, tt.accounts, idents, tt.want)
			}
		})
	}
	t.Run("FullRecord", func(t *testing.T) {
		want, err := l.Customer(t.Context(), product1, customer2)
		must(t, "Customer", err)
		got, err := l.CustomersByKeys(t.Context(), product1, nil, []string{buyer2})
		must(t, "CustomersByKeys", err)
		if len(got) != 1 {
			t.Fatalf("CustomersByKeys(%s, nil, [%s]) = %d customers, want 1", product1, buyer2, len(got))
		}
		checkCustomer(t, got[0], want)
	})
}

func checkCustomer(t *testing.T, got, want *meterd.Customer) {
	t.Helper()
	if got.ProductCode != want.ProductCode || got.CustomerIdentifier != want.CustomerIdentifier ||
		got.CustomerAWSAccountID != want.CustomerAWSAccountID || got.LicenseArn != want.LicenseArn ||
		got.Status != want.Status || got.Platform != want.Platform {
		t.Errorf("Customer = %+v, want %+v", got, want)
	}
	checkTime(t, "Customer.StatusChangedAt", got.StatusChangedAt, want.StatusChangedAt)
	checkTime(t, "Customer.CreatedAt", got.CreatedAt, want.CreatedAt)
}

func testRegistrationTokens(t *testing.T, open Open) {
	l := open(t)
	ctx := t.Context()
	seedCatalog(t, l)
	want := &meterd.RegistrationToken{Token: "tok-abc", ProductCode: product1, CustomerIdentifier: customer1,
		LicenseArn: "arn:aws:license-manager::111122223333:license:l-tok", ExpiresAt: h0.Add(4*time.Hour + 5*time.Millisecond), CreatedAt: h0}
	must(t, "PutRegistrationToken", l.PutRegistrationToken(ctx, want))
	got, err := l.RegistrationToken(ctx, "tok-abc")
	must(t, "RegistrationToken", err)
	if got.Token != want.Token || got.ProductCode != want.ProductCode || got.CustomerIdentifier != want.CustomerIdentifier || got.LicenseArn != want.LicenseArn {
		t.Errorf("RegistrationToken = %+v, want %+v", got, want)
	}
	checkTime(t, "RegistrationToken.ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	checkTime(t, "RegistrationToken.CreatedAt", got.CreatedAt, want.CreatedAt)
	_, err = l.RegistrationToken(ctx, "nope")
	checkCode(t, "RegistrationToken(nope)", err, meterd.ENotFound)
}

func testPublicKeys(t *testing.T, open Open) {
	l := open(t)
	ctx := t.Context()
	seedCatalog(t, l)
	k1 := &meterd.PublicKey{ProductCode: product1, Version: 1, PrivateKey: []byte{1, 2, 3, 0, 255},
		PublicKeyPEM: "-----BEGIN PUBLIC KEY-----\nAAA\n-----END PUBLIC KEY-----\n", CreatedAt: h0}
	k2 := &meterd.PublicKey{ProductCode: product1, Version: 2, PrivateKey: []byte{9}, PublicKeyPEM: "pem2", CreatedAt: h1}
	other := &meterd.PublicKey{ProductCode: product2, Version: 1, PrivateKey: []byte{7}, PublicKeyPEM: "pem-other", CreatedAt: h0}
	for _, k := range []*meterd.PublicKey{k2, k1, other} {
		must(t, "PutPublicKey", l.PutPublicKey(ctx, k))
	}
	// Rotation updates version 1 in place.
	rotated := h1.Add(500 * time.Millisecond)
	k1.RotatedAt = &rotated
	must(t, "PutPublicKey(rotate)", l.PutPublicKey(ctx, k1))

	got, err := l.PublicKeys(ctx, product1)
	must(t, "PublicKeys", err)
	if len(got) != 2 {
		t.Fatalf("PublicKeys(%s) = %d keys, want 2", product1, len(got))
	}
	for i, want := range []*meterd.PublicKey{k1, k2} {
		g := got[i]
		if g.ProductCode != want.ProductCode || g.Version != want.Version || !slices.Equal(g.PrivateKey, want.PrivateKey) || g.PublicKeyPEM != want.PublicKeyPEM {
			t.Errorf("PublicKeys()[%d] = %+v, want %+v", i, g, want)
		}
		checkTime(t, "PublicKey.CreatedAt", g.CreatedAt, want.CreatedAt)
	}
	if got[0].RotatedAt == nil {
		t.Errorf("PublicKeys()[0].RotatedAt = nil, want %v", rotated)
	} else {
		checkTime(t, "PublicKeys()[0].RotatedAt", *got[0].RotatedAt, rotated)
	}
	if got[1].RotatedAt != nil {
		t.Errorf("PublicKeys()[1].RotatedAt = %v, want nil", *got[1].RotatedAt)
	}
	none, err := l.PublicKeys(ctx, "nope")
	must(t, "PublicKeys(nope)", err)
	if len(none) != 0 {
		t.Errorf("PublicKeys(nope) = %d keys, want 0", len(none))
	}
}

func testSettings(t *testing.T, open Open) {
	l := open(t)
	ctx := t.Context()
	_, err := l.Setting(ctx, "admin_token_hash")
	checkCode(t, "Setting(unset)", err, meterd.ENotFound)
	must(t, "PutSetting", l.PutSetting(ctx, "admin_token_hash", "v1"))
	must(t, "PutSetting(replace)", l.PutSetting(ctx, "admin_token_hash", "v2"))
	must(t, "PutSetting(other)", l.PutSetting(ctx, "other", ""))
	got, err := l.Setting(ctx, "admin_token_hash")
	must(t, "Setting", err)
	if got != "v2" {
		t.Errorf("Setting(admin_token_hash) = %q, want %q", got, "v2")
	}
	got, err = l.Setting(ctx, "other")
	must(t, "Setting(other)", err)
	if got != "" {
		t.Errorf("Setting(other) = %q, want empty", got)
	}
	first, err := l.InitSetting(ctx, "init", "a")
	must(t, "InitSetting(new)", err)
	second, err := l.InitSetting(ctx, "init", "b")
	must(t, "InitSetting(existing)", err)
	if first != "a" || second != "a" {
		t.Errorf("InitSetting = %q then %q, want the first value both times", first, second)
	}
	if got, _ := l.Setting(ctx, "init"); got != "a" {
		t.Errorf("Setting(init) after InitSetting = %q, want %q", got, "a")
	}
}
