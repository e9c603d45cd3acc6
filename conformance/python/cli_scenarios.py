"""AWS CLI driver of the meterd conformance suite: python3 cli_scenarios.py.

Runs with the Python the CLI is installed in: the image's Python for AWS CLI
v1 (endpoint from AWS_ENDPOINT_URL_MARKETPLACE_METERING), /usr/bin/python3
for Debian's AWS CLI v2 2.9.19 (which predates that variable: the fixture's
endpoint is passed as --endpoint-url). Each call goes through the CLI's own
entry point, awscli.clidriver, with the same arguments as `aws ...` on a
shell; the suite runs it in this one process because starting the CLI takes
seconds on a busy machine. Signatures are verified here, in Python, from the
CLI's output.
"""
import contextlib
import io
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from awscli.clidriver import create_clidriver  # noqa: E402

import common  # noqa: E402

ERROR = re.compile(r"An error occurred \(([^)]+)\) when calling the \w+ operation[^:]*: (.*)")


class CLIClient:
    def __init__(self, fx):
        self.endpoint = fx.get("endpoint")
        self.drivers = {}

    def call(self, creds, op, req):
        args = []
        if self.endpoint:
            args += ["--endpoint-url", self.endpoint]
        args += ["meteringmarketplace", op, "--cli-input-json", json.dumps(req), "--output", "json"]
        # The CLI reads credentials from the environment when its session
        # first needs them: one driver per key pair.
        os.environ.update(AWS_ACCESS_KEY_ID=creds["key"], AWS_SECRET_ACCESS_KEY=creds["secret"], AWS_PAGER="")
        key = (creds["key"], creds["secret"])
        if key not in self.drivers:
            self.drivers[key] = create_clidriver()
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = self.drivers[key].main(args)
        if rc != 0:
            m = ERROR.search(err.getvalue())
            if not m:
                raise common.Failure("aws %s exited %d: %s" % (op, rc, err.getvalue().strip()))
            raise common.ApiError(m.group(1), m.group(2), None)
        return json.loads(out.getvalue() or "{}")

    @staticmethod
    def iso(ts):
        return common.when(ts).strftime("%Y-%m-%dT%H:%M:%SZ")

    def batch(self, creds, product, records):
        recs = [dict(r, Timestamp=self.iso(r["Timestamp"])) for r in records]
        return self.call(creds, "batch-meter-usage", {"ProductCode": product, "UsageRecords": recs})

    def meter(self, creds, req):
        return self.call(creds, "meter-usage", dict(req, Timestamp=self.iso(req["Timestamp"])))

    def register(self, creds, req):
        return self.call(creds, "register-usage", req)

    def resolve(self, creds, token):
        return self.call(creds, "resolve-customer", {"RegistrationToken": token})


if __name__ == "__main__":
    common.run(CLIClient)
