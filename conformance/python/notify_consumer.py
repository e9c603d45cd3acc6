"""A seller's Marketplace notification worker, as it runs against AWS.

It long-polls an SQS queue subscribed to the product's SNS topics and to an
EventBridge rule, handles each message once (SNS may deliver one twice: it
remembers the MessageIds it handled), and deletes it. Nothing in it knows
meterd: AWS_ENDPOINT_URL_SQS points boto3 at meterd's queues.

    python3 notify_consumer.py [--queue marketplace-events] [--until ACTION] [--timeout 60]

With --until it exits 0 once it has handled a message of that action
(subscribe-success, entitlement-updated, ...) or detail-type, and 1 when
--timeout seconds pass first.
"""
import argparse
import json
import sys
import time

import boto3

p = argparse.ArgumentParser()
p.add_argument("--queue", default="marketplace-events")
p.add_argument("--until")
p.add_argument("--timeout", type=float, default=60)
args = p.parse_args()

sqs = boto3.client("sqs")
url = sqs.get_queue_url(QueueName=args.queue)["QueueUrl"]
handled = set()


def handle(body):
    """Returns (kind, subject) of one message: SNS envelope, raw SNS message or EventBridge event."""
    m = json.loads(body)
    if m.get("Type") == "Notification":  # SNS topic -> queue, with the envelope
        if m["MessageId"] in handled:
            return None, None
        handled.add(m["MessageId"])
        m = json.loads(m["Message"])
    if "action" in m:  # subscription or entitlement topic
        return m["action"], m["customer-identifier"]
    if m.get("source") == "aws.agreement-marketplace":  # EventBridge rule -> queue
        return m["detail-type"], m["detail"]["agreement"]["id"]
    return "unknown", body[:80]


deadline = time.time() + args.timeout
while time.time() < deadline:
    wait = max(1, min(20, int(deadline - time.time())))
    for msg in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=wait, MaxNumberOfMessages=10).get("Messages", []):
        kind, subject = handle(msg["Body"])
        if kind:
            print(kind, subject, flush=True)
        sqs.delete_message(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"])
        if args.until and kind == args.until:
            sys.exit(0)
if args.until:
    sys.exit(f"no {args.until} within {args.timeout:g} s")
