"""The Agreement Service's boto3 scenarios (awsJson1_0), run by
TestAgreementBoto3 against the binary with the demo catalog. The endpoint
comes from AWS_ENDPOINT_URL_MARKETPLACE_AGREEMENT; the keys from argv.
Each failed check is printed; the exit status is the number of failures."""

import json
import os
import sys

import boto3
import botocore.exceptions

contract, usage, seller_key, buyer_key = sys.argv[1:5]
failures = []


def client(key, region="us-east-1"):
    return boto3.client("marketplace-agreement", region_name=region,
                        aws_access_key_id=key, aws_secret_access_key=key)


def check(name, ok, detail):
    if not ok:
        failures.append(f"{name}: {detail}")


def error_of(fn, **kw):
    try:
        fn(**kw)
    except botocore.exceptions.ClientError as e:
        return e.response
    return None


seller, buyer = client(seller_key), client(buyer_key)

out = seller.describe_agreement(agreementId=contract)
check("DescribeAgreement", out["agreementId"] == contract and out["status"] == "ACTIVE"
      and out["agreementType"] == "PurchaseAgreement"
      and out["estimatedCharges"] == {"currencyCode": "USD", "agreementValue": "2200.00"}
      and out["proposalSummary"]["resources"][0]["type"] == "SaaSProduct"
      and out["endTime"] > out["startTime"], out)

e = error_of(buyer.describe_agreement, agreementId=contract)
check("DescribeAgreement not a party", e and e["Error"]["Code"] == "AccessDeniedException", e)

e = error_of(seller.describe_agreement, agreementId="agmt-0000000000000000000000000")
check("DescribeAgreement unknown", e and e["Error"]["Code"] == "ResourceNotFoundException", e)

e = error_of(seller.describe_agreement, agreementId="agmt 1")
check("DescribeAgreement bad id", e and e["Error"]["Code"] == "ValidationException"
      and e.get("reason") == "INVALID_AGREEMENT_ID" and e.get("fields", [{}])[0].get("name") == "agreementId", e)

e = error_of(client(seller_key, "eu-west-1").describe_agreement, agreementId=contract)
check("DescribeAgreement eu-west-1", e and e["Error"]["Code"] == "ValidationException", e)

terms = []
for page in seller.get_paginator("get_agreement_terms").paginate(agreementId=contract, PaginationConfig={"PageSize": 2}):
    terms += page["acceptedTerms"]
upfront = [t["configurableUpfrontPricingTerm"] for t in terms if "configurableUpfrontPricingTerm" in t]
check("GetAgreementTerms", len(terms) > 2 and len(upfront) == 1
      and upfront[0]["configuration"]["selectorValue"] == "P12M"
      and {d["dimensionKey"]: d["dimensionValue"] for d in upfront[0]["configuration"]["dimensions"]} == {"seats": 10, "premium": 1}, terms)
e = error_of(seller.get_agreement_terms, agreementId=contract, nextToken="forged")
check("GetAgreementTerms forged nextToken", e and e.get("reason") == "INVALID_NEXT_TOKEN", e)

out = buyer.get_agreement_entitlements(agreementId=usage)
ents = out["agreementEntitlements"]
check("GetAgreementEntitlements", len(ents) == 1 and ents[0]["status"] == "PROVISIONED"
      and ents[0]["statusReasonCode"] == "AGREEMENT_ACTIVE" and ents[0].get("registrationToken"), out)
if ents and ents[0].get("registrationToken"):
    metering = boto3.client("meteringmarketplace", region_name="us-east-1",
                            aws_access_key_id=seller_key, aws_secret_access_key=seller_key)
    res = metering.resolve_customer(RegistrationToken=ents[0]["registrationToken"])
    check("ResolveCustomer of the token", res["CustomerIdentifier"] == "demo-customer-1", res)

e = error_of(seller.list_agreement_invoice_line_items, agreementId=contract, groupBy="INVOICE_ID")
check("ListAgreementInvoiceLineItems", e and e["Error"]["Code"] == "ValidationException"
      and e["Error"]["Message"] == "ListAgreementInvoiceLineItems is not supported by meterd", e)

def filters(party, **more):
    fs = [{"name": "PartyType", "values": [party]}, {"name": "AgreementType", "values": ["PurchaseAgreement"]}]
    return fs + [{"name": k, "values": [v]} for k, v in more.items()]


pages = seller.get_paginator("search_agreements").paginate(
    catalog="AWSMarketplace", filters=filters("Proposer"), sort={"sortBy": "EndTime", "sortOrder": "ASCENDING"},
    PaginationConfig={"PageSize": 1})
found = [v["agreementId"] for page in pages for v in page["agreementViewSummaries"]]
check("SearchAgreements as the proposer, one a page", len(found) == 3 and found[0] == contract and usage in found, found)
out = seller.search_agreements(catalog="AWSMarketplace", filters=filters("Proposer", AcceptorAccountId="777788889999"))
# Demo buyer 2 holds the contract and a pay-as-you-go agreement, which has
# no end: it sorts first in the default order, end time descending.
check("SearchAgreements by acceptor", [v["agreementId"] for v in out["agreementViewSummaries"]][1:] == [contract]
      and {v["acceptor"]["accountId"] for v in out["agreementViewSummaries"]} == {"777788889999"}
      and "endTime" not in out["agreementViewSummaries"][0] and "nextToken" not in out, out)
out = buyer.search_agreements(catalog="AWSMarketplace", filters=filters("Acceptor"))
check("SearchAgreements as the acceptor", [v["agreementId"] for v in out["agreementViewSummaries"]] == [usage], out)
e = error_of(buyer.search_agreements, filters=filters("Acceptor", ResourceType="SaaSProduct", Status="ACTIVE"))
check("SearchAgreements unsupported combination", e and e["Error"]["Code"] == "ValidationException"
      and e.get("reason") == "UNSUPPORTED_FILTERS" and "ResourceType+Status" in e["Error"]["Message"], e)
e = error_of(seller.search_agreements, filters=filters("Proposer", Colour="red"))
check("SearchAgreements unknown filter", e and e.get("reason") == "INVALID_FILTER_NAME" and "Colour" in e["Error"]["Message"], e)
e = error_of(seller.search_agreements, filters=filters("Proposer"), nextToken="forged")
check("SearchAgreements forged nextToken", e and e.get("reason") == "INVALID_NEXT_TOKEN", e)

e = error_of(seller.cancel_agreement, agreementId=usage)
check("CancelAgreement by the proposer", e and e["Error"]["Code"] == "AccessDeniedException", e)
buyer.cancel_agreement(agreementId=usage)
check("CancelAgreement", buyer.describe_agreement(agreementId=usage)["status"] == "CANCELLED", "not CANCELLED")
e = error_of(buyer.cancel_agreement, agreementId=usage)
check("CancelAgreement twice", e and e["Error"]["Code"] == "ConflictException", e)

for f in failures:
    print(f, file=sys.stderr)
sys.exit(len(failures))
