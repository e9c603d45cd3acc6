"""The meterd_args fixture passes flags to meterd serve (for every test of
this module, which overrides it)."""

import datetime

import pytest
from botocore.exceptions import ClientError

from test_plugin import client, record

CATALOG = """\
accounts:
  - id: "111122223333"
    access_keys:
      - {id: test, secret: test}
  - id: "444455556666"
products:
  - code: plugin-product
    seller: "111122223333"
    type: saas
    dimensions:
      - {name: seats}
    customers:
      - {aws_account_id: "444455556666", customer_identifier: plugin-customer}
"""


@pytest.fixture
def meterd_args(tmp_path):
    path = tmp_path / "catalog.yaml"
    path.write_text(CATALOG)
    return ["--catalog", str(path), "--past-window", "1h"]


def test_meterd_args(meterd):
    now = datetime.datetime.now(datetime.timezone.utc)
    out = client().batch_meter_usage(ProductCode="plugin-product", UsageRecords=[record(4, now, customer="plugin-customer", dimension="seats")])
    assert out["Results"][0]["Status"] == "Success"
    with pytest.raises(ClientError) as e:
        client().batch_meter_usage(ProductCode="plugin-product", UsageRecords=[record(4, now - datetime.timedelta(hours=2), customer="plugin-customer", dimension="seats")])
    assert e.value.response["Error"]["Code"] == "TimestampOutOfBoundsException"
