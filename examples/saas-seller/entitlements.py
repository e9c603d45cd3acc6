"""Entitlement checks for contract customers: what a customer bought (seats,
premium), read with the Entitlement Service's GetEntitlements and kept in the
seller's database, refreshed when an entitlement-updated notification comes.

    python3 entitlements.py CUSTOMER_IDENTIFIER    # prints what the customer is entitled to
"""

import sys

import seller


def refresh(conn, customer):
    """Reads the customer's entitlements from the Entitlement Service and
    stores them in place of the old ones; returns them as {dimension: value}."""
    api = seller.client("marketplace-entitlement")
    found = {}
    kwargs = {"ProductCode": seller.PRODUCT_CODE, "Filter": {"CUSTOMER_IDENTIFIER": [customer]}}
    while True:
        page = api.get_entitlements(**kwargs)
        for e in page["Entitlements"]:
            value = e["Value"]
            if "BooleanValue" in value:
                v = "true" if value["BooleanValue"] else "false"
            else:
                v = str(next(iter(value.values())))
            expires = e.get("ExpirationDate")
            found[e["Dimension"]] = (v, expires.isoformat() if expires else None)
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("DELETE FROM entitlements WHERE customer_identifier = ?", (customer,))
    for dim, (v, expires) in found.items():
        conn.execute("INSERT INTO entitlements VALUES (?, ?, ?, ?)", (customer, dim, v, expires))
    conn.execute("COMMIT")
    return {dim: v for dim, (v, _) in found.items()}


def of(conn, customer):
    """The customer's stored entitlements as {dimension: value}."""
    rows = conn.execute("SELECT dimension, value FROM entitlements WHERE customer_identifier = ?", (customer,))
    return {r["dimension"]: r["value"] for r in rows}


def allows(conn, customer, dimension, quantity=1):
    """Whether the customer's contract covers quantity of dimension: an
    integer entitlement of at least quantity, or a boolean one that is true."""
    v = of(conn, customer).get(dimension)
    if v is None:
        return False
    if v in ("true", "false"):
        return v == "true"
    try:
        return float(v) >= quantity
    except ValueError:
        return False


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: entitlements.py CUSTOMER_IDENTIFIER")
    for dim, value in sorted(refresh(seller.db(), sys.argv[1]).items()):
        print(dim, value)
