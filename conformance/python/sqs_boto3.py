"""SQS-compatible queues with boto3 (awsJson1_0, SigV4 service sqs), the
endpoint taken from AWS_ENDPOINT_URL_SQS as an unmodified consumer would.

sqs_boto3.py send: create the queue, run every operation, leave one message.
sqs_boto3.py durable: after a restart, the message left is received.
"""
import os
import sys

import boto3
import botocore

endpoint = os.environ["AWS_ENDPOINT_URL_SQS"]


def client(key):
    return boto3.client("sqs", region_name="us-east-1", aws_access_key_id=key, aws_secret_access_key=key)


def send():
    s = client("test")
    url = s.create_queue(QueueName="marketplace-events")["QueueUrl"]
    assert url == endpoint + "/111122223333/marketplace-events", url
    assert s.create_queue(QueueName="marketplace-events")["QueueUrl"] == url
    assert s.get_queue_url(QueueName="marketplace-events")["QueueUrl"] == url
    assert s.list_queues()["QueueUrls"] == [url]
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
    except s.exceptions.QueueDoesNotExist:
        pass
    try:
        s.receive_message(QueueUrl=url, MaxNumberOfMessages=11)
        raise SystemExit("MaxNumberOfMessages 11 accepted")
    except botocore.exceptions.ClientError as e:
        assert e.response["Error"]["Code"] == "InvalidParameterValue", e.response

    s.create_queue(QueueName="scratch")
    scratch = s.get_queue_url(QueueName="scratch")["QueueUrl"]
    s.send_message(QueueUrl=scratch, MessageBody="x")
    s.purge_queue(QueueUrl=scratch)
    assert s.receive_message(QueueUrl=scratch).get("Messages", []) == []
    s.delete_queue(QueueUrl=scratch)
    assert s.list_queues()["QueueUrls"] == [url]
    s.send_message(QueueUrl=url, MessageBody="kept across a restart")


def durable():
    s = client("test")
    url = s.get_queue_url(QueueName="marketplace-events")["QueueUrl"]
    m = s.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"][0]
    assert m["Body"] == "kept across a restart", m


{"send": send, "durable": durable}[sys.argv[1]]()
print("OK")
