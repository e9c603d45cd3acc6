"""boto3 driver of the meterd conformance suite: python3 boto3_scenarios.py.

Runs with the image's boto3 (new model; endpoint from
AWS_ENDPOINT_URL_MARKETPLACE_METERING) and with Debian's boto3 1.26 (old
model, which predates that variable: the fixture's endpoint is passed as
endpoint_url).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import boto3  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

import common  # noqa: E402


class Boto3Client:
    def __init__(self, fx):
        self.endpoint = fx.get("endpoint") or None

    def client(self, creds):
        return boto3.client("meteringmarketplace", endpoint_url=self.endpoint,
                            aws_access_key_id=creds["key"], aws_secret_access_key=creds["secret"])

    def call(self, creds, op, **kw):
        c = self.client(creds)
        try:
            out = getattr(c, op)(**kw)
        except ClientError as e:
            code = e.response["Error"]["Code"]
            modeled = getattr(c.exceptions, code, None)
            if modeled is not None and not isinstance(e, modeled):
                raise common.Failure("%s is not raised as client.exceptions.%s" % (code, code))
            raise common.ApiError(code, e.response["Error"].get("Message"),
                                  e.response["ResponseMetadata"].get("RetryAttempts"))
        out["_retries"] = out["ResponseMetadata"].get("RetryAttempts")
        return out

    def batch(self, creds, product, records):
        recs = [dict(r, Timestamp=common.when(r["Timestamp"])) for r in records]
        return self.call(creds, "batch_meter_usage", ProductCode=product, UsageRecords=recs)

    def meter(self, creds, req):
        return self.call(creds, "meter_usage", **dict(req, Timestamp=common.when(req["Timestamp"])))

    def register(self, creds, req):
        return self.call(creds, "register_usage", **req)

    def resolve(self, creds, token):
        return self.call(creds, "resolve_customer", RegistrationToken=token)


if __name__ == "__main__":
    common.run(Boto3Client)
