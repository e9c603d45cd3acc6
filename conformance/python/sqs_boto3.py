"""SQS-compatible queues with boto3 (awsJson1_0, SigV4 service sqs), the
endpoint taken from AWS_ENDPOINT_URL_SQS as an unmodified consumer would.

sqs_boto3.py send: create the queue, run every operation, leave one message.
sqs_boto3.py durable: after a restart, the message left is received.
sqs_boto3.py subscribed QUEUE: a purchase's subscribe-success is received.
"""
import hashlib
import json
import os
import struct
import sys

import boto3
import botocore

endpoint = os.environ["AWS_ENDPOINT_URL_SQS"]


def client(key):
    return boto3.client("sqs", region_name="us-east-1", aws_access_key_id=key, aws_secret_access_key=key)


def md5_of_attributes(attrs):
    """SQS's MD5OfMessageAttributes, written from AWS's documented algorithm."""
    h = hashlib.md5()
    for name in sorted(attrs):
        v = attrs[name]
        for f in (name.encode(), v["DataType"].encode()):
            h.update(struct.pack(">I", len(f)) + f)
        if "BinaryValue" in v:
            h.update(b"\x02" + struct.pack(">I", len(v["BinaryValue"])) + v["BinaryValue"])
        else:
            b = v["StringValue"].encode()
            h.update(b"\x01" + struct.pack(">I", len(b)) + b)
    return h.hexdigest()


def code(e):
    return e.response["Error"]["Code"]


def attributes_and_batches(s):
    url = s.create_queue(QueueName="batches")["QueueUrl"]
    a = s.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert a["QueueArn"] == "arn:aws:sqs:us-east-1:111122223333:batches", a
    assert a["VisibilityTimeout"] == "30" and a["ApproximateNumberOfMessages"] == "0", a
    s.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "60"})
    a = s.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"]
    assert a == {"VisibilityTimeout": "60"}, a
    for bad, want in (({"Bogus": "1"}, "InvalidAttributeName"), ({"VisibilityTimeout": "99999"}, "InvalidAttributeValue")):
        try:
            s.set_queue_attributes(QueueUrl=url, Attributes=bad)
            raise SystemExit("SetQueueAttributes accepted %r" % bad)
        except botocore.exceptions.ClientError as e:
            assert code(e) == want, e.response

    attrs = {"event": {"DataType": "String", "StringValue": "subscribe-success"},
             "n": {"DataType": "Number", "StringValue": "3"},
             "raw": {"DataType": "Binary", "BinaryValue": b"\x00\xff"}}
    sent = s.send_message(QueueUrl=url, MessageBody="with attributes", MessageAttributes=attrs)
    assert sent["MD5OfMessageBody"] == hashlib.md5(b"with attributes").hexdigest(), sent
    assert sent["MD5OfMessageAttributes"] == md5_of_attributes(attrs), sent
    m = s.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"][0]
    assert m["MessageAttributes"] == attrs, m
    assert m["MD5OfMessageAttributes"] == md5_of_attributes(attrs), m
    a = s.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    assert a == {"ApproximateNumberOfMessagesNotVisible": "1"}, a
    s.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])

    r = s.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "a", "MessageBody": "one"},
        {"Id": "b", "MessageBody": "two", "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}}},
        {"Id": "bad", "MessageBody": "x", "MessageAttributes": {"AWS.reserved": {"DataType": "String", "StringValue": "v"}}},
    ])
    assert sorted(e["Id"] for e in r["Successful"]) == ["a", "b"], r
    assert [(f["Id"], f["Code"], f["SenderFault"]) for f in r["Failed"]] == [("bad", "InvalidParameterValue", True)], r
    # SQS's query-compatible codes (x-amzn-query-error), as boto3 reports them.
    for entries, want in (([], "AWS.SimpleQueueService.EmptyBatchRequest"),
                          ([{"Id": "x", "MessageBody": "1"}, {"Id": "x", "MessageBody": "2"}], "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"),
                          ([{"Id": str(i), "MessageBody": "m"} for i in range(11)], "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"),
                          ([{"Id": "no spaces", "MessageBody": "m"}], "AWS.SimpleQueueService.InvalidBatchEntryId")):
        try:
            s.send_message_batch(QueueUrl=url, Entries=entries)
            raise SystemExit("SendMessageBatch accepted %r" % entries)
        except botocore.exceptions.ClientError as e:
            assert code(e) == want, e.response
    got = s.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in got) == ["one", "two"], got
    r = s.change_message_visibility_batch(QueueUrl=url, Entries=[
        {"Id": "ok", "ReceiptHandle": got[0]["ReceiptHandle"], "VisibilityTimeout": 0},
        {"Id": "stale", "ReceiptHandle": "not-a-receipt", "VisibilityTimeout": 0}])
    assert [e["Id"] for e in r["Successful"]] == ["ok"], r
    assert [(f["Id"], f["Code"]) for f in r["Failed"]] == [("stale", "ReceiptHandleIsInvalid")], r
    again = s.receive_message(QueueUrl=url, AttributeNames=["ApproximateReceiveCount"])["Messages"]
    assert [m["Attributes"]["ApproximateReceiveCount"] for m in again] == ["2"], again
    r = s.delete_message_batch(QueueUrl=url, Entries=[
        {"Id": "1", "ReceiptHandle": again[0]["ReceiptHandle"]},
        {"Id": "2", "ReceiptHandle": got[1]["ReceiptHandle"]}])
    assert sorted(e["Id"] for e in r["Successful"]) == ["1", "2"] and r.get("Failed", []) == [], r
    a = s.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    assert a == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}, a
    s.delete_queue(QueueUrl=url)


def send():
    s = client("test")
    url = s.create_queue(QueueName="boto3-events")["QueueUrl"]
    assert url == endpoint + "/111122223333/boto3-events", url
    assert s.create_queue(QueueName="boto3-events")["QueueUrl"] == url
    try:
        s.create_queue(QueueName="boto3-events", Attributes={"VisibilityTimeout": "5"})
        raise SystemExit("CreateQueue of an existing name with other attributes succeeded")
    except s.exceptions.QueueNameExists as e:
        assert code(e) == "QueueAlreadyExists", e.response
    assert s.get_queue_url(QueueName="boto3-events")["QueueUrl"] == url
    assert s.list_queues(QueueNamePrefix="boto3-")["QueueUrls"] == [url]
    mid = s.send_message(QueueUrl=url, MessageBody="hello")["MessageId"]
    m = s.receive_message(QueueUrl=url, WaitTimeSeconds=1, MessageSystemAttributeNames=["ApproximateReceiveCount"])["Messages"][0]
    assert m["Body"] == "hello" and m["MessageId"] == mid and m["Attributes"] == {"ApproximateReceiveCount": "1"}, m
    s.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
    m2 = s.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"][0]
    assert m2["Attributes"]["ApproximateReceiveCount"] == "2", m2
    assert int(m2["Attributes"]["SentTimestamp"]) <= int(m2["Attributes"]["ApproximateFirstReceiveTimestamp"]), m2
    s.delete_message(QueueUrl=url, ReceiptHandle=m2["ReceiptHandle"])
    assert s.receive_message(QueueUrl=url).get("Messages", []) == []

    try:
        client("buyer").receive_message(QueueUrl=url)
        raise SystemExit("another account's key read the seller's queue")
    except botocore.exceptions.ClientError as e:
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 403, e.response
    try:
        s.get_queue_url(QueueName="nope")
        raise SystemExit("GetQueueUrl of a missing queue succeeded")
    except s.exceptions.QueueDoesNotExist as e:
        # The class from __type, the code from x-amzn-query-error.
        assert code(e) == "AWS.SimpleQueueService.NonExistentQueue", e.response
        assert e.response["Error"]["Type"] == "Sender", e.response
    try:
        s.receive_message(QueueUrl=url, MaxNumberOfMessages=11)
        raise SystemExit("MaxNumberOfMessages 11 accepted")
    except botocore.exceptions.ClientError as e:
        assert e.response["Error"]["Code"] == "InvalidParameterValue", e.response

    attributes_and_batches(s)
    s.create_queue(QueueName="scratch")
    scratch = s.get_queue_url(QueueName="scratch")["QueueUrl"]
    s.send_message(QueueUrl=scratch, MessageBody="x")
    s.purge_queue(QueueUrl=scratch)
    assert s.receive_message(QueueUrl=scratch).get("Messages", []) == []
    s.delete_queue(QueueUrl=scratch)
    assert s.list_queues(QueueNamePrefix="boto3-")["QueueUrls"] == [url]
    s.send_message(QueueUrl=url, MessageBody="kept across a restart")


def durable():
    s = client("test")
    url = s.get_queue_url(QueueName="boto3-events")["QueueUrl"]
    m = s.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"][0]
    assert m["Body"] == "kept across a restart", m


def subscribed():
    """Long-poll a queue subscribed to the demo product's subscription
    topic; print "polling" for the test to make a purchase, then receive,
    check and delete its subscribe-success."""
    s = client("test")
    url = s.get_queue_url(QueueName=sys.argv[2])["QueueUrl"]
    print("polling", flush=True)
    ms = s.receive_message(QueueUrl=url, WaitTimeSeconds=20).get("Messages", [])
    assert len(ms) == 1, ms
    envelope = json.loads(ms[0]["Body"])
    msg = json.loads(envelope["Message"])
    assert envelope["Type"] == "Notification" and msg["action"] == "subscribe-success", envelope
    s.delete_message(QueueUrl=url, ReceiptHandle=ms[0]["ReceiptHandle"])
    print("subscribe-success " + msg["customer-identifier"])


{"send": send, "durable": durable, "subscribed": subscribed}[sys.argv[1]]()
print("OK")
