const crypto = require('crypto');

// encryptedData, v2 form: "v2:" + base64url(nonce | ciphertext | tag).
function encryptDataV2(data, publicKey, privateKey) {
  // = HKDF-SHA256-Expand(privateKey, "visage/encryptedData/v2", 32)
  const key = crypto.createHmac('sha256', Buffer.from(privateKey, 'hex'))
    .update('visage/encryptedData/v2\x01')
    .digest();
  const nonce = crypto.randomBytes(12); // fresh for every payload
  const cipher = crypto.createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(publicKey, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(data, 'utf8'), cipher.final()]);
  return 'v2:' + Buffer.concat([nonce, ciphertext, cipher.getAuthTag()]).toString('base64url');
}

// node v2.js '{"verification_id":"64c262e079e46e716f303690"}' ...
for (const data of process.argv.slice(2)) {
  console.log(encryptDataV2(data, process.env.PUBLIC_KEY, process.env.PRIVATE_KEY));
}
