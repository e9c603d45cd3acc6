"""What every part of the example SaaS seller shares: its settings, the AWS
clients, and its own database of customers and usage.

Settings come from the environment, as a deployed seller's would:

  SELLER_PRODUCT_CODE  the product's code (demo-product)
  SELLER_DB            the SQLite file of customers and usage (seller.db)
  SELLER_QUEUE         the SQS queue the Marketplace notifications reach (marketplace-events)
  SELLER_SNS_CERT_HOST the only host (host:port) the worker fetches SNS signing certificates
                       from: meterd's under meterd; unset, AWS's (sns.<region>.amazonaws.com, HTTPS)
  SELLER_ADMIN_TOKEN   the bearer token of GET /customers.json, the app's list of customers
                       for its operators; unset, that list is not served

The AWS clients are plain boto3 clients: credentials from the standard chain
(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: the seller's key), endpoints from
AWS_ENDPOINT_URL_MARKETPLACE_METERING, AWS_ENDPOINT_URL_MARKETPLACE_ENTITLEMENT_SERVICE
and AWS_ENDPOINT_URL_SQS (what `meterd env` prints). Unset, they reach AWS.
"""

import datetime
import os
import sqlite3

import boto3
from botocore.config import Config

PRODUCT_CODE = os.environ.get("SELLER_PRODUCT_CODE", "demo-product")
DB_PATH = os.environ.get("SELLER_DB", "seller.db")
QUEUE_NAME = os.environ.get("SELLER_QUEUE", "marketplace-events")
SNS_CERT_HOST = os.environ.get("SELLER_SNS_CERT_HOST", "")
ADMIN_TOKEN = os.environ.get("SELLER_ADMIN_TOKEN", "")

# The Metering, Entitlement and Agreement services live in us-east-1 only.
REGION = "us-east-1"

# Customer statuses, as this app keeps them.
PENDING = "pending"  # registered through the fulfillment URL; no subscribe-success yet
ACTIVE = "active"  # subscribe-success received: may use the product
UNSUBSCRIBE_PENDING = "unsubscribe-pending"  # cancelled: the last hour's usage may still be metered
INACTIVE = "inactive"  # unsubscribe-success: no more use, no more metering
FAILED = "failed"  # subscribe-fail


def client(service):
    """A boto3 client of service in us-east-1, with standard retries."""
    return boto3.client(service, region_name=REGION, config=Config(retries={"mode": "standard", "max_attempts": 5}))


def now():
    return datetime.datetime.now(datetime.timezone.utc)


SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (
    customer_identifier TEXT PRIMARY KEY,
    aws_account_id      TEXT,
    license_arn         TEXT,
    status              TEXT NOT NULL,
    offer_id            TEXT,
    free_trial          INTEGER NOT NULL DEFAULT 0,
    email               TEXT,
    registered_at       TEXT,
    updated_at          TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS entitlements (
    customer_identifier TEXT NOT NULL,
    dimension           TEXT NOT NULL,
    value               TEXT NOT NULL,
    expires_at          TEXT,
    PRIMARY KEY (customer_identifier, dimension)
);
CREATE TABLE IF NOT EXISTS sessions (
    id                  TEXT PRIMARY KEY,
    customer_identifier TEXT NOT NULL,
    created_at          TEXT NOT NULL
);
-- One row per customer, dimension and hour: what the metering job sends.
CREATE TABLE IF NOT EXISTS usage (
    customer_identifier TEXT NOT NULL,
    dimension           TEXT NOT NULL,
    hour                TEXT NOT NULL,
    quantity            INTEGER NOT NULL,
    last_at             TEXT NOT NULL,
    metered             INTEGER NOT NULL DEFAULT 0,
    result              TEXT,
    PRIMARY KEY (customer_identifier, dimension, hour)
);
-- Notifications already handled: the queue delivers at least once.
CREATE TABLE IF NOT EXISTS notifications (
    message_id  TEXT PRIMARY KEY,
    action      TEXT NOT NULL,
    customer_identifier TEXT,
    received_at TEXT NOT NULL
);
"""


def db():
    """A connection to the seller's database, which the web app, the worker
    and the metering job share (WAL: readers do not block the writer)."""
    conn = sqlite3.connect(DB_PATH, timeout=30, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(SCHEMA)
    return conn


def set_status(conn, customer, status, **fields):
    """Sets a customer's status (creating the row when the notification
    arrives before the buyer's registration, as it may) and other fields."""
    fields = {k: v for k, v in fields.items() if v is not None}
    cols = ["status", "updated_at"] + list(fields)
    vals = [status, now().isoformat()] + list(fields.values())
    conn.execute(
        "INSERT INTO customers (customer_identifier, %s) VALUES (?, %s) "
        "ON CONFLICT (customer_identifier) DO UPDATE SET %s"
        % (", ".join(cols), ", ".join("?" * len(cols)), ", ".join("%s = excluded.%s" % (c, c) for c in cols)),
        [customer] + vals,
    )


def customer(conn, identifier):
    return conn.execute("SELECT * FROM customers WHERE customer_identifier = ?", (identifier,)).fetchone()
