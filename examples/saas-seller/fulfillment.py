"""The seller's web app: the fulfillment URL AWS Marketplace (or meterd) sends
the buyer to, a signup page, and the product itself.

    python3 fulfillment.py [--listen 127.0.0.1:3000]

POST /register is the product's fulfillment URL. After a purchase the buyer's
browser form-POSTs `x-amzn-marketplace-token` (and, for a free trial,
`x-amzn-marketplace-offer-type=free-trial`) to it. The app resolves the token
with ResolveCustomer, records the customer, starts a session and redirects
to /signup. The customer is `pending` until the notification worker
(worker.py) receives subscribe-success: only then may it use the product.

The session cookie is SameSite=Lax, not Strict: the POST comes from another
site (the marketplace), and the browser's GET /signup that follows the
redirect still counts as cross-site, so a Strict cookie set here would not be
sent with it.
"""

import argparse
import hmac
import html
import json
import secrets
import sys
import urllib.parse
from http import HTTPStatus
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from botocore.exceptions import ClientError

import entitlements
import seller

MAX_FORM = 16 * 1024


def register(conn, resolved, free_trial):
    """Records a resolved customer: new ones are pending; a customer whose
    subscribe-success arrived first keeps its status."""
    ident = resolved["CustomerIdentifier"]
    conn.execute("BEGIN IMMEDIATE")
    if seller.customer(conn, ident) is None:
        seller.set_status(conn, ident, seller.PENDING)
    conn.execute(
        "UPDATE customers SET aws_account_id = ?, license_arn = ?, free_trial = ?, registered_at = ? WHERE customer_identifier = ?",
        (resolved.get("CustomerAWSAccountId"), resolved.get("LicenseArn"), int(free_trial), seller.now().isoformat(), ident),
    )
    conn.execute("COMMIT")


def record_use(conn, customer, dimension="requests", quantity=1):
    """Adds usage to the customer's current hour. An hour the metering job
    has already sent is closed: later use joins the next hour."""
    at = seller.now()
    hour = at.replace(minute=0, second=0, microsecond=0)
    conn.execute("BEGIN IMMEDIATE")
    while conn.execute(
        "SELECT 1 FROM usage WHERE customer_identifier = ? AND dimension = ? AND hour = ? AND metered = 1",
        (customer, dimension, hour.isoformat()),
    ).fetchone():
        hour += seller.datetime.timedelta(hours=1)
    conn.execute(
        "INSERT INTO usage (customer_identifier, dimension, hour, quantity, last_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT DO UPDATE SET quantity = quantity + excluded.quantity, last_at = excluded.last_at",
        (customer, dimension, hour.isoformat(), quantity, max(at, hour).isoformat()),
    )
    conn.execute("COMMIT")


PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>%(title)s · Example SaaS</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}
.status{font-weight:700}label{display:block;font-weight:600}button{font:inherit;padding:.3rem .8rem}</style>
</head><body><h1>%(title)s</h1>%(body)s</body></html>"""


class Handler(BaseHTTPRequestHandler):
    server_version = "example-saas-seller"

    def log_message(self, fmt, *args):
        sys.stderr.write("fulfillment: " + (fmt % args) + "\n")

    # --- plumbing ---

    def send_page(self, status, title, body, headers=()):
        data = (PAGE % {"title": html.escape(title), "body": body}).encode()
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def redirect(self, to, headers=()):
        self.send_response(HTTPStatus.SEE_OTHER)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Location", to)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def form(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_FORM:
            return None
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip()
        if ctype != "application/x-www-form-urlencoded":
            return None
        body = self.rfile.read(length).decode("utf-8", "replace")
        return {k: v[0] for k, v in urllib.parse.parse_qs(body).items()}

    def operator(self):
        """Whether the request carries the operators' bearer token
        (SELLER_ADMIN_TOKEN): the customers' list is theirs, not the
        public's. Compared in constant time."""
        given = self.headers.get("Authorization", "")
        return bool(seller.ADMIN_TOKEN) and hmac.compare_digest(given.encode(), ("Bearer " + seller.ADMIN_TOKEN).encode())

    def session_customer(self, conn):
        cookie = SimpleCookie(self.headers.get("Cookie", ""))
        if "seller_session" not in cookie:
            return None
        row = conn.execute(
            "SELECT c.* FROM sessions s JOIN customers c USING (customer_identifier) WHERE s.id = ?",
            (cookie["seller_session"].value,),
        ).fetchone()
        return row

    # --- routes ---

    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        conn = seller.db()
        try:
            if path == "/healthz":
                self.send_page(HTTPStatus.OK, "ok", "ok")
            elif path == "/customers.json" and not self.operator():
                self.send_page(HTTPStatus.NOT_FOUND, "Not found", "")
            elif path == "/customers.json":
                rows = [dict(r) for r in conn.execute("SELECT * FROM customers ORDER BY customer_identifier")]
                for r in rows:
                    r["entitlements"] = entitlements.of(conn, r["customer_identifier"])
                data = json.dumps(rows).encode()
                self.send_response(HTTPStatus.OK)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            elif path in ("/signup", "/account"):
                c = self.session_customer(conn)
                if c is None:
                    self.send_page(HTTPStatus.UNAUTHORIZED, "Not signed in", "<p>Open this app from your AWS Marketplace subscription.</p>")
                elif path == "/signup" and not c["email"]:
                    self.signup_page(c)
                else:
                    self.account_page(conn, c)
            else:
                self.send_page(HTTPStatus.NOT_FOUND, "Not found", "")
        finally:
            conn.close()

    def do_POST(self):
        path = urllib.parse.urlsplit(self.path).path
        form = self.form()
        if form is None:
            self.send_page(HTTPStatus.BAD_REQUEST, "Bad request", "<p>Expected a form (application/x-www-form-urlencoded) of at most 16 KiB.</p>")
            return
        conn = seller.db()
        try:
            if path == "/register":
                self.register(conn, form)
            elif path == "/signup":
                c = self.session_customer(conn)
                if c is None:
                    self.send_page(HTTPStatus.UNAUTHORIZED, "Not signed in", "")
                    return
                conn.execute("UPDATE customers SET email = ? WHERE customer_identifier = ?", (form.get("email", "")[:200], c["customer_identifier"]))
                self.redirect("/account")
            elif path == "/use":
                self.use(conn, form)
            else:
                self.send_page(HTTPStatus.NOT_FOUND, "Not found", "")
        finally:
            conn.close()

    def register(self, conn, form):
        token = form.get("x-amzn-marketplace-token", "")
        if not token:
            self.send_page(HTTPStatus.BAD_REQUEST, "Registration failed", "<p>The form has no x-amzn-marketplace-token.</p>")
            return
        try:
            resolved = seller.client("meteringmarketplace").resolve_customer(RegistrationToken=token)
        except ClientError as e:
            err = e.response["Error"]
            self.log_message("ResolveCustomer: %s: %s", err.get("Code"), err.get("Message"))
            self.send_page(
                HTTPStatus.BAD_REQUEST,
                "Registration failed",
                "<p>This registration link is not valid (%s). Open the product again from your subscription.</p>" % html.escape(err.get("Code", "")),
            )
            return
        if resolved["ProductCode"] != seller.PRODUCT_CODE:
            self.send_page(HTTPStatus.BAD_REQUEST, "Registration failed", "<p>That token is for another product.</p>")
            return
        ident = resolved["CustomerIdentifier"]
        register(conn, resolved, form.get("x-amzn-marketplace-offer-type") == "free-trial")
        try:
            entitlements.refresh(conn, ident)
        except ClientError as e:  # the worker refreshes them again on entitlement-updated
            self.log_message("GetEntitlements: %s", e)
        sid = secrets.token_hex(32)
        conn.execute("INSERT INTO sessions VALUES (?, ?, ?)", (sid, ident, seller.now().isoformat()))
        self.log_message("registered customer %s (account %s)", ident, resolved.get("CustomerAWSAccountId"))
        self.redirect("/signup", [("Set-Cookie", "seller_session=%s; Path=/; HttpOnly; SameSite=Lax" % sid)])

    def use(self, conn, form):
        c = self.session_customer(conn)
        if c is None:
            self.send_page(HTTPStatus.UNAUTHORIZED, "Not signed in", "")
            return
        if c["status"] != seller.ACTIVE:
            self.send_page(HTTPStatus.FORBIDDEN, "Subscription not active", "<p>Your subscription is %s.</p>" % html.escape(c["status"]))
            return
        if form.get("feature") == "premium" and not entitlements.allows(conn, c["customer_identifier"], "premium"):
            self.send_page(HTTPStatus.FORBIDDEN, "Not in your contract", "<p>The premium feature is not in your contract.</p>")
            return
        record_use(conn, c["customer_identifier"])
        self.redirect("/account")

    def signup_page(self, c):
        self.send_page(
            HTTPStatus.OK,
            "Welcome",
            "<p>Customer <code>%s</code> (AWS account %s). Your subscription is <span class=status>%s</span>.</p>"
            '<form method="post" action="/signup"><label for="email">Email</label>'
            '<input id="email" name="email" type="email" required autocomplete="email"> <button type="submit">Create account</button></form>'
            % (html.escape(c["customer_identifier"]), html.escape(c["aws_account_id"] or ""), html.escape(c["status"])),
        )

    def account_page(self, conn, c):
        ents = entitlements.of(conn, c["customer_identifier"])
        used = conn.execute("SELECT coalesce(sum(quantity), 0) FROM usage WHERE customer_identifier = ?", (c["customer_identifier"],)).fetchone()[0]
        rows = "".join("<li>%s: %s</li>" % (html.escape(k), html.escape(v)) for k, v in sorted(ents.items())) or "<li>none (pay as you go)</li>"
        self.send_page(
            HTTPStatus.OK,
            "Your account",
            "<p>Customer <code id=customer>%s</code>%s. Status: <span class=status id=status>%s</span>.</p>"
            "<h2>Your contract</h2><ul>%s</ul><p>Requests used: <span id=used>%d</span>.</p>"
            '<form method="post" action="/use"><input type="hidden" name="feature" value="basic"><button type="submit" id=use>Use the product</button></form>'
            % (
                html.escape(c["customer_identifier"]),
                " (free trial)" if c["free_trial"] else "",
                html.escape(c["status"]),
                rows,
                used,
            ),
        )


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listen", default="127.0.0.1:3000", help="host:port (port 0 picks a free one)")
    args = ap.parse_args()
    host, _, port = args.listen.rpartition(":")
    seller.db().close()  # create the schema before the first request
    srv = ThreadingHTTPServer((host, int(port)), Handler)
    print("fulfillment: listening on http://%s:%d/register" % srv.server_address[:2], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
