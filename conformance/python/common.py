"""Scenarios of the meterd conformance suite shared by the Python drivers.

A driver gives a Client object with the four operations; each scenario
calls them and prints one JSON line {"client","scenario","ok","detail"}.
Errors are raised as ApiError(code, message, attempts).
"""
import base64
import gzip
import json
import os
import sys
import tempfile
import traceback
from datetime import datetime, timedelta, timezone


def cbor_data_path(service, version):
    """Writes botocore's model of a service with only smithy-rpc-v2-cbor
    among its protocols into a new data path, so that a boto3 client made
    from it speaks RPC v2 CBOR through botocore's own serializer."""
    import botocore
    src = os.path.join(os.path.dirname(botocore.__file__), "data", service, version, "service-2.json.gz")
    with gzip.open(src) as f:
        model = json.load(f)
    model["metadata"]["protocols"] = ["smithy-rpc-v2-cbor"]
    model["metadata"]["protocol"] = "smithy-rpc-v2-cbor"
    root = tempfile.mkdtemp(prefix="meterd-cbor-model-")
    d = os.path.join(root, service, version)
    os.makedirs(d)
    with open(os.path.join(d, "service-2.json"), "w") as f:
        json.dump(model, f)
    return root


class ApiError(Exception):
    """A named AWS error as the client under test reported it."""

    def __init__(self, code, message, retries=None):
        super().__init__("%s: %s" % (code, message))
        self.code = code
        self.retries = retries


class Failure(Exception):
    """A scenario's check failed."""


def check(cond, detail):
    if not cond:
        raise Failure(detail)


def b64url(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def verify_jws(token, public_key_pem, want):
    """Verifies a PS256 compact JWS from the public key alone and checks its claims."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    head, payload, sig = token.split(".")
    header = json.loads(b64url(head))
    check(header.get("alg") == "PS256", "header alg = %r, want PS256" % header.get("alg"))
    key = serialization.load_pem_public_key(public_key_pem.encode())
    # Raises InvalidSignature when the signature does not verify.
    key.verify(b64url(sig), (head + "." + payload).encode(),
               padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
    claims = json.loads(b64url(payload))
    for k, v in want.items():
        check(claims.get(k) == v, "claim %s = %r, want %r" % (k, claims.get(k), v))
    check(isinstance(claims.get("iat"), int), "claim iat = %r, want epoch seconds" % claims.get("iat"))


def expect_error(fn, code, retries=None):
    try:
        fn()
    except ApiError as e:
        check(e.code == code, "error code = %s, want %s" % (e.code, code))
        if retries is not None and e.retries is not None:
            check(e.retries == retries, "retries = %s, want %s" % (e.retries, retries))
        return e
    raise Failure("call succeeded, want %s" % code)


def record(fx, customer, dimension, quantity, ts=None, account=None, allocations=None):
    r = {"Timestamp": ts if ts is not None else fx["ts"], "Dimension": dimension, "Quantity": quantity}
    if account:
        r["CustomerAWSAccountId"] = account
    else:
        r["CustomerIdentifier"] = customer
    if allocations:
        r["UsageAllocations"] = allocations
    return r


def scenarios(fx, c):
    """Returns the (name, function) pairs of a phase. c is the driver."""
    saas, cont, ts = fx["saas"], fx["container"], fx["ts"]
    new = fx["model"] == "new"

    def results(out):
        return out["Results"]

    def success():
        out = c.batch(fx["seller"], saas, [record(fx, "cust-a", "requests", 3)])
        r = results(out)
        check(len(r) == 1 and r[0]["Status"] == "Success", "results = %r, want one Success" % r)
        check(r[0].get("MeteringRecordId"), "no MeteringRecordId in %r" % r[0])
        check(out.get("UnprocessedRecords") == [], "UnprocessedRecords = %r, want []" % out.get("UnprocessedRecords"))
        state["id"] = r[0]["MeteringRecordId"]

    state = {}

    def identical():
        r = results(c.batch(fx["seller"], saas, [record(fx, "cust-a", "requests", 3)]))
        check(r[0]["Status"] == "Success", "status = %s, want Success" % r[0]["Status"])
        check(r[0].get("MeteringRecordId") == state.get("id"),
              "MeteringRecordId = %s, want the first call's %s" % (r[0].get("MeteringRecordId"), state.get("id")))

    def duplicate():
        r = results(c.batch(fx["seller"], saas, [record(fx, "cust-a", "requests", 4)]))
        check(r[0]["Status"] == "DuplicateRecord", "status = %s, want DuplicateRecord" % r[0]["Status"])

    def not_subscribed():
        r = results(c.batch(fx["seller"], saas, [record(fx, "cust-gone", "requests", 1)]))
        check(r[0]["Status"] == "CustomerNotSubscribed", "status = %s, want CustomerNotSubscribed" % r[0]["Status"])

    def allocations():
        allocs = [{"AllocatedUsageQuantity": 6, "Tags": [{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "a"}]},
                  {"AllocatedUsageQuantity": 4}]
        r = results(c.batch(fx["seller"], saas, [record(fx, "cust-a", "storage_gb", 10, allocations=allocs)]))
        check(r[0]["Status"] == "Success", "status = %s, want Success" % r[0]["Status"])
        got = r[0]["UsageRecord"].get("UsageAllocations")
        check(got and len(got) == 2 and got[0]["Tags"][0]["Key"] == "env", "echoed allocations = %r" % got)

    def account_id():
        r = results(c.batch(fx["seller"], saas, [record(fx, None, "requests", 2, account="333344445555")]))
        check(r[0]["Status"] == "Success", "status = %s, want Success" % r[0]["Status"])
        check(r[0]["UsageRecord"].get("CustomerAWSAccountId") == "333344445555", "echo = %r" % r[0]["UsageRecord"])

    def out_of_bounds():
        expect_error(lambda: c.batch(fx["seller"], saas, [record(fx, "cust-a", "requests", 1, ts=ts - 7 * 3600)]),
                     "TimestampOutOfBoundsException")

    def bad_product():
        expect_error(lambda: c.batch(fx["seller"], "no-such-product", [record(fx, "cust-a", "requests", 1)]),
                     "InvalidProductCodeException")

    def bad_dimension():
        expect_error(lambda: c.batch(fx["seller"], saas, [record(fx, "cust-a", "no_such_dimension", 1)]),
                     "InvalidUsageDimensionException")

    def too_many():
        recs = [record(fx, "cust-a", "requests", 1, ts=ts - 3600 - i) for i in range(26)]
        expect_error(lambda: c.batch(fx["seller"], saas, recs), "ValidationException")

    def wrong_secret():
        bad = dict(fx["seller"], secret="not-the-secret")
        expect_error(lambda: c.batch(bad, saas, [record(fx, "cust-a", "requests", 1)]), "InvalidSignatureException")

    def meter(quantity, dimension="vcpu_hours", ts_=None, **kw):
        return c.meter(fx["buyer"], dict(ProductCode=cont, Timestamp=ts if ts_ is None else ts_,
                                         UsageDimension=dimension, UsageQuantity=quantity, **kw))

    def meter_success():
        out = meter(1)
        check(out.get("MeteringRecordId"), "no MeteringRecordId in %r" % out)
        again = meter(1)
        check(again.get("MeteringRecordId") == out["MeteringRecordId"],
              "identical MeterUsage gave %s, want %s" % (again.get("MeteringRecordId"), out["MeteringRecordId"]))

    def dry_run():
        expect_error(lambda: meter(1, DryRun=True), "DryRunOperation")

    def duplicate_request():
        expect_error(lambda: meter(2), "DuplicateRequestException")

    def idempotency():
        token = "conf-" + fx["client"]
        meter(1, dimension="mem_gb_hours", ClientToken=token)
        expect_error(lambda: meter(1, dimension="mem_gb_hours", ts_=ts - 3600, ClientToken=token),
                     "IdempotencyConflictException")

    def register():
        nonce = "nonce-" + fx["client"]
        out = c.register(fx["buyer"], {"ProductCode": cont, "PublicKeyVersion": 1, "Nonce": nonce})
        verify_jws(out["Signature"], fx["public_key_pem"],
                   {"ProductCode": cont, "PublicKeyVersion": 1, "Nonce": nonce})

    def resolve():
        out = c.resolve(fx["seller"], fx["token"])
        check(out.get("CustomerIdentifier") == "cust-a" and out.get("ProductCode") == saas,
              "ResolveCustomer = %r, want cust-a of %s" % (out, saas))
        if new:
            check(out.get("CustomerAWSAccountId") == "222233334444", "CustomerAWSAccountId = %r" % out.get("CustomerAWSAccountId"))

    def resolve_invalid():
        expect_error(lambda: c.resolve(fx["seller"], "not-a-registration-token"), "InvalidTokenException")

    def resolve_expired():
        expect_error(lambda: c.resolve(fx["seller"], fx["expired_token"]), "ExpiredTokenException")

    def retried(code):
        def f():
            out = c.batch(fx["seller"], saas, [record(fx, "cust-b", "storage_gb", 1, ts=ts - 2 * 3600)])
            check(results(out)[0]["Status"] == "Success", "status = %s, want Success" % results(out)[0]["Status"])
            if out.get("_retries") is not None:
                check(out["_retries"] == 1, "retries = %s, want 1 after one %s" % (out["_retries"], code))
        return f

    def not_retried():
        expect_error(lambda: c.batch(fx["seller"], saas, [record(fx, "cust-b", "storage_gb", 1, ts=ts - 2 * 3600)]),
                     "InvalidTagException", retries=0)

    main = [
        ("BatchMeterUsage success", success),
        ("BatchMeterUsage identical retry", identical),
        ("BatchMeterUsage DuplicateRecord", duplicate),
        ("BatchMeterUsage CustomerNotSubscribed", not_subscribed),
        ("BatchMeterUsage allocations with tags", allocations),
    ]
    if new:
        main.append(("BatchMeterUsage CustomerAWSAccountId", account_id))
    main += [
        ("BatchMeterUsage TimestampOutOfBoundsException", out_of_bounds),
        ("BatchMeterUsage InvalidProductCodeException", bad_product),
        ("BatchMeterUsage InvalidUsageDimensionException", bad_dimension),
        ("BatchMeterUsage 26 records ValidationException", too_many),
        ("BatchMeterUsage wrong secret InvalidSignatureException", wrong_secret),
        ("MeterUsage success", meter_success),
        ("MeterUsage DryRunOperation", dry_run),
        ("MeterUsage DuplicateRequestException", duplicate_request),
    ]
    if new:
        main.append(("MeterUsage IdempotencyConflictException", idempotency))
    main += [
        ("RegisterUsage signature verified", register),
        ("ResolveCustomer valid", resolve),
        ("ResolveCustomer InvalidTokenException", resolve_invalid),
    ]
    return {
        "main": main,
        "expired": [("ResolveCustomer ExpiredTokenException", resolve_expired)],
        "retry-ThrottlingException": [("Retries ThrottlingException retried", retried("ThrottlingException"))],
        "retry-InternalServiceErrorException": [("Retries InternalServiceErrorException retried",
                                                 retried("InternalServiceErrorException"))],
        "noretry-InvalidTagException": [("Retries InvalidTagException not retried", not_retried)],
    }


def run(make_client, make_scenarios=None):
    """Runs the phases named on stdin, one a line, with the fixture in
    CONFORMANCE_FIXTURE; after each phase prints {"done": phase}, so the
    suite can change the server's state between phases. make_scenarios
    gives the phases (the Metering API's scenarios when None)."""
    fx = json.loads(os.environ["CONFORMANCE_FIXTURE"])
    c = make_client(fx)
    phases = (make_scenarios or scenarios)(fx, c)
    for line in sys.stdin:
        phase = line.strip()
        for name, fn in phases[phase]:
            ok, detail = True, ""
            try:
                fn()
            except Failure as e:
                ok, detail = False, str(e)
            except Exception as e:  # an unexpected error fails only this scenario
                ok, detail = False, "%s: %s" % (type(e).__name__, e)
                traceback.print_exc(file=sys.stderr)
            print(json.dumps({"client": fx["client"], "scenario": name, "ok": ok, "detail": detail}), flush=True)
        print(json.dumps({"done": phase}), flush=True)


def when(ts):
    return datetime.fromtimestamp(ts, timezone.utc)
