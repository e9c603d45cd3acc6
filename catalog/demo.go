package catalog

import "github.com/meterd/meterd"

// Demo ids, as README promises them to users.
const (
	DemoSellerAccount = "111122223333"
	DemoProduct       = "demo-product"
	DemoCustomer1     = "demo-customer-1"
	DemoCustomer2     = "demo-customer-2"
	DemoBuyerAccount1 = "444455556666"
	DemoBuyerAccount2 = "777788889999"
)

// Demo returns the catalog created on first start when no catalog file is
// given: the seller 111122223333 (key test/test), the SaaS product
// demo-product with dimensions requests and storage_gb, and two subscribed
// customers, the first with buyer key buyer/buyer.
func Demo() *File {
	return &File{
		Accounts: []Account{
			{ID: DemoSellerAccount, Name: "Demo Seller", AccessKeys: []AccessKey{{ID: "test", Secret: "test"}}},
			{ID: DemoBuyerAccount1, Name: "Demo Buyer 1", AccessKeys: []AccessKey{{ID: "buyer", Secret: "buyer"}}},
			{ID: DemoBuyerAccount2, Name: "Demo Buyer 2"},
		},
		Products: []Product{{
			Code:   DemoProduct,
			Seller: DemoSellerAccount,
			Type:   meterd.ProductSaaS,
			Dimensions: []Dimension{
				{Name: "requests", Unit: "Requests"},
				{Name: "storage_gb", Unit: "GB-Hours"},
			},
			Customers: []Customer{
				{AWSAccountID: DemoBuyerAccount1, CustomerIdentifier: DemoCustomer1},
				{AWSAccountID: DemoBuyerAccount2, CustomerIdentifier: DemoCustomer2},
			},
		}},
	}
}
