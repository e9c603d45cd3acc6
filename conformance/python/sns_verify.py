"""Verify SNS messages as AWS documents it, independently of meterd's code.

Reads JSON messages, one a line, on standard input (SNS envelopes as an
HTTP(S) subscriber receives them); for each, fetches SigningCertURL, builds
the string to sign (Message, MessageId, Subject if present, Timestamp,
TopicArn, Type for notifications; Message, MessageId, SubscribeURL,
Timestamp, Token, TopicArn, Type for confirmations: "Name\\nValue\\n" each),
and verifies Signature with the certificate's public key: SHA1withRSA for
SignatureVersion 1, SHA256withRSA for 2 (PKCS#1 v1.5). Prints "ok TYPE
VERSION" per message; exits 1 at the first that does not verify.

https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
"""
import base64
import json
import sys
import urllib.request

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

NOTIFICATION = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
CONFIRMATION = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]


def string_to_sign(m):
    keys = NOTIFICATION if m["Type"] == "Notification" else CONFIRMATION
    return "".join(f"{k}\n{m[k]}\n" for k in keys if k in m).encode()


def verify(m):
    url = m["SigningCertURL"]
    if not url.endswith(".pem"):
        raise SystemExit(f"SigningCertURL {url} does not end in .pem")
    with urllib.request.urlopen(url, timeout=10) as r:
        cert = x509.load_pem_x509_certificate(r.read())
    algo = {"1": hashes.SHA1(), "2": hashes.SHA256()}[m["SignatureVersion"]]
    cert.public_key().verify(base64.b64decode(m["Signature"]), string_to_sign(m), padding.PKCS1v15(), algo)


for line in sys.stdin:
    if line.strip():
        m = json.loads(line)
        try:
            verify(m)
        except Exception as e:  # noqa: BLE001 - any failure is a bad message
            raise SystemExit(f"{m['Type']} {m.get('MessageId')}: signature does not verify: {e!r}")
        print("ok", m["Type"], m["SignatureVersion"])
