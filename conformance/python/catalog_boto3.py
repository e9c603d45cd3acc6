"""The Catalog API with boto3 (rest-json, SigV4 aws-marketplace), the
endpoint taken from AWS_ENDPOINT_URL_MARKETPLACE_CATALOG, over the demo
catalog: the product code of an event's product id, the offers and their
terms, the paginator, and the errors with their statuses.
"""
import json

import boto3
import botocore


def client(key):
    return boto3.client("marketplace-catalog", region_name="us-east-1", aws_access_key_id=key, aws_secret_access_key=key)


def expect(call, code, status, part):
    try:
        call()
    except botocore.exceptions.ClientError as e:
        err, meta = e.response["Error"], e.response["ResponseMetadata"]
        assert err["Code"] == code and meta["HTTPStatusCode"] == status and part in err["Message"], e.response
        return
    raise SystemExit("call succeeded, want %s" % code)


cat = client("test")
e = cat.describe_entity(Catalog="AWSMarketplace", EntityId="prod-demoproduct01")
assert e["EntityType"] == "SaaSProduct@1.0", e
assert e["DetailsDocument"]["Description"]["ProductCode"] == "demo-product", e
assert json.loads(e["Details"]) == e["DetailsDocument"], e
dims = {d["Key"]: d["Types"] for d in e["DetailsDocument"]["Dimensions"]}
assert dims == {"requests": ["ExternallyMetered"], "storage_gb": ["ExternallyMetered"], "seats": ["Entitled"], "premium": ["Entitled"]}, dims

ids = []
for page in cat.get_paginator("list_entities").paginate(
        Catalog="AWSMarketplace", EntityType="Offer", Sort={"SortBy": "EntityId", "SortOrder": "ASCENDING"},
        PaginationConfig={"PageSize": 2}):
    ids += [s["EntityId"] for s in page["EntitySummaryList"]]
assert ids == ["offer-democontract1", "offer-demotrial0001", "offer-demousage0001"], ids

products = cat.list_entities(Catalog="AWSMarketplace", EntityType="SaaSProduct",
                             EntityTypeFilters={"SaaSProductFilters": {"ProductTitle": {"WildCardValue": "demo"}}})
assert [(s["EntityId"], s["SaaSProductSummary"]["ProductTitle"]) for s in products["EntitySummaryList"]] == [("prod-demoproduct01", "demo-product")], products

contract = cat.describe_entity(Catalog="AWSMarketplace", EntityId="offer-democontract1")["DetailsDocument"]
upfront = [t for t in contract["Terms"] if t["Type"] == "ConfigurableUpfrontPricingTerm"][0]
cards = {rc["Selector"]["Value"]: {i["DimensionKey"]: i["Price"] for i in rc["RateCard"]} for rc in upfront["RateCards"]}
assert cards["P12M"] == {"seats": "120", "premium": "1000"}, cards
assert contract["ProductId"] == "prod-demoproduct01", contract

expect(lambda: client("buyer").describe_entity(Catalog="AWSMarketplace", EntityId="prod-demoproduct01"),
       "ResourceNotFoundException", 404, "does not exist")
assert client("buyer").list_entities(Catalog="AWSMarketplace", EntityType="Offer")["EntitySummaryList"] == []
expect(lambda: cat.list_entities(Catalog="AWSMarketplace", EntityType="Offer", FilterList=[{"Name": "Price", "ValueList": ["1"]}]),
       "ValidationException", 422, "cannot be filtered on")
expect(lambda: cat.list_change_sets(Catalog="AWSMarketplace"), "ValidationException", 422, "ListChangeSets is not supported by meterd")
expect(lambda: cat.describe_change_set(Catalog="AWSMarketplace", ChangeSetId="cs-1"), "ValidationException", 422, "not supported by meterd")
print("catalog_boto3.py: ok")
