package meterd.conformance;

import static meterd.conformance.Main.check;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4FamilyHttpSigner;
import software.amazon.awssdk.services.sqs.auth.scheme.SqsAuthSchemeProvider;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.SqsClientBuilder;
import software.amazon.awssdk.services.sqs.model.BatchEntryIdsNotDistinctException;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.MessageAttributeValue;
import software.amazon.awssdk.services.sqs.model.MessageSystemAttributeName;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;
import software.amazon.awssdk.services.sqs.model.QueueDoesNotExistException;
import software.amazon.awssdk.services.sqs.model.ReceiptHandleIsInvalidException;
import software.amazon.awssdk.services.sqs.model.ReceiveMessageResponse;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchRequestEntry;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchResponse;
import software.amazon.awssdk.services.sqs.model.SendMessageResponse;
import software.amazon.awssdk.services.sqs.model.SqsException;

/**
 * A consumer of the SQS-compatible queues written with the Java SDK v2
 * (software.amazon.awssdk:sqs, awsJson1_0), the endpoint taken from
 * AWS_ENDPOINT_URL_SQS as an unmodified consumer's would be, and once from
 * endpointOverride. The SDK itself checks MD5OfMessageBody and
 * MD5OfMessageAttributes of what it sends and receives. Over HTTPS the
 * trust store is the JVM's (javax.net.ssl.trustStore), as a Java user
 * trusts a private certificate.
 */
final class V2Sqs {
    private final JsonNode fx;
    private final String endpoint;
    private String url;
    /** The x-amz-content-sha256 of the last request the SDK signed. */
    private volatile String contentSha256;
    /** The attempts of the last client's calls: every transmission counts. */
    private final AtomicInteger attempts = new AtomicInteger();

    V2Sqs(JsonNode fx) {
        this.fx = fx;
        endpoint = System.getenv("AWS_ENDPOINT_URL_SQS");
    }

    private SqsClient client(JsonNode creds, URI override) {
        return client(creds, override, false);
    }

    /**
     * client builds a client with the keys; unsigned turns payload signing
     * off in the SDK's own auth scheme options, as an application does to
     * skip hashing bodies over HTTPS.
     */
    private SqsClient client(JsonNode creds, URI override, boolean unsigned) {
        attempts.set(0);
        ExecutionInterceptor signed = new ExecutionInterceptor() {
            @Override
            public void beforeTransmission(Context.BeforeTransmission context, ExecutionAttributes attributes) {
                contentSha256 = context.httpRequest().firstMatchingHeader("x-amz-content-sha256").orElse("(none)");
                attempts.incrementAndGet();
            }
        };
        SqsClientBuilder b = SqsClient.builder()
                .credentialsProvider(StaticCredentialsProvider.create(
                        AwsBasicCredentials.create(creds.get("key").asText(), creds.get("secret").asText())))
                .overrideConfiguration(c -> c.addExecutionInterceptor(signed));
        if (override != null) {
            b.endpointOverride(override);
        }
        if (unsigned) {
            SqsAuthSchemeProvider schemes = SqsAuthSchemeProvider.defaultProvider();
            b.authSchemeProvider(params -> schemes.resolveAuthScheme(params).stream()
                    .map(o -> o.toBuilder().putSignerProperty(AwsV4FamilyHttpSigner.PAYLOAD_SIGNING_ENABLED, false).build())
                    .toList());
        }
        return b.build();
    }

    private SqsClient seller() {
        return client(fx.get("seller"), null);
    }

    private void createQueue() {
        url = seller().createQueue(r -> r.queueName("java-v2")).queueUrl();
        String want = endpoint + "/" + fx.get("account").asText() + "/java-v2";
        check(url.equals(want), "QueueUrl = " + url + ", want " + want);
    }

    private void longPoll() throws Exception {
        SqsClient c = seller();
        CompletableFuture<ReceiveMessageResponse> received = CompletableFuture.supplyAsync(() -> c.receiveMessage(r -> r
                .queueUrl(url).waitTimeSeconds(20).maxNumberOfMessages(10).messageAttributeNames("All")
                .messageSystemAttributeNames(MessageSystemAttributeName.APPROXIMATE_RECEIVE_COUNT)));
        Map<String, MessageAttributeValue> attrs = Map.of(
                "event", MessageAttributeValue.builder().dataType("String").stringValue("subscribe-success").build(),
                "n", MessageAttributeValue.builder().dataType("Number").stringValue("3").build(),
                "raw", MessageAttributeValue.builder().dataType("Binary").binaryValue(SdkBytes.fromByteArray(new byte[] {0, -1})).build());
        SendMessageResponse sent = c.sendMessage(r -> r.queueUrl(url).messageBody("{\"action\":\"subscribe-success\"}").messageAttributes(attrs));
        List<Message> got = received.get(30, TimeUnit.SECONDS).messages();
        check(got.size() == 1, "ReceiveMessage = " + got + ", want the one message sent");
        Message m = got.get(0);
        check(m.messageId().equals(sent.messageId()) && m.body().equals("{\"action\":\"subscribe-success\"}")
                && "1".equals(m.attributesAsStrings().get("ApproximateReceiveCount")) && m.messageAttributes().equals(attrs),
                "message = " + m + ", want id " + sent.messageId() + ", the body and attributes sent, receive count 1");
        c.deleteMessage(r -> r.queueUrl(url).receiptHandle(m.receiptHandle()));
        Map<QueueAttributeName, String> a = c.getQueueAttributes(r -> r.queueUrl(url).attributeNames(
                QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES, QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE)).attributes();
        check("0".equals(a.get(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES))
                && "0".equals(a.get(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE)), "attributes after the delete = " + a);
    }

    /** expect runs fn and checks that it throws type with error code code and status. */
    private static SqsException expect(Main.Body fn, Class<? extends SqsException> type, String code, int status) throws Exception {
        try {
            fn.run();
        } catch (SqsException e) {
            check(type.isInstance(e), "threw " + e.getClass().getName() + " (" + e.awsErrorDetails().errorCode() + "), want " + type.getName());
            check(code.equals(e.awsErrorDetails().errorCode()), "errorCode() = " + e.awsErrorDetails().errorCode() + ", want " + code);
            check(e.statusCode() == status, "statusCode() = " + e.statusCode() + ", want " + status);
            check(e.awsErrorDetails().errorMessage() != null && !e.awsErrorDetails().errorMessage().isEmpty(), code + " has no message");
            return e;
        }
        throw new Main.Failure("call succeeded, want " + code);
    }

    private void batches() throws Exception {
        SendMessageBatchResponse out = seller().sendMessageBatch(r -> r.queueUrl(url).entries(
                SendMessageBatchRequestEntry.builder().id("ok").messageBody("one").build(),
                SendMessageBatchRequestEntry.builder().id("bad").messageBody("two").messageAttributes(Map.of("AWS.reserved",
                        MessageAttributeValue.builder().dataType("String").stringValue("v").build())).build()));
        check(out.successful().size() == 1 && out.failed().size() == 1 && out.failed().get(0).id().equals("bad")
                && out.failed().get(0).code().equals("InvalidParameterValue") && out.failed().get(0).senderFault(),
                "SendMessageBatch = " + out + ", want ok sent and bad failed with InvalidParameterValue");
        expect(() -> seller().sendMessageBatch(r -> r.queueUrl(url).entries(
                SendMessageBatchRequestEntry.builder().id("x").messageBody("1").build(),
                SendMessageBatchRequestEntry.builder().id("x").messageBody("2").build())),
                BatchEntryIdsNotDistinctException.class, "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", 400);
    }

    private void override() {
        URI other = URI.create(fx.get("override").asText());
        String got = client(fx.get("seller"), other).getQueueUrl(r -> r.queueName("java-v2")).queueUrl();
        check(got.startsWith(other + "/"), "QueueUrl through endpointOverride " + other + " = " + got + ": the SDK did not reach the override");
    }

    /** contentSha256 checks the last request's x-amz-content-sha256: want, or "hex" for the payload's hash. */
    private void contentSha256(String want) {
        boolean ok = want.equals("hex") ? contentSha256.matches("[0-9a-f]{64}") : contentSha256.equals(want);
        check(ok, "x-amz-content-sha256 = " + contentSha256 + ", want " + want);
    }

    private void payloadSigned() {
        seller().listQueues(r -> {});
        contentSha256("hex");
    }

    /**
     * payloadUnsigned sends with payload signing off: over HTTPS the SDK
     * sends UNSIGNED-PAYLOAD, which meterd accepts as AWS does; over plain
     * HTTP the SDK signs the payload's hash all the same (fixture "want":
     * the header the server must get).
     */
    private void payloadUnsigned() {
        client(fx.get("seller"), null, true).sendMessage(r -> r.queueUrl(url).messageBody("unsigned"));
        contentSha256(fx.get("unsigned").asText());
    }

    /** retried sends one message while a fault rule answers code once: the SDK's retry strategy tries again. */
    private void retried(String code) {
        seller().sendMessage(r -> r.queueUrl(url).messageBody("retried"));
        check(attempts.get() == 2, "attempts = " + attempts.get() + ", want 2 after one " + code);
    }

    Map<String, List<Main.Scenario>> phases() {
        return Main.phases("retry-ThrottlingException", List.of(new Main.Scenario("Retries ThrottlingException retried",
                        () -> retried("ThrottlingException"))),
                "retry-InternalServiceErrorException", List.of(new Main.Scenario("Retries InternalServiceErrorException retried",
                        () -> retried("InternalServiceErrorException"))),
                "noretry-ValidationException", List.of(new Main.Scenario("Retries ValidationException not retried", () -> {
                    expect(() -> seller().sendMessage(r -> r.queueUrl(url).messageBody("refused")), SqsException.class,
                            "ValidationException", 400);
                    check(attempts.get() == 1, "attempts = " + attempts.get() + ", want 1");
                })),
                "main", List.of(
                new Main.Scenario("CreateQueue through AWS_ENDPOINT_URL_SQS", this::createQueue),
                new Main.Scenario("ReceiveMessage long poll, SendMessage with attributes, DeleteMessage", this::longPoll),
                new Main.Scenario("GetQueueUrl QueueDoesNotExistException", () -> expect(
                        () -> seller().getQueueUrl(r -> r.queueName("no-such-queue")), QueueDoesNotExistException.class,
                        "AWS.SimpleQueueService.NonExistentQueue", 400)),
                new Main.Scenario("DeleteMessage ReceiptHandleIsInvalidException", () -> expect(
                        () -> seller().deleteMessage(r -> r.queueUrl(url).receiptHandle("garbage")), ReceiptHandleIsInvalidException.class,
                        "ReceiptHandleIsInvalid", 400)),
                new Main.Scenario("SendMessageBatch failed entry and BatchEntryIdsNotDistinctException", this::batches),
                new Main.Scenario("another account's key AccessDeniedException", () -> expect(
                        () -> client(fx.get("other"), null).receiveMessage(r -> r.queueUrl(url)), SqsException.class,
                        "AccessDeniedException", 403)),
                new Main.Scenario("endpointOverride", this::override),
                new Main.Scenario("payload signed by default", this::payloadSigned),
                new Main.Scenario("payload signing off: UNSIGNED-PAYLOAD", this::payloadUnsigned)));
    }
}
