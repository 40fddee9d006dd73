package app

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/testenv"
)

// basic is the seed's "API key pair" over HTTP Basic for a Visage key.
func basic(key string) string {
	id, secret, _ := strings.Cut(key, ".")
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}

func (s *server) basicReq(method, path, key string, body any) *http.Request {
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req := s.request(method, path, "", rd, "application/json")
	req.Header.Set("Authorization", basic(key))
	return req
}

// selfieReq posts a camera still to a face-authentication page.
func (s *server) selfieReq(pageURL string, jpeg []byte) *http.Request {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	w, _ := mw.CreateFormFile("selfie", "selfie.jpg")
	_, _ = w.Write(jpeg)
	_ = mw.Close()
	u, _ := url.Parse(pageURL)
	return s.request("POST", u.Path+"/selfie", "", &buf, mw.FormDataContentType())
}

// Seed 001 as its client runs it: check-status of an identified person
// (an approved case), authentication-info with a digit code, the person
// types the code on another device and takes a selfie there, the
// facialAuthentication webhook and the status follow. An unknown scanRef
// is 404; a person not yet identified is IDENTIFICATION; another
// person's selfies fail the session after three tries.
func TestFacialAuthSeedFlow(t *testing.T) {
	s, key, hooks := verifyServer(t)
	put, _ := json.Marshal(map[string]any{"urls": map[string][]string{"facialAuthentication": {hooks.srv.URL + "/fa"}}})
	if r := s.do(s.request("PUT", "/v1/webhooks", key, bytes.NewReader(put), "application/json")); r.Status != 200 {
		t.Fatalf("configure webhook: %d %v", r.Status, r.Body)
	}
	body := `{"unique_identifier":"amy-7","first_name":"Anna Maria","last_name":"Eriksson","document_type":"Passport"}`
	r := s.do(s.request("POST", "/v1/verifications", key, strings.NewReader(body), "application/json"))
	scanRef, _ := r.Body["id"].(string)
	if r.Status != 201 {
		t.Fatalf("create case: %d %v", r.Status, r.Body)
	}
	check := func(ref string) reply {
		return s.do(s.basicReq("GET", "/identification/facial-auth/"+ref+"/check-status/?method=FACE_MATCHING", key, nil))
	}
	if r := check(scanRef); r.Status != 200 || r.Body["type"] != "IDENTIFICATION" {
		t.Fatalf("before identification: %d %v", r.Status, r.Body)
	}
	ct, buf := form(t, nil, map[string][2]any{"document_front": {"passport.jpg", passportOf(t, amyPhoto)},
		"selfie": {"selfie.jpg", testenv.CameraFrame(t, false, amyFrontal...)}})
	if r := s.do(s.request("POST", "/v1/verifications/"+scanRef+"/submit", key, buf, ct)); r.Status != 200 || r.Body["status"] != "Approved" {
		t.Fatalf("submit: %d %v", r.Status, r.Body)
	}
	if r := check(scanRef); r.Status != 200 || r.Body["type"] != "AUTHENTICATION" {
		t.Fatalf("after approval: %d %v", r.Status, r.Body)
	}
	if r := check("no-such-scan"); r.Status != 404 || r.Body["identifier"] != "NOT_FOUND" {
		t.Fatalf("unknown scanRef: %d %v", r.Status, r.Body)
	}

	r = s.do(s.basicReq("POST", "/partner/authentication-info", key, map[string]any{"scanRef": scanRef, "type": "AUTHENTICATION",
		"lifetime": 600, "locale": "fr", "generateDigitString": true}))
	code, _ := r.Body["digitString"].(string)
	authToken, _ := r.Body["authToken"].(string)
	if r.Status != 201 || len(code) != 6 || authToken == "" {
		t.Fatalf("authentication-info: %d %v", r.Status, r.Body)
	}
	// The phone: the code page, then the selfie on the page it leads to.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(c string) *http.Response {
		res, err := noRedirect.PostForm(s.base+"/face-auth/code", url.Values{"code": {c}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	if res := post("000000"); res.StatusCode != 400 && code != "000000" {
		t.Fatalf("a wrong code: %d", res.StatusCode)
	}
	res := post(code)
	loc := res.Header.Get("Location")
	if res.StatusCode != 303 || !strings.HasPrefix(loc, "fd_") {
		t.Fatalf("the code: %d %q", res.StatusCode, loc)
	}
	if res := post(code); res.StatusCode != 400 {
		t.Fatalf("the code twice: %d", res.StatusCode)
	}
	page := s.base + "/face-auth/" + loc
	if st := s.do(s.request("GET", "/face-auth/"+loc+"/state", "", nil, "")); st.Status != 200 || st.Body["locale"] != "fr" || st.Body["status"] != "in_progress" {
		t.Fatalf("state: %d %v", st.Status, st.Body)
	}
	r = s.do(s.selfieReq(page, testenv.CameraFrame(t, false, "faces", "bbt", "amy", "amy4.png")))
	if r.Status != 200 || r.Body["status"] != "completed" {
		t.Fatalf("amy's selfie: %d %v", r.Status, r.Body)
	}
	d := hooks.wait(t, "facialAuthentication", func(b map[string]any) bool { return b["scanRef"] == scanRef })
	if d.body["status"] != "APPROVED" || d.body["method"] != "FACE_MATCHING" || d.body["type"] != "AUTHENTICATION" || d.ua != "Visage-FacialAuth/1.0" {
		t.Fatalf("webhook: %+v", d)
	}
	st := s.do(s.basicReq("POST", "/partner/authentication-status", key, map[string]string{"authToken": authToken}))
	if st.Status != 200 || st.Body["status"] != "APPROVED" {
		t.Fatalf("status: %d %v", st.Status, st.Body)
	}
	if r := s.do(s.selfieReq(page, testenv.CameraFrame(t, false, "faces", "bbt", "amy", "amy4.png"))); r.Status != 409 {
		t.Fatalf("a selfie after the end: %d %v", r.Status, r.Body)
	}

	// Someone else at the camera: three tries, then DENIED.
	r = s.do(s.basicReq("POST", "/partner/authentication-info", key, map[string]any{"scanRef": scanRef}))
	other, _ := r.Body["url"].(string)
	for i := 0; i < 3; i++ {
		r = s.do(s.selfieReq(other, testenv.CameraFrame(t, false, pennyFace...)))
	}
	if r.Status != 200 || r.Body["status"] != "failed" || r.Body["reason"] != "no_match" {
		t.Fatalf("penny three times: %d %v", r.Status, r.Body)
	}
	d = hooks.wait(t, "facialAuthentication", func(b map[string]any) bool { return b["status"] == "DENIED" })
	if d.body["reason"] != "no_match" {
		t.Fatalf("denied webhook: %+v", d)
	}

	// A session nobody used ends EXPIRED when the sweeper passes, with its
	// webhook, instead of leaving the client waiting.
	r = s.do(s.basicReq("POST", "/partner/authentication-info", key, map[string]any{"scanRef": scanRef, "lifetime": 1}))
	unused, _ := r.Body["authToken"].(string)
	time.Sleep(1100 * time.Millisecond)
	if _, err := s.srv.Faces.SweepCaptures(t.Context(), time.Now()); err != nil {
		t.Fatal(err)
	}
	d = hooks.wait(t, "facialAuthentication", func(b map[string]any) bool { return b["status"] == "EXPIRED" })
	if d.body["reason"] != "expired" || d.body["scanRef"] != scanRef {
		t.Fatalf("expired webhook: %+v", d)
	}
	if st := s.do(s.basicReq("POST", "/partner/authentication-status", key, map[string]string{"authToken": unused})); st.Body["status"] != "EXPIRED" || st.Body["reason"] != "expired" {
		t.Fatalf("status of the expired session: %v", st.Body)
	}

	// Refused requests, in the surface's shape.
	for _, c := range []struct {
		body   map[string]any
		status int
	}{
		{map[string]any{}, 400},
		{map[string]any{"scanRef": scanRef, "lifetime": 30*24*3600 + 1}, 400},
		{map[string]any{"scanRef": scanRef, "lifetime": 0}, 400},
		{map[string]any{"scanRef": scanRef, "locale": "xx"}, 400},
		{map[string]any{"scanRef": "no-such-scan"}, 404},
	} {
		if r := s.do(s.basicReq("POST", "/partner/authentication-info", key, c.body)); r.Status != c.status || r.Body["message"] == "" {
			t.Errorf("%v: %d %v, want %d", c.body, r.Status, r.Body, c.status)
		}
	}
	if r := s.do(s.basicReq("GET", "/identification/facial-auth/"+scanRef+"/check-status/", "key_x.wrong", nil)); r.Status != 401 || r.Body["identifier"] != "UNAUTHORIZED" {
		t.Fatalf("wrong key: %d %v", r.Status, r.Body)
	}
}
