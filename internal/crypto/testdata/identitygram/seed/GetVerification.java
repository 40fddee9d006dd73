    import javax.crypto.Cipher;
    import javax.crypto.SecretKey;
    import javax.crypto.spec.GCMParameterSpec;
    import javax.crypto.spec.SecretKeySpec;
    import java.nio.charset.StandardCharsets;
    import java.util.Base64;

    public class Main {
        public static void main(String[] args) throws Exception {
            String encryptedData = encryptData("test", "testing", "admin@user.com", "1");
            System.out.println(encryptedData);
        }

        public static String encryptData(String verificationId) throws Exception {
            String data = "{\"verification_id\":\""+verificationId+"\"}";
            String algorithm = "AES/GCM/NoPadding";
            String publicKey = "f9b1e5aa289929cefdf65449ebfa81bcd7bfad488b14a39c5381bb208128ed20".substring(0, 24);
            String privateKeyHex = "c2c30795e9d5e2604c09e869ee9bd5d146b42cb235aaa65fbcb9043aae305efe";

            byte[] publicKeyBytes = publicKey.getBytes(StandardCharsets.UTF_8);
            byte[] privateKeyBytes = hexStringToByteArray(privateKeyHex);

            SecretKey secretKey = new SecretKeySpec(privateKeyBytes, "AES");
            Cipher cipher = Cipher.getInstance(algorithm);

            GCMParameterSpec gcmParameterSpec = new GCMParameterSpec(128, publicKeyBytes);
            cipher.init(Cipher.ENCRYPT_MODE, secretKey, gcmParameterSpec);

            byte[] encryptedBytes = cipher.doFinal(data.getBytes(StandardCharsets.UTF_8));

            return bytesToHex(encryptedBytes).substring(0, 184);
        }

        public static byte[] hexStringToByteArray(String hexString) {
            int length = hexString.length();
            byte[] byteArray = new byte[length / 2];
            for (int i = 0; i < length; i += 2) {
                byteArray[i / 2] = (byte) ((Character.digit(hexString.charAt(i), 16) << 4) +
                        Character.digit(hexString.charAt(i + 1), 16));
            }
            return byteArray;
        }

        public static String bytesToHex(byte[] bytes) {
            StringBuilder result = new StringBuilder();
            for (byte aByte : bytes) {
                result.append(String.format("%02x", aByte));
            }
            return result.toString();
        }
    }
