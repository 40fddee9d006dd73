import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

public class LegacyClient {
    // encryptedData, legacy form: the vendor guide's code without its
    // .substring(0, 184), so the 16-byte tag stays on the end.
    public static String encryptDataLegacy(String data, String publicKey, String privateKey) throws Exception {
        byte[] iv = publicKey.substring(0, 24).getBytes(StandardCharsets.UTF_8);
        Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
        cipher.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(HexFormat.of().parseHex(privateKey), "AES"),
                new GCMParameterSpec(128, iv));
        byte[] sealed = cipher.doFinal(data.getBytes(StandardCharsets.UTF_8)); // ciphertext | tag
        return HexFormat.of().formatHex(sealed);
    }

    // java LegacyClient '{"verification_id":"64c262e079e46e716f303690"}' ...
    public static void main(String[] args) throws Exception {
        for (String data : args) {
            System.out.println(encryptDataLegacy(data, System.getenv("PUBLIC_KEY"), System.getenv("PRIVATE_KEY")));
        }
    }
}
