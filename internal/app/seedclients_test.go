package app

// The seed's own Node and Java snippets, run as a partner would run them on
// an integration's keys, against the running server's add-verification and
// get-verification. The snippets are read verbatim from the crypto package's
// testdata; only the keys (and the verification id for get) are swapped in.

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const seedSnippets = "../crypto/testdata/identitygram/seed"

func TestVerificationIdentityGramSeedClients(t *testing.T) {
	node, javac, java := tool(t, "node"), tool(t, "javac"), tool(t, "java")
	s, key, _ := verifyServer(t)
	keys := s.vendorKeys(key)
	tok := s.bearer(key)
	post := func(path, enc string) reply {
		b, _ := json.Marshal(map[string]string{"publicKey": keys.PublicKey, "encryptedData": enc})
		req := s.request("POST", path, "", bytes.NewReader(b), "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		return s.do(req)
	}
	env := []string{"PUBLIC_KEY=" + keys.PublicKey, "PRIVATE_KEY=" + keys.PrivateKey, "LC_ALL=C.UTF-8"}

	// Node, "Add New Verification": no tag on the wire.
	nodeAdd := nodeSnippet(t, "add-verification.js", "2eaf548c6022de5a3293fbfdd595afad04f750d9cc861d9c723229bb34fa679f", "2eaf548c6022de5a3293fbfdd595afad04f750d9cc861d9c723229bb34fa679f")
	r := post("/v2/verification/add-verification", run(t, env, node, nodeAdd))
	data, _ := r.Body["data"].(map[string]any)
	if r.Status != 200 || data["uniqueIdentifier"] != "xxxxxxx-xxxxxxxxx-xxxx" || data["status"] != "Not Started" {
		t.Fatalf("node add-verification: %d %v", r.Status, r.Body)
	}
	id, _ := data["id"].(string)

	// Node, "Get Verification", with the id the server gave.
	nodeGet := nodeSnippet(t, "get-verification.js", "f9b1e5aa289929cefdf65449ebfa81bcd7bfad488b14a39c5381bb208128ed20", "c2c30795e9d5e2604c09e869ee9bd5d146b42cb235aaa65fbcb9043aae305efe",
		[2]string{`"64c262e079e46e716f303690"`, `process.env.VERIFICATION_ID`})
	r = post("/v2/verification/get-verification", run(t, append(env, "VERIFICATION_ID="+id), node, nodeGet))
	if gd, _ := r.Body["data"].(map[string]any); r.Status != 200 || gd["id"] != id {
		t.Fatalf("node get-verification: %d %v", r.Status, r.Body)
	}

	// Java, "Add New Verification": the tag cut off at 184 hex characters.
	dir := t.TempDir()
	src := readSnippet(t, "AddVerification.java")
	src = replaceOnce(t, src, `String publicKey = "2eaf548c6022de5a3293fbfdd595afad04f750d9cc861d9c723229bb34fa679f"`, `String publicKey = System.getenv("PUBLIC_KEY")`)
	src = replaceOnce(t, src, `String privateKeyHex = "2eaf548c6022de5a3293fbfdd595afad04f750d9cc861d9c723229bb34fa679f"`, `String privateKeyHex = System.getenv("PRIVATE_KEY")`)
	if err := os.WriteFile(filepath.Join(dir, "Main.java"), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), javac, "Main.java")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("javac: %v\n%s", err, out)
	}
	enc := runIn(t, dir, env, java, "-XX:TieredStopAtLevel=1", "-cp", ".", "Main")
	r = post("/v2/verification/add-verification", enc)
	if data, _ := r.Body["data"].(map[string]any); r.Status != 200 || data["uniqueIdentifier"] != "1" ||
		data["verificationDetails"].(map[string]any)["firstName"] != "test" {
		t.Fatalf("java add-verification: %d %v", r.Status, r.Body)
	}
}

// nodeSnippet makes a seed snippet runnable, changing only what running it
// takes: require crypto, drop the TypeScript annotation, keys from the
// environment, print the payload.
func nodeSnippet(t *testing.T, file, public, private string, more ...[2]string) string {
	src := readSnippet(t, file)
	for _, m := range more {
		src = replaceOnce(t, src, m[0], m[1])
	}
	src = replaceOnce(t, src, `function encrptData(data: string){`, `function encrptData(data){`)
	src = replaceOnce(t, src, `const publicKey = "`+public+`"`, `const publicKey = process.env.PUBLIC_KEY`)
	src = replaceOnce(t, src, `Buffer.from("`+private+`", 'hex')`, `Buffer.from(process.env.PRIVATE_KEY, 'hex')`)
	dir := t.TempDir()
	path := filepath.Join(dir, "snippet.js")
	if err := os.WriteFile(path, []byte("const crypto = require('crypto');\n"+src+"\nconsole.log(encrptData(data));\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func readSnippet(t *testing.T, file string) string {
	b, err := os.ReadFile(filepath.Join(seedSnippets, file))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func replaceOnce(t *testing.T, s, old, repl string) string {
	t.Helper()
	if strings.Count(s, old) != 1 {
		t.Fatalf("snippet no longer holds %q once", old)
	}
	return strings.Replace(s, old, repl, 1)
}

func run(t *testing.T, env []string, name string, args ...string) string {
	return runIn(t, "", env, name, args...)
}

func runIn(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}

// tool finds a client runtime; missing, it skips loudly, or fails in CI.
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("VISAGE_REQUIRE_FIXTURES") == "1" {
		t.Fatalf("REQUIRED BUT MISSING: %s (scripts/setup-system.sh installs node and a JDK)", name)
	}
	t.Skipf("SKIPPED, MISSING: %s", name)
	return ""
}
