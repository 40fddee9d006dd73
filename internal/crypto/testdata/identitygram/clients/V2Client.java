import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

public class V2Client {
    private static final SecureRandom RANDOM = new SecureRandom();

    // encryptedData, v2 form: "v2:" + base64url(nonce | ciphertext | tag).
    public static String encryptDataV2(String data, String publicKey, String privateKey) throws Exception {
        // = HKDF-SHA256-Expand(privateKey, "visage/encryptedData/v2", 32)
        Mac hmac = Mac.getInstance("HmacSHA256");
        hmac.init(new SecretKeySpec(HexFormat.of().parseHex(privateKey), "HmacSHA256"));
        byte[] key = hmac.doFinal("visage/encryptedData/v2\u0001".getBytes(StandardCharsets.UTF_8));

        byte[] nonce = new byte[12]; // fresh for every payload
        RANDOM.nextBytes(nonce);
        Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
        cipher.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "AES"), new GCMParameterSpec(128, nonce));
        cipher.updateAAD(publicKey.getBytes(StandardCharsets.UTF_8));
        byte[] sealed = cipher.doFinal(data.getBytes(StandardCharsets.UTF_8)); // ciphertext | tag

        byte[] out = ByteBuffer.allocate(nonce.length + sealed.length).put(nonce).put(sealed).array();
        return "v2:" + Base64.getUrlEncoder().withoutPadding().encodeToString(out);
    }

    // java V2Client '{"verification_id":"64c262e079e46e716f303690"}' ...
    public static void main(String[] args) throws Exception {
        for (String data : args) {
            System.out.println(encryptDataV2(data, System.getenv("PUBLIC_KEY"), System.getenv("PRIVATE_KEY")));
        }
    }
}
