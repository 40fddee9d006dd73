    const data = JSON.stringify({"verification_id": "64c262e079e46e716f303690"})
    function encrptData(data: string){
        const algorithm = "aes-256-gcm";
        const publicKey = "f9b1e5aa289929cefdf65449ebfa81bcd7bfad488b14a39c5381bb208128ed20".substring(0, 24);
        const privateKey = Buffer.from("c2c30795e9d5e2604c09e869ee9bd5d146b42cb235aaa65fbcb9043aae305efe", 'hex');
        const cipher = crypto.createCipheriv(algorithm, privateKey, publicKey);
        let enc = cipher.update(data, 'utf8', 'hex');
        enc += cipher.final('hex');
        return enc;
    }
