package marketplace

import (
	"encoding/json"
	"time"

	"github.com/meterd/meterd"
)

// SNS subscription actions (the Message's action).
const (
	ActionSubscribeSuccess   = "subscribe-success"
	ActionSubscribeFail      = "subscribe-fail"
	ActionUnsubscribePending = "unsubscribe-pending"
	ActionUnsubscribeSuccess = "unsubscribe-success"
	ActionEntitlementUpdated = "entitlement-updated"
)

// EventBridge detail-types.
const (
	CreatedProposer        = "Purchase Agreement Created - Proposer"
	CreatedManufacturer    = "Purchase Agreement Created - Manufacturer"
	AmendedProposer        = "Purchase Agreement Amended - Proposer"
	AmendedManufacturer    = "Purchase Agreement Amended - Manufacturer"
	EndedProposer          = "Purchase Agreement Ended - Proposer"
	EndedManufacturer      = "Purchase Agreement Ended - Manufacturer"
	LicenseUpdated         = "License Updated - Manufacturer"
	LicenseDeprovisioned   = "License Deprovisioned - Manufacturer"
	EventSource            = "aws.agreement-marketplace"
	eventRegion            = "us-east-1"
	agreementArnPrefix     = "arn:aws:aws-marketplace::aws:agreement:"
	timeLayout             = "2006-01-02T15:04:05.000Z"
	eventBridgeTimeLayout  = "2006-01-02T15:04:05Z"
	freeTrialTrue, noTrial = "true", "false"
)

// subscriptionMessage is the SNS subscription topic's message (§4.1), in
// the order AWS writes its members.
type subscriptionMessage struct {
	Action                 string `json:"action"`
	CustomerIdentifier     string `json:"customer-identifier"`
	ProductCode            string `json:"product-code"`
	OfferIdentifier        string `json:"offer-identifier,omitempty"`
	IsFreeTrialTermPresent string `json:"isFreeTrialTermPresent"`
}

// entitlementMessage is the SNS entitlement topic's message.
type entitlementMessage struct {
	Action             string `json:"action"`
	CustomerIdentifier string `json:"customer-identifier"`
	ProductCode        string `json:"product-code"`
}

// bridgeEvent is an EventBridge event of source aws.agreement-marketplace
// (§4.2).
type bridgeEvent struct {
	Version    string       `json:"version"`
	ID         string       `json:"id"`
	DetailType string       `json:"detail-type"`
	Source     string       `json:"source"`
	Account    string       `json:"account"`
	Time       string       `json:"time"`
	Region     string       `json:"region"`
	Resources  []string     `json:"resources"`
	Detail     bridgeDetail `json:"detail"`
}

type accountRef struct {
	AccountID string `json:"accountId"`
}

type idRef struct {
	ID string `json:"id"`
}

type bridgeDetail struct {
	RequestID string          `json:"requestId"`
	Catalog   string          `json:"catalog"`
	Agreement bridgeAgreement `json:"agreement"`
	Acceptor  accountRef      `json:"acceptor"`
	Proposer  accountRef      `json:"proposer"`
	Offer     idRef           `json:"offer"`
	Product   bridgeProduct   `json:"product"`
	License   *bridgeLicense  `json:"license,omitempty"`
}

type bridgeAgreement struct {
	ID                  string `json:"id"`
	Intent              string `json:"intent"`
	Status              string `json:"status"`
	AcceptanceTime      string `json:"acceptanceTime"`
	StartTime           string `json:"startTime"`
	EndTime             string `json:"endTime,omitempty"`
	PreviousAgreementID string `json:"previousAgreementId,omitempty"`
}

type bridgeProduct struct {
	ID    string `json:"id"`
	Code  string `json:"code"`
	Title string `json:"title"`
}

type bridgeLicense struct {
	Arn string `json:"arn"`
}

// AgreementArn returns the ARN of an agreement as events name it.
func AgreementArn(id string) string { return agreementArnPrefix + id }

// events builds the outbox rows of one transition, all at the same
// instant.
type events struct {
	product *meterd.Product
	at      time.Time
	out     []*meterd.Event
}

func (e *events) add(channel, typ, customer, agreement string, payload any) {
	b, err := json.Marshal(payload)
	if err != nil {
		panic(err) // the payload types above always marshal
	}
	e.out = append(e.out, &meterd.Event{
		ID: newEventID(), Channel: channel, Type: typ, ProductCode: e.product.Code, CustomerIdentifier: customer,
		AgreementID: agreement, Payload: string(b), CreatedAt: e.at,
	})
}

// subscription adds an SNS subscription message. offerID is given for
// subscribe-success and subscribe-fail only.
func (e *events) subscription(action, customer, agreement, offerID string, trial bool) {
	m := subscriptionMessage{Action: action, CustomerIdentifier: customer, ProductCode: e.product.Code, OfferIdentifier: offerID,
		IsFreeTrialTermPresent: noTrial}
	if trial {
		m.IsFreeTrialTermPresent = freeTrialTrue
	}
	e.add(meterd.ChannelSubscription, action, customer, agreement, m)
}

// entitlementUpdated adds the SNS entitlement topic's message.
func (e *events) entitlementUpdated(customer, agreement string) {
	e.add(meterd.ChannelEntitlement, ActionEntitlementUpdated, customer, agreement,
		entitlementMessage{Action: ActionEntitlementUpdated, CustomerIdentifier: customer, ProductCode: e.product.Code})
}

// bridge adds an EventBridge event of a detail-type about a; license
// events carry the agreement's license.
func (e *events) bridge(detailType string, a *meterd.Agreement) {
	ev := bridgeEvent{
		Version: "0", ID: newEventID(), DetailType: detailType, Source: EventSource, Account: a.SellerAccountID,
		Time: e.at.UTC().Format(eventBridgeTimeLayout), Region: eventRegion, Resources: []string{AgreementArn(a.ID)},
		Detail: bridgeDetail{
			RequestID: newEventID(), Catalog: "AWSMarketplace",
			Agreement: bridgeAgreement{
				ID: a.ID, Intent: a.Intent, Status: a.Status, AcceptanceTime: a.AcceptanceTime.UTC().Format(timeLayout),
				StartTime: a.StartTime.UTC().Format(timeLayout), PreviousAgreementID: a.PreviousAgreementID,
			},
			Acceptor: accountRef{a.BuyerAccountID}, Proposer: accountRef{a.SellerAccountID}, Offer: idRef{a.OfferID},
			Product: bridgeProduct{ID: e.product.ID, Code: e.product.Code, Title: e.product.Code},
		},
	}
	if a.EndTime != nil {
		ev.Detail.Agreement.EndTime = a.EndTime.UTC().Format(timeLayout)
	}
	if detailType == LicenseUpdated || detailType == LicenseDeprovisioned {
		ev.Detail.License = &bridgeLicense{Arn: a.LicenseArn}
	}
	e.add(meterd.ChannelEventBridge, detailType, a.CustomerIdentifier, a.ID, ev)
}
