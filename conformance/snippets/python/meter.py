import datetime

import boto3
from botocore.exceptions import ClientError

# The endpoint comes from AWS_ENDPOINT_URL_MARKETPLACE_METERING; boto3 1.26 predates
# that variable: pass endpoint_url="http://127.0.0.1:4579" instead.
client = boto3.client("meteringmarketplace")
try:
    out = client.batch_meter_usage(ProductCode="demo-product", UsageRecords=[{
        "Timestamp": datetime.datetime.now(datetime.timezone.utc),
        "CustomerIdentifier": "demo-customer-1", "Dimension": "requests", "Quantity": 3}])
except ClientError as e:
    raise SystemExit("metering failed: " + e.response["Error"]["Code"])
result = out["Results"][0]
print(result["Status"], result.get("MeteringRecordId"))
