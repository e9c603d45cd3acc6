"""Tests of the meterd fixture against the real meterd binary and boto3."""

import datetime
import os
import textwrap

import boto3
import botocore.config
import pytest
from botocore.exceptions import ClientError

from pytest_meterd import AdminError

HOUR = datetime.datetime(2026, 11, 23, 7, 0, tzinfo=datetime.timezone.utc)


def client():
    """boto3's Metering client, configured by the environment alone, no retries."""
    return boto3.client("meteringmarketplace", config=botocore.config.Config(retries={"total_max_attempts": 1, "mode": "standard"}))


def record(quantity, at, customer="demo-customer-1", dimension="requests"):
    return {"CustomerIdentifier": customer, "Dimension": dimension, "Quantity": quantity, "Timestamp": at}


def test_boto3_meters_through_the_environment(meterd):
    for name in ("AWS_ENDPOINT_URL_MARKETPLACE_METERING", "AWS_ENDPOINT_URL_MARKETPLACE_ENTITLEMENT_SERVICE", "AWS_ENDPOINT_URL_SQS", "METERD_SERVER"):
        assert os.environ[name] == meterd.url
    assert meterd.url.startswith("http://127.0.0.1:")
    now = datetime.datetime.now(datetime.timezone.utc)
    out = client().batch_meter_usage(ProductCode="demo-product", UsageRecords=[record(3, now)])
    assert out["Results"][0]["Status"] == "Success"
    usage = meterd.admin.usage(product="demo-product")
    assert [(u["customer_identifier"], u["quantity"]) for u in usage] == [("demo-customer-1", 3)]
    assert usage[0]["id"] == out["Results"][0]["MeteringRecordId"]


def test_clock(meterd):
    meterd.admin.set_clock(HOUR + datetime.timedelta(minutes=30))
    assert meterd.admin.clock() == {"now": "2026-11-23T07:30:00Z", "frozen": True}
    client().batch_meter_usage(ProductCode="demo-product", UsageRecords=[record(1, HOUR)])
    meterd.admin.advance_clock(datetime.timedelta(hours=7))
    assert meterd.admin.clock()["now"] == "2026-11-23T14:30:00Z"
    with pytest.raises(ClientError) as e:
        client().batch_meter_usage(ProductCode="demo-product", UsageRecords=[record(1, HOUR, dimension="storage_gb")])
    assert e.value.response["Error"]["Code"] == "TimestampOutOfBoundsException"
    meterd.admin.advance_clock("-7h")
    assert meterd.admin.clock()["now"] == "2026-11-23T07:30:00Z"
    assert meterd.admin.reset_clock()["frozen"] is False


def test_faults(meterd):
    rule = meterd.admin.add_fault(operation="BatchMeterUsage", error="ThrottlingException", count=1)
    now = datetime.datetime.now(datetime.timezone.utc)
    with pytest.raises(ClientError) as e:
        client().batch_meter_usage(ProductCode="demo-product", UsageRecords=[record(1, now)])
    assert e.value.response["Error"]["Code"] == "ThrottlingException"
    assert client().batch_meter_usage(ProductCode="demo-product", UsageRecords=[record(1, now)])["Results"][0]["Status"] == "Success"
    assert rule["id"] not in [f["id"] for f in meterd.admin.faults()]  # count=1: used up, deleted
    meterd.admin.add_fault(operation="MeterUsage", error="InternalServiceErrorException")
    meterd.admin.clear_faults()
    assert meterd.admin.faults() == []


def test_usage_summary_and_reset(meterd):
    now = datetime.datetime.now(datetime.timezone.utc)
    client().batch_meter_usage(ProductCode="demo-product", UsageRecords=[
        record(2, now), record(5, now, customer="demo-customer-2")])
    rows = meterd.admin.usage_summary(by="customer", product="demo-product")
    assert sorted((r["customer"], r["quantity"]) for r in rows) == [("demo-customer-1", 2), ("demo-customer-2", 5)]
    meterd.admin.reset()
    assert meterd.admin.usage() == []


def test_admin_errors_carry_the_message(meterd):
    with pytest.raises(AdminError) as e:
        meterd.admin.add_fault(operation="")
    assert e.value.status == 422 and "operation" in e.value.message


def test_log(meterd):
    assert "fault rules seeded" in meterd.log()
    assert meterd.admin_token not in meterd.log()


def test_environment_is_restored_and_server_stopped(pytester, monkeypatch):
    """The installed plugin serves a test of another project; after it the
    environment is as before and the server is gone."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_MARKETPLACE_METERING", "http://before")
    pytester.makepyfile(test_inner=textwrap.dedent("""
        import os
        def test_inner(meterd):
            assert os.environ["AWS_ENDPOINT_URL_MARKETPLACE_METERING"] == meterd.url
            open("url", "w").write(meterd.url)
    """))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert os.environ["AWS_ENDPOINT_URL_MARKETPLACE_METERING"] == "http://before"
    url = (pytester.path / "url").read_text()
    import urllib.request
    with pytest.raises(OSError):
        urllib.request.urlopen(url + "/healthz", timeout=5)


def test_missing_binary_fails(pytester, monkeypatch):
    """Without a binary the test fails, saying what to do; it is never skipped."""
    monkeypatch.setenv("METERD_BIN", "")
    monkeypatch.setenv("PATH", str(pytester.path))
    pytester.makepyfile(test_inner="def test_inner(meterd):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*no meterd binary: put meterd on PATH*"])
