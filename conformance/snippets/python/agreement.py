import datetime

import boto3


def client(service, key):
    # The demo's keys: the seller's test/test, the buyer's buyer/buyer. The
    # endpoints come from AWS_ENDPOINT_URL_MARKETPLACE_AGREEMENT, _CATALOG
    # and _METERING.
    return boto3.client(service, region_name="us-east-1", aws_access_key_id=key, aws_secret_access_key=key)


buyer, seller = client("marketplace-agreement", "buyer"), client("marketplace-agreement", "test")

# The buyer accepts every term of the demo's annual contract, choosing 12
# months of 3 seats without auto-renewal. The terms' ids are the offer's
# (the Catalog API reads them; `meterd offers show offer-democontract1`
# prints them and the agreement proposal id).
offer = client("marketplace-catalog", "test").describe_entity(Catalog="AWSMarketplace", EntityId="offer-democontract1")
config = {
    "ConfigurableUpfrontPricingTerm": {"configurableUpfrontPricingTermConfiguration": {
        "selectorValue": "P12M", "dimensions": [{"dimensionKey": "seats", "dimensionValue": 3}]}},
    "RenewalTerm": {"renewalTermConfiguration": {"enableAutoRenew": False}},
}
terms = [dict(id=t["Id"], **({"configuration": config[t["Type"]]} if t["Type"] in config else {}))
         for t in offer["DetailsDocument"]["Terms"]]
quote = buyer.create_agreement_request(intent="NEW", agreementProposalIdentifier="ap-D86DB2F3CF954BD45C339BC49",
                                       requestedTerms=terms)
agreement_id = buyer.accept_agreement_request(agreementRequestId=quote["agreementRequestId"])["agreementId"]

# The seller finds the agreement among its own, and reads what was bought.
found = seller.search_agreements(catalog="AWSMarketplace", filters=[
    {"name": "PartyType", "values": ["Proposer"]}, {"name": "AgreementType", "values": ["PurchaseAgreement"]},
    {"name": "AcceptorAccountId", "values": ["444455556666"]}, {"name": "Status", "values": ["ACTIVE"]}])
assert agreement_id in [a["agreementId"] for a in found["agreementViewSummaries"]]
for term in seller.get_agreement_terms(agreementId=agreement_id)["acceptedTerms"]:
    if "configurableUpfrontPricingTerm" in term:
        print(term["configurableUpfrontPricingTerm"]["configuration"])

# The buyer's registration token (AWS POSTs it to the seller's fulfillment
# URL) resolves to the customer and its license, which the seller meters.
token = buyer.get_agreement_entitlements(agreementId=agreement_id)["agreementEntitlements"][0]["registrationToken"]
metering = client("meteringmarketplace", "test")
customer = metering.resolve_customer(RegistrationToken=token)
out = metering.batch_meter_usage(ProductCode=customer["ProductCode"], UsageRecords=[{
    "Timestamp": datetime.datetime.now(datetime.timezone.utc),
    "CustomerAWSAccountId": customer["CustomerAWSAccountId"], "LicenseArn": customer["LicenseArn"],
    "Dimension": "storage_gb", "Quantity": 5}])
buyer.cancel_agreement(agreementId=agreement_id)
print(agreement_id, out["Results"][0]["Status"], seller.describe_agreement(agreementId=agreement_id)["status"])
