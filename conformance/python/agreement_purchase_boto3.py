"""The Agreement Service's end-to-end purchase with boto3 (awsJson1_0), run
by TestAgreementPurchaseBoto3 against the binary with the demo catalog: the
buyer creates and accepts an agreement request for the contract offer, the
seller finds it with SearchAgreements and reads its terms, the buyer's
registration token resolves to the customer and its license, the seller
meters with that license, and the buyer cancels. argv: the offer as JSON
(its agreement_proposal_id and terms), the seller's and the buyer's keys,
and the protocol: json (boto3 as shipped, awsJson1_0) or cbor (botocore's
own Smithy RPC v2 CBOR serializer, from a copy of the model that lists only
smithy-rpc-v2-cbor: what the Go SDK sends).
Each failed check is printed; the exit status is the number of failures."""

import datetime
import json
import os
import sys

import boto3
import botocore.exceptions

offer, seller_key, buyer_key, protocol = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

session = boto3.session.Session()
if protocol == "cbor":
    session._session.get_component("data_loader").search_paths.insert(0, common.cbor_data_path("marketplace-agreement", "2020-03-01"))
failures = []


def check(name, ok, detail):
    if not ok:
        failures.append(f"{name}: {detail}")


def client(service, key):
    return session.client(service, region_name="us-east-1", aws_access_key_id=key, aws_secret_access_key=key)


seller, buyer = client("marketplace-agreement", seller_key), client("marketplace-agreement", buyer_key)
model = seller.meta.service_model
spoken = getattr(model, "resolved_protocol", model.protocol)
check("protocol", spoken == {"json": "json", "cbor": "smithy-rpc-v2-cbor"}[protocol], spoken)
terms = []
for t in offer["terms"]:
    term = {"id": t["id"]}
    if t["type"] == "ConfigurableUpfrontPricingTerm":
        term["configuration"] = {"configurableUpfrontPricingTermConfiguration": {
            "selectorValue": "P1M", "dimensions": [{"dimensionKey": "seats", "dimensionValue": 3}]}}
    elif t["type"] == "RenewalTerm":
        term["configuration"] = {"renewalTermConfiguration": {"enableAutoRenew": False}}
    terms.append(term)

quote = buyer.create_agreement_request(intent="NEW", agreementProposalIdentifier=offer["agreement_proposal_id"],
                                       requestedTerms=terms, clientToken="boto3-purchase-" + protocol)
charges = quote["chargeSummary"]
check("CreateAgreementRequest", quote["agreementRequestId"].startswith("ar-") and charges["newAgreementValue"] == "36.00"
      and charges["expectedCharges"][0]["timing"] == "ON_ACCEPTANCE", quote)
again = buyer.create_agreement_request(intent="NEW", agreementProposalIdentifier=offer["agreement_proposal_id"],
                                       requestedTerms=terms, clientToken="boto3-purchase-" + protocol)
check("CreateAgreementRequest retried with its clientToken", again["agreementRequestId"] == quote["agreementRequestId"], again)
try:
    buyer.create_agreement_request(intent="NEW", agreementProposalIdentifier=offer["agreement_proposal_id"],
                                   requestedTerms=terms[1:])
    check("CreateAgreementRequest without every term", False, "no error")
except botocore.exceptions.ClientError as e:
    check("CreateAgreementRequest without every term", e.response["Error"]["Code"] == "ValidationException"
          and e.response.get("reason") == "MISSING_MANDATORY_TERMS", e.response)

agreement = buyer.accept_agreement_request(agreementRequestId=quote["agreementRequestId"])["agreementId"]
check("AcceptAgreementRequest twice", buyer.accept_agreement_request(
    agreementRequestId=quote["agreementRequestId"])["agreementId"] == agreement, agreement)

found = seller.search_agreements(catalog="AWSMarketplace", filters=[
    {"name": "PartyType", "values": ["Proposer"]}, {"name": "AgreementType", "values": ["PurchaseAgreement"]},
    {"name": "AcceptorAccountId", "values": ["444455556666"]}, {"name": "Status", "values": ["ACTIVE"]}])
check("SearchAgreements", agreement in [v["agreementId"] for v in found["agreementViewSummaries"]], found)
accepted = seller.get_agreement_terms(agreementId=agreement)["acceptedTerms"]
upfront = [t["configurableUpfrontPricingTerm"] for t in accepted if "configurableUpfrontPricingTerm" in t]
check("GetAgreementTerms", upfront and upfront[0]["configuration"]["selectorValue"] == "P1M", accepted)

ent = buyer.get_agreement_entitlements(agreementId=agreement)["agreementEntitlements"][0]
metering = client("meteringmarketplace", seller_key)
customer = metering.resolve_customer(RegistrationToken=ent["registrationToken"])
check("ResolveCustomer", customer["CustomerAWSAccountId"] == "444455556666" and customer["LicenseArn"] == ent["licenseArn"], customer)
# botocore sends whole seconds: a record of the second of the purchase
# would fall before the license's start (the acceptance, to the
# millisecond), so it is stamped two seconds on.
out = metering.batch_meter_usage(ProductCode=customer["ProductCode"], UsageRecords=[{
    "Timestamp": datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=2), "CustomerAWSAccountId": customer["CustomerAWSAccountId"],
    "LicenseArn": customer["LicenseArn"], "Dimension": "requests", "Quantity": 5}])
check("BatchMeterUsage with the license", [r["Status"] for r in out["Results"]] == ["Success"], out)

buyer.cancel_agreement(agreementId=agreement)
check("CancelAgreement", seller.describe_agreement(agreementId=agreement)["status"] == "CANCELLED", agreement)

for f in failures:
    print(f, file=sys.stderr)
sys.exit(len(failures))
