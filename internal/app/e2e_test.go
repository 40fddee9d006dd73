package app

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/config"
	"github.com/visagehq/visage/internal/testenv"
)

// server is a real visage server on a loopback port with real models.
type server struct {
	t    *testing.T
	base string
	srv  *Server
	cfg  *config.Server
}

// startServer starts a server; dir "" means a fresh data dir.
func startServer(t *testing.T, dbURL, dir string, tweak func(*config.Server)) *server {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	cfg := &config.Server{
		Engine:       config.Engine{ModelsDir: testenv.ModelsDir(t), Threads: 2, MaxPixels: 50_000_000, MaxBytes: 20 << 20},
		Listen:       "127.0.0.1:0",
		Store:        config.Store{DataDir: dir, DatabaseURL: dbURL},
		MaxBodyBytes: 55 << 20, RateLimit: 1000, RateBurst: 1000, TokenTTL: 15 * time.Minute, Workers: 2,
	}
	if tweak != nil {
		tweak(cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := NewServer(ctx, cfg, Logger("warn"))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		srv.Close()
	})
	return &server{t: t, base: "http://" + srv.Addr(), srv: srv, cfg: cfg}
}

// newTenant creates an integration and returns its x-api-key token.
func (s *server) newTenant(name string) string {
	c, err := s.srv.Tenant.CreateIntegration(context.Background(), name)
	if err != nil {
		s.t.Fatal(err)
	}
	return c.Key.Token
}

type reply struct {
	Status int
	Body   map[string]any
	Header http.Header
}

func (r reply) code() string {
	if e, ok := r.Body["error"].(map[string]any); ok {
		c, _ := e["code"].(string)
		return c
	}
	return ""
}

func (s *server) do(req *http.Request) reply {
	s.t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	checkResponse(s.t, req, res, data)
	var body map[string]any
	if len(data) > 0 && strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(data, &body); err != nil {
			s.t.Fatalf("%s %s: bad JSON %q", req.Method, req.URL, data)
		}
	}
	return reply{Status: res.StatusCode, Body: body, Header: res.Header}
}

func (s *server) request(method, path, key string, body io.Reader, ctype string) *http.Request {
	req, err := http.NewRequest(method, s.base+path, body)
	if err != nil {
		s.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("x-api-key", key)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	return req
}

// multipartReq builds a form with text fields and files (field → path).
func (s *server) multipartReq(path, key string, fields map[string]string, files [][2]string) *http.Request {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	for _, f := range files {
		w, _ := mw.CreateFormFile(f[0], filepath.Base(f[1]))
		data, err := os.ReadFile(f[1])
		if err != nil {
			s.t.Fatal(err)
		}
		w.Write(data)
	}
	mw.Close()
	return s.request("POST", path, key, &buf, mw.FormDataContentType())
}

func fx(t *testing.T, parts ...string) string { return testenv.Fixture(t, parts...) }

func TestServerSQLite(t *testing.T) {
	runServerSuite(t, func(t *testing.T) string { return "" })
}

func TestServerPostgres(t *testing.T) {
	admin := testenv.PostgresAdmin(t)
	runServerSuite(t, func(t *testing.T) string { return testenv.FreshPostgres(t, admin) })
}

func runServerSuite(t *testing.T, db func(t *testing.T) string) {
	s := startServer(t, db(t), "", nil)
	a, b := s.newTenant("tenant-a"), s.newTenant("tenant-b")
	angelina := func(n string) string { return fx(t, "faces", "deepface", "id00_img1", n) }
	other := fx(t, "faces", "deepface", "id01_img3", "img3.jpg")

	t.Run("health", func(t *testing.T) {
		for _, p := range []string{"/healthz", "/readyz", "/v1/openapi.json"} {
			if r := s.do(s.request("GET", p, "", nil, "")); r.Status != 200 {
				t.Fatalf("%s: %d", p, r.Status)
			}
		}
		res, err := http.Get(s.base + "/metrics")
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("metrics: %v", err)
		}
		data, _ := io.ReadAll(res.Body)
		res.Body.Close()
		for _, m := range []string{"visage_http_requests_total", "visage_engine_jobs_running", `visage_webhook_deliveries{status="pending"}`} {
			if !strings.Contains(string(data), m) {
				t.Fatalf("metrics lack %s", m)
			}
		}
	})

	t.Run("auth", func(t *testing.T) {
		if r := s.do(s.request("GET", "/v1/faces", "", nil, "")); r.Status != 401 || r.code() != "unauthorized" {
			t.Fatalf("no key: %d %v", r.Status, r.Body)
		}
		keyID, _, _ := strings.Cut(a, ".")
		for name, key := range map[string]string{"wrong secret": keyID + ".AAAA", "unknown key": "key_nope.secret", "garbage": "x"} {
			if r := s.do(s.request("GET", "/v1/faces", key, nil, "")); r.Status != 401 {
				t.Fatalf("%s: %d", name, r.Status)
			}
		}
		r := s.do(s.request("POST", "/v1/auth/token", a, nil, ""))
		tok, _ := r.Body["access_token"].(string)
		if r.Status != 200 || tok == "" {
			t.Fatalf("token: %d %v", r.Status, r.Body)
		}
		req := s.request("GET", "/v1/faces", "", nil, "")
		req.Header.Set("Authorization", "Bearer "+tok)
		if r := s.do(req); r.Status != 200 {
			t.Fatalf("bearer: %d %v", r.Status, r.Body)
		}
		forged := tok[:len(tok)-4] + "AAAA"
		req.Header.Set("Authorization", "Bearer "+forged)
		if r := s.do(req); r.Status != 401 {
			t.Fatalf("forged bearer: %d", r.Status)
		}
		id, secret, _ := strings.Cut(a, ".")
		req = s.request("GET", "/v1/faces", "", nil, "")
		req.SetBasicAuth(id, secret)
		if r := s.do(req); r.Status != 200 {
			t.Fatalf("basic: %d", r.Status)
		}
		if r := s.do(s.request("GET", "/v1/faces?api_key="+a, "", nil, "")); r.Status != 200 {
			t.Fatalf("api_key param: %d", r.Status)
		}
	})

	t.Run("lockout", func(t *testing.T) {
		// max_attempts 3 (the default): three failed verifies in a row lock
		// the face, the genuine person is then refused too, until unlocked.
		a := s.newTenant("tenant-lockout") // its own tenant: other subtests count a's faces
		r := s.do(s.multipartReq("/v1/faces", a, map[string]string{"face_id": "lock-1"}, [][2]string{{"images", angelina("img1.jpg")}}))
		if r.Status != 201 || r.Body["locked"] != false || r.Body["failed_attempts"] != float64(0) {
			t.Fatalf("enrol: %d %v", r.Status, r.Body)
		}
		verify := func(img string) reply {
			return s.do(s.multipartReq("/v1/faces/lock-1/verify", a, nil, [][2]string{{"image", img}}))
		}
		for i := 0; i < 2; i++ {
			if r := verify(other); r.Status != 200 || r.Body["verified"] != false {
				t.Fatalf("failure %d: %d %v", i+1, r.Status, r.Body)
			}
		}
		if r := verify(angelina("img2.jpg")); r.Body["verified"] != true { // resets the count
			t.Fatalf("genuine between failures: %d %v", r.Status, r.Body)
		}
		for i := 0; i < 3; i++ {
			if r := verify(other); r.Status != 200 || r.Body["verified"] != false {
				t.Fatalf("failure %d after the reset: %d %v", i+1, r.Status, r.Body)
			}
		}
		if r := verify(angelina("img2.jpg")); r.Status != 423 || r.code() != "face_locked" {
			t.Fatalf("genuine after three failures: %d %v", r.Status, r.Body)
		}
		if r := s.do(s.request("GET", "/v1/faces/lock-1", a, nil, "")); r.Body["locked"] != true || r.Body["failed_attempts"] != float64(3) || r.Body["locked_at"] == nil {
			t.Fatalf("locked face: %v", r.Body)
		}
		if r := s.do(s.request("POST", "/v1/faces/lock-1/unlock", b, nil, "")); r.Status != 404 {
			t.Fatalf("another tenant unlocked: %d %v", r.Status, r.Body)
		}
		if r := s.do(s.request("POST", "/v1/faces/lock-1/unlock", a, nil, "")); r.Status != 200 || r.Body["locked"] != false {
			t.Fatalf("unlock: %d %v", r.Status, r.Body)
		}
		if r := verify(angelina("img2.jpg")); r.Status != 200 || r.Body["verified"] != true {
			t.Fatalf("genuine after unlock: %d %v", r.Status, r.Body)
		}
	})

	t.Run("enrol-verify-search-delete", func(t *testing.T) {
		r := s.do(s.multipartReq("/v1/faces", a, map[string]string{"face_id": "user-1", "metadata": `{"plan":"gold"}`},
			[][2]string{{"images", angelina("img1.jpg")}, {"images", angelina("img4.jpg")}}))
		if r.Status != 201 || r.Body["face_id"] != "user-1" || r.Body["templates"] != float64(2) {
			t.Fatalf("enrol: %d %v", r.Status, r.Body)
		}
		if r := s.do(s.multipartReq("/v1/faces", a, map[string]string{"face_id": "user-1"}, [][2]string{{"image", angelina("img2.jpg")}})); r.Status != 409 || r.code() != "face_already_enrolled" {
			t.Fatalf("duplicate enrol: %d %v", r.Status, r.Body)
		}
		same := s.do(s.multipartReq("/v1/faces/user-1/verify", a, nil, [][2]string{{"image", angelina("img2.jpg")}}))
		if same.Status != 200 || same.Body["match"] != true || same.Body["similarity"].(float64) < 70 {
			t.Fatalf("verify same person: %d %v", same.Status, same.Body)
		}
		diff := s.do(s.multipartReq("/v1/faces/user-1/verify", a, nil, [][2]string{{"image", other}}))
		if diff.Status != 200 || diff.Body["match"] != false || diff.Body["similarity"].(float64) >= 70 {
			t.Fatalf("verify other person: %d %v", diff.Status, diff.Body)
		}
		// JSON with base64 works the same.
		data, _ := os.ReadFile(angelina("img6.jpg"))
		js, _ := json.Marshal(map[string]string{"image": base64.StdEncoding.EncodeToString(data)})
		if r := s.do(s.request("POST", "/v1/faces/user-1/verify", a, bytes.NewReader(js), "application/json")); r.Body["match"] != true {
			t.Fatalf("verify base64: %d %v", r.Status, r.Body)
		}
		// Raw body.
		if r := s.do(s.request("POST", "/v1/faces/user-1/verify", a, bytes.NewReader(data), "image/jpeg")); r.Body["match"] != true {
			t.Fatalf("verify raw: %d %v", r.Status, r.Body)
		}
		sr := s.do(s.multipartReq("/v1/search", a, nil, [][2]string{{"image", angelina("img7.jpg")}}))
		cands, _ := sr.Body["candidates"].([]any)
		if sr.Status != 200 || len(cands) != 1 || cands[0].(map[string]any)["face_id"] != "user-1" {
			t.Fatalf("search: %d %v", sr.Status, sr.Body)
		}
		if r := s.do(s.request("DELETE", "/v1/faces/user-1", a, nil, "")); r.Status != 204 {
			t.Fatalf("delete: %d %v", r.Status, r.Body)
		}
		if r := s.do(s.multipartReq("/v1/faces/user-1/verify", a, nil, [][2]string{{"image", angelina("img2.jpg")}})); r.Status != 404 || r.code() != "face_not_enrolled" {
			t.Fatalf("verify after delete: %d %v", r.Status, r.Body)
		}
		sr = s.do(s.multipartReq("/v1/search", a, nil, [][2]string{{"image", angelina("img7.jpg")}}))
		if c, _ := sr.Body["candidates"].([]any); len(c) != 0 {
			t.Fatalf("search after delete still finds: %v", sr.Body)
		}
	})

	t.Run("business-metrics", func(t *testing.T) {
		res, err := http.Get(s.base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(res.Body)
		res.Body.Close()
		keyID, _, _ := strings.Cut(a, ".")
		k, _ := s.srv.Store().GetAPIKey(context.Background(), keyID)
		for _, m := range []string{
			`visage_enrolments_total{integration="` + k.IntegrationID + `",liveness="passive"} 1`,
			`visage_verifications_total{integration="` + k.IntegrationID + `",outcome="verified"}`,
			`visage_verifications_total{integration="` + k.IntegrationID + `",outcome="no_match"} 1`,
			`visage_searches_total{integration="` + k.IntegrationID + `"} 2`,
		} {
			if !strings.Contains(string(data), m) {
				t.Errorf("metrics lack %s", m)
			}
		}
	})

	t.Run("policy-follows-the-model", func(t *testing.T) {
		key := s.newTenant("policy")
		get := func() map[string]any {
			r := s.do(s.request("GET", "/v1/integration", key, nil, ""))
			return r.Body
		}
		patch := func(body string) reply {
			return s.do(s.request("PATCH", "/v1/integration", key, strings.NewReader(body), "application/json"))
		}
		pol := get()["policy"].(map[string]any)
		if pol["match_threshold"] != float64(70) || pol["liveness_threshold"] != 0.5 || len(get()["policy_overrides"].([]any)) != 0 {
			t.Fatalf("defaults: %v", get())
		}
		if r := patch(`{"match_threshold": 80}`); r.Status != 200 || r.Body["policy"].(map[string]any)["match_threshold"] != float64(80) ||
			r.Body["policy_overrides"].([]any)[0] != "match_threshold" {
			t.Fatalf("override: %d %v", r.Status, r.Body)
		}
		if r := patch(`{"match_threshold": 0}`); r.Body["policy"].(map[string]any)["match_threshold"] != float64(70) || len(r.Body["policy_overrides"].([]any)) != 0 {
			t.Fatalf("back to the model's default: %v", r.Body)
		}
		if r := patch(`{"match_treshold": 80}`); r.Status != 400 || r.code() != "invalid_json" {
			t.Fatalf("misspelt setting: %d %v", r.Status, r.Body)
		}
	})

	t.Run("duplicate-check", func(t *testing.T) {
		key := s.newTenant("dups")
		if r := s.do(s.multipartReq("/v1/faces", key, map[string]string{"face_id": "first"}, [][2]string{{"image", angelina("img1.jpg")}})); r.Status != 201 {
			t.Fatalf("enrol: %d %v", r.Status, r.Body)
		}
		// Off by default: the same person under another id enrols.
		if r := s.do(s.multipartReq("/v1/faces", key, map[string]string{"face_id": "second"}, [][2]string{{"image", angelina("img2.jpg")}})); r.Status != 201 {
			t.Fatalf("enrol without the check: %d %v", r.Status, r.Body)
		}
		s.configure(key, map[string]any{"check_duplicates": true})
		r := s.do(s.multipartReq("/v1/faces", key, map[string]string{"face_id": "third"}, [][2]string{{"image", angelina("img4.jpg")}}))
		details, _ := r.Body["error"].(map[string]any)["details"].(map[string]any)
		if r.Status != 409 || r.code() != "duplicate_face" || (details["face_id"] != "first" && details["face_id"] != "second") {
			t.Fatalf("duplicate: %d %v", r.Status, r.Body)
		}
		if r := s.do(s.request("GET", "/v1/faces/third", key, nil, "")); r.Status != 404 {
			t.Fatalf("refused duplicate left a face: %d", r.Status)
		}
		if r := s.do(s.multipartReq("/v1/faces", key, map[string]string{"face_id": "someone-else"}, [][2]string{{"image", other}})); r.Status != 201 {
			t.Fatalf("another person: %d %v", r.Status, r.Body)
		}
	})

	t.Run("cross-tenant-isolation", func(t *testing.T) {
		if r := s.do(s.multipartReq("/v1/faces", a, map[string]string{"face_id": "alice"}, [][2]string{{"image", angelina("img1.jpg")}})); r.Status != 201 {
			t.Fatalf("enrol: %d %v", r.Status, r.Body)
		}
		if r := s.do(s.request("GET", "/v1/faces/alice", b, nil, "")); r.Status != 404 {
			t.Fatalf("B reads A's face: %d", r.Status)
		}
		if r := s.do(s.multipartReq("/v1/faces/alice/verify", b, nil, [][2]string{{"image", angelina("img2.jpg")}})); r.Status != 404 {
			t.Fatalf("B verifies against A's face: %d %v", r.Status, r.Body)
		}
		sr := s.do(s.multipartReq("/v1/search", b, nil, [][2]string{{"image", angelina("img2.jpg")}}))
		if c, _ := sr.Body["candidates"].([]any); sr.Status != 200 || len(c) != 0 {
			t.Fatalf("B's search finds A's face: %v", sr.Body)
		}
		if r := s.do(s.request("DELETE", "/v1/faces/alice", b, nil, "")); r.Status != 404 {
			t.Fatalf("B deletes A's face: %d", r.Status)
		}
		if r := s.do(s.request("GET", "/v1/faces", b, nil, "")); len(r.Body["faces"].([]any)) != 0 {
			t.Fatalf("B lists A's faces: %v", r.Body)
		}
		if r := s.do(s.request("GET", "/v1/faces/alice", a, nil, "")); r.Status != 200 {
			t.Fatalf("A lost its face: %d", r.Status)
		}
	})

	t.Run("bad-input", func(t *testing.T) {
		jpg, _ := os.ReadFile(angelina("img1.jpg"))
		trunc := filepath.Join(t.TempDir(), "trunc.jpg")
		os.WriteFile(trunc, jpg[:len(jpg)/3], 0o644)
		text := filepath.Join(t.TempDir(), "notes.jpg")
		os.WriteFile(text, []byte("just text"), 0o644)
		cases := []struct {
			name   string
			file   string
			status int
			code   string
		}{
			{"truncated", trunc, 400, "invalid_image"},
			{"text", text, 415, "unsupported_image_format"},
			{"no face", fx(t, "documents", "pacman.jpg"), 422, "no_face_found"},
			{"two faces", fx(t, "faces", "deepface", "id12_img38", "img41.jpg"), 422, "multiple_faces"},
		}
		for _, c := range cases {
			r := s.do(s.multipartReq("/v1/faces", a, map[string]string{"face_id": "bad-" + c.name}, [][2]string{{"image", c.file}}))
			if r.Status != c.status || r.code() != c.code {
				t.Errorf("%s: %d %v, want %d %s", c.name, r.Status, r.Body, c.status, c.code)
			}
			if g := s.do(s.request("GET", "/v1/faces/bad-"+c.name, a, nil, "")); g.Status != 404 {
				t.Errorf("%s: partial enrolment left behind", c.name)
			}
		}
		if r := s.do(s.request("POST", "/v1/compare", a, strings.NewReader(`{"image_a": "abc`), "application/json")); r.Status != 400 || r.code() != "invalid_json" {
			t.Errorf("malformed JSON: %d %v", r.Status, r.Body)
		}
		big := bytes.Repeat([]byte{0xFF}, 60<<20)
		if r := s.do(s.request("POST", "/v1/faces/x/verify", a, bytes.NewReader(big), "image/jpeg")); r.Status != 413 || r.code() != "payload_too_large" {
			t.Errorf("60 MB upload: %d %v", r.Status, r.Body)
		}
		if r := s.do(s.request("POST", "/v1/detect", a, bytes.NewReader(big[:25<<20]), "image/jpeg")); r.Status != 413 || r.code() != "image_too_large" {
			t.Errorf("25 MB image: %d %v", r.Status, r.Body)
		}
		truncMP := "--XYZ\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.jpg\"\r\n\r\n\xff\xd8\xff"
		if r := s.do(s.request("POST", "/v1/detect", a, strings.NewReader(truncMP), "multipart/form-data; boundary=XYZ")); r.Status != 400 {
			t.Errorf("multipart without closing boundary: %d %v", r.Status, r.Body)
		}
		if r := s.do(s.request("GET", "/v1/faces/x%FFy", a, nil, "")); r.Status != 400 {
			t.Errorf("invalid UTF-8 face id: %d %v", r.Status, r.Body)
		}
		if r := s.do(s.request("GET", "/v1/faces", "key_\xff.abc", nil, "")); r.Status != 401 {
			t.Errorf("invalid UTF-8 key: %d %v", r.Status, r.Body)
		}
		if r := s.do(s.request("GET", "/v1/faces?api_key=key_%FF.abc", "", nil, "")); r.Status != 401 {
			t.Errorf("invalid UTF-8 api_key: %d %v", r.Status, r.Body)
		}
		if r := s.do(s.request("PUT", "/v1/faces", a, nil, "")); r.Status != 405 || r.code() != "method_not_allowed" || r.Header.Get("Allow") != "GET, POST" {
			t.Errorf("wrong method: %d %v %v", r.Status, r.Body, r.Header.Get("Allow"))
		}
		if r := s.do(s.request("GET", "/v1/nope", a, nil, "")); r.Status != 404 || r.code() != "not_found" {
			t.Errorf("unknown route: %d %v", r.Status, r.Body)
		}
		if r := s.do(s.request("GET", "/v1/faces", "", nil, "")); r.Body["error"].(map[string]any)["request_id"] == "" {
			t.Error("error without request id")
		}
	})

	t.Run("stored-image-served-as-image", func(t *testing.T) {
		// A client-declared text/html must not come back as HTML.
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.WriteField("face_id", "typed")
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="image"; filename="x.html"`)
		h.Set("Content-Type", "text/html")
		pw, _ := mw.CreatePart(h)
		data, _ := os.ReadFile(angelina("img1.jpg"))
		pw.Write(data)
		mw.Close()
		r := s.do(s.request("POST", "/v1/faces", a, &buf, mw.FormDataContentType()))
		if r.Status != 201 {
			t.Fatalf("enrol: %d %v", r.Status, r.Body)
		}
		imgID := r.Body["images"].([]any)[0].(map[string]any)["id"].(string)
		res, err := http.DefaultClient.Do(s.request("GET", "/v1/faces/typed/images/"+imgID, a, nil, ""))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/jpeg" || res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("image response: %d %v", res.StatusCode, res.Header)
		}
		if res, _ := http.DefaultClient.Do(s.request("GET", "/v1/faces/typed/images/"+imgID, b, nil, "")); res.StatusCode != 404 {
			t.Fatalf("another tenant fetched the image: %d", res.StatusCode)
		}
	})

	t.Run("tampered-template-rejected", func(t *testing.T) {
		for _, id := range []string{"tamper-1", "tamper-2"} {
			if r := s.do(s.multipartReq("/v1/faces", a, map[string]string{"face_id": id}, [][2]string{{"image", angelina("img1.jpg")}})); r.Status != 201 {
				t.Fatalf("enrol: %d %v", r.Status, r.Body)
			}
		}
		db := s.rawDB()
		defer db.Close()
		// Flip one byte of tamper-1's sealed template.
		if _, err := db.Exec(`UPDATE templates SET sealed = ` + flipByteSQL(s) + ` WHERE face_ref = (SELECT id FROM faces WHERE face_id = 'tamper-1')`); err != nil {
			t.Fatal(err)
		}
		r := s.do(s.multipartReq("/v1/faces/tamper-1/verify", a, nil, [][2]string{{"image", angelina("img2.jpg")}}))
		if r.Status != 500 || r.code() != "template_integrity" {
			t.Fatalf("tampered template: %d %v", r.Status, r.Body)
		}
		// Copying a valid sealed template from another face must fail too:
		// the additional data binds it to its face and id.
		if _, err := db.Exec(`UPDATE templates SET sealed = (SELECT t2.sealed FROM templates t2 JOIN faces f2 ON f2.id = t2.face_ref WHERE f2.face_id = 'tamper-2') WHERE face_ref = (SELECT id FROM faces WHERE face_id = 'tamper-1')`); err != nil {
			t.Fatal(err)
		}
		if r := s.do(s.multipartReq("/v1/faces/tamper-1/verify", a, nil, [][2]string{{"image", angelina("img2.jpg")}})); r.code() != "template_integrity" {
			t.Fatalf("swapped template: %d %v", r.Status, r.Body)
		}
		if r := s.do(s.multipartReq("/v1/faces/tamper-2/verify", a, nil, [][2]string{{"image", angelina("img2.jpg")}})); r.Body["match"] != true {
			t.Fatalf("intact neighbour: %d %v", r.Status, r.Body)
		}
	})

	t.Run("index-survives-restart", func(t *testing.T) {
		// A second server on the same database and data dir (a restart, or
		// another node) loads its index lazily from the store: enrolments
		// made by the first are searchable there, and their sealed
		// templates open with the same master key.
		if r := s.do(s.multipartReq("/v1/faces", a, map[string]string{"face_id": "persist"}, [][2]string{{"image", fx(t, "faces", "deepface", "id09_img26", "img26.jpg")}})); r.Status != 201 {
			t.Fatalf("enrol: %d %v", r.Status, r.Body)
		}
		s2 := startServer(t, s.cfg.DatabaseURL, s.cfg.DataDir, nil)
		sr := s2.do(s2.multipartReq("/v1/search", a, nil, [][2]string{{"image", fx(t, "faces", "deepface", "id09_img26", "img27.jpg")}}))
		if c, _ := sr.Body["candidates"].([]any); len(c) == 0 || c[0].(map[string]any)["face_id"] != "persist" {
			t.Fatalf("search: %v", sr.Body)
		}
	})
}

// rawDB opens the server's database directly, to tamper with it.
func (s *server) rawDB() *sql.DB {
	driver, dsn := "pgx", s.cfg.DatabaseURL
	if dsn == "" {
		driver, dsn = "sqlite", filepath.Join(s.cfg.DataDir, "visage.db")
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		s.t.Fatal(err)
	}
	return db
}

func flipByteSQL(s *server) string {
	if s.cfg.DatabaseURL == "" { // SQLite: blobs are hex-editable
		return `unhex(substr(hex(sealed), 1, 60) || (CASE substr(hex(sealed), 61, 2) WHEN 'FF' THEN '00' ELSE 'FF' END) || substr(hex(sealed), 63))`
	}
	return `overlay(sealed placing (CASE WHEN get_byte(sealed, 30) = 255 THEN '\x00'::bytea ELSE '\xff'::bytea END) from 31 for 1)`
}

func TestRateLimit(t *testing.T) {
	s := startServer(t, "", "", func(c *config.Server) { c.RateLimit, c.RateBurst = 1, 3 })
	key := s.newTenant("limited")
	var last reply
	for i := 0; i < 5; i++ {
		last = s.do(s.request("GET", "/v1/faces", key, nil, ""))
	}
	if last.Status != 429 || last.code() != "rate_limited" || last.Header.Get("Retry-After") == "" {
		t.Fatalf("after burst: %d %v %v", last.Status, last.Body, last.Header)
	}
	time.Sleep(1100 * time.Millisecond)
	if r := s.do(s.request("GET", "/v1/faces", key, nil, "")); r.Status != 200 {
		t.Fatalf("after refill: %d", r.Status)
	}
	other := s.newTenant("unlimited-neighbour")
	if r := s.do(s.request("GET", "/v1/faces", other, nil, "")); r.Status != 200 {
		t.Fatalf("another key is limited too: %d", r.Status)
	}
	_ = fmt.Sprint
}

// Two nodes on one PostgreSQL database: each keeps its own in-memory 1:N
// index, and a change on one (enrolment, deletion) is seen by the other's
// next search.
func TestTwoNodesShareSearch(t *testing.T) {
	admin := testenv.PostgresAdmin(t)
	db := testenv.FreshPostgres(t, admin)
	n1 := startServer(t, db, "", nil)
	n2 := startServer(t, db, n1.cfg.DataDir, nil) // same master key
	key := n1.newTenant("nodes")
	img := func(id, n string) string { return fx(t, "faces", "deepface", id, n) }
	search := func(n *server, probe string) []any {
		r := n.do(n.multipartReq("/v1/search", key, nil, [][2]string{{"image", probe}}))
		if r.Status != 200 {
			t.Fatalf("search: %d %v", r.Status, r.Body)
		}
		c, _ := r.Body["candidates"].([]any)
		return c
	}
	enrol := func(n *server, faceID, path string) {
		if r := n.do(n.multipartReq("/v1/faces", key, map[string]string{"face_id": faceID}, [][2]string{{"image", path}})); r.Status != 201 {
			t.Fatalf("enrol %s: %d %v", faceID, r.Status, r.Body)
		}
	}
	enrol(n1, "alice", img("id00_img1", "img1.jpg"))
	if c := search(n2, img("id00_img1", "img2.jpg")); len(c) != 1 {
		t.Fatalf("node 2 does not find node 1's enrolment: %v", c)
	}
	// Node 2's index is now loaded; node 1 enrols someone else.
	enrol(n1, "bob", img("id01_img3", "img3.jpg"))
	if c := search(n2, img("id01_img3", "img12.jpg")); len(c) != 1 || c[0].(map[string]any)["face_id"] != "bob" {
		t.Fatalf("node 2 misses a later enrolment on node 1: %v", c)
	}
	// Erasure on node 1 must stop matches on node 2.
	if r := n1.do(n1.request("DELETE", "/v1/faces/alice", key, nil, "")); r.Status != 204 {
		t.Fatalf("delete: %d", r.Status)
	}
	if c := search(n2, img("id00_img1", "img2.jpg")); len(c) != 0 {
		t.Fatalf("node 2 still finds a face deleted on node 1: %v", c)
	}
	// Disabling on node 2 stops matches on node 1.
	b, _ := json.Marshal(map[string]bool{"enabled": false})
	if r := n2.do(n2.request("PATCH", "/v1/faces/bob", key, bytes.NewReader(b), "application/json")); r.Status != 200 {
		t.Fatalf("disable: %d %v", r.Status, r.Body)
	}
	if c := search(n1, img("id01_img3", "img12.jpg")); len(c) != 0 {
		t.Fatalf("node 1 still finds a face disabled on node 2: %v", c)
	}
}

// A verify-scoped key verifies but cannot loosen the policy, enrol or
// unlock; an admin key cannot set thresholds under the model's floors; a
// policy change is on the audit log with who made it.
func TestScopedKeysAndFloors(t *testing.T) {
	s := startServer(t, "", "", nil)
	admin := s.newTenant("scopes")
	keyID, _, _ := strings.Cut(admin, ".")
	k, _ := s.srv.Store().GetAPIKey(t.Context(), keyID)
	vk, err := s.srv.Tenant.CreateKey(t.Context(), k.IntegrationID, "login", "verify")
	if err != nil {
		t.Fatal(err)
	}
	angelina := func(n string) string { return fx(t, "faces", "deepface", "id00_img1", n) }
	if r := s.do(s.multipartReq("/v1/faces", admin, map[string]string{"face_id": "sc-1"}, [][2]string{{"images", angelina("img1.jpg")}})); r.Status != 201 {
		t.Fatalf("enrol: %d %v", r.Status, r.Body)
	}
	if r := s.do(s.multipartReq("/v1/faces/sc-1/verify", vk.Token, nil, [][2]string{{"image", angelina("img2.jpg")}})); r.Status != 200 || r.Body["verified"] != true {
		t.Fatalf("verify with a verify key: %d %v", r.Status, r.Body)
	}
	for _, c := range []struct{ method, path, body string }{
		{"PATCH", "/v1/integration", `{"match_threshold":0.0001,"liveness_threshold":0}`},
		{"POST", "/v1/faces/sc-1/unlock", ""},
		{"PUT", "/v1/webhooks", `{"urls":{}}`},
	} {
		if r := s.do(s.request(c.method, c.path, vk.Token, strings.NewReader(c.body), "application/json")); r.Status != 403 || r.code() != "forbidden" {
			t.Fatalf("%s %s with a verify key: %d %v", c.method, c.path, r.Status, r.Body)
		}
	}
	if r := s.do(s.multipartReq("/v1/faces", vk.Token, map[string]string{"face_id": "sc-2"}, [][2]string{{"images", angelina("img4.jpg")}})); r.Status != 403 {
		t.Fatalf("enrol with a verify key: %d %v", r.Status, r.Body)
	}
	for _, body := range []string{`{"match_threshold":0.0001}`, `{"liveness_threshold":0.01}`} {
		if r := s.do(s.request("PATCH", "/v1/integration", admin, strings.NewReader(body), "application/json")); r.Status != 400 {
			t.Fatalf("%s under the floor: %d %v", body, r.Status, r.Body)
		}
	}
	if r := s.do(s.request("PATCH", "/v1/integration", admin, strings.NewReader(`{"match_threshold":80}`), "application/json")); r.Status != 200 {
		t.Fatalf("raise the threshold: %d %v", r.Status, r.Body)
	}
	for _, th := range []string{"NaN", "Inf", "-1", "101"} {
		if r := s.do(s.multipartReq("/v1/search", admin, map[string]string{"threshold": th}, [][2]string{{"image", angelina("img2.jpg")}})); r.Status != 400 {
			t.Fatalf("search threshold %s: %d %v", th, r.Status, r.Body)
		}
	}
	if r := s.do(s.request("POST", "/v1/faces/sc-1/unlock", admin, nil, "")); r.Status != 200 {
		t.Fatalf("unlock: %d %v", r.Status, r.Body)
	}
	if r := s.do(s.request("DELETE", "/v1/faces/sc-1", admin, nil, "")); r.Status != 204 {
		t.Fatalf("erase: %d %v", r.Status, r.Body)
	}
	if r := s.do(s.request("PUT", "/v1/webhooks", admin, strings.NewReader(`{"urls":{}}`), "application/json")); r.Status != 200 {
		t.Fatalf("set webhooks: %d %v", r.Status, r.Body)
	}
	if r := s.do(s.request("GET", "/v1/audit-events", vk.Token, nil, "")); r.Status != 403 {
		t.Fatalf("audit log with a verify key: %d %v", r.Status, r.Body)
	}
	r := s.do(s.request("GET", "/v1/audit-events?limit=3", admin, nil, ""))
	if r.Status != 200 {
		t.Fatalf("audit log: %d %v", r.Status, r.Body)
	}
	var actions []string
	for page := 0; page < 5; page++ {
		for _, e := range r.Body["events"].([]any) {
			ev := e.(map[string]any)
			actions = append(actions, ev["action"].(string))
			if ev["action"] == "integration.settings_changed" && (ev["actor"] != "key:"+keyID || ev["remote"] == "") {
				t.Fatalf("settings change recorded as %v", ev)
			}
		}
		next, _ := r.Body["next_cursor"].(string)
		if next == "" {
			break
		}
		r = s.do(s.request("GET", "/v1/audit-events?limit=3&cursor="+next, admin, nil, ""))
	}
	want := []string{"webhooks.changed", "face.erased", "face.unlocked", "integration.settings_changed", "key.created"}
	if len(actions) < len(want) || !slices.Equal(actions[:len(want)], want) {
		t.Fatalf("audit log actions %v, want %v first", actions, want)
	}
	if r := s.do(s.request("GET", "/v1/audit-events?cursor=bogus", admin, nil, "")); r.Status != 400 {
		t.Fatalf("bad cursor: %d %v", r.Status, r.Body)
	}
}
