    const data = JSON.stringify({"first_name": "John", "last_name": "Doe", "email": "a@a.com", "unique_identifier": "xxxxxxx-xxxxxxxxx-xxxx"})
    function encrptData(data: string){
        const algorithm = "aes-256-gcm";
        const publicKey = "2eaf548c6022de5a3293fbfdd595afad04f750d9cc861d9c723229bb34fa679f".substring(0, 24);
        const privateKey = Buffer.from("2eaf548c6022de5a3293fbfdd595afad04f750d9cc861d9c723229bb34fa679f", 'hex');
        const cipher = crypto.createCipheriv(algorithm, privateKey, publicKey);
        let enc = cipher.update(data, 'utf8', 'hex');
        enc += cipher.final('hex');
        return enc;
    }
