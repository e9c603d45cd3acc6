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

	DemoProductID     = "prod-demoproduct01"
	DemoUsageOffer    = "offer-demousage0001"
	DemoContractOffer = "offer-democontract1"
	DemoTrialOffer    = "offer-demotrial0001"

	// DemoQueue is the demo seller's queue, subscribed to both of the demo
	// product's SNS topics and to a rule taking every Marketplace event.
	DemoQueue = "marketplace-events"
)

// Demo returns the catalog created on first start when no catalog file is
// given: the seller 111122223333 (key test/test), the SaaS product
// demo-product with usage dimensions requests and storage_gb and contract
// dimensions seats and premium (boolean), three offers (pay as you go, the
// default; an annual contract; a 30-day trial), two subscribed customers,
// the first with buyer key buyer/buyer, and for the second an active
// contract agreement of 10 seats and premium for 12 months.
func Demo() *File {
	yes := true
	return &File{
		Accounts: []Account{
			{ID: DemoSellerAccount, Name: "Demo Seller", AccessKeys: []AccessKey{{ID: "test", Secret: "test"}}},
			{ID: DemoBuyerAccount1, Name: "Demo Buyer 1", AccessKeys: []AccessKey{{ID: "buyer", Secret: "buyer"}}},
			{ID: DemoBuyerAccount2, Name: "Demo Buyer 2"},
		},
		Products: []Product{{
			Code:   DemoProduct,
			ID:     DemoProductID,
			Seller: DemoSellerAccount,
			Type:   meterd.ProductSaaS,
			Dimensions: []Dimension{
				{Name: "requests", Unit: "Requests"},
				{Name: "storage_gb", Unit: "GB-Hours"},
				{Name: "seats", Unit: "Users", Contract: true},
				{Name: "premium", Unit: "Units", Contract: true, ValueType: meterd.ValueBoolean},
			},
			Offers: []Offer{
				{ID: DemoUsageOffer, Name: "Pay as you go", Pricing: meterd.PricingUsage},
				{ID: DemoContractOffer, Name: "Annual contract", Pricing: meterd.PricingContract, AutoRenew: &yes,
					Durations: map[string]map[string]string{
						"P12M": {"seats": "120", "premium": "1000"},
						"P1M":  {"seats": "12", "premium": "100"},
					}},
				{ID: DemoTrialOffer, Name: "30-day trial", Pricing: meterd.PricingFreeTrial,
					Trial: &Trial{Duration: "P30D", Grants: map[string]int64{"requests": 100000}, Converts: &yes}},
			},
			Agreements: []Agreement{
				{Buyer: DemoBuyerAccount2, Offer: DemoContractOffer, Duration: "P12M", Quantities: map[string]int64{"seats": 10, "premium": 1}},
			},
			Customers: []Customer{
				{AWSAccountID: DemoBuyerAccount1, CustomerIdentifier: DemoCustomer1},
				{AWSAccountID: DemoBuyerAccount2, CustomerIdentifier: DemoCustomer2},
			},
		}},
		Notifications: &Notifications{
			Queues: []Queue{{Account: DemoSellerAccount, Name: DemoQueue}},
			Subscriptions: []Subscription{
				{Product: DemoProduct, Topic: meterd.TopicSubscription, Protocol: meterd.ProtocolSQS, Endpoint: DemoQueue},
				{Product: DemoProduct, Topic: meterd.TopicEntitlement, Protocol: meterd.ProtocolSQS, Endpoint: DemoQueue},
			},
			Rules: []Rule{{Account: DemoSellerAccount, Target: RuleTarget{Protocol: meterd.ProtocolSQS, Endpoint: DemoQueue}}},
		},
	}
}
