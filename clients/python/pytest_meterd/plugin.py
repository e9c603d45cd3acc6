"""The meterd fixture: a meterd server for one test.

The fixture starts ``meterd serve`` from the binary on PATH (or METERD_BIN,
or --meterd-bin) on a free loopback port chosen by the server itself
(--listen 127.0.0.1:0; the URL is read from its start banner), with a new
data directory and a random admin token, points boto3 at it through the
environment for the test's duration, and stops it afterwards.
"""

import datetime
import json
import os
import secrets
import shutil
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest

BANNER = "meterd is listening on "
START_TIMEOUT = 60  # seconds for the banner: a first start may migrate the store


def pytest_addoption(parser):
    parser.addoption("--meterd-bin", default=None,
                     help="the meterd binary for the meterd fixture (default: $METERD_BIN, else meterd on PATH)")


class AdminError(Exception):
    """An error answer of meterd's admin API: its HTTP status, code and message."""

    def __init__(self, status, code, message):
        super().__init__("admin API: %d %s: %s" % (status, code, message))
        self.status = status
        self.code = code
        self.message = message


class Admin:
    """A client of meterd's admin API (/admin/v1) with the server's token."""

    def __init__(self, url, token):
        self.url = url.rstrip("/")
        self.token = token

    def _call(self, method, path, query=None, body=None):
        url = self.url + "/admin/v1/" + path
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Authorization", "Bearer " + self.token)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                text = resp.read()
        except urllib.error.HTTPError as e:
            text = e.read()
            try:
                err = json.loads(text)["error"]
                code, message = err.get("code", ""), err.get("message", "")
            except (ValueError, KeyError, TypeError, AttributeError):
                code, message = "", text.decode(errors="replace")
            raise AdminError(e.code, code, message) from None
        return json.loads(text) if text.strip() else None

    # The server's clock, which every metering rule reads.
    def clock(self):
        """The clock: {"now": RFC 3339 time, "frozen": bool}."""
        return self._call("GET", "clock")

    def set_clock(self, t):
        """Freezes the clock at t (a datetime, or an RFC 3339 string)."""
        if isinstance(t, datetime.datetime):
            if t.tzinfo is None:
                raise ValueError("set_clock: give a timezone-aware datetime")
            t = t.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return self._call("POST", "clock", body={"set": t})

    def advance_clock(self, d):
        """Moves the clock by d: a timedelta, or a Go duration such as "90m"."""
        if isinstance(d, datetime.timedelta):
            d = "%dms" % (d // datetime.timedelta(milliseconds=1))
        return self._call("POST", "clock", body={"advance": d})

    def reset_clock(self):
        """Returns the clock to real time."""
        return self._call("POST", "clock", body={"reset": True})

    # Fault rules.
    def add_fault(self, **rule):
        """Adds a fault rule (operation=, error=, unprocessed=, latency=,
        drop_response=, product=, customer=, dimension=, account=,
        probability=, count=) and returns it with its id."""
        return self._call("POST", "faults", body=rule)

    def faults(self):
        """The fault rules in force, with their hits."""
        return self._call("GET", "faults")

    def clear_faults(self):
        """Deletes every fault rule."""
        self._call("DELETE", "faults")

    # Usage.
    def usage(self, **filters):
        """Every usage record matching product=, customer=, dimension=,
        tag="k=v", from_=, to= (RFC 3339), following the pages."""
        query = {k.rstrip("_"): v for k, v in filters.items()}
        records = []
        while True:
            page = self._call("GET", "usage", query)
            records += page.get("records") or []
            if not page.get("next_cursor"):
                return records
            query["after"] = page["next_cursor"]

    def usage_summary(self, by="customer", **filters):
        """Usage summed by customer, dimension, hour or tag (by="tag:KEY")."""
        query = {k.rstrip("_"): v for k, v in filters.items()}
        query["by"] = by
        return self._call("GET", "usage/summary", query)

    def reset(self):
        """Empties the ledger and applies the server's catalog again."""
        self._call("POST", "reset")


class Meterd:
    """A running meterd server: url, admin (an Admin), admin_token,
    data_dir, env (the variables that point AWS clients at it) and log()."""

    def __init__(self, proc, url, token, data_dir, log_path, env):
        self.proc = proc
        self.url = url
        self.admin_token = token
        self.admin = Admin(url, token)
        self.data_dir = data_dir
        self.log_path = log_path
        self.env = env

    def log(self):
        """What the server has written to stderr so far (JSON lines)."""
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stop(self):
        """Stops the server (SIGTERM, then SIGKILL after 30 s)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def find_binary(option=None):
    """The meterd binary: option, else $METERD_BIN, else meterd on PATH."""
    path = option or os.environ.get("METERD_BIN") or shutil.which("meterd")
    if not path:
        raise FileNotFoundError(
            "no meterd binary: put meterd on PATH (go install ./cmd/meterd or make build in a clone of meterd), "
            "or set METERD_BIN or --meterd-bin to its path")
    if not os.access(path, os.X_OK):
        raise FileNotFoundError("meterd binary %s is not an executable file" % path)
    return path


def start(binary, data_dir, args=()):
    """Starts ``meterd serve`` on 127.0.0.1 with a port of its choosing and
    data_dir, and returns a Meterd once it has printed its banner."""
    token = secrets.token_hex(16)
    log_path = os.path.join(str(data_dir), "meterd.log")
    cmd = [binary, "serve", "--listen", "127.0.0.1:0", "--data", str(data_dir), "--admin-token", token] + list(args)
    log = open(log_path, "wb")
    env = {k: v for k, v in os.environ.items() if not k.startswith("METERD_")}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, env=env)
    log.close()
    found = []
    banner = threading.Event()

    def read():
        # Keep reading stdout after the banner so the server never blocks on it.
        for line in proc.stdout:
            text = line.decode(errors="replace")
            if not found and text.startswith(BANNER):
                found.append(text[len(BANNER):].split()[0])
                banner.set()
        banner.set()

    threading.Thread(target=read, daemon=True).start()
    if not banner.wait(START_TIMEOUT) or not found:
        proc.kill()
        proc.wait()
        with open(log_path, encoding="utf-8", errors="replace") as f:
            raise RuntimeError("meterd did not start (%s): %s" % (" ".join(cmd), f.read()))
    url = found[0]
    out = subprocess.run([binary, "env", "--server", url, "--output", "json"],
                         check=True, capture_output=True, text=True).stdout
    client_env = json.loads(out)
    client_env["METERD_ADMIN_TOKEN"] = token
    return Meterd(proc, url, token, str(data_dir), log_path, client_env)


@pytest.fixture
def meterd_args():
    """Extra flags of meterd serve for the meterd fixture; override it to
    give, for example, ["--catalog", "catalog.yaml"]."""
    return []


@pytest.fixture
def meterd(request, tmp_path_factory, monkeypatch, meterd_args):
    """A meterd server for the test, with boto3 pointed at it."""
    try:
        binary = find_binary(request.config.getoption("--meterd-bin"))
    except FileNotFoundError as e:
        pytest.fail(str(e), pytrace=False)
    server = start(binary, tmp_path_factory.mktemp("meterd"), meterd_args)
    # Only the variables set here: no profile, shared file or instance
    # metadata of the machine can reach the test's AWS clients.
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name, value in server.env.items():
        monkeypatch.setenv(name, value)
    yield server
    server.stop()
