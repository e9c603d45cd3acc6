// The JS SDK v3 SQS consumer: node js/sqs.mjs, the endpoint from
// AWS_ENDPOINT_URL_SQS (awsJson1_0). A long-polling receive gets the
// message sent while it waits, which it deletes; the errors are the SDK's
// types. Exits non-zero naming the first check that failed.
import {
  SQSClient, CreateQueueCommand, SendMessageCommand, ReceiveMessageCommand, DeleteMessageCommand,
  GetQueueAttributesCommand, GetQueueUrlCommand, QueueDoesNotExist, ReceiptHandleIsInvalid,
} from "@aws-sdk/client-sqs";

function client(key) {
  return new SQSClient({ region: "us-east-1", credentials: { accessKeyId: key, secretAccessKey: key } });
}

function check(cond, detail) {
  if (!cond) throw new Error(detail);
}

async function expectError(promise, check1) {
  try {
    await promise;
  } catch (e) {
    check1(e);
    return;
  }
  throw new Error("call succeeded, want an error");
}

const sqs = client("test");
const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: "js-consumer" }));
check(QueueUrl === `${process.env.AWS_ENDPOINT_URL_SQS}/111122223333/js-consumer`, `QueueUrl ${QueueUrl}`);

const polling = sqs.send(new ReceiveMessageCommand({
  QueueUrl, WaitTimeSeconds: 20, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ["All"],
}));
const sent = await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: '{"action":"subscribe-success"}' }));
// The SDK checks MD5OfBody against the body itself (its md5 middleware).
const { Messages } = await polling;
check(Messages?.length === 1 && Messages[0].MessageId === sent.MessageId && Messages[0].Body === '{"action":"subscribe-success"}',
  `received ${JSON.stringify(Messages)}`);
check(Messages[0].Attributes.ApproximateReceiveCount === "1", `attributes ${JSON.stringify(Messages[0].Attributes)}`);
await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: Messages[0].ReceiptHandle }));
const left = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] }));
check(left.Attributes.ApproximateNumberOfMessages === "0" && left.Attributes.ApproximateNumberOfMessagesNotVisible === "0",
  `after the delete ${JSON.stringify(left.Attributes)}`);

await expectError(sqs.send(new GetQueueUrlCommand({ QueueName: "no-such-queue" })),
  (e) => check(e instanceof QueueDoesNotExist && e.Code === "AWS.SimpleQueueService.NonExistentQueue" && e.Type === "Sender",
    `GetQueueUrl: ${e.name} ${e.Code} ${e.Type} is not QueueDoesNotExist coded AWS.SimpleQueueService.NonExistentQueue`));
await expectError(sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: "garbage" })),
  (e) => check(e instanceof ReceiptHandleIsInvalid, `DeleteMessage: ${e.name} is not ReceiptHandleIsInvalid`));
await expectError(client("buyer").send(new ReceiveMessageCommand({ QueueUrl })),
  (e) => check(e.name === "AccessDeniedException" && e.$metadata.httpStatusCode === 403, `another account: ${e.name} ${e.$metadata.httpStatusCode}`));
console.log("sqs.mjs: ok");

// With SNS_QUEUE set (a queue subscribed to the demo product's subscription
// topic), the consumer long-polls it, says "polling" for the test to make a
// purchase, and receives and deletes the SNS envelope of subscribe-success.
if (process.env.SNS_QUEUE) {
  const url = `${process.env.AWS_ENDPOINT_URL_SQS}/111122223333/${process.env.SNS_QUEUE}`;
  const waiting = sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 20 }));
  console.log("polling");
  const got = await waiting;
  check(got.Messages?.length === 1, `SNS queue: ${JSON.stringify(got)}`);
  const envelope = JSON.parse(got.Messages[0].Body);
  const msg = JSON.parse(envelope.Message);
  check(envelope.Type === "Notification" && msg.action === "subscribe-success" && msg["product-code"] === "demo-product",
    `SNS message ${got.Messages[0].Body}`);
  await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: got.Messages[0].ReceiptHandle }));
  console.log(`subscribe-success ${msg["customer-identifier"]}`);
}
