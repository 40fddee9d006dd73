package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"regexp"
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

// publicKey is the integration's public key, as GET /v1/integration shows it.
func (s *server) publicKey(key string) string {
	r := s.do(s.request("GET", "/v1/integration", key, nil, ""))
	pk, _ := r.Body["public_key"].(string)
	if pk == "" {
		s.t.Fatalf("integration: %v", r.Body)
	}
	return pk
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

// The seed's documented flow, as a vendor client runs it under default
// settings: get-2fa-url, store the four stills (smile, eyeblink, left,
// right) against newFace._id, receive images_stored, verify-2fa.
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
	intID := s.configure(key, map[string]any{}) // default policy: all four challenges
	tok := s.bearer(key)
	post := func(path string, body any, bearer string) reply {
		b, _ := json.Marshal(body)
		req := s.request("POST", path, "", bytes.NewReader(b), "application/json")
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		return s.do(req)
	}
	nest := func(what string, r reply, status int, msg string) {
		t.Helper()
		if r.Status != status || r.Body["statusCode"] != float64(status) || r.Body["message"] != msg {
			t.Fatalf("%s: %d %v, want %d %q", what, r.Status, r.Body, status, msg)
		}
	}

	nest("bad token", post("/v2/verification/get-2fa-url", map[string]string{"integrationId": intID, "uniqueIdentifier": "amy"}, "forged.jwt.token"), 401, "Unauthorized")
	r := post("/v2/verification/get-2fa-url", map[string]string{"integrationId": intID}, tok)
	nest("missing uniqueIdentifier", r, 400, "integrationId and uniqueIdentifier are required")
	if r.Body["error"] != "Bad Request" {
		t.Fatalf("error field: %v", r.Body)
	}
	nest("foreign integration", post("/v2/verification/get-2fa-url", map[string]string{"integrationId": "642bbcd107fb985259ac6e66", "uniqueIdentifier": "x"}, tok), 404, "Integration not found")
	nest("unknown route", post("/v2/verification/nope", map[string]string{}, tok), 404, "Cannot POST /v2/verification/nope")

	// The documented request, url-encoded as some clients send it.
	form := s.request("POST", "/v2/verification/get-2fa-url", "", strings.NewReader("integrationId="+intID+"&uniqueIdentifier=amy"), "application/x-www-form-urlencoded")
	form.Header.Set("Authorization", "Bearer "+tok)
	r = s.do(form)
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
	stills := map[string][][]byte{"smile": {amy(false, "amy2.png")}, "eyeblink": {amy(false, "amy4.png")},
		"left": {amy(true, "amy1.png")}, "right": {amy(false, "amy1.png")}}
	// Verifying before registration: not enrolled.
	nest("verify before registration", s.igRequest("/v2/verification/verify-2fa", tok, map[string]string{"integrationId": intID, "uniqueIdentifier": "amy"},
		map[string][][]byte{"image": {amy(false, "amy5.png")}}), 404, "Face not enrolled for this user")
	nest("unknown face", s.igRequest("/v2/verification/store-images", tok, map[string]string{"faceId": "face_nobody"}, stills), 400, "Face not found")
	// Two bad stills are both named.
	bad := map[string][][]byte{"smile": stills["smile"], "eyeblink": {testenv.CameraFrame(t, false, "liveness", "spoof", "minivision_F1_print.jpg")},
		"left": stills["left"], "right": {testenv.CameraFrame(t, false, "faces", "bbt", "penny", "penny3.png")}}
	br := s.igRequest("/v2/verification/store-images", tok, map[string]string{"faceId": faceRef}, bad)
	if msg, _ := br.Body["message"].(string); br.Status != 400 || !strings.Contains(msg, "2fa-eyeblink: Photo or screen detected") || !strings.Contains(msg, "2fa-right: Not the same person") {
		t.Fatalf("two bad stills: %d %v", br.Status, br.Body)
	}
	ok := s.igRequest("/v2/verification/store-images", tok, map[string]string{"faceId": faceRef}, stills)
	okData, _ := ok.Body["data"].(map[string]any)
	if ok.Status != 200 || okData["success"] != true || ok.Body["message"] != "Images stored successfully" {
		t.Fatalf("store-images: %d %v", ok.Status, ok.Body)
	}
	// The images_stored webhook arrives, signed, in the vendor's shape.
	select {
	case req := <-hooks:
		body := <-bodies
		var raw map[string]map[string]any
		json.Unmarshal(body, &raw)
		var top map[string]any
		json.Unmarshal(body, &top)
		images, _ := raw["result"]["images"].([]any)
		if top["status"] != "images_stored" || raw["result"]["_id"] != faceRef || raw["result"]["integrationId"] != intID ||
			raw["result"]["faceId"] != "amy" || raw["result"]["enabled"] != true || len(images) != 4 {
			t.Fatalf("webhook body: %s", body)
		}
		if ts, _ := top["timestamp"].(string); !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`).MatchString(ts) {
			t.Fatalf("timestamp %q is not the seed's form", ts)
		}
		types := map[string]bool{}
		for _, im := range images {
			m := im.(map[string]any)
			types[m["type"].(string)] = true
			if u := m["url"].(string); !regexp.MustCompile(`^verification/face_[0-9a-z]+/2fa-(smile|eyeblink|left|right)/img_[0-9a-z]+\.jpg$`).MatchString(u) {
				t.Fatalf("image url %q is not the seed's relative form", u)
			}
		}
		if len(types) != 4 {
			t.Fatalf("image types %v", types)
		}
		if req.Header.Get("User-Agent") != "Visage-IdentityGram/1.0" || req.Header.Get("X-Visage-Delivery") == "" || req.Header.Get("X-Visage-Signature") == "" {
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
	again := post("/v2/verification/get-2fa-url", map[string]string{"publicKey": s.publicKey(key), "uniqueIdentifier": "amy"}, tok)
	ad, _ := again.Body["data"].(map[string]any)
	af, _ := ad["face"].(map[string]any)
	if ad["success"] != false || again.Body["message"] != "Face already registered" || len(af["images"].([]any)) != 4 {
		t.Fatalf("already registered: %v", again.Body)
	}
	nest("store again", s.igRequest("/v2/verification/store-images", tok, map[string]string{"faceId": faceRef}, stills), 400, "Face already registered")
	v := s.igRequest("/v2/verification/verify-2fa", tok, map[string]string{"integrationId": intID, "uniqueIdentifier": "amy"},
		map[string][][]byte{"image": {amy(false, "amy5.png")}})
	vd, _ := v.Body["data"].(map[string]any)
	if v.Status != 200 || v.Body["message"] != "Face verified successfully" || vd["verified"] != true || vd["similarity"].(float64) < 70 || vd["faceId"] != "amy" {
		t.Fatalf("verify amy: %d %v", v.Status, v.Body)
	}
	other := s.igRequest("/v2/verification/verify-2fa", tok, map[string]string{"integrationId": intID, "uniqueIdentifier": "amy"},
		map[string][][]byte{"image": {testenv.CameraFrame(t, false, "faces", "bbt", "penny", "penny5.png")}})
	od, _ := other.Body["data"].(map[string]any)
	if other.Status != 200 || od["verified"] != false || od["similarity"].(float64) >= 70 || other.Body["message"] != "Face verification failed" {
		t.Fatalf("verify penny as amy: %d %v", other.Status, other.Body)
	}
	// The relative image URL, prefixed with the server's base URL, fetches
	// the image for the integration that owns it (and nobody else).
	img := af["images"].([]any)[0].(map[string]any)
	url := s.base + "/" + img["url"].(string)
	get := func(key string) *http.Response {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("x-api-key", key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	if res := get(key); res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("image %s: %v", url, res.Status)
	}
	if res := get(s.newTenant("other")); res.StatusCode != 404 {
		t.Fatalf("another tenant fetched %s: %v", url, res.Status)
	}
}
