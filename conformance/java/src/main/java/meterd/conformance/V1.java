package meterd.conformance;

import com.amazonaws.AmazonServiceException;
import com.amazonaws.auth.AWSStaticCredentialsProvider;
import com.amazonaws.auth.BasicAWSCredentials;
import com.amazonaws.client.builder.AwsClientBuilder;
import com.amazonaws.client.builder.AwsClientBuilder.EndpointConfiguration;
import com.amazonaws.handlers.HandlerBeforeAttemptContext;
import com.amazonaws.handlers.RequestHandler2;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/** What the Java SDK v1 drivers share: building a client, checking errors. */
final class V1 {
    private V1() {}

    /** Counts the SDK's attempts of the calls of one client. */
    static final class Attempts extends RequestHandler2 {
        final AtomicInteger n = new AtomicInteger();

        @Override
        public void beforeAttempt(HandlerBeforeAttemptContext context) {
            n.incrementAndGet();
        }
    }

    /**
     * configure points a builder at the fixture's endpoint with
     * withEndpointConfiguration (v1 predates AWS_ENDPOINT_URL_*), with the
     * given keys, signing for region, attempts counted.
     */
    static <B extends AwsClientBuilder<B, ?>> B configure(B b, JsonNode fx, JsonNode creds, String region, Attempts attempts) {
        return b.withEndpointConfiguration(new EndpointConfiguration(fx.get("endpoint").asText(), region))
                .withCredentials(new AWSStaticCredentialsProvider(
                        new BasicAWSCredentials(creds.get("key").asText(), creds.get("secret").asText())))
                .withRequestHandlers(attempts);
    }

    /**
     * expectError runs fn and checks that it throws the error code as a Java
     * user sees it: getErrorCode(), the model package's exception class when
     * the model has one, and the number of attempts of the client fn used
     * (counted, read after fn) when attempts is not null.
     */
    static AmazonServiceException expectError(Main.Body fn, String modelPackage, String code, Supplier<Attempts> counted,
            Integer attempts)
            throws Exception {
        try {
            fn.run();
        } catch (AmazonServiceException e) {
            Main.check(code.equals(e.getErrorCode()),
                    "error code = " + e.getErrorCode() + " (" + e.getErrorMessage() + "), want " + code);
            Class<?> modeled = null;
            try {
                modeled = Class.forName(modelPackage + "." + code);
            } catch (ClassNotFoundException notModeled) {
                // errors outside the model (InvalidSignatureException, ...) are AmazonServiceException
            }
            Main.check(modeled == null || modeled.isInstance(e),
                    code + " is thrown as " + e.getClass().getName() + ", not as its model class " + modelPackage + "." + code);
            Main.check(e.getErrorMessage() != null && !e.getErrorMessage().isEmpty(), code + " has no message");
            if (attempts != null) {
                Main.check(counted.get().n.get() == attempts, "attempts = " + counted.get().n.get() + ", want " + attempts);
            }
            return e;
        }
        throw new Main.Failure("call succeeded, want " + code);
    }
}
