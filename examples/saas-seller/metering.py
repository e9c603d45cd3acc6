"""The hourly metering job: sends each customer's usage of every closed hour
with BatchMeterUsage, 25 records a call, one record per customer, dimension
and hour (AWS's own key, so that a retry of the same hour is never counted
twice).

    python3 metering.py [--once] [--include-current-hour]

With --once it sends what is due and exits (for cron, or a test); without,
it runs at five past every hour. --include-current-hour also sends the hour
in progress: later use in that hour then joins the next hour.

Each record's result is kept: Success (with its MeteringRecordId) and
DuplicateRecord end a record; CustomerNotSubscribed too (the customer's
subscription ended more than an hour ago: it never succeeds); unprocessed
records and failed calls are sent again on the next run; a call refused for
one record's sake (InvalidLicenseException, TimestampOutOfBoundsException, ...)
is split so that the others go and that record keeps its error. Usage older than
AWS's 6-hour window is marked expired rather than sent, since one such record
would fail its whole batch.
"""

import argparse
import datetime
import sys
import time

from botocore.exceptions import BotoCoreError, ClientError

import seller

WINDOW = datetime.timedelta(hours=6)


def log(msg):
    print("metering: " + msg, file=sys.stderr, flush=True)


def due(conn, include_current):
    """The usage rows to send now."""
    now = seller.now()
    hour = now.replace(minute=0, second=0, microsecond=0)
    limit = (hour + datetime.timedelta(hours=1)) if include_current else hour
    rows = conn.execute(
        "SELECT u.*, c.license_arn FROM usage u LEFT JOIN customers c USING (customer_identifier) "
        "WHERE u.metered = 0 AND u.hour < ? AND u.last_at <= ? ORDER BY u.hour, u.customer_identifier, u.dimension",
        (limit.isoformat(), now.isoformat()),
    ).fetchall()
    fresh = []
    for r in rows:
        if datetime.datetime.fromisoformat(r["last_at"]) < now - WINDOW + datetime.timedelta(minutes=5):
            mark(conn, r, "expired: older than the 6-hour window")
        else:
            fresh.append(r)
    return fresh


def mark(conn, row, result):
    conn.execute(
        "UPDATE usage SET metered = 1, result = ? WHERE customer_identifier = ? AND dimension = ? AND hour = ?",
        (result, row["customer_identifier"], row["dimension"], row["hour"]),
    )


def send(api, conn, rows):
    """One BatchMeterUsage call of at most 25 rows; returns the results by status."""
    records = []
    for r in rows:
        rec = {
            "Timestamp": datetime.datetime.fromisoformat(r["last_at"]),
            "CustomerIdentifier": r["customer_identifier"],
            "Dimension": r["dimension"],
            "Quantity": r["quantity"],
        }
        if r["license_arn"]:
            rec["LicenseArn"] = r["license_arn"]
        records.append(rec)
    out = api.batch_meter_usage(ProductCode=seller.PRODUCT_CODE, UsageRecords=records)
    counts = {}
    for res in out["Results"]:
        u = res["UsageRecord"]
        row = next(r for r in rows if r["customer_identifier"] == u["CustomerIdentifier"] and r["dimension"] == u["Dimension"])
        status = res["Status"]
        mark(conn, row, res.get("MeteringRecordId", status) if status == "Success" else status)
        counts[status] = counts.get(status, 0) + 1
        if status != "Success":
            log("%s %s %s: %s" % (row["customer_identifier"], row["dimension"], row["hour"], status))
    if out.get("UnprocessedRecords"):
        counts["Unprocessed"] = len(out["UnprocessedRecords"])
    return counts


# Errors that refuse a whole call for one record's sake, and would again.
RECORD_ERRORS = {"InvalidLicenseException", "TimestampOutOfBoundsException", "InvalidCustomerIdentifierException", "InvalidUsageDimensionException"}


def refused(api, conn, batch, err):
    """A call refused whole: when one record's fault is the cause, each
    record is sent alone, so that the others go and that one is marked
    with its error rather than sent again forever; any other error leaves
    them for the next run."""
    code = err.response["Error"].get("Code", "")
    if code not in RECORD_ERRORS:
        log("BatchMeterUsage failed, sent again next run: %s" % err)
        return {"Failed": len(batch)}
    if len(batch) == 1:
        log("%s %s %s: %s" % (batch[0]["customer_identifier"], batch[0]["dimension"], batch[0]["hour"], err))
        mark(conn, batch[0], code)
        return {code: 1}
    counts = {}
    for row in batch:
        try:
            got = send(api, conn, [row])
        except ClientError as e:
            got = refused(api, conn, [row], e)
        for k, v in got.items():
            counts[k] = counts.get(k, 0) + v
    return counts


def run_once(include_current=False):
    """Sends everything due; returns the results counted by status."""
    conn = seller.db()
    api = seller.client("meteringmarketplace")
    rows = due(conn, include_current)
    totals = {}
    # One call holds at most one record per customer and dimension: the
    # results name no hour, so two hours of one key go in separate calls.
    while rows:
        batch, rest, keys = [], [], set()
        for r in rows:
            key = (r["customer_identifier"], r["dimension"])
            if len(batch) < 25 and key not in keys:
                batch.append(r)
                keys.add(key)
            else:
                rest.append(r)
        try:
            counts = send(api, conn, batch)
        except ClientError as e:
            counts = refused(api, conn, batch, e)
        except BotoCoreError as e:
            log("BatchMeterUsage failed, sent again next run: %s" % e)
            counts = {"Failed": len(batch)}
        for k, v in counts.items():
            totals[k] = totals.get(k, 0) + v
        rows = rest
    conn.close()
    return totals


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--once", action="store_true", help="send what is due, then exit")
    ap.add_argument("--include-current-hour", action="store_true", help="send the hour in progress too")
    args = ap.parse_args()
    while True:
        totals = run_once(args.include_current_hour)
        print("metering: sent %s" % (", ".join("%s %d" % kv for kv in sorted(totals.items())) or "nothing"), flush=True)
        if args.once:
            return
        now = seller.now()
        nxt = now.replace(minute=5, second=0, microsecond=0)
        if nxt <= now:
            nxt += datetime.timedelta(hours=1)
        time.sleep((nxt - now).total_seconds())


if __name__ == "__main__":
    main()
