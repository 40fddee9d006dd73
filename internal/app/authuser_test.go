package app

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Seed 004 as its client runs it: a template issued at onboarding, a
// best-image token at login, and the seed's request body with only the
// placeholders swapped for real values; every documented result code and
// the refusals Visage adds are triggered.
func TestAuthenticateUserSeedFlow(t *testing.T) {
	s := startServer(t, "", "", nil)
	key := s.newTenant("authuser")
	angelina := func(n string) string { return fx(t, "faces", "deepface", "id00_img1", n) }

	tr := s.do(s.multipartReq("/v1/templates", key, map[string]string{"userId": "001"}, [][2]string{{"image", angelina("img1.jpg")}}))
	template, _ := tr.Body["registeredTemplateRaw"].(string)
	if tr.Status != 201 || template == "" || tr.Body["user_id"] != "001" {
		t.Fatalf("issue template: %d %v", tr.Status, tr.Body)
	}
	token := func(img string) string {
		t.Helper()
		r := s.do(s.multipartReq("/v1/tokens/best-image", key, nil, [][2]string{{"image", img}}))
		tok, _ := r.Body["bestImageToken"].(string)
		if r.Status != 201 || tok == "" {
			t.Fatalf("best-image token: %d %v", r.Status, r.Body)
		}
		return tok
	}
	// The seed's example body, placeholders swapped.
	call := func(k string, fields map[string]any) reply {
		t.Helper()
		body := map[string]any{"userId": "001", "registeredTemplateRaw": template, "merchantReferenceId": "authenticate-001",
			"tracking": map[string]any{"extraData": "BQABAQG2gBNjuHN", "operationId": "xxxxx-xxxxx-xxxxx-xxxxx-xxxxx"}}
		for f, v := range fields {
			if v == nil {
				delete(body, f)
			} else {
				body[f] = v
			}
		}
		b, _ := json.Marshal(body)
		return s.do(s.request("POST", "/services/authenticateUser/v2", k, bytes.NewReader(b), "application/json"))
	}

	login := token(angelina("img2.jpg"))
	r := call(key, map[string]any{"bestImageToken": login})
	checkSeedResponse(t, r, 200, 0, "authenticate-001")
	if r.Body["serviceResultLog"] != "" || r.Body["serviceFacialAuthenticationLog"] != "Positive" || r.Body["serviceFacialAuthenticationResult"] != 3.0 ||
		r.Body["serviceLivenessLog"] != "Live" || r.Body["serviceLivenessResult"] != 3.0 || r.Body["registeredTemplateRaw"] != template {
		t.Fatalf("authenticated: %v", r.Body)
	}
	if sim := r.Body["serviceFacialSimilarityResult"].(float64); sim < 0.7 || sim > 1 {
		t.Fatalf("same-person similarity %.4f is not above the 0.70 threshold", sim)
	}
	wantKeys := []string{"merchantReferenceId", "registeredTemplateRaw", "serviceFacialAuthenticationLog", "serviceFacialAuthenticationResult",
		"serviceFacialSimilarityResult", "serviceLivenessLog", "serviceLivenessResult", "serviceResultCode", "serviceResultLog", "timestamp", "transactionId"}
	if got := keysOf(r.Body); !slices.Equal(got, wantKeys) {
		t.Fatalf("response fields %v, want the seed's %v", got, wantKeys)
	}

	r = call(key, map[string]any{"bestImageToken": login})
	checkSeedResponse(t, r, 200, -107, "authenticate-001")

	r = call(key, map[string]any{"bestImageToken": token(fx(t, "faces", "deepface", "id01_img3", "img3.jpg"))})
	checkSeedResponse(t, r, 200, -102, "authenticate-001")
	if r.Body["serviceResultLog"] != "User authentication failed due to non-matching templateRaw." || r.Body["serviceFacialAuthenticationLog"] != "Negative" ||
		r.Body["serviceFacialSimilarityResult"].(float64) >= 0.7 {
		t.Fatalf("another person: %v", r.Body)
	}

	r = call(key, map[string]any{"userId": "002", "bestImageToken": token(angelina("img2.jpg"))})
	checkSeedResponse(t, r, 200, -100, "authenticate-001")
	if r.Body["serviceResultLog"] != "The registeredTemplateRaw parameter does not match the ID: [002]" {
		t.Fatalf("another user id: %v", r.Body)
	}

	r = call(key, map[string]any{"bestImageToken": token(fx(t, "liveness", "spoof", "minivision_F1_print.jpg"))})
	checkSeedResponse(t, r, 200, -101, "authenticate-001")
	if r.Body["serviceResultLog"] != "The bestImageToken parameter does not match a living person." || r.Body["serviceLivenessResult"] != 2.0 {
		t.Fatalf("printed photo: %v", r.Body)
	}

	// "Example Body with image": a reference photo instead of the template.
	photo, _ := os.ReadFile(angelina("img4.jpg"))
	r = call(key, map[string]any{"registeredTemplateRaw": nil, "image": base64.StdEncoding.EncodeToString(photo), "bestImageToken": token(angelina("img2.jpg"))})
	checkSeedResponse(t, r, 200, 0, "authenticate-001")
	if fresh, _ := r.Body["registeredTemplateRaw"].(string); fresh == "" || fresh == template {
		t.Fatalf("no template made from the reference photo: %v", r.Body)
	}

	raw, _ := base64.StdEncoding.DecodeString(template)
	raw[len(raw)-20] ^= 1
	r = call(key, map[string]any{"registeredTemplateRaw": base64.StdEncoding.EncodeToString(raw), "bestImageToken": token(angelina("img2.jpg"))})
	checkSeedResponse(t, r, 200, -103, "authenticate-001")

	other := s.newTenant("other")
	r = call(other, map[string]any{"bestImageToken": token(angelina("img2.jpg"))})
	checkSeedResponse(t, r, 200, -104, "authenticate-001")

	r = call(key, map[string]any{"userId": nil, "bestImageToken": login})
	checkSeedResponse(t, r, 400, -1, "authenticate-001")
	r = call(key, map[string]any{"userId": "1", "bestImageToken": login})
	checkSeedResponse(t, r, 400, -1, "authenticate-001")
	r = call(key, map[string]any{})
	checkSeedResponse(t, r, 400, -1, "authenticate-001")
	r = call("key_wrong.secret", map[string]any{"bestImageToken": login})
	checkSeedResponse(t, r, 401, -2, "")
	r = s.do(s.request("POST", "/services/authenticateUser/v2", key, strings.NewReader(`{"userId":`), "application/json"))
	checkSeedResponse(t, r, 400, -1, "")
}

var seedTimestamp = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func checkSeedResponse(t *testing.T, r reply, status int, code float64, ref string) {
	t.Helper()
	if r.Status != status || r.Body["serviceResultCode"] != code || r.Body["merchantReferenceId"] != ref {
		t.Fatalf("want %d with serviceResultCode %v for %q; got %d %v", status, code, ref, r.Status, r.Body)
	}
	ts, _ := r.Body["timestamp"].(string)
	id, _ := r.Body["transactionId"].(string)
	if !seedTimestamp.MatchString(ts) || !uuidPattern.MatchString(id) {
		t.Fatalf("timestamp %q, transactionId %q", ts, id)
	}
}

func keysOf(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// The native side of the same credentials: an enrolled face's template
// exported, authenticated with a token, the token refused the second
// time with its own code, and a tampered template named as the field.
func TestNativeTemplateAuthentication(t *testing.T) {
	s := startServer(t, "", "", nil)
	key := s.newTenant("native-templates")
	angelina := func(n string) string { return fx(t, "faces", "deepface", "id00_img1", n) }
	if r := s.do(s.multipartReq("/v1/faces", key, map[string]string{"face_id": "alice"}, [][2]string{{"image", angelina("img1.jpg")}})); r.Status != 201 {
		t.Fatalf("enrol: %d %v", r.Status, r.Body)
	}
	b, _ := json.Marshal(map[string]string{"face_id": "alice"})
	tr := s.do(s.request("POST", "/v1/templates", key, bytes.NewReader(b), "application/json"))
	template, _ := tr.Body["registeredTemplateRaw"].(string)
	if tr.Status != 201 || template == "" || tr.Body["user_id"] != "alice" || tr.Body["liveness"] != nil {
		t.Fatalf("export: %d %v", tr.Status, tr.Body)
	}
	tk := s.do(s.multipartReq("/v1/tokens/best-image", key, nil, [][2]string{{"image", angelina("img2.jpg")}}))
	auth := func(tpl string) reply {
		b, _ := json.Marshal(map[string]string{"user_id": "alice", "registeredTemplateRaw": tpl, "bestImageToken": tk.Body["bestImageToken"].(string)})
		return s.do(s.request("POST", "/v1/templates/authenticate", key, bytes.NewReader(b), "application/json"))
	}
	if r := auth(template); r.Status != 200 || r.Body["authenticated"] != true || r.Body["outcome"] != "authenticated" {
		t.Fatalf("authenticate: %d %v", r.Status, r.Body)
	}
	if r := auth(template); r.Status != 409 || r.code() != "token_used" {
		t.Fatalf("replayed token: %d %v", r.Status, r.Body)
	}
	raw, _ := base64.StdEncoding.DecodeString(template)
	raw[len(raw)-1] ^= 1
	r := auth(base64.StdEncoding.EncodeToString(raw))
	if d, _ := r.Body["error"].(map[string]any)["details"].(map[string]any); r.Status != 400 || r.code() != "credential_invalid" || d["field"] != "template" {
		t.Fatalf("tampered template: %d %v", r.Status, r.Body)
	}
	keyID, _, _ := strings.Cut(key, ".")
	k, _ := s.srv.Store().GetAPIKey(t.Context(), keyID)
	vk, err := s.srv.Tenant.CreateKey(t.Context(), k.IntegrationID, "login", "verify")
	if err != nil {
		t.Fatal(err)
	}
	if r := s.do(s.multipartReq("/v1/templates", vk.Token, map[string]string{"user_id": "bob"}, [][2]string{{"image", angelina("img1.jpg")}})); r.Status != 403 {
		t.Fatalf("a verify-scoped key issued a template: %d %v", r.Status, r.Body)
	}
}
