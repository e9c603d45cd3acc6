"""The notification worker: long-polls the seller's SQS queue, where the
product's SNS topics (aws-mp-subscription-notification-<code>,
aws-mp-entitlement-notification-<code>) deliver, and activates or
deactivates customers.

    python3 worker.py [--once] [--wait 20]

  subscribe-success    the customer becomes active (may use the product)
  subscribe-fail       failed
  unsubscribe-pending  unsubscribe-pending: no new use; the last hour's usage is still metered
  unsubscribe-success  inactive
  entitlement-updated  its entitlements are read again (GetEntitlements)

A message is deleted once handled; one that fails is left to come back after
its visibility timeout. The queue delivers at least once, so each
notification is handled once by its message id. EventBridge events sent to the
same queue are logged and deleted.
"""

import argparse
import json
import sys
import time

from botocore.exceptions import BotoCoreError, ClientError

import entitlements
import seller

STATUS_OF_ACTION = {
    "subscribe-success": seller.ACTIVE,
    "subscribe-fail": seller.FAILED,
    "unsubscribe-pending": seller.UNSUBSCRIBE_PENDING,
    "unsubscribe-success": seller.INACTIVE,
}


def log(msg):
    print("worker: " + msg, file=sys.stderr, flush=True)


def queue_url(sqs):
    if seller.QUEUE_NAME.startswith(("http://", "https://")):
        return seller.QUEUE_NAME
    return sqs.get_queue_url(QueueName=seller.QUEUE_NAME)["QueueUrl"]


def notification(body):
    """The Marketplace message of a queue message's body and its id: an SNS
    envelope's Message, or the message itself under raw delivery. None for an
    EventBridge event or anything else."""
    doc = json.loads(body)
    if doc.get("Type") == "Notification" and "Message" in doc:
        return json.loads(doc["Message"]), doc.get("MessageId")
    if "action" in doc:
        return doc, None
    return None, None


def handle(conn, body, sqs_message_id):
    """Applies one queue message; returns what it did, for the log."""
    msg, message_id = notification(body)
    if msg is None:
        doc = json.loads(body)
        return "ignored %s" % doc.get("detail-type", "a message that is no Marketplace notification")
    if msg.get("product-code") != seller.PRODUCT_CODE:
        return "ignored a notification of product %s" % msg.get("product-code")
    action, customer = msg.get("action"), msg.get("customer-identifier")
    seen = conn.execute("SELECT 1 FROM notifications WHERE message_id = ?", (message_id or sqs_message_id,)).fetchone()
    if seen:
        return "skipped %s of %s: handled before" % (action, customer)
    if action == "entitlement-updated":
        got = entitlements.refresh(conn, customer)
        what = "entitlements of %s: %s" % (customer, got)
    elif action in STATUS_OF_ACTION:
        conn.execute("BEGIN IMMEDIATE")
        seller.set_status(
            conn,
            customer,
            STATUS_OF_ACTION[action],
            offer_id=msg.get("offer-identifier"),
            free_trial=int(msg.get("isFreeTrialTermPresent") == "true") if action == "subscribe-success" else None,
        )
        conn.execute("COMMIT")
        what = "%s: %s is %s" % (action, customer, STATUS_OF_ACTION[action])
    else:
        what = "ignored action %s" % action
    conn.execute(
        "INSERT OR IGNORE INTO notifications VALUES (?, ?, ?, ?)",
        (message_id or sqs_message_id, action or "", customer, seller.now().isoformat()),
    )
    return what


def poll(sqs, conn, url, wait):
    """One long poll: handles and deletes what it receives; returns how many."""
    out = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait)
    messages = out.get("Messages", [])
    for m in messages:
        try:
            log(handle(conn, m["Body"], m["MessageId"]))
        except (ValueError, KeyError, ClientError) as e:
            log("message %s left on the queue: %s" % (m["MessageId"], e))
            continue
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return len(messages)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--once", action="store_true", help="one long poll, then exit")
    ap.add_argument("--wait", type=int, default=20, help="long-poll seconds, 0 to 20")
    args = ap.parse_args()
    sqs = seller.client("sqs")
    conn = seller.db()
    url = queue_url(sqs)
    log("polling %s" % url)
    while True:
        try:
            n = poll(sqs, conn, url, args.wait)
        except (ClientError, BotoCoreError) as e:
            if args.once:
                raise
            log("receive failed, trying again in 5 s: %s" % e)
            time.sleep(5)
            continue
        if args.once:
            log("received %d" % n)
            return


if __name__ == "__main__":
    main()
