"""Capture raw MeterUsage requests signed by botocore, as golden files for sigv4 tests.

Run from sigv4/testdata with boto3 1.43.11: python3 capture_botocore.py
The credentials are test fixtures matching botocoreKeys in sigv4_test.go.
"""
import datetime
import socket
import threading

import boto3


def serve_once(sock, out):
    conn, _ = sock.accept()
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        body += conn.recv(65536)
    out.append(head + b"\r\n\r\n" + body)
    resp = b'{"MeteringRecordId":"r"}'
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\n"
                 b"Content-Length: %d\r\n\r\n%s" % (len(resp), resp))
    conn.close()


def capture(name, path, **creds):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    port = sock.getsockname()[1]
    out = []
    t = threading.Thread(target=serve_once, args=(sock, out))
    t.start()
    client = boto3.client("meteringmarketplace", region_name="us-west-2",
                          endpoint_url="http://127.0.0.1:%d%s" % (port, path), **creds)
    client.meter_usage(ProductCode="prod-1", UsageDimension="users", UsageQuantity=3,
                       Timestamp=datetime.datetime(2026, 11, 23, 6, 0, tzinfo=datetime.timezone.utc))
    t.join()
    sock.close()
    with open(name, "wb") as f:
        f.write(out[0])


capture("botocore-meterusage.http", "",
        aws_access_key_id="AKIDBOTOCORE", aws_secret_access_key="botocore-secret")
capture("botocore-session-token.http", "/meter/",
        aws_access_key_id="ASIABOTOCORE", aws_secret_access_key="botocore-temp-secret",
        aws_session_token="botocore-session-token")
