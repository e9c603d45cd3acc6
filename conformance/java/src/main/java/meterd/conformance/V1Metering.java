package meterd.conformance;

import static meterd.conformance.Main.check;

import com.amazonaws.services.marketplacemetering.AWSMarketplaceMetering;
import com.amazonaws.services.marketplacemetering.AWSMarketplaceMeteringClientBuilder;
import com.amazonaws.services.marketplacemetering.model.BatchMeterUsageRequest;
import com.amazonaws.services.marketplacemetering.model.BatchMeterUsageResult;
import com.amazonaws.services.marketplacemetering.model.MeterUsageRequest;
import com.amazonaws.services.marketplacemetering.model.MeterUsageResult;
import com.amazonaws.services.marketplacemetering.model.RegisterUsageRequest;
import com.amazonaws.services.marketplacemetering.model.ResolveCustomerRequest;
import com.amazonaws.services.marketplacemetering.model.ResolveCustomerResult;
import com.amazonaws.services.marketplacemetering.model.Tag;
import com.amazonaws.services.marketplacemetering.model.UsageAllocation;
import com.amazonaws.services.marketplacemetering.model.UsageRecord;
import com.amazonaws.services.marketplacemetering.model.UsageRecordResult;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;

/**
 * The Metering scenarios with the Java SDK v1
 * (aws-java-sdk-marketplacemeteringservice), whose model predates
 * CustomerAWSAccountId and ClientToken: the "old" scenarios.
 */
final class V1Metering {
    private static final String MODEL = "com.amazonaws.services.marketplacemetering.model";

    private final JsonNode fx;
    private final String saas;
    private final String container;
    private final long ts;
    private V1.Attempts attempts;
    private String firstId;

    V1Metering(JsonNode fx) {
        this.fx = fx;
        saas = fx.get("saas").asText();
        container = fx.get("container").asText();
        ts = fx.get("ts").asLong();
    }

    /** client builds a client with the keys, its attempts counted afresh. */
    private AWSMarketplaceMetering client(JsonNode creds) {
        attempts = new V1.Attempts();
        return V1.configure(AWSMarketplaceMeteringClientBuilder.standard(), fx, creds, "us-east-1", attempts).build();
    }

    private static UsageRecord record(String customer, String dimension, int quantity, long ts) {
        return new UsageRecord().withCustomerIdentifier(customer).withDimension(dimension)
                .withQuantity(quantity).withTimestamp(new Date(ts * 1000));
    }

    private BatchMeterUsageResult batch(JsonNode creds, String product, UsageRecord... records) {
        return client(creds).batchMeterUsage(new BatchMeterUsageRequest().withProductCode(product).withUsageRecords(records));
    }

    private MeterUsageResult meter(int quantity, boolean dryRun) {
        return client(fx.get("buyer")).meterUsage(new MeterUsageRequest().withProductCode(container)
                .withTimestamp(new Date(ts * 1000)).withUsageDimension("vcpu_hours").withUsageQuantity(quantity)
                .withDryRun(dryRun ? Boolean.TRUE : null));
    }

    private void expectError(Main.Body fn, String code) throws Exception {
        V1.expectError(fn, MODEL, code, () -> attempts, null);
    }

    private static UsageRecordResult only(BatchMeterUsageResult out) {
        check(out.getResults().size() == 1, "results = " + out.getResults() + ", want one");
        return out.getResults().get(0);
    }

    private void success() {
        BatchMeterUsageResult out = batch(fx.get("seller"), saas, record("cust-a", "requests", 3, ts));
        UsageRecordResult r = only(out);
        check("Success".equals(r.getStatus()), "status = " + r.getStatus() + ", want Success");
        check(r.getMeteringRecordId() != null, "no MeteringRecordId");
        check(out.getUnprocessedRecords().isEmpty(), "UnprocessedRecords = " + out.getUnprocessedRecords() + ", want []");
        check(r.getUsageRecord().getTimestamp().getTime() == ts * 1000, "echoed Timestamp = " + r.getUsageRecord().getTimestamp());
        firstId = r.getMeteringRecordId();
    }

    private void identicalRetry() {
        UsageRecordResult r = only(batch(fx.get("seller"), saas, record("cust-a", "requests", 3, ts)));
        check("Success".equals(r.getStatus()) && r.getMeteringRecordId().equals(firstId),
                "got " + r.getStatus() + " " + r.getMeteringRecordId() + ", want Success " + firstId);
    }

    private void status(String customer, int quantity, String want) {
        UsageRecordResult r = only(batch(fx.get("seller"), saas, record(customer, "requests", quantity, ts)));
        check(want.equals(r.getStatus()), "status = " + r.getStatus() + ", want " + want);
    }

    private void allocations() {
        UsageRecord rec = record("cust-a", "storage_gb", 10, ts).withUsageAllocations(
                new UsageAllocation().withAllocatedUsageQuantity(6)
                        .withTags(new Tag().withKey("env").withValue("prod"), new Tag().withKey("team").withValue("a")),
                new UsageAllocation().withAllocatedUsageQuantity(4));
        UsageRecordResult r = only(batch(fx.get("seller"), saas, rec));
        check("Success".equals(r.getStatus()), "status = " + r.getStatus() + ", want Success");
        List<UsageAllocation> got = r.getUsageRecord().getUsageAllocations();
        check(got != null && got.size() == 2 && "env".equals(got.get(0).getTags().get(0).getKey())
                && got.get(0).getAllocatedUsageQuantity() == 6, "echoed allocations = " + got);
    }

    private void tooMany() throws Exception {
        UsageRecord[] records = new UsageRecord[26];
        for (int i = 0; i < records.length; i++) {
            records[i] = record("cust-a", "requests", 1, ts - 3600 - i);
        }
        expectError(() -> batch(fx.get("seller"), saas, records), "ValidationException");
    }

    private void wrongSecret() throws Exception {
        ObjectNode wrong = ((ObjectNode) fx.get("seller").deepCopy()).put("secret", "not-the-secret");
        expectError(() -> batch(wrong, saas, record("cust-a", "requests", 1, ts)), "InvalidSignatureException");
    }

    private void meterTwice() {
        String a = meter(1, false).getMeteringRecordId();
        String b = meter(1, false).getMeteringRecordId();
        check(a != null && a.equals(b), "identical MeterUsage gave " + a + " then " + b);
    }

    private void registerUsage() throws Exception {
        String nonce = "nonce-" + fx.get("client").asText();
        String sig = client(fx.get("buyer")).registerUsage(new RegisterUsageRequest().withProductCode(container)
                .withPublicKeyVersion(1).withNonce(nonce)).getSignature();
        JWS.verify(sig, fx.get("public_key_pem").asText(), Map.of("ProductCode", container, "PublicKeyVersion", 1, "Nonce", nonce));
    }

    private ResolveCustomerResult resolve(String token) {
        return client(fx.get("seller")).resolveCustomer(new ResolveCustomerRequest().withRegistrationToken(token));
    }

    private void resolveValid() {
        ResolveCustomerResult out = resolve(fx.get("token").asText());
        check("cust-a".equals(out.getCustomerIdentifier()) && saas.equals(out.getProductCode())
                && "222233334444".equals(out.getCustomerAWSAccountId()), "ResolveCustomer = " + out);
    }

    private UsageRecord retryRecord() {
        return record("cust-b", "storage_gb", 1, ts - 2 * 3600);
    }

    private void retried(String code) {
        UsageRecordResult r = only(batch(fx.get("seller"), saas, retryRecord()));
        check("Success".equals(r.getStatus()), "status = " + r.getStatus() + ", want Success");
        check(attempts.n.get() == 2, "attempts = " + attempts.n.get() + ", want 2 after one " + code);
    }

    Map<String, List<Main.Scenario>> phases() {
        List<Main.Scenario> main = new ArrayList<>(List.of(
                new Main.Scenario("BatchMeterUsage success", this::success),
                new Main.Scenario("BatchMeterUsage identical retry", this::identicalRetry),
                new Main.Scenario("BatchMeterUsage DuplicateRecord", () -> status("cust-a", 4, "DuplicateRecord")),
                new Main.Scenario("BatchMeterUsage CustomerNotSubscribed", () -> status("cust-gone", 1, "CustomerNotSubscribed")),
                new Main.Scenario("BatchMeterUsage allocations with tags", this::allocations),
                new Main.Scenario("BatchMeterUsage TimestampOutOfBoundsException", () -> expectError(
                        () -> batch(fx.get("seller"), saas, record("cust-a", "requests", 1, ts - 7 * 3600)),
                        "TimestampOutOfBoundsException")),
                new Main.Scenario("BatchMeterUsage InvalidProductCodeException", () -> expectError(
                        () -> batch(fx.get("seller"), "no-such-product", record("cust-a", "requests", 1, ts)),
                        "InvalidProductCodeException")),
                new Main.Scenario("BatchMeterUsage InvalidUsageDimensionException", () -> expectError(
                        () -> batch(fx.get("seller"), saas, record("cust-a", "no_such_dimension", 1, ts)),
                        "InvalidUsageDimensionException")),
                new Main.Scenario("BatchMeterUsage 26 records ValidationException", this::tooMany),
                new Main.Scenario("BatchMeterUsage wrong secret InvalidSignatureException", this::wrongSecret),
                new Main.Scenario("MeterUsage success", this::meterTwice),
                new Main.Scenario("MeterUsage DryRunOperation", () -> expectError(() -> meter(1, true), "DryRunOperation")),
                new Main.Scenario("MeterUsage DuplicateRequestException", () -> expectError(() -> meter(2, false), "DuplicateRequestException")),
                new Main.Scenario("RegisterUsage signature verified", this::registerUsage),
                new Main.Scenario("ResolveCustomer valid", this::resolveValid),
                new Main.Scenario("ResolveCustomer InvalidTokenException", () -> expectError(
                        () -> resolve("not-a-registration-token"), "InvalidTokenException"))));
        List<Main.Scenario> expired = List.of(new Main.Scenario("ResolveCustomer ExpiredTokenException",
                () -> expectError(() -> resolve(fx.get("expired_token").asText()), "ExpiredTokenException")));
        return Main.phases(
                "main", main,
                "expired", expired,
                "retry-ThrottlingException", List.of(new Main.Scenario("Retries ThrottlingException retried",
                        () -> retried("ThrottlingException"))),
                "retry-InternalServiceErrorException", List.of(new Main.Scenario("Retries InternalServiceErrorException retried",
                        () -> retried("InternalServiceErrorException"))),
                "noretry-InvalidTagException", List.of(new Main.Scenario("Retries InvalidTagException not retried",
                        () -> V1.expectError(() -> batch(fx.get("seller"), saas, retryRecord()), MODEL, "InvalidTagException",
                                () -> attempts, 1))));
    }
}
