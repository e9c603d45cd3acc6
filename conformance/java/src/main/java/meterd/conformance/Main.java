package meterd.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The Java drivers of the meterd conformance suite: {@code java
 * meterd.conformance.Main DRIVER}, the fixture in CONFORMANCE_FIXTURE, the
 * phases to run on stdin, one a line; each scenario prints one JSON result
 * line and each phase ends with {"done": phase}, as the other clients'
 * drivers do.
 */
public final class Main {
    static final ObjectMapper JSON = new ObjectMapper();

    /** A scenario's failed expectation, reported as its detail. */
    static final class Failure extends RuntimeException {
        Failure(String detail) {
            super(detail);
        }
    }

    /** The body of one scenario. */
    interface Body {
        void run() throws Exception;
    }

    /** A named scenario. */
    record Scenario(String name, Body body) {}

    static void check(boolean cond, String detail) {
        if (!cond) {
            throw new Failure(detail);
        }
    }

    public static void main(String[] args) throws Exception {
        JsonNode fx = JSON.readTree(System.getenv("CONFORMANCE_FIXTURE"));
        Map<String, List<Scenario>> phases = switch (args.length == 1 ? args[0] : "") {
            case "v1-metering" -> new V1Metering(fx).phases();
            case "v1-entitlement" -> new V1Entitlement(fx).phases();
            case "v2-sqs" -> new V2Sqs(fx).phases();
            default -> throw new IllegalArgumentException("usage: Main v1-metering|v1-entitlement|v2-sqs");
        };
        String client = fx.get("client").asText();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = in.readLine()) != null; ) {
            String phase = line.trim();
            for (Scenario sc : phases.getOrDefault(phase, List.of())) {
                ObjectNode r = JSON.createObjectNode().put("client", client).put("scenario", sc.name());
                try {
                    sc.body().run();
                    r.put("ok", true).put("detail", "");
                } catch (Failure f) {
                    r.put("ok", false).put("detail", f.getMessage());
                } catch (Exception e) {
                    r.put("ok", false).put("detail", e.getClass().getName() + ": " + e.getMessage());
                }
                System.out.println(JSON.writeValueAsString(r));
            }
            System.out.println(JSON.writeValueAsString(Map.of("done", phase)));
            System.out.flush();
        }
    }

    /** phases builds a phase table in the order given. */
    static Map<String, List<Scenario>> phases(Object... kv) {
        Map<String, List<Scenario>> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            @SuppressWarnings("unchecked")
            List<Scenario> l = (List<Scenario>) kv[i + 1];
            m.put((String) kv[i], l);
        }
        return m;
    }
}
