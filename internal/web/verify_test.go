package web_test

import (
	"encoding/json"
	"errors"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/visagehq/visage/internal/api/edge"
	"github.com/visagehq/visage/internal/faceauth"
	"github.com/visagehq/visage/internal/fault"
	"github.com/visagehq/visage/internal/web"
)

// seed002Config is the Identity Verification API's page: a selfie video
// and one ID photo, with the query's fields sent back.
func seed002Config() web.PageConfig {
	return web.PageConfig{
		Theme:     faceauth.Theme{Name: "Acme Bank", PrimaryColor: "#0f766e"},
		SubmitURL: "/verif/submit",
		Fields: map[string]string{"api_key": "k_live_123", "user_identifier": "user123",
			"user_email": "user@example.com", "user_phone": "+15550100"},
		VideoField:  "selfie_video",
		PhotoFields: []web.DocumentSide{{Field: "id_photo", Label: "ID document"}},
		AssetPath:   "/verif/assets/",
	}
}

// nativeConfig is a verification's requestUrl: a selfie photo, the front
// and (optionally) the back of the document.
func nativeConfig() web.PageConfig {
	return web.PageConfig{
		SubmitURL:   "/v/vrf_1/submit?x=1",
		Fields:      map[string]string{"token": "vrf_tok"},
		SelfieField: "selfie",
		PhotoFields: []web.DocumentSide{{Field: "document_front", Side: web.SideFront}, {Field: "document_back", Side: web.SideBack, Optional: true}},
	}
}

// kindRenderer stands in for an adapter's renderer: the kind and a status.
type kindRenderer struct{}

func (kindRenderer) RenderError(w http.ResponseWriter, _ *http.Request, e *fault.Error) {
	status := map[fault.Kind]int{fault.NotFound: 404, fault.MethodNotAllowed: 405}[e.Kind]
	if status == 0 {
		status = 500
	}
	edge.WriteJSON(w, status, map[string]string{"error": string(e.Kind)})
}

// verifyServer mounts the page as an adapter would: on the edge, at
// /verif/ with its assets under /verif/assets/.
func verifyServer(t *testing.T, cfg func(r *http.Request) web.PageConfig) (*httptest.Server, *web.VerifyPage) {
	t.Helper()
	page := web.NewVerifyPage(slog.New(slog.DiscardHandler))
	e := edge.New(edge.Config{Log: slog.New(slog.DiscardHandler)})
	e.Mount(edge.Surface{Name: "verif", Renderer: kindRenderer{}, Routes: []edge.Route{
		{Pattern: "/verif/{$}", Handler: func(w http.ResponseWriter, r *http.Request) { page.Serve(w, r, cfg(r)) }, Undocumented: true},
		{Pattern: "/verif/assets/{name}", Handler: func(w http.ResponseWriter, r *http.Request) { page.Asset(w, r, r.PathValue("name")) }, Undocumented: true},
	}})
	srv := httptest.NewServer(e.Handler())
	t.Cleanup(srv.Close)
	return srv, page
}

func fetch(t *testing.T, method, url string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

var configRE = regexp.MustCompile(`(?s)<script type="application/json" id="verify-config">(.*?)</script>`)

// pageConfig is the JSON the page hands its script.
type pageConfig struct {
	SubmitURL     string            `json:"submit_url"`
	Fields        map[string]string `json:"fields"`
	VideoField    string            `json:"video_field"`
	SelfieField   string            `json:"selfie_field"`
	VideoSeconds  int               `json:"video_seconds"`
	MaxPhotoBytes int64             `json:"max_photo_bytes"`
	MaxVideoBytes int64             `json:"max_video_bytes"`
	Locale        string            `json:"locale"`
	Documents     []struct {
		Field    string `json:"field"`
		Label    string `json:"label"`
		Optional bool   `json:"optional"`
	} `json:"documents"`
	Theme map[string]any    `json:"theme"`
	Texts map[string]string `json:"texts"`
}

func configOf(t *testing.T, page string) pageConfig {
	t.Helper()
	m := configRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no config script in the page")
	}
	var c pageConfig
	if err := json.Unmarshal([]byte(m[1]), &c); err != nil {
		t.Fatalf("config JSON: %v\n%s", err, m[1])
	}
	return c
}

func textOf(t *testing.T, page, re string) string {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("%s not in page", re)
	}
	return html.UnescapeString(m[1])
}

func TestVerifyPageHeaders(t *testing.T) {
	srv, page := verifyServer(t, func(*http.Request) web.PageConfig { return seed002Config() })
	res, body := fetch(t, http.MethodGet, srv.URL+"/verif/?api_key=k_live_123&user_identifier=user123", nil)
	if res.StatusCode != 200 {
		t.Fatalf("status %d: %s", res.StatusCode, body)
	}
	want := map[string]string{
		"Content-Type":     "text/html; charset=utf-8",
		"Cache-Control":    "no-store",
		"Referrer-Policy":  "no-referrer",
		"X-Frame-Options":  "DENY",
		"Content-Language": "en",
		"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
			"media-src 'self' blob: mediastream:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; " +
			"form-action 'self'; frame-ancestors 'none'",
		"X-Content-Type-Options": "nosniff",
	}
	for k, v := range want {
		if got := res.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if pp := res.Header.Get("Permissions-Policy"); !strings.Contains(pp, "camera=(self)") || !strings.Contains(pp, "microphone=()") {
		t.Errorf("Permissions-Policy %q", pp)
	}
	// No inline script or style: the only <script> with content is data.
	for _, m := range regexp.MustCompile(`(?s)<script([^>]*)>(.*?)</script>`).FindAllStringSubmatch(body, -1) {
		if strings.TrimSpace(m[2]) != "" && !strings.Contains(m[1], `type="application/json"`) {
			t.Errorf("inline script: %s", m[0])
		}
	}
	if strings.Contains(body, "style=") || strings.Contains(body, "<style") {
		t.Error("inline style in the page")
	}
	v := page.AssetVersion()
	for _, ref := range []string{`src="/verif/assets/verify.js?v=` + v + `"`, `href="/verif/assets/verify.css?v=` + v + `"`} {
		if !strings.Contains(body, ref) {
			t.Errorf("page lacks %s", ref)
		}
	}

	// HEAD: the same headers, no body.
	res, body = fetch(t, http.MethodHead, srv.URL+"/verif/", nil)
	if res.StatusCode != 200 || body != "" || res.Header.Get("Content-Security-Policy") == "" {
		t.Errorf("HEAD: %d %q", res.StatusCode, body)
	}
	res, _ = fetch(t, http.MethodPost, srv.URL+"/verif/", nil)
	if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: %d Allow %q", res.StatusCode, res.Header.Get("Allow"))
	}
}

func TestVerifyPageLogoAndFrameAncestors(t *testing.T) {
	cfg := seed002Config()
	cfg.Theme.LogoURL = "https://cdn.acme.example:8443/logo.svg?x=1"
	cfg.FrameAncestors = []string{"https://app.acme.example", "HTTPS://*.Acme.example:8443/", "'self'", "https://app.acme.example",
		"https://evil.example; script-src *", "javascript:alert(1)", "https://a.example/path", "*", "https://*.example", "http://x:99999"}
	srv, _ := verifyServer(t, func(*http.Request) web.PageConfig { return cfg })
	res, body := fetch(t, http.MethodGet, srv.URL+"/verif/", nil)
	if res.StatusCode != 200 {
		t.Fatalf("status %d: %s", res.StatusCode, body)
	}
	csp := res.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "img-src 'self' data: blob: https://cdn.acme.example:8443;") {
		t.Errorf("CSP lacks the logo host: %s", csp)
	}
	if !strings.HasSuffix(csp, "; frame-ancestors https://app.acme.example https://*.acme.example:8443 'self'") {
		t.Errorf("CSP frame-ancestors: %s", csp)
	}
	if xfo := res.Header.Get("X-Frame-Options"); xfo != "" {
		t.Errorf("X-Frame-Options %q with frame ancestors", xfo)
	}
	err := cfg.Validate()
	if !errors.Is(err, web.ErrPageConfig) {
		t.Fatalf("Validate: %v", err)
	}
	for _, bad := range []string{"evil.example; script-src", "javascript:", "a.example/path", "99999"} {
		if !strings.Contains(err.Error(), bad) {
			t.Errorf("Validate error %q does not name %q", err, bad)
		}
	}
}

func TestVerifyPageConfigJSON(t *testing.T) {
	hostile := `</script><script>alert(1)</script><!--`
	cfg := seed002Config()
	cfg.Fields["user_identifier"] = hostile
	cfg.Theme.Name = `Acme "Bank" <b>`
	srv, _ := verifyServer(t, func(*http.Request) web.PageConfig { return cfg })
	_, body := fetch(t, http.MethodGet, srv.URL+"/verif/", nil)
	if strings.Contains(body, "<script>alert(1)") || strings.Contains(body, "<b>") {
		t.Fatal("hostile values reached the page unescaped")
	}
	c := configOf(t, body)
	if c.SubmitURL != "/verif/submit" || c.VideoField != "selfie_video" || c.SelfieField != "" || c.Locale != "en" {
		t.Errorf("config %+v", c)
	}
	if c.Fields["user_identifier"] != hostile || c.Fields["api_key"] != "k_live_123" || len(c.Fields) != 4 {
		t.Errorf("fields %q", c.Fields)
	}
	if c.VideoSeconds != web.DefaultVideoSeconds || c.MaxPhotoBytes != web.DefaultMaxPhotoBytes || c.MaxVideoBytes != web.DefaultMaxVideoBytes {
		t.Errorf("defaults: %d s, %d, %d", c.VideoSeconds, c.MaxPhotoBytes, c.MaxVideoBytes)
	}
	if len(c.Documents) != 1 || c.Documents[0].Field != "id_photo" || c.Documents[0].Label != "ID document" {
		t.Errorf("documents %+v", c.Documents)
	}
	if c.Theme["name"] != cfg.Theme.Name || c.Theme["primary_color"] != "#0f766e" || c.Theme["texts"] != nil {
		t.Errorf("theme %v", c.Theme)
	}
	if got := textOf(t, body, `<p class="lead">([^<]*)</p>`); !strings.HasPrefix(got, cfg.Theme.Name+" needs to confirm") {
		t.Errorf("intro %q", got)
	}
	if got := textOf(t, body, `(?s)<ol class="plan">\s*<li>([^<]*)</li>`); got != "Record a 5-second selfie video while following a few prompts on the screen." {
		t.Errorf("first step %q", got)
	}

	// The native flow: default localised labels, optional back side.
	srv2, _ := verifyServer(t, func(*http.Request) web.PageConfig { return nativeConfig() })
	_, body = fetch(t, http.MethodGet, srv2.URL+"/verif/", map[string]string{"Accept-Language": "fr-FR,fr;q=0.9"})
	c = configOf(t, body)
	if c.SelfieField != "selfie" || c.VideoField != "" || c.SubmitURL != "/v/vrf_1/submit?x=1" {
		t.Errorf("native config %+v", c)
	}
	wantDocs := []string{"document_front:Recto de votre pièce d'identité:false", "document_back:Verso de votre pièce d'identité:true"}
	var gotDocs []string
	for _, d := range c.Documents {
		gotDocs = append(gotDocs, d.Field+":"+d.Label+":"+map[bool]string{true: "true", false: "false"}[d.Optional])
	}
	if !slices.Equal(gotDocs, wantDocs) {
		t.Errorf("documents %q, want %q", gotDocs, wantDocs)
	}
	if !strings.Contains(body, `src="assets/verify.js?v=`) {
		t.Error("default asset path is not relative")
	}
}

func TestVerifyPageLocales(t *testing.T) {
	page := web.NewVerifyPage(nil)
	if got := page.Locales(); len(got) < 2 || got[0] != "en" || !slices.Contains(got, "fr") || !slices.Contains(got, "es") {
		t.Fatalf("locales %q", got)
	}
	cases := []struct{ locale, accept, want string }{
		{"", "", "en"},
		{"fr", "", "fr"},
		{"fr-CA", "en", "fr"},
		{"es_MX", "", "es"},
		{"", "es-MX,es;q=0.9,en;q=0.5", "es"},
		{"", "de-DE,de;q=0.9,fr;q=0.5", "fr"},
		{"", "de-DE, de;q=0.9", "en"},
		{"de", "fr", "fr"},
		{"zz-!!", "", "en"},
		{"", "fr;q=bogus,,,;", "en"},
		{"", strings.Repeat("fr-", 800), "en"},
	}
	for _, c := range cases {
		var locale string
		srv, _ := verifyServer(t, func(*http.Request) web.PageConfig {
			cfg := seed002Config()
			cfg.Locale = locale
			return cfg
		})
		locale = c.locale
		res, body := fetch(t, http.MethodGet, srv.URL+"/verif/", map[string]string{"Accept-Language": c.accept})
		if res.StatusCode != 200 {
			t.Errorf("%q/%q: status %d", c.locale, c.accept, res.StatusCode)
			continue
		}
		if got := textOf(t, body, `<html lang="([^"]*)">`); got != c.want {
			t.Errorf("locale %q, Accept-Language %q: lang %q, want %q", c.locale, c.accept, got, c.want)
		}
		if got := res.Header.Get("Content-Language"); got != c.want {
			t.Errorf("Content-Language %q, want %q", got, c.want)
		}
		if got := textOf(t, body, `<title>([^<]*)</title>`); got != page.Texts(c.want)["page_title"] {
			t.Errorf("%s title %q", c.want, got)
		}
		if got := configOf(t, body).Locale; got != c.want {
			t.Errorf("config locale %q, want %q", got, c.want)
		}
	}
}

var placeholderRE = regexp.MustCompile(`\{[a-z_]+\}`)

func placeholders(s string) []string {
	p := placeholderRE.FindAllString(s, -1)
	sort.Strings(p)
	return slices.Compact(p)
}

// TestVerifyTextsComplete: every language has every text, with the same
// placeholders, really translated, and renders in every page shape.
func TestVerifyTextsComplete(t *testing.T) {
	page := web.NewVerifyPage(nil)
	en := page.Texts("en")
	if len(en) < 80 {
		t.Fatalf("only %d English texts", len(en))
	}
	for _, l := range page.Locales() {
		tx := page.Texts(l)
		same := 0
		for k, v := range en {
			got, ok := tx[k]
			if !ok || strings.TrimSpace(got) == "" {
				t.Errorf("%s: %q missing", l, k)
				continue
			}
			if !slices.Equal(placeholders(got), placeholders(v)) {
				t.Errorf("%s %q: placeholders %q, English has %q", l, k, placeholders(got), placeholders(v))
			}
			if got == v {
				same++
			}
		}
		if len(tx) != len(en) {
			t.Errorf("%s: %d texts, English has %d", l, len(tx), len(en))
		}
		// A few words are the same in both languages ("Selfie", "{n} MB").
		if l != "en" && same > len(en)/12 {
			t.Errorf("%s: %d of %d texts are the English ones", l, same, len(en))
		}
		for _, shape := range []web.PageConfig{seed002Config(), nativeConfig(), {SubmitURL: "/s", PhotoFields: []web.DocumentSide{{Field: "doc"}}, PrivacyURL: "https://acme.example/privacy"}} {
			shape.Locale = l
			srv, _ := verifyServer(t, func(*http.Request) web.PageConfig { return shape })
			res, body := fetch(t, http.MethodGet, srv.URL+"/verif/", nil)
			if res.StatusCode != 200 {
				t.Errorf("%s: status %d: %s", l, res.StatusCode, body)
				continue
			}
			if leftover := regexp.MustCompile(`\{[a-z_]+\}`).FindString(configRE.ReplaceAllString(body, "")); leftover != "" {
				t.Errorf("%s: unfilled %s in the page", l, leftover)
			}
		}
	}
	if page.Texts("xx") != nil {
		t.Error("texts for an unknown locale")
	}
}

func TestVerifyThemeTexts(t *testing.T) {
	cfg := seed002Config()
	cfg.Theme.Texts = map[string]string{
		"verify.title":    "Verify with Acme",
		"verify.title@fr": "Vérifiez avec Acme",
		"title":           "the capture page's title",
		"verify.start":    "Go\x07",
		"verify.nope":     "ignored",
		"verify.footer":   strings.Repeat("x", 501),
	}
	for _, c := range []struct{ locale, title, start string }{
		{"en", "Verify with Acme", "Start"},
		{"fr", "Vérifiez avec Acme", "Commencer"},
		{"es", "Verify with Acme", "Empezar"},
	} {
		cfg.Locale = c.locale
		srv, _ := verifyServer(t, func(*http.Request) web.PageConfig { return cfg })
		_, body := fetch(t, http.MethodGet, srv.URL+"/verif/", nil)
		if got := textOf(t, body, `<h1 id="intro-title"[^>]*>([^<]*)</h1>`); got != c.title {
			t.Errorf("%s: title %q, want %q", c.locale, got, c.title)
		}
		if got := textOf(t, body, `<button id="start"[^>]*>([^<]*)</button>`); got != c.start {
			t.Errorf("%s: start %q, want %q (a text with a control character is refused)", c.locale, got, c.start)
		}
		tx := configOf(t, body).Texts
		if tx["title"] != c.title || strings.Contains(tx["footer"], "xxxx") || tx["nope"] != "" {
			t.Errorf("%s: config texts title %q footer %q", c.locale, tx["title"], tx["footer"])
		}
	}
}

func TestVerifyConfigInvalid(t *testing.T) {
	for _, ok := range []web.PageConfig{seed002Config(), nativeConfig()} {
		if err := ok.Validate(); err != nil {
			t.Errorf("valid config: %v", err)
		}
	}
	cases := map[string]func(*web.PageConfig){
		"absolute submit URL":    func(c *web.PageConfig) { c.SubmitURL = "https://evil.example/submit" },
		"scheme-relative submit": func(c *web.PageConfig) { c.SubmitURL = "//evil.example/submit" },
		"backslash submit":       func(c *web.PageConfig) { c.SubmitURL = `/\evil.example/submit` },
		"javascript submit":      func(c *web.PageConfig) { c.SubmitURL = "javascript:alert(1)" },
		"no submit URL":          func(c *web.PageConfig) { c.SubmitURL = "" },
		"asset path elsewhere":   func(c *web.PageConfig) { c.AssetPath = "https://cdn.example/" },
		"privacy javascript":     func(c *web.PageConfig) { c.PrivacyURL = "javascript:alert(1)" },
		"nothing to capture": func(c *web.PageConfig) {
			c.VideoField, c.SelfieField, c.PhotoFields = "", "", nil
		},
		"field used twice": func(c *web.PageConfig) {
			c.PhotoFields = append(c.PhotoFields, web.DocumentSide{Field: "selfie_video"})
		},
		"hidden field = file":  func(c *web.PageConfig) { c.Fields["id_photo"] = "x" },
		"quote in field name":  func(c *web.PageConfig) { c.VideoField = `selfie"video` },
		"empty document field": func(c *web.PageConfig) { c.PhotoFields[0].Field = "" },
		"unknown side":         func(c *web.PageConfig) { c.PhotoFields[0].Side = "middle" },
		"video too short":      func(c *web.PageConfig) { c.VideoSeconds = 1 },
		"video too long":       func(c *web.PageConfig) { c.VideoSeconds = 31 },
		"huge hidden field":    func(c *web.PageConfig) { c.Fields["api_key"] = strings.Repeat("k", 5000) },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := seed002Config()
			mutate(&cfg)
			if err := cfg.Validate(); !errors.Is(err, web.ErrPageConfig) {
				t.Fatalf("Validate = %v, want ErrPageConfig", err)
			}
			srv, _ := verifyServer(t, func(*http.Request) web.PageConfig { return cfg })
			res, body := fetch(t, http.MethodGet, srv.URL+"/verif/", nil)
			if res.StatusCode != http.StatusInternalServerError || strings.Contains(body, "verify-config") {
				t.Errorf("Serve: %d %.80s", res.StatusCode, body)
			}
		})
	}
}

func TestVerifyAssets(t *testing.T) {
	srv, page := verifyServer(t, func(*http.Request) web.PageConfig { return seed002Config() })
	v := page.AssetVersion()
	for _, c := range []struct{ name, ctype string }{
		{"verify.js", "text/javascript; charset=utf-8"},
		{"verify.css", "text/css; charset=utf-8"},
		{"icon.svg", "image/svg+xml"},
	} {
		res, body := fetch(t, http.MethodGet, srv.URL+"/verif/assets/"+c.name+"?v="+v, nil)
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != c.ctype || len(body) < 100 {
			t.Errorf("%s: %d %q %d bytes", c.name, res.StatusCode, res.Header.Get("Content-Type"), len(body))
		}
		if cc := res.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
			t.Errorf("%s versioned: Cache-Control %q", c.name, cc)
		}
		res, _ = fetch(t, http.MethodGet, srv.URL+"/verif/assets/"+c.name, nil)
		if cc := res.Header.Get("Cache-Control"); cc != "public, max-age=300" {
			t.Errorf("%s unversioned: Cache-Control %q", c.name, cc)
		}
		res, _ = fetch(t, http.MethodGet, srv.URL+"/verif/assets/"+c.name, map[string]string{"If-None-Match": res.Header.Get("ETag")})
		if res.StatusCode != http.StatusNotModified {
			t.Errorf("%s revalidation: %d", c.name, res.StatusCode)
		}
	}
	for _, name := range []string{"verify.html", "verify-texts.json", "capture.js", "capture.html", "nope.js"} {
		if res, _ := fetch(t, http.MethodGet, srv.URL+"/verif/assets/"+name, nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", name, res.StatusCode)
		}
	}
	if res, _ := fetch(t, http.MethodPost, srv.URL+"/verif/assets/verify.js", nil); res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST asset: %d", res.StatusCode)
	}

	// The capture page's asset set is its own.
	ce := edge.New(edge.Config{Log: slog.New(slog.DiscardHandler)})
	ce.Mount(web.New(newStub(), slog.New(slog.DiscardHandler)).Surface())
	capSrv := httptest.NewServer(ce.Handler())
	defer capSrv.Close()
	if res, _ := fetch(t, http.MethodGet, capSrv.URL+"/capture/assets/verify.js", nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("capture handler serves verify.js: %d", res.StatusCode)
	}
	if res, _ := fetch(t, http.MethodGet, capSrv.URL+"/capture/assets/capture.js", nil); res.StatusCode != http.StatusOK {
		t.Errorf("capture handler lost capture.js: %d", res.StatusCode)
	}
}

var cspSourceRE = regexp.MustCompile(`^('self'|'none'|https?://(\*\.)?[a-z0-9.-]+(:[0-9]{1,5})?)$`)

// FuzzVerifyPage: whatever the adapter passes (from an integration's
// settings or a request's query), the page never panics, never breaks out
// of its CSP or its config script, and either renders or refuses.
func FuzzVerifyPage(f *testing.F) {
	f.Add("/verif/submit", "https://app.example.com", "ID document", "user123", "fr", "es;q=0.5")
	f.Add("//evil.example", "https://x; script-src *", "</script><script>", "\u2028\u2029", "zz", "*")
	f.Add("/s?a=b#c", "'self'", "", "\x00", "en-GB", strings.Repeat("a-", 300))
	page := web.NewVerifyPage(slog.New(slog.DiscardHandler))
	f.Fuzz(func(t *testing.T, submit, ancestor, label, value, locale, accept string) {
		cfg := web.PageConfig{SubmitURL: submit, FrameAncestors: []string{ancestor}, Locale: locale,
			Fields:      map[string]string{"user_identifier": value},
			PhotoFields: []web.DocumentSide{{Field: "id_photo", Label: label}},
			Theme:       faceauth.Theme{Name: value, LogoURL: ancestor, Texts: map[string]string{"verify.title": value}}}
		req := httptest.NewRequest(http.MethodGet, "/verif/", nil)
		req.Header.Set("Accept-Language", accept)
		rec := httptest.NewRecorder()
		page.Serve(rec, req, cfg)
		if rec.Code != 200 {
			if rec.Code != http.StatusInternalServerError || cfg.Validate() == nil {
				t.Fatalf("status %d for a config Validate accepts", rec.Code)
			}
			return
		}
		csp := rec.Header().Get("Content-Security-Policy")
		if strings.ContainsAny(csp, "\r\n,") || strings.Count(csp, ";") != 10 {
			t.Fatalf("CSP broken: %q", csp)
		}
		fa := csp[strings.LastIndex(csp, "frame-ancestors ")+len("frame-ancestors "):]
		for _, src := range strings.Fields(fa) {
			if !cspSourceRE.MatchString(src) {
				t.Fatalf("frame-ancestors source %q", src)
			}
		}
		body := rec.Body.String()
		if n := strings.Count(body, "</script>"); n != 2 {
			t.Fatalf("%d </script> in the page (a value broke out)", n)
		}
		c := configOf(t, body)
		if c.Fields["user_identifier"] != value && utf8Valid(value) {
			t.Fatalf("field %q came back as %q", value, c.Fields["user_identifier"])
		}
	})
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

// BenchmarkVerifyPageServe: rendering the page for one request (theme
// texts merged, template executed, headers set).
func BenchmarkVerifyPageServe(b *testing.B) {
	page := web.NewVerifyPage(slog.New(slog.DiscardHandler))
	cfg := seed002Config()
	cfg.Theme.Texts = map[string]string{"verify.title": "Verify with Acme"}
	req := httptest.NewRequest(http.MethodGet, "/verif/?api_key=k&user_identifier=u", nil)
	req.Header.Set("Accept-Language", "fr-CA,fr;q=0.9,en;q=0.8")
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		page.Serve(rec, req, cfg)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}
