package meterd.conformance;

import static meterd.conformance.Main.check;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.Map;

/** Verifies RegisterUsage's PS256 signature with the JDK alone, as a Java buyer would. */
final class JWS {
    private JWS() {}

    static void verify(String token, String pem, Map<String, Object> want) throws Exception {
        String[] parts = token.split("\\.");
        check(parts.length == 3, "the signature is not a compact JWS");
        Base64.Decoder b64 = Base64.getUrlDecoder();
        JsonNode head = Main.JSON.readTree(b64.decode(parts[0]));
        check("PS256".equals(head.path("alg").asText()), "header alg = " + head.path("alg") + ", want PS256");
        String der = pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
        PublicKey key = KeyFactory.getInstance("RSA").generatePublic(new X509EncodedKeySpec(Base64.getDecoder().decode(der)));
        Signature s = Signature.getInstance("RSASSA-PSS");
        s.setParameter(new PSSParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA256, 32, 1));
        s.initVerify(key);
        s.update((parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII));
        check(s.verify(b64.decode(parts[2])), "the PS256 signature does not verify with the public key");
        JsonNode claims = Main.JSON.readTree(b64.decode(parts[1]));
        for (Map.Entry<String, Object> w : want.entrySet()) {
            JsonNode got = claims.path(w.getKey());
            boolean same = w.getValue() instanceof Integer i ? got.isInt() && got.asInt() == i : got.asText().equals(w.getValue());
            check(same, "claim " + w.getKey() + " = " + got + ", want " + w.getValue());
        }
        check(claims.path("iat").isIntegralNumber(), "claim iat = " + claims.path("iat") + ", want epoch seconds");
    }
}
