package app

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/config"
	"github.com/visagehq/visage/internal/testenv"
)

// hookSink collects webhooks by event header.
type hookSink struct {
	srv  *httptest.Server
	got  chan delivered
	seen []delivered
}

type delivered struct {
	event, ua string
	body      map[string]any
}

func newHookSink(t *testing.T) *hookSink {
	h := &hookSink{got: make(chan delivered, 64)}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		h.got <- delivered{event: r.Header.Get("X-Visage-Event"), ua: r.Header.Get("User-Agent"), body: m}
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// wait returns the next delivery of event (within 10 s).
func (h *hookSink) wait(t *testing.T, event string, match func(map[string]any) bool) delivered {
	t.Helper()
	for _, d := range h.seen {
		if d.event == event && match(d.body) {
			return d
		}
	}
	deadline := time.After(15 * time.Second)
	for {
		select {
		case d := <-h.got:
			h.seen = append(h.seen, d)
			if d.event == event && match(d.body) {
				return d
			}
		case <-deadline:
			t.Fatalf("no %s webhook (seen %d others)", event, len(h.seen))
		}
	}
}

func verifyServer(t *testing.T) (*server, string, *hookSink) {
	s := startServer(t, "", "", func(c *config.Server) {
		c.WebhookAllowPrivate = true
		c.WebhookPoll, c.WebhookTimeout, c.WebhookLease, c.WebhookMaxAttempts = 200*time.Millisecond, 5*time.Second, 10*time.Second, 3
		c.OCRLegacyData = testenv.Root(t) + "/.cache/tessdata"
	})
	// The fixture specimen passport expired in 2012: judge it in 2010.
	s.srv.Verify.SetClock(func() time.Time { return time.Date(2010, 6, 1, 12, 0, 0, 0, time.UTC) })
	key := s.newTenant("kyc")
	hooks := newHookSink(t)
	urls := map[string][]string{}
	for _, e := range []string{"status", "decision", "proof_of_address", "verification.completed"} {
		urls[e] = []string{hooks.srv.URL + "/" + e}
	}
	put, _ := json.Marshal(map[string]any{"urls": urls})
	if r := s.do(s.request("PUT", "/v1/webhooks", key, bytes.NewReader(put), "application/json")); r.Status != 200 {
		t.Fatalf("configure webhooks: %d %v", r.Status, r.Body)
	}
	return s, key, hooks
}

var (
	amyPhoto   = []string{"faces", "bbt", "amy", "amy5.png"}
	amyFrontal = []string{"faces", "bbt", "amy", "amy2.png"}
	amyTurn    = []string{"faces", "bbt", "amy", "amy1.png"}
	pennyFace  = []string{"faces", "bbt", "penny", "penny5.png"}
	pennyTurn  = []string{"faces", "bbt", "penny", "penny3.png"}
)

func passportOf(t *testing.T, person []string) []byte {
	return testenv.DocumentWithFace(t, []string{"documents", "passport-td3.jpg"}, testenv.SpecimenPhoto, person, testenv.Box{}, 0)
}

func selfieClip(t *testing.T, front, turned []string) string {
	frames := testenv.CameraFrames(t, testenv.Segment{Photo: front, Frames: 10}, testenv.Segment{Photo: turned, Frames: 10},
		testenv.Segment{Photo: turned, Mirror: true, Frames: 10})
	return testenv.EncodeVideo(t, "selfie.webm", "vp8", 10, frames)
}

// form builds a multipart body: text fields, then files (field → name, data).
func form(t *testing.T, fields map[string]string, files map[string][2]any) (string, *bytes.Buffer) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	for field, f := range files {
		w, _ := mw.CreateFormFile(field, f[0].(string))
		_, _ = w.Write(f[1].([]byte))
	}
	_ = mw.Close()
	return mw.FormDataContentType(), &buf
}

// The native API: a case opened, submitted by the client and approved;
// the Identity Gram status and decision webhooks follow.
func TestVerificationNative(t *testing.T) {
	s, key, hooks := verifyServer(t)
	body := `{"unique_identifier":"anna-1","first_name":"Anna Maria","last_name":"Eriksson","email":"anna@example.com","document_type":"Passport"}`
	r := s.do(s.request("POST", "/v1/verifications", key, strings.NewReader(body), "application/json"))
	if r.Status != 201 || r.Body["status"] != "Not Started" || !strings.Contains(r.Body["request_url"].(string), "/verify/ver_") {
		t.Fatalf("create: %d %v", r.Status, r.Body)
	}
	id := r.Body["id"].(string)
	video, _ := os.ReadFile(selfieClip(t, amyFrontal, amyTurn))
	ct, buf := form(t, nil, map[string][2]any{"document_front": {"passport.jpg", passportOf(t, amyPhoto)}, "selfie_video": {"selfie.webm", video}})
	r = s.do(s.request("POST", "/v1/verifications/"+id+"/submit", key, buf, ct))
	if r.Status != 200 || r.Body["status"] != "Approved" {
		t.Fatalf("submit: %d %v", r.Status, r.Body)
	}
	res := r.Body["results"].(map[string]any)
	if res["similarity"].(float64) < 70 || len(res["checks"].([]any)) < 8 {
		t.Fatalf("results: %v", res)
	}
	det := r.Body["details"].(map[string]any)
	if det["surname"] != "ERIKSSON" || det["date_of_birth"] == nil {
		t.Fatalf("details: %v", det)
	}
	files := r.Body["files"].([]any)
	fileURL := files[0].(map[string]any)["url"].(string)
	res2, err := http.Get(fileURL) // a capability URL: no key
	if err != nil || res2.StatusCode != 200 {
		t.Fatalf("file by capability URL: %v %v", err, res2)
	}
	res2.Body.Close()
	if res3, _ := http.Get(fileURL[:len(fileURL)-3] + "abc"); res3.StatusCode != 404 {
		t.Fatalf("forged capability URL: %d", res3.StatusCode)
	}
	// Identity Gram's webhooks: every status, then the decision.
	for _, st := range []string{"Not Started", "Started", "Submitted", "Approved"} {
		d := hooks.wait(t, "status", func(b map[string]any) bool { return b["id"] == id && b["status"] == st })
		if d.ua != "Visage-IdentityGram/1.0" {
			t.Fatalf("status webhook User-Agent %q", d.ua)
		}
	}
	dec := hooks.wait(t, "decision", func(b map[string]any) bool { return b["id"] == id })
	vd := dec.body["verificationDetails"].(map[string]any)
	if dec.body["status"] != "Approved" || vd["surname"] != "ERIKSSON" || vd["firstName"] != "Anna Maria" || vd["placeOfBirth"] != nil ||
		dec.body["reason"] != nil || dec.body["uniqueIdentifier"] != "anna-1" || dec.body["documentType"] != "Passport" {
		t.Fatalf("decision webhook: %v", dec.body)
	}
	if u, _ := dec.body["documentFront"].(map[string]any)["url"].(string); !strings.Contains(u, "/files/") {
		t.Fatalf("documentFront: %v", dec.body["documentFront"])
	}
	// Another person: declined with its reason.
	r = s.do(s.request("POST", "/v1/verifications", key, strings.NewReader(`{"unique_identifier":"anna-2","document_type":"Passport"}`), "application/json"))
	id2 := r.Body["id"].(string)
	pv, _ := os.ReadFile(selfieClip(t, pennyFace, pennyTurn))
	ct, buf = form(t, nil, map[string][2]any{"document_front": {"passport.jpg", passportOf(t, amyPhoto)}, "selfie_video": {"selfie.webm", pv}})
	if r = s.do(s.request("POST", "/v1/verifications/"+id2+"/submit", key, buf, ct)); r.Body["status"] != "Declined" || r.Body["reason"] != "face_mismatch" {
		t.Fatalf("another person: %d %v", r.Status, r.Body)
	}
	// A 60 MB video is refused before anything is stored.
	big := make([]byte, 60<<20)
	ct, buf = form(t, nil, map[string][2]any{"document_front": {"passport.jpg", passportOf(t, amyPhoto)}, "selfie_video": {"big.mp4", big}})
	r = s.do(s.request("POST", "/v1/verifications", key, strings.NewReader(`{"unique_identifier":"big"}`), "application/json"))
	if r = s.do(s.request("POST", "/v1/verifications/"+r.Body["id"].(string)+"/submit", key, buf, ct)); r.Status != 413 {
		t.Fatalf("60 MB video: %d %v", r.Status, r.Body)
	}
}

// legacyEncrypt is the seed's Node snippet in Go: AES-256-GCM, key = the
// private key's bytes, IV = the public key's first 24 characters, hex,
// no tag.
func legacyEncrypt(t *testing.T, publicKey, privateKey string, plain any) string {
	key, _ := hex.DecodeString(privateKey)
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	gcm, _ := cipher.NewGCMWithNonceSize(block, 24)
	data, _ := json.Marshal(plain)
	sealed := gcm.Seal(nil, []byte(publicKey[:24]), data, nil)
	return hex.EncodeToString(sealed[:len(data)]) // Node never appends getAuthTag()
}

// Identity Gram: add-verification and get-verification with encryptedData
// made as the seed's Node client makes it.
func TestVerificationIdentityGram(t *testing.T) {
	s, key, _ := verifyServer(t)
	keys := s.vendorKeys(key)
	tok := s.bearer(key)
	post := func(path string, body any) reply {
		b, _ := json.Marshal(body)
		req := s.request("POST", path, "", bytes.NewReader(b), "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		return s.do(req)
	}
	enc := legacyEncrypt(t, keys.PublicKey, keys.PrivateKey, map[string]string{"first_name": "John", "last_name": "Doe", "email": "a@a.com", "unique_identifier": "xxxxxxx-xxxxxxxxx-xxxx"})
	r := post("/v2/verification/add-verification", map[string]string{"publicKey": keys.PublicKey, "encryptedData": enc})
	data, _ := r.Body["data"].(map[string]any)
	if r.Status != 200 || data["status"] != "Not Started" || data["uniqueIdentifier"] != "xxxxxxx-xxxxxxxxx-xxxx" ||
		!strings.Contains(data["requestUrl"].(string), "/verify/") || r.Body["errors"] != nil {
		t.Fatalf("add-verification: %d %v", r.Status, r.Body)
	}
	if vd := data["verificationDetails"].(map[string]any); vd["firstName"] != "John" || vd["dateOfBirth"] != nil {
		t.Fatalf("details: %v", vd)
	}
	id := data["id"].(string)
	get := post("/v2/verification/get-verification", map[string]string{"publicKey": keys.PublicKey,
		"encryptedData": legacyEncrypt(t, keys.PublicKey, keys.PrivateKey, map[string]string{"verification_id": id})})
	if gd, _ := get.Body["data"].(map[string]any); get.Status != 200 || gd["id"] != id || gd["status"] != "Not Started" {
		t.Fatalf("get-verification: %d %v", get.Status, get.Body)
	}
	nest := func(what string, r reply, status int, msg string) {
		t.Helper()
		if r.Status != status || r.Body["message"] != msg {
			t.Fatalf("%s: %d %v", what, r.Status, r.Body)
		}
	}
	nest("missing field", post("/v2/verification/add-verification", map[string]string{"publicKey": keys.PublicKey,
		"encryptedData": legacyEncrypt(t, keys.PublicKey, keys.PrivateKey, map[string]string{"first_name": "J"})}), 400,
		"last_name, unique_identifier are required in encryptedData")
	nest("garbage", post("/v2/verification/add-verification", map[string]string{"publicKey": keys.PublicKey, "encryptedData": "zz" + enc}), 400, "Invalid encryptedData")
	nest("wrong key", post("/v2/verification/add-verification", map[string]string{"publicKey": keys.PublicKey,
		"encryptedData": legacyEncrypt(t, keys.PublicKey, strings.Repeat("ab", 32), map[string]string{"first_name": "J", "last_name": "D", "unique_identifier": "u"})}), 400, "Invalid encryptedData")
	nest("foreign public key", post("/v2/verification/add-verification", map[string]string{"publicKey": strings.Repeat("0", 64), "encryptedData": enc}), 404, "Integration not found")
	nest("unknown case", post("/v2/verification/get-verification", map[string]string{"publicKey": keys.PublicKey,
		"encryptedData": legacyEncrypt(t, keys.PublicKey, keys.PrivateKey, map[string]string{"verification_id": "ver_nope"})}), 404, "Verification not found")
	// The integration switches the legacy form off: only v2 is accepted.
	s.configure(key, map[string]any{"reject_legacy_payloads": true})
	nest("legacy off", post("/v2/verification/add-verification", map[string]string{"publicKey": keys.PublicKey, "encryptedData": enc}), 400,
		"This integration accepts only the v2 encryptedData form")
}

// vendorKeys reads an integration's key pair as an operator would.
func (s *server) vendorKeys(key string) struct{ PublicKey, PrivateKey string } {
	keyID, _, _ := strings.Cut(key, ".")
	k, _ := s.srv.Store().GetAPIKey(s.t.Context(), keyID)
	in, _ := s.srv.Store().GetIntegration(s.t.Context(), k.IntegrationID)
	vk, err := s.srv.Tenant.VendorKeys(in)
	if err != nil {
		s.t.Fatal(err)
	}
	return struct{ PublicKey, PrivateKey string }{vk.PublicKey, vk.PrivateKey}
}

// The Identity Verification API as its documented client uses it:
// multipart with api_key, user_identifier, selfie_video and id_photo.
func TestVerificationIVAPI(t *testing.T) {
	s, key, hooks := verifyServer(t)
	video, _ := os.ReadFile(selfieClip(t, amyFrontal, amyTurn))
	doc := passportOf(t, amyPhoto)
	submit := func(fields map[string]string, files map[string][2]any) reply {
		ct, buf := form(t, fields, files)
		return s.do(s.request("POST", "/verif/submit", "", buf, ct))
	}
	all := map[string][2]any{"selfie_video": {"selfie.webm", video}, "id_photo": {"id.jpg", doc}}
	r := submit(map[string]string{"api_key": key, "user_identifier": "user123", "user_email": "user@example.com"}, all)
	if r.Status != 200 || r.Body["success"] != true {
		t.Fatalf("submit: %d %v", r.Status, r.Body)
	}
	checkID := r.Body["check_id"].(string)
	res := r.Body["result"].(map[string]any)
	fc := res["faceComparison"].(map[string]any)
	va := res["verificationAssessment"].(map[string]any)
	fl := res["files"].(map[string]any)
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(checkID) || res["sessionId"] != checkID ||
		res["status"] != "verified" || fc["isIdentical"] != true || fc["similarityScore"].(float64) < 70 || fc["confidence"].(float64) > 1 ||
		!strings.HasPrefix(fc["method"].(string), "visage:") || va["verificationStatus"] != "verified" || va["summary"] != "Verification completed successfully" ||
		fl["selfieVideo"].(map[string]any)["url"] == nil || !strings.HasSuffix(fl["idPhoto"].(map[string]any)["fileName"].(string), ".jpg") {
		t.Fatalf("result: %v", res)
	}
	if ts, _ := res["timestamp"].(string); !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`).MatchString(ts) {
		t.Fatalf("timestamp %q", ts)
	}
	d := hooks.wait(t, "verification.completed", func(b map[string]any) bool { return b["check_id"] == checkID })
	vr := d.body["verification_result"].(map[string]any)
	if d.ua != "IdentityVerification/1.0" || d.body["user_identifier"] != "user123" || vr["status"] != "verified" ||
		d.body["selfie_video_url"] == nil || d.body["id_photo_url"] == nil || d.body["completed_at"] == nil {
		t.Fatalf("webhook: ua %q %v", d.ua, d.body)
	}
	if rf, _ := va["riskFactors"].([]any); rf == nil || len(rf) != 0 {
		t.Fatalf("riskFactors of a verified case: %v", va)
	}
	// Another person: rejected, with the reason among the risk factors.
	pv, _ := os.ReadFile(selfieClip(t, pennyFace, pennyTurn))
	r = submit(map[string]string{"api_key": key, "user_identifier": "user124"}, map[string][2]any{"selfie_video": {"selfie.webm", pv}, "id_photo": {"id.jpg", doc}})
	res = r.Body["result"].(map[string]any)
	va = res["verificationAssessment"].(map[string]any)
	if r.Status != 200 || res["status"] != "rejected" || va["confidenceLevel"] != "high" || res["faceComparison"].(map[string]any)["isIdentical"] != false ||
		!slices.Contains(va["riskFactors"].([]any), any("face_mismatch")) {
		t.Fatalf("another person: %d %v", r.Status, res)
	}
	// The seed's error table, exactly.
	for _, c := range []struct {
		name   string
		fields map[string]string
		files  map[string][2]any
		status int
		msg    string
	}{
		{"no api key", map[string]string{"user_identifier": "u"}, all, 400, "API key is required"},
		{"bad api key", map[string]string{"api_key": "key_nope.secret", "user_identifier": "u"}, all, 401, "Invalid API key"},
		{"no user", map[string]string{"api_key": key}, all, 400, "User identifier is required"},
		{"no video", map[string]string{"api_key": key, "user_id": "u"}, map[string][2]any{"id_photo": {"id.jpg", doc}}, 400, "Both selfie video and ID photo are required"},
		{"no photo", map[string]string{"api_key": key, "user_id": "u"}, map[string][2]any{"selfie_video": {"s.webm", video}}, 400, "Both selfie video and ID photo are required"},
	} {
		if r := submit(c.fields, c.files); r.Status != c.status || r.Body["success"] != false || r.Body["error"] != c.msg {
			t.Errorf("%s: %d %v", c.name, r.Status, r.Body)
		}
	}
	// A corrupt video: a clear 400, and no case left behind.
	mp4 := testenv.EncodeVideo(t, "s.mp4", "h264", 10, testenv.CameraFrames(t, testenv.Segment{Photo: amyFrontal, Frames: 20}))
	broken, _ := os.ReadFile(mp4)
	r = submit(map[string]string{"api_key": key, "user_identifier": "broken"}, map[string][2]any{"selfie_video": {"s.mp4", broken[:len(broken)*2/5]}, "id_photo": {"id.jpg", doc}})
	if r.Status != 400 || !strings.Contains(r.Body["error"].(string), "video") {
		t.Fatalf("corrupt video: %d %v", r.Status, r.Body)
	}
	list := s.do(s.request("GET", "/v1/verifications", key, nil, ""))
	for _, v := range list.Body["verifications"].([]any) {
		if v.(map[string]any)["unique_identifier"] == "broken" {
			t.Fatal("a refused submission left a case behind")
		}
	}
}

// Proof of address: the name on a bill and its date, read by OCR, decide
// the case; Identity Gram's proof_of_address webhook carries the decision.
func TestVerificationProofOfAddress(t *testing.T) {
	s, key, hooks := verifyServer(t) // the service's clock reads 2010-06-01
	submit := func(uid string, lines []string) reply {
		t.Helper()
		body := `{"unique_identifier":"` + uid + `","first_name":"Jürgen","last_name":"Müller","document_type":"Proof Address"}`
		r := s.do(s.request("POST", "/v1/verifications", key, strings.NewReader(body), "application/json"))
		if r.Status != 201 {
			t.Fatalf("create: %d %v", r.Status, r.Body)
		}
		ct, buf := form(t, nil, map[string][2]any{"document_front": {"bill.jpg", testenv.Bill(t, lines)}})
		return s.do(s.request("POST", "/v1/verifications/"+r.Body["id"].(string)+"/submit", key, buf, ct))
	}
	bill := func(name, date string) []string {
		return []string{"NORTHERN WATER & POWER LTD", "Customer number 4410-2231-77", name,
			"14 Rue des Écoles, 75005 Paris", "Statement date: " + date, "Amount due EUR 84.20"}
	}
	r := submit("poa-1", bill("Mr Jürgen Müller", "25 May 2010"))
	if r.Status != 200 || r.Body["status"] != "Approved" {
		t.Fatalf("recent bill in the name: %d %v", r.Status, r.Body)
	}
	addr, _ := r.Body["results"].(map[string]any)["address"].(map[string]any)
	if addr["name_found"] != true || addr["date"] != "2010-05-25" || addr["age_days"].(float64) != 7 {
		t.Fatalf("address found: %v in %v", addr, r.Body)
	}
	poa := hooks.wait(t, "proof_of_address", func(b map[string]any) bool { return b["uniqueIdentifier"] == "poa-1" })
	if poa.body["status"] != "Approved" || poa.body["documentType"] != "Proof Address" {
		t.Fatalf("proof_of_address webhook: %v", poa.body)
	}
	if r := submit("poa-2", bill("Mrs Hannelore Schmidt", "25 May 2010")); r.Body["status"] != "Declined" || r.Body["reason"] != "address_name_mismatch" {
		t.Fatalf("bill in another name: %d %v", r.Status, r.Body)
	}
	if r := submit("poa-3", bill("Mr Jürgen Müller", "12 January 2009")); r.Body["status"] != "Declined" || r.Body["reason"] != "address_not_recent" {
		t.Fatalf("old bill: %d %v", r.Status, r.Body)
	}
}
