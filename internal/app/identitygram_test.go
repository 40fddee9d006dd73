package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/config"
	"github.com/visagehq/visage/internal/crypto"
	"github.com/visagehq/visage/internal/testenv"
)

// igRequest posts multipart fields and in-memory images with a bearer token.
func (s *server) igRequest(path, bearer string, fields map[string]string, images map[string][][]byte) reply {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	for name, list := range images {
		for _, data := range list {
			w, _ := mw.CreateFormFile(name, name+".jpg")
			w.Write(data)
		}
	}
	mw.Close()
	req := s.request("POST", path, "", &buf, mw.FormDataContentType())
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return s.do(req)
}

func (s *server) bearer(key string) string {
	r := s.do(s.request("POST", "/v1/auth/token", key, nil, ""))
	tok, _ := r.Body["access_token"].(string)
	if tok == "" {
		s.t.Fatalf("token: %v", r.Body)
	}
	return tok
}

// configure changes the caller's integration settings through the API
// and returns its id.
func (s *server) configure(key string, settings map[string]any) string {
	b, _ := json.Marshal(settings)
	r := s.do(s.request("PATCH", "/v1/integration", key, bytes.NewReader(b), "application/json"))
	id, _ := r.Body["id"].(string)
	if r.Status != 200 || id == "" {
		s.t.Fatalf("configure %v: %d %v", settings, r.Status, r.Body)
	}
	return id
}

// setChallenges narrows an integration's required capture challenges.
func (s *server) setChallenges(key string, challenges ...string) string {
	return s.configure(key, map[string]any{"required_challenges": challenges})
}

// webhookSecret unseals an integration's webhook secret, as the worker does.
func (s *server) webhookSecret(key string) []byte {
	keyID, _, _ := strings.Cut(key, ".")
	k, err := s.srv.Store().GetAPIKey(context.Background(), keyID)
	if err != nil {
		s.t.Fatal(err)
	}
	in, err := s.srv.Store().GetIntegration(context.Background(), k.IntegrationID)
	if err != nil {
		s.t.Fatal(err)
	}
	_, secret, err := s.srv.Tenant.OpenSecrets(in)
	if err != nil {
		s.t.Fatal(err)
	}
	return secret
}

func TestIdentityGramFlow(t *testing.T) {
	s := startServer(t, "", "", func(c *config.Server) {
		c.WebhookAllowPrivate = true // the receiver below is on loopback
		c.WebhookPoll, c.WebhookTimeout, c.WebhookLease, c.WebhookMaxAttempts = 200*time.Millisecond, 5*time.Second, 10*time.Second, 3
	})
	key := s.newTenant("ig")
	hooks := make(chan *http.Request, 4)
	bodies := make(chan []byte, 4)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		hooks <- r
		bodies <- b
	}))
	defer rcv.Close()
	put, _ := json.Marshal(map[string]any{"urls": map[string][]string{"images_stored": {rcv.URL + "/hook"}}})
	if r := s.do(s.request("PUT", "/v1/webhooks", key, bytes.NewReader(put), "application/json")); r.Status != 200 {
		t.Fatalf("configure webhook: %d %v", r.Status, r.Body)
	}
	// No fixture shows a blink, so this tenant asks for the other three.
	intID := s.setChallenges(key, "2fa-smile", "2fa-left", "2fa-right")
	tok := s.bearer(key)
	post := func(path string, body any, bearer string) reply {
		b, _ := json.Marshal(body)
		req := s.request("POST", path, "", bytes.NewReader(b), "application/json")
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		return s.do(req)
	}

	if r := post("/v2/verification/get-2fa-url", map[string]string{"integrationId": intID, "uniqueIdentifier": "amy"}, "forged.jwt.token"); r.Status != 401 || r.Body["statusCode"] != float64(401) {
		t.Fatalf("bad token: %d %v", r.Status, r.Body)
	}
	if r := post("/v2/verification/get-2fa-url", map[string]string{"integrationId": intID}, tok); r.Status != 400 || r.Body["error"] != "Bad Request" ||
		r.Body["statusCode"] != float64(400) || r.Body["message"] != "integrationId and uniqueIdentifier are required" {
		t.Fatalf("missing uniqueIdentifier: %d %v", r.Status, r.Body)
	}
	r := post("/v2/verification/get-2fa-url", map[string]string{"integrationId": intID, "uniqueIdentifier": "amy"}, tok)
	data, _ := r.Body["data"].(map[string]any)
	nf, _ := data["newFace"].(map[string]any)
	if r.Status != 200 || r.Body["message"] != "Face registration URL generated successfully" || data["success"] != true ||
		!strings.Contains(data["url"].(string), "/capture/cap_") || nf["faceId"] != "amy" || nf["integrationId"] != intID || nf["enabled"] != true || r.Body["errors"] != nil {
		t.Fatalf("get-2fa-url: %d %v", r.Status, r.Body)
	}
	if imgs, _ := nf["images"].([]any); imgs == nil || len(imgs) != 0 {
		t.Fatalf("newFace.images: %v", nf["images"])
	}
	faceRef := nf["_id"].(string)

	amy := func(mirror bool, n string) []byte { return testenv.CameraFrame(t, mirror, "faces", "bbt", "amy", n) }
	// Verifying before registration: not enrolled.
	if r := s.igRequest("/v2/verification/verify-2fa", tok, map[string]string{"integrationId": intID, "uniqueIdentifier": "amy"},
		map[string][][]byte{"image": {amy(false, "amy5.png")}}); r.Status != 404 || r.Body["message"] != "Face not enrolled for this user" {
		t.Fatalf("verify before registration: %d %v", r.Status, r.Body)
	}
	// Store the captures through the API; a right turn offered as the left
	// one is refused.
	bad := s.igRequest("/v2/verification/store-images", tok, map[string]string{"faceId": faceRef},
		map[string][][]byte{"smile": {amy(false, "amy2.png")}, "left": {amy(false, "amy1.png")}, "right": {amy(false, "amy1.png")}})
	if bad.Status != 400 || !strings.Contains(bad.Body["message"].(string), "2fa-left") {
		t.Fatalf("wrong-side left image: %d %v", bad.Status, bad.Body)
	}
	ok := s.igRequest("/v2/verification/store-images", tok, map[string]string{"faceId": faceRef},
		map[string][][]byte{"smile": {amy(false, "amy2.png")}, "left": {amy(true, "amy1.png")}, "right": {amy(false, "amy1.png")}})
	okData, _ := ok.Body["data"].(map[string]any)
	if ok.Status != 200 || okData["success"] != true {
		t.Fatalf("store-images: %d %v", ok.Status, ok.Body)
	}
	// The images_stored webhook arrives, signed, in the vendor's shape.
	select {
	case req := <-hooks:
		body := <-bodies
		var ev struct {
			Result struct {
				ID, IntegrationID, FaceID string
				Images                    []struct{ URL, Type, ID string }
				Enabled                   bool
			}
			Status, Timestamp string
		}
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Fatal(err)
		}
		var raw map[string]map[string]any
		json.Unmarshal(body, &raw)
		if ev.Status != "images_stored" || raw["result"]["_id"] != faceRef || raw["result"]["integrationId"] != intID ||
			raw["result"]["faceId"] != "amy" || raw["result"]["enabled"] != true || len(raw["result"]["images"].([]any)) != 3 || ev.Timestamp == "" {
			t.Fatalf("webhook body: %s", body)
		}
		if req.Header.Get("User-Agent") != "Visage/1.0" || req.Header.Get("X-Visage-Delivery") == "" || req.Header.Get("X-Visage-Signature") == "" {
			t.Fatalf("webhook headers: %v", req.Header)
		}
		secret := s.webhookSecret(key)
		if err := crypto.VerifyWebhook(secret, req.Header.Get("X-Visage-Signature"), body, time.Now(), time.Minute); err != nil {
			t.Fatalf("webhook signature: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no images_stored webhook")
	}
	// A second link for a registered face: success false with the face.
	again := post("/v2/verification/get-2fa-url", map[string]string{"integrationId": intID, "uniqueIdentifier": "amy"}, tok)
	ad, _ := again.Body["data"].(map[string]any)
	af, _ := ad["face"].(map[string]any)
	if ad["success"] != false || again.Body["message"] != "Face already registered" || len(af["images"].([]any)) != 3 {
		t.Fatalf("already registered: %v", again.Body)
	}
	v := s.igRequest("/v2/verification/verify-2fa", tok, map[string]string{"integrationId": intID, "uniqueIdentifier": "amy"},
		map[string][][]byte{"image": {amy(false, "amy5.png")}})
	vd, _ := v.Body["data"].(map[string]any)
	if v.Status != 200 || v.Body["message"] != "Face verified successfully" || vd["verified"] != true || vd["similarity"].(float64) < 70 || vd["faceId"] != "amy" {
		t.Fatalf("verify amy: %d %v", v.Status, v.Body)
	}
	other := s.igRequest("/v2/verification/verify-2fa", tok, map[string]string{"integrationId": intID, "uniqueIdentifier": "amy"},
		map[string][][]byte{"image": {testenv.CameraFrame(t, false, "faces", "bbt", "penny", "penny5.png")}})
	od, _ := other.Body["data"].(map[string]any)
	if other.Status != 200 || od["verified"] != false || od["similarity"].(float64) >= 70 {
		t.Fatalf("verify penny as amy: %d %v", other.Status, other.Body)
	}
	// publicKey works in place of integrationId; another tenant's id does not.
	if r := post("/v2/verification/get-2fa-url", map[string]string{"integrationId": "int_someone_else", "uniqueIdentifier": "x"}, tok); r.Status != 401 {
		t.Fatalf("foreign integrationId: %d %v", r.Status, r.Body)
	}
	// The stored images are served to the integration that owns them.
	img := af["images"].([]any)[0].(map[string]any)
	url := img["url"].(string)
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("x-api-key", key)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("image %s: %v %v", url, err, res)
	}
	res.Body.Close()
}
