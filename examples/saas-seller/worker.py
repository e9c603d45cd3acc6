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

Every SNS envelope is verified before it is acted on, as AWS asks of SNS
subscribers: its Signature (SignatureVersion 1, SHA1withRSA, or 2,
SHA256withRSA) over the signed members, with the certificate at its
SigningCertURL, which is fetched only from the configured host
(SELLER_SNS_CERT_HOST: meterd's host and port under meterd; unset, AWS's
sns.<region>.amazonaws.com over HTTPS). A message that does not verify is
logged and deleted unapplied: anyone who may send to the queue could have
written it.

https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
"""

import argparse
import base64
import json
import re
import sys
import time
import urllib.parse
import urllib.request

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

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


class Forged(Exception):
    """An SNS envelope whose signature or certificate URL is not SNS's."""


# The members SNS signs, in this order: "Name\nValue\n" each, Subject only
# when present.
SIGNED = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}
AWS_CERT_HOST = re.compile(r"^sns\.[a-z0-9-]+\.amazonaws\.com$")
certificates = {}  # SigningCertURL -> public key


def signing_key(cert_url):
    """The public key of the certificate at cert_url, fetched once; Forged
    unless the URL is on the configured host (HTTPS for AWS's) and ends in
    .pem."""
    u = urllib.parse.urlsplit(cert_url)
    if seller.SNS_CERT_HOST:
        trusted = u.scheme in ("http", "https") and u.netloc == seller.SNS_CERT_HOST
    else:
        trusted = u.scheme == "https" and AWS_CERT_HOST.match(u.netloc or "") is not None
    if not trusted or not u.path.endswith(".pem") or u.query or u.fragment:
        raise Forged("SigningCertURL %r is not on the SNS certificate host" % cert_url)
    if cert_url not in certificates:
        with urllib.request.urlopen(cert_url, timeout=10) as r:  # noqa: S310 - the host is checked above
            certificates[cert_url] = x509.load_pem_x509_certificate(r.read()).public_key()
    return certificates[cert_url]


def verify(doc):
    """Raises Forged unless the SNS envelope doc is signed by SNS."""
    algo = HASHES.get(str(doc.get("SignatureVersion")))
    if algo is None:
        raise Forged("SignatureVersion %r is not 1 or 2" % doc.get("SignatureVersion"))
    if not all(isinstance(doc.get(k), str) for k in ("Signature", "SigningCertURL", "Message", "MessageId", "Timestamp", "TopicArn")):
        raise Forged("the envelope lacks a signed member")
    data = "".join("%s\n%s\n" % (k, doc[k]) for k in SIGNED if k in doc).encode()
    try:
        sig = base64.b64decode(doc["Signature"], validate=True)
        signing_key(doc["SigningCertURL"]).verify(sig, data, padding.PKCS1v15(), algo())
    except (InvalidSignature, ValueError) as e:
        raise Forged("the signature does not verify: %r" % e) from e


def notification(body):
    """The Marketplace message of a queue message's body and its id: a
    verified SNS envelope's Message. None for an EventBridge event or
    anything else; Forged for a bad signature or a raw delivery's bare
    message, which carries none."""
    doc = json.loads(body)
    if doc.get("Type") == "Notification" and "Message" in doc:
        verify(doc)
        return json.loads(doc["Message"]), doc.get("MessageId")
    if "action" in doc:
        raise Forged("a bare message (raw delivery) carries no signature: subscribe the queue without raw delivery")
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
        except Forged as e:
            log("message %s refused and deleted: %s" % (m["MessageId"], e))
        except (ValueError, KeyError, ClientError, OSError) as e:
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
