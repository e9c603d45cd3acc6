"""Meter usage with boto3 the way a seller should: retry throttling and
server errors with backoff, and resubmit UnprocessedRecords until every
record has a MeteringRecordId.

Run against meterd (or AWS) with the usual environment:
  AWS_ENDPOINT_URL_MARKETPLACE_METERING=http://127.0.0.1:4579
  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
Prints one line of JSON: {"records": N, "calls": C, "throttled": T, "unprocessed": U}.
"""
import json
import random
import time
from datetime import datetime, timedelta, timezone

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

PRODUCT = "demo-product"
CUSTOMERS = ["demo-customer-1", "demo-customer-2"]
DIMENSIONS = ["requests", "storage_gb"]
RETRYABLE = {"ThrottlingException", "InternalServiceErrorException"}

client = boto3.client(
    "meteringmarketplace",
    # botocore retries throttling and 5xx a few times itself; the loop below
    # covers what is left, and UnprocessedRecords, which are not errors.
    config=Config(retries={"mode": "standard", "max_attempts": 3}),
)

# One record per customer, dimension and hour for the last 5 hours: every
# record has its own key, so a record stored twice would show in the ledger.
hour = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
records = [
    {"CustomerIdentifier": c, "Dimension": d, "Timestamp": hour - timedelta(hours=h), "Quantity": 1 + i}
    for i, (h, c, d) in enumerate((h, c, d) for h in range(5) for c in CUSTOMERS for d in DIMENSIONS)
]

stats = {"records": 0, "calls": 0, "throttled": 0, "unprocessed": 0}
ids = {}
pending = list(records)
attempt = 0
while pending:
    if attempt == 30:
        raise SystemExit(f"gave up with {len(pending)} records pending")
    if attempt:
        # Exponential backoff with full jitter, capped at 2 s.
        time.sleep(random.uniform(0, min(2.0, 0.05 * 2**attempt)))
    attempt += 1
    batch, rest = pending[:25], pending[25:]
    stats["calls"] += 1
    try:
        out = client.batch_meter_usage(ProductCode=PRODUCT, UsageRecords=batch)
    except ClientError as e:
        if e.response["Error"]["Code"] not in RETRYABLE:
            raise
        stats["throttled"] += 1
        continue  # the same records again
    for r in out["Results"]:
        if r["Status"] != "Success":
            raise SystemExit(f"record {r['UsageRecord']} is {r['Status']}")
        u = r["UsageRecord"]
        ids[(u["CustomerIdentifier"], u["Dimension"], u["Timestamp"].isoformat())] = r["MeteringRecordId"]
    stats["unprocessed"] += len(out["UnprocessedRecords"])
    pending = out["UnprocessedRecords"] + rest
    if not out["UnprocessedRecords"]:
        attempt = 0

stats["records"] = len(ids)
assert len(ids) == len(records), (len(ids), len(records))
print(json.dumps(stats))
