"""Entitlement Service driver of the meterd conformance suite:
python3 entitlement_scenarios.py boto3|boto3-cbor|cli.

boto3 and the AWS CLI send GetEntitlements in awsJson1_1 (botocore prefers
"json" among the model's protocols). boto3-cbor is botocore's own Smithy RPC
v2 CBOR serializer and parser: a client built from a copy of the service
model whose protocols list only smithy-rpc-v2-cbor, loaded from a data path
of its own. Phases are read from stdin as in common.run; the fixture gives
the product, the keys and the entitlements the server must answer.
"""
import contextlib
import io
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402
from common import check, expect_error  # noqa: E402

ERROR = re.compile(r"An error occurred \(([^)]+)\) when calling the \w+ operation[^:]*: (.*)")


class Boto3Client:
    """boto3, in awsJson1_1 or (cbor=True) in RPC v2 CBOR."""

    def __init__(self, fx, cbor=False):
        import boto3
        from botocore.exceptions import ClientError
        self.boto3, self.ClientError = boto3, ClientError
        self.endpoint = fx.get("endpoint") or None
        self.data_path = common.cbor_data_path("marketplace-entitlement", "2017-01-11") if cbor else None
        self.want_protocol = "smithy-rpc-v2-cbor" if cbor else "json"

    def client(self, creds, region):
        session = self.boto3.session.Session()
        if self.data_path:
            session._session.get_component("data_loader").search_paths.insert(0, self.data_path)
        c = session.client("marketplace-entitlement", endpoint_url=self.endpoint, region_name=region,
                           aws_access_key_id=creds["key"], aws_secret_access_key=creds["secret"])
        model = c.meta.service_model
        got = getattr(model, "resolved_protocol", model.protocol)
        if got != self.want_protocol:
            raise common.Failure("client speaks %s, want %s" % (got, self.want_protocol))
        return c

    def get(self, creds, region="us-east-1", **kw):
        c = self.client(creds, region)
        try:
            out = c.get_entitlements(**kw)
        except self.ClientError as e:
            code = e.response["Error"]["Code"]
            modeled = getattr(c.exceptions, code, None)
            if modeled is None or not isinstance(e, modeled):
                raise common.Failure("%s is not raised as client.exceptions.%s" % (code, code))
            raise common.ApiError(code, e.response["Error"].get("Message"),
                                  e.response["ResponseMetadata"].get("RetryAttempts"))
        out["_retries"] = out["ResponseMetadata"].get("RetryAttempts")
        return out

    def get_all(self, creds, page_size, **kw):
        """Walks the pages with NextToken; returns the entitlements and the page count."""
        items, pages, token = [], 0, None
        while True:
            extra = {"NextToken": token} if token else {}
            out = self.get(creds, MaxResults=page_size, **kw, **extra)
            check(len(out["Entitlements"]) <= page_size, "a page of %d entitlements, want at most %d" % (len(out["Entitlements"]), page_size))
            items += out["Entitlements"]
            pages += 1
            token = out.get("NextToken")
            if not token or pages > 100:
                return items, pages


class CLIClient:
    """The AWS CLI (v1 from the image, v2 from Debian) through its entry point."""

    def __init__(self, fx):
        from awscli.clidriver import create_clidriver
        self.create = create_clidriver
        self.endpoint = fx.get("endpoint")
        self.drivers = {}

    def run(self, creds, region, args):
        pre = ["--region", region, "--output", "json"]
        if self.endpoint:
            pre += ["--endpoint-url", self.endpoint]
        os.environ.update(AWS_ACCESS_KEY_ID=creds["key"], AWS_SECRET_ACCESS_KEY=creds["secret"], AWS_PAGER="")
        key = (creds["key"], creds["secret"])
        if key not in self.drivers:
            self.drivers[key] = self.create()
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = self.drivers[key].main(pre + ["marketplace-entitlement", "get-entitlements"] + args)
        if rc != 0:
            m = ERROR.search(err.getvalue())
            if not m:
                raise common.Failure("aws get-entitlements exited %d: %s" % (rc, err.getvalue().strip()))
            raise common.ApiError(m.group(1), m.group(2), None)
        return json.loads(out.getvalue() or "{}")

    def get(self, creds, region="us-east-1", **kw):
        args = ["--product-code", kw["ProductCode"]]
        if "Filter" in kw:
            args += ["--filter", json.dumps(kw["Filter"])]
        if "MaxResults" in kw:
            args += ["--max-results", str(kw["MaxResults"])]
        if "NextToken" in kw:
            args += ["--next-token", kw["NextToken"]]
        out = self.run(creds, region, args)
        out.setdefault("_retries", None)
        return out

    def get_all(self, creds, page_size, **kw):
        """Lets the CLI walk the pages itself (--page-size)."""
        args = ["--product-code", kw["ProductCode"], "--page-size", str(page_size)]
        if "Filter" in kw:
            args += ["--filter", json.dumps(kw["Filter"])]
        out = self.run(creds, "us-east-1", args)
        check("NextToken" not in out, "the CLI stopped with a NextToken")
        return out["Entitlements"], None


def epoch(v):
    """An ExpirationDate as the client gives it: datetime, ISO string or number."""
    if hasattr(v, "timestamp"):
        return round(v.timestamp(), 3)
    if isinstance(v, str):
        from datetime import datetime
        return round(datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp(), 3)
    return round(float(v), 3)


def scenarios(fx, c):
    product, seller, new = fx["product"], fx["seller"], fx["model"] == "new"
    want = fx["entitlements"]  # the product's entitlements, in the server's order

    def same(got, expected, what):
        rows = []
        for e in got:
            v = e.get("Value", {})
            check(len(v) == 1, "%s: Value %r, want exactly one member" % (what, v))
            row = {"CustomerIdentifier": e.get("CustomerIdentifier"), "Dimension": e.get("Dimension"),
                   "ProductCode": e.get("ProductCode"), "Value": v, "ExpirationDate": epoch(e.get("ExpirationDate"))}
            if new:
                row["CustomerAWSAccountId"] = e.get("CustomerAWSAccountId")
                row["LicenseArn"] = e.get("LicenseArn")
            rows.append(row)
        exp = []
        for e in expected:
            row = dict(e)
            if not new:
                row.pop("CustomerAWSAccountId")
                row.pop("LicenseArn")
            exp.append(row)
        check(rows == exp, "%s = %r, want %r" % (what, rows, exp))

    def of(cust=None, dim=None, account=None, license=None):
        return [e for e in want if (cust is None or e["CustomerIdentifier"] in cust) and (dim is None or e["Dimension"] in dim)
                and (account is None or e["CustomerAWSAccountId"] in account) and (license is None or e["LicenseArn"] in license)]

    first, second = want[0], want[-1]

    def all_():
        out = c.get(seller, ProductCode=product)
        check("NextToken" not in out, "NextToken %r on the only page" % out.get("NextToken"))
        same(out["Entitlements"], want, "Entitlements")

    def by_customer():
        cust = [first["CustomerIdentifier"]]
        out = c.get(seller, ProductCode=product, Filter={"CUSTOMER_IDENTIFIER": cust})
        same(out["Entitlements"], of(cust=cust), "Entitlements of %s" % cust)

    def customer_and_dimension():
        cust, dim = [first["CustomerIdentifier"], second["CustomerIdentifier"]], ["seats"]
        out = c.get(seller, ProductCode=product, Filter={"CUSTOMER_IDENTIFIER": cust, "DIMENSION": dim})
        same(out["Entitlements"], of(cust=cust, dim=dim), "seats of %s" % cust)

    def by_account():
        acct = [second["CustomerAWSAccountId"]]
        out = c.get(seller, ProductCode=product, Filter={"CUSTOMER_AWS_ACCOUNT_ID": acct})
        same(out["Entitlements"], of(account=acct), "Entitlements of account %s" % acct)

    def by_license():
        lic = [first["LicenseArn"]]
        out = c.get(seller, ProductCode=product, Filter={"LICENSE_ARN": lic, "DIMENSION": ["premium"]})
        same(out["Entitlements"], of(license=lic, dim=["premium"]), "premium of %s" % lic)

    def none():
        out = c.get(seller, ProductCode=product, Filter={"CUSTOMER_IDENTIFIER": ["nobody"]})
        check(out.get("Entitlements") == [], "Entitlements = %r, want []" % out.get("Entitlements"))

    def pages():
        items, n = c.get_all(seller, 1, ProductCode=product)
        same(items, want, "the pages joined")
        if n is not None:
            check(n == len(want), "%d pages of 1, want %d" % (n, len(want)))

    def dimension_alone():
        e = expect_error(lambda: c.get(seller, ProductCode=product, Filter={"DIMENSION": ["seats"]}), "InvalidParameterException")
        check("Invalid filter combination" in str(e), "message %r" % str(e))

    def forged_token():
        expect_error(lambda: c.get(seller, ProductCode=product, NextToken="eyJzIjoiZm9yZ2VkIn0.Zm9yZ2Vk"), "InvalidParameterException")

    def altered_token():
        out = c.get(seller, ProductCode=product, MaxResults=1)
        tok = out["NextToken"]
        other = {"CUSTOMER_IDENTIFIER": [second["CustomerIdentifier"]]}
        expect_error(lambda: c.get(seller, ProductCode=product, Filter=other, NextToken=tok), "InvalidParameterException")

    def not_seller():
        expect_error(lambda: c.get(fx["other"], ProductCode=product), "InvalidParameterException")

    def other_region():
        e = expect_error(lambda: c.get(seller, region="eu-west-1", ProductCode=product), "InvalidParameterException")
        check("us-east-1" in str(e), "message %r" % str(e))

    def retried():
        out = c.get(seller, ProductCode=product, Filter={"CUSTOMER_IDENTIFIER": [first["CustomerIdentifier"]]})
        check(len(out["Entitlements"]) > 0, "no entitlements after the retry")
        if out.get("_retries") is not None:
            check(out["_retries"] == 1, "retries = %s, want 1 after one ThrottlingException" % out["_retries"])

    main = [
        ("GetEntitlements all", all_),
        ("GetEntitlements CUSTOMER_IDENTIFIER", by_customer),
        ("GetEntitlements CUSTOMER_IDENTIFIER and DIMENSION", customer_and_dimension),
    ]
    if new:
        main += [("GetEntitlements CUSTOMER_AWS_ACCOUNT_ID", by_account), ("GetEntitlements LICENSE_ARN and DIMENSION", by_license)]
    main += [
        ("GetEntitlements none found", none),
        ("GetEntitlements pages of 1", pages),
        ("GetEntitlements DIMENSION alone InvalidParameterException", dimension_alone),
        ("GetEntitlements forged NextToken InvalidParameterException", forged_token),
        ("GetEntitlements NextToken of another filter InvalidParameterException", altered_token),
        ("GetEntitlements not the seller InvalidParameterException", not_seller),
        ("GetEntitlements eu-west-1 InvalidParameterException", other_region),
    ]
    return {"main": main, "retry-ThrottlingException": [("Retries ThrottlingException retried", retried)]}


if __name__ == "__main__":
    kind = sys.argv[1]
    make = {"boto3": Boto3Client, "boto3-cbor": lambda fx: Boto3Client(fx, cbor=True), "cli": CLIClient}[kind]
    common.run(make, scenarios)
