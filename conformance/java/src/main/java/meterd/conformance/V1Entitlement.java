package meterd.conformance;

import static meterd.conformance.Main.check;

import com.amazonaws.AmazonServiceException;
import com.amazonaws.services.marketplaceentitlement.AWSMarketplaceEntitlement;
import com.amazonaws.services.marketplaceentitlement.AWSMarketplaceEntitlementClientBuilder;
import com.amazonaws.services.marketplaceentitlement.model.Entitlement;
import com.amazonaws.services.marketplaceentitlement.model.EntitlementValue;
import com.amazonaws.services.marketplaceentitlement.model.GetEntitlementsRequest;
import com.amazonaws.services.marketplaceentitlement.model.GetEntitlementsResult;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The Entitlement Service's scenarios with the Java SDK v1
 * (aws-java-sdk-marketplaceentitlement), awsJson1_1; its model predates
 * CustomerAWSAccountId and LicenseArn.
 */
final class V1Entitlement {
    private static final String MODEL = "com.amazonaws.services.marketplaceentitlement.model";

    private final JsonNode fx;
    private final String product;
    private final List<JsonNode> want = new ArrayList<>();
    private V1.Attempts attempts;

    V1Entitlement(JsonNode fx) {
        this.fx = fx;
        product = fx.get("product").asText();
        for (JsonNode e : fx.get("entitlements")) {
            ObjectNode row = e.deepCopy();
            row.remove("CustomerAWSAccountId");
            row.remove("LicenseArn");
            want.add(row);
        }
    }

    private GetEntitlementsResult get(JsonNode creds, String region, GetEntitlementsRequest req) {
        attempts = new V1.Attempts();
        AWSMarketplaceEntitlement c = V1.configure(AWSMarketplaceEntitlementClientBuilder.standard(), fx, creds, region, attempts).build();
        return c.getEntitlements(req.withProductCode(product));
    }

    private GetEntitlementsResult get(Map<String, List<String>> filter) {
        return get(fx.get("seller"), "us-east-1", new GetEntitlementsRequest().withFilter(filter));
    }

    /** row is an entitlement as the fixture writes it. */
    private static ObjectNode row(Entitlement e) {
        ObjectNode r = Main.JSON.createObjectNode().put("CustomerIdentifier", e.getCustomerIdentifier())
                .put("Dimension", e.getDimension()).put("ProductCode", e.getProductCode());
        EntitlementValue v = e.getValue();
        ObjectNode value = r.putObject("Value");
        if (v.getIntegerValue() != null) {
            value.put("IntegerValue", v.getIntegerValue());
        }
        if (v.getBooleanValue() != null) {
            value.put("BooleanValue", v.getBooleanValue());
        }
        if (v.getDoubleValue() != null) {
            value.put("DoubleValue", v.getDoubleValue());
        }
        if (v.getStringValue() != null) {
            value.put("StringValue", v.getStringValue());
        }
        check(value.size() == 1, "Value " + v + ", want exactly one member");
        r.put("ExpirationDate", e.getExpirationDate().getTime() / 1000.0);
        return r;
    }

    private static void same(List<Entitlement> got, List<JsonNode> expected, String what) {
        ArrayNode g = Main.JSON.createArrayNode();
        got.forEach(e -> g.add(row(e)));
        ArrayNode w = Main.JSON.createArrayNode();
        expected.forEach(w::add);
        check(g.equals(w), what + " = " + g + ", want " + w);
    }

    private List<JsonNode> of(List<String> customers, List<String> dimensions) {
        List<JsonNode> out = new ArrayList<>();
        for (JsonNode e : want) {
            if ((customers == null || customers.contains(e.get("CustomerIdentifier").asText()))
                    && (dimensions == null || dimensions.contains(e.get("Dimension").asText()))) {
                out.add(e);
            }
        }
        return out;
    }

    private String first() {
        return want.get(0).get("CustomerIdentifier").asText();
    }

    private String second() {
        return want.get(want.size() - 1).get("CustomerIdentifier").asText();
    }

    private AmazonServiceException expectError(Main.Body fn) throws Exception {
        return V1.expectError(fn, MODEL, "InvalidParameterException", () -> attempts, null);
    }

    Map<String, List<Main.Scenario>> phases() {
        List<Main.Scenario> main = List.of(
                new Main.Scenario("GetEntitlements all", () -> {
                    GetEntitlementsResult out = get(null);
                    check(out.getNextToken() == null, "NextToken " + out.getNextToken() + " on the only page");
                    same(out.getEntitlements(), want, "Entitlements");
                }),
                new Main.Scenario("GetEntitlements CUSTOMER_IDENTIFIER", () -> {
                    List<String> cust = List.of(first());
                    same(get(Map.of("CUSTOMER_IDENTIFIER", cust)).getEntitlements(), of(cust, null), "Entitlements of " + cust);
                }),
                new Main.Scenario("GetEntitlements CUSTOMER_IDENTIFIER and DIMENSION", () -> {
                    List<String> cust = List.of(first(), second());
                    List<String> dim = List.of("seats");
                    same(get(Map.of("CUSTOMER_IDENTIFIER", cust, "DIMENSION", dim)).getEntitlements(), of(cust, dim),
                            "seats of " + cust);
                }),
                new Main.Scenario("GetEntitlements none found", () -> {
                    List<Entitlement> got = get(Map.of("CUSTOMER_IDENTIFIER", List.of("nobody"))).getEntitlements();
                    check(got != null && got.isEmpty(), "Entitlements = " + got + ", want []");
                }),
                new Main.Scenario("GetEntitlements pages of 1", () -> {
                    List<Entitlement> items = new ArrayList<>();
                    String token = null;
                    int pages = 0;
                    do {
                        GetEntitlementsResult out = get(fx.get("seller"), "us-east-1",
                                new GetEntitlementsRequest().withMaxResults(1).withNextToken(token));
                        check(out.getEntitlements().size() <= 1, "a page of " + out.getEntitlements().size() + ", want at most 1");
                        items.addAll(out.getEntitlements());
                        token = out.getNextToken();
                    } while (token != null && ++pages < 100);
                    same(items, want, "the pages joined");
                    check(pages + 1 == want.size(), (pages + 1) + " pages of 1, want " + want.size());
                }),
                new Main.Scenario("GetEntitlements DIMENSION alone InvalidParameterException", () -> {
                    AmazonServiceException e = expectError(() -> get(Map.of("DIMENSION", List.of("seats"))));
                    check(e.getErrorMessage().contains("Invalid filter combination"), "message " + e.getErrorMessage());
                }),
                new Main.Scenario("GetEntitlements forged NextToken InvalidParameterException", () -> expectError(
                        () -> get(fx.get("seller"), "us-east-1", new GetEntitlementsRequest().withNextToken("eyJzIjoiZm9yZ2VkIn0.Zm9yZ2Vk")))),
                new Main.Scenario("GetEntitlements NextToken of another filter InvalidParameterException", () -> {
                    String tok = get(fx.get("seller"), "us-east-1", new GetEntitlementsRequest().withMaxResults(1)).getNextToken();
                    expectError(() -> get(fx.get("seller"), "us-east-1", new GetEntitlementsRequest()
                            .withFilter(Map.of("CUSTOMER_IDENTIFIER", List.of(second()))).withNextToken(tok)));
                }),
                new Main.Scenario("GetEntitlements not the seller InvalidParameterException", () -> expectError(
                        () -> get(fx.get("other"), "us-east-1", new GetEntitlementsRequest()))),
                new Main.Scenario("GetEntitlements eu-west-1 InvalidParameterException", () -> {
                    AmazonServiceException e = expectError(() -> get(fx.get("seller"), "eu-west-1", new GetEntitlementsRequest()));
                    check(e.getErrorMessage().contains("us-east-1"), "message " + e.getErrorMessage());
                }));
        List<Main.Scenario> retry = List.of(new Main.Scenario("Retries ThrottlingException retried", () -> {
            GetEntitlementsResult out = get(Map.of("CUSTOMER_IDENTIFIER", List.of(first())));
            check(!out.getEntitlements().isEmpty(), "no entitlements after the retry");
            check(attempts.n.get() == 2, "attempts = " + attempts.n.get() + ", want 2 after one ThrottlingException");
        }));
        return Main.phases("main", main, "retry-ThrottlingException", retry);
    }
}
