"""Metering against licenses (spec §1.3) with boto3, run by
TestLicenseMeteringBoto3 against the binary with testdata/concurrent.yaml.
The endpoint comes from AWS_ENDPOINT_URL_MARKETPLACE_METERING, the seller's
key from the environment; argv: the two licenses of cust-two-licenses and
the license of cust-one-license. Each failed check is printed; the exit
status is the number of failures."""

import datetime
import sys

import boto3
import botocore.exceptions

usage_license, contract_license, other_license = sys.argv[1:4]
failures = []
metering = boto3.client("meteringmarketplace")
now = datetime.datetime.now(datetime.timezone.utc)


def check(name, ok, detail):
    if not ok:
        failures.append(f"{name}: {detail}")


def meter(customer, license_arn=None, timestamp=None, dimension="requests", quantity=1):
    record = {"CustomerIdentifier": customer, "Dimension": dimension, "Quantity": quantity,
              "Timestamp": timestamp or now}
    if license_arn:
        record["LicenseArn"] = license_arn
    try:
        return metering.batch_meter_usage(ProductCode="conf-concurrent", UsageRecords=[record])
    except botocore.exceptions.ClientError as e:
        return e


def invalid_license(name, res, want):
    ok = (isinstance(res, botocore.exceptions.ClientError)
          and res.response["Error"]["Code"] == "InvalidLicenseException"
          and want in res.response["Error"]["Message"])
    check(name, ok, res)


res = meter("cust-two-licenses")
invalid_license("two licenses, no LicenseArn", res, "LicenseArn is required for products with concurrent agreements")

# Different dimensions: one record is kept per customer, dimension and hour,
# whichever license it names (README, Differences from AWS: Licenses).
for name, arn, dimension in [("usage license", usage_license, "requests"), ("contract license", contract_license, "storage_gb")]:
    res = meter("cust-two-licenses", arn, dimension=dimension)
    ok = not isinstance(res, Exception) and res["Results"][0]["Status"] == "Success" \
        and res["Results"][0]["UsageRecord"]["LicenseArn"] == arn
    check(name, ok, res)

res = meter("cust-one-license")
check("one license, no LicenseArn", not isinstance(res, Exception) and res["Results"][0]["Status"] == "Success", res)

res = meter("cust-two-licenses", other_license)
invalid_license("another customer's license", res, "does not belong to the record's customer")

res = meter("cust-two-licenses", contract_license, timestamp=now - datetime.timedelta(hours=1))
invalid_license("before the license's start", res, "is not active at the record's timestamp")

for failure in failures:
    print(failure)
sys.exit(len(failures))
