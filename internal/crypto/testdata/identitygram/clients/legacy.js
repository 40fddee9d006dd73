const crypto = require('crypto');

// encryptedData, legacy form, as the vendor guide builds it: no tag.
function encryptDataLegacy(data, publicKey, privateKey) {
  const iv = publicKey.substring(0, 24);
  const cipher = crypto.createCipheriv('aes-256-gcm', Buffer.from(privateKey, 'hex'), iv);
  let enc = cipher.update(data, 'utf8', 'hex');
  enc += cipher.final('hex');
  return enc;
}

// node legacy.js '{"verification_id":"64c262e079e46e716f303690"}' ...
for (const data of process.argv.slice(2)) {
  console.log(encryptDataLegacy(data, process.env.PUBLIC_KEY, process.env.PRIVATE_KEY));
}
