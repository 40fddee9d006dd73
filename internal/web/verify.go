package web

// The hosted identity-verification page: a selfie (a short video, or a
// photo) and photos of an ID document, posted as one multipart form to
// the integration's submit endpoint. The page knows nothing of tenants or
// vendors: an adapter fills a PageConfig per request (fields, theme,
// submit URL) and answers the submission itself; the page reads the
// answer shapes of both vendor flows (see verify.js, outcomeOf).

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/language"

	"github.com/visagehq/visage/internal/api/edge"
	"github.com/visagehq/visage/internal/faceauth"
	"github.com/visagehq/visage/internal/fault"
)

// Defaults and bounds of a PageConfig.
const (
	DefaultVideoSeconds  = 5
	MinVideoSeconds      = 2
	MaxVideoSeconds      = 30
	DefaultMaxPhotoBytes = 10 << 20
	// DefaultMaxVideoBytes is the Identity Verification API's limit on
	// selfie_video.
	DefaultMaxVideoBytes = 50 << 20
	// DefaultLocale is used when neither the config nor the browser asks
	// for a language the page has.
	DefaultLocale = "en"
)

// ErrPageConfig is wrapped by every error PageConfig.Validate returns.
var ErrPageConfig = errors.New("web: invalid verification page config")

// Document sides (DocumentSide.Side): they pick the localised label.
const (
	SideSingle = ""      // a one-sided document (passport page, or "the ID")
	SideFront  = "front" // front of a card or licence
	SideBack   = "back"  // back of a card or licence
)

// DocumentSide is one document photo the page asks for.
type DocumentSide struct {
	Field string // multipart field of the photo, e.g. "id_photo", "document_front"
	Side  string // SideSingle, SideFront or SideBack: the default label
	// Label replaces the localised label ("Front of your ID document");
	// the adapter is then responsible for its language.
	Label string
	// Optional sides may be skipped by the person ("my document has no
	// other side"); a skipped side is left out of the form.
	Optional bool
}

// PageConfig is everything the page needs; the adapter fills it per
// request.
type PageConfig struct {
	// Theme is the integration's look. Its texts override the page's by
	// key with a "verify." prefix: "verify.title" in every language,
	// "verify.title@fr" in French only (it wins). Keys are those of
	// static/verify-texts.json; others are ignored.
	Theme faceauth.Theme
	// SubmitURL is where the page POSTs the multipart form: a same-origin
	// reference (path, optionally with a query), e.g. "/verif/submit".
	SubmitURL string
	// Fields are hidden form fields sent with the files (api_key or a
	// session token, user_identifier, user_email, user_phone…).
	Fields map[string]string
	// VideoField is the form field of the selfie video (e.g.
	// "selfie_video"). When it is "", SelfieField asks for a selfie photo
	// instead; when both are "", the page asks for documents only.
	VideoField  string
	SelfieField string
	// PhotoFields are the document photos, in the order asked.
	PhotoFields []DocumentSide
	// VideoSeconds is the recording length (default 5, 2–30).
	VideoSeconds int
	// MaxPhotoBytes caps a document file the person uploads (checked in
	// the browser; default 10 MB). MaxVideoBytes caps the recording
	// (default 50 MB).
	MaxPhotoBytes int64
	MaxVideoBytes int64
	// Locale is the page's language ("en", "fr", "es"; see Locales). When
	// "" or not available, the browser's Accept-Language picks one, else
	// DefaultLocale.
	Locale string
	// FrameAncestors are the origins allowed to embed the page in a frame
	// ("https://app.example.com", "https://*.example.com", "'self'"); none
	// means the page may not be framed. The embedding <iframe> needs
	// allow="camera". Entries that are not CSP sources are dropped (and
	// logged); Validate reports them.
	FrameAncestors []string
	// AssetPath is the URL path where Asset is mounted, e.g.
	// "/verif/assets/" (default "assets/", relative to the page's URL).
	AssetPath string
	// PrivacyURL, when set, is linked beside the consent line (http(s) or
	// same-origin).
	PrivacyURL string
}

// VerifyPage renders the verification page and serves its assets.
type VerifyPage struct {
	log     *slog.Logger
	assets  *assetSet
	tmpl    *template.Template
	texts   map[string]map[string]string // locale → key → text
	locales []string                     // DefaultLocale first
	matcher language.Matcher
}

// verifyAssets are the page's own files (verify-texts.json is compiled
// into each page instead).
func isVerifyAsset(name string) bool {
	switch name {
	case "verify.html", "verify.js", "verify.css", "icon.svg":
		return true
	}
	return false
}

var (
	verifyOnce   sync.Once
	verifyLoaded *VerifyPage
)

// NewVerifyPage builds the page. log may be nil (slog.Default()). The page
// and its texts are embedded: a broken embed is a build error caught by
// the package's tests, so it panics here like New.
func NewVerifyPage(log *slog.Logger) *VerifyPage {
	if log == nil {
		log = slog.Default()
	}
	verifyOnce.Do(func() {
		p, err := loadVerifyPage(staticFS)
		if err != nil {
			panic("web: embedded verification page: " + err.Error())
		}
		verifyLoaded = p
	})
	p := *verifyLoaded
	p.log = log
	return &p
}

func loadVerifyPage(fsys fs.FS) (*VerifyPage, error) {
	set, err := loadAssets(fsys, "verify.html", isVerifyAsset)
	if err != nil {
		return nil, err
	}
	tmpl, err := template.New("verify.html").Option("missingkey=error").Parse(string(set.page))
	if err != nil {
		return nil, err
	}
	raw, err := fs.ReadFile(fsys, "static/verify-texts.json")
	if err != nil {
		return nil, err
	}
	texts, err := parseTexts(raw)
	if err != nil {
		return nil, err
	}
	locales := []string{DefaultLocale}
	for l := range texts {
		if l != DefaultLocale {
			locales = append(locales, l)
		}
	}
	sort.Strings(locales[1:])
	tags := make([]language.Tag, len(locales))
	for i, l := range locales {
		tags[i] = language.Make(l)
	}
	return &VerifyPage{assets: set, tmpl: tmpl, texts: texts, locales: locales, matcher: language.NewMatcher(tags)}, nil
}

// parseTexts reads the catalogue and insists every locale has exactly the
// default locale's keys.
func parseTexts(raw []byte) (map[string]map[string]string, error) {
	var texts map[string]map[string]string
	if err := json.Unmarshal(raw, &texts); err != nil {
		return nil, fmt.Errorf("verify-texts.json: %w", err)
	}
	base, ok := texts[DefaultLocale]
	if !ok {
		return nil, fmt.Errorf("verify-texts.json: no %q texts", DefaultLocale)
	}
	for l, m := range texts {
		for k := range base {
			if m[k] == "" {
				return nil, fmt.Errorf("verify-texts.json: %s has no %q", l, k)
			}
		}
		for k := range m {
			if _, ok := base[k]; !ok {
				return nil, fmt.Errorf("verify-texts.json: %s has unknown key %q", l, k)
			}
		}
	}
	return texts, nil
}

// Locales are the page's languages, DefaultLocale first.
func (p *VerifyPage) Locales() []string { return append([]string(nil), p.locales...) }

// Texts is a copy of the page's texts in one of Locales (nil if unknown).
func (p *VerifyPage) Texts(locale string) map[string]string {
	m, ok := p.texts[locale]
	if !ok {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// AssetVersion is the content hash stamped on asset URLs (?v=…).
func (p *VerifyPage) AssetVersion() string { return p.assets.version }

// Asset serves one of the page's embedded files (verify.js, verify.css,
// icon.svg) by name: immutable for a year at the current ?v=, briefly
// cached otherwise. Mount it under PageConfig.AssetPath.
func (p *VerifyPage) Asset(w http.ResponseWriter, r *http.Request, name string) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if !allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	p.assets.serve(w, r, name)
}

// Serve renders the page for cfg. A config that does not validate is a
// bug in the caller: it is logged and answered as an internal error.
func (p *VerifyPage) Serve(w http.ResponseWriter, r *http.Request, cfg PageConfig) {
	hd := w.Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	// The page's URL may carry an API key or a session token (the
	// Identity Verification API puts api_key in it): never leak it to the
	// logo host or the redirect target.
	hd.Set("Referrer-Policy", "no-referrer")
	if !allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	ancestors, dropped := frameAncestors(cfg.FrameAncestors)
	if len(dropped) > 0 {
		p.log.WarnContext(r.Context(), "verification page: frame ancestors dropped", "dropped", dropped)
	}
	cfg.FrameAncestors = ancestors
	c, err := cfg.normalized()
	if err != nil {
		p.log.ErrorContext(r.Context(), "verification page: bad config", "err", err)
		edge.Fail(w, r, fault.Wrap(fault.Internal, err, "verification page misconfigured"))
		return
	}
	locale := p.pickLocale(c.Locale, r.Header.Get("Accept-Language"))
	data := p.pageData(c, locale)
	var buf bytes.Buffer
	if err := p.tmpl.Execute(&buf, data); err != nil {
		p.log.ErrorContext(r.Context(), "verification page: render", "err", err)
		edge.Fail(w, r, fault.Wrap(fault.Internal, err, "verification page failed to render"))
		return
	}
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Language", locale)
	hd.Set("Vary", "Accept-Language")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Security-Policy", contentSecurityPolicy(logoSource(c.Theme.LogoURL), ancestors))
	hd.Set("Permissions-Policy", "camera=(self), microphone=(), geolocation=(), payment=(), usb=()")
	if len(ancestors) == 0 {
		hd.Set("X-Frame-Options", "DENY")
	}
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(buf.Bytes())
}

// frameAncestors keeps the entries that are CSP host sources (normalised)
// and returns the others.
func frameAncestors(in []string) (ok, dropped []string) {
	seen := map[string]bool{}
	for _, s := range in {
		src, valid := frameAncestorSource(s)
		if !valid {
			dropped = append(dropped, s)
			continue
		}
		if !seen[src] {
			seen[src] = true
			ok = append(ok, src)
		}
	}
	return ok, dropped
}

// frameAncestorSource accepts 'self' and scheme://host[:port] where host
// may start with "*." and the scheme is http or https; nothing that could
// end the directive (";", ",", spaces, quotes) gets through.
func frameAncestorSource(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "'self'" {
		return s, true
	}
	scheme, rest, ok := strings.Cut(s, "://")
	scheme = strings.ToLower(scheme)
	if !ok || (scheme != "https" && scheme != "http") {
		return "", false
	}
	rest = strings.TrimSuffix(rest, "/")
	host, port, hasPort := strings.Cut(rest, ":")
	if hasPort {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
			return "", false
		}
	}
	labels := strings.Split(strings.ToLower(host), ".")
	for i, l := range labels {
		if l == "*" && i == 0 && len(labels) > 2 {
			continue
		}
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return "", false
		}
		for j := 0; j < len(l); j++ {
			c := l[j]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "", false
			}
		}
	}
	out := scheme + "://" + strings.ToLower(host)
	if hasPort {
		out += ":" + port
	}
	return out, true
}

// Validate reports what is wrong with the config (every error wraps
// ErrPageConfig). Serve calls it; adapters may call it in their tests.
func (c PageConfig) Validate() error {
	if _, dropped := frameAncestors(c.FrameAncestors); len(dropped) > 0 {
		return fmt.Errorf("%w: frame ancestors are not CSP sources: %q", ErrPageConfig, dropped)
	}
	_, err := c.normalized()
	return err
}

func (c PageConfig) normalized() (PageConfig, error) {
	bad := func(format string, args ...any) (PageConfig, error) {
		return PageConfig{}, fmt.Errorf("%w: %s", ErrPageConfig, fmt.Sprintf(format, args...))
	}
	if !sameOriginRef(c.SubmitURL) {
		return bad("submit URL %q is not a same-origin path", c.SubmitURL)
	}
	if c.AssetPath == "" {
		c.AssetPath = "assets/"
	}
	if !sameOriginRef(c.AssetPath) || strings.ContainsAny(c.AssetPath, "?#") {
		return bad("asset path %q is not a same-origin path", c.AssetPath)
	}
	if !strings.HasSuffix(c.AssetPath, "/") {
		c.AssetPath += "/"
	}
	if c.PrivacyURL != "" && !sameOriginRef(c.PrivacyURL) && !httpURL(c.PrivacyURL) {
		return bad("privacy URL %q is not an http(s) URL", c.PrivacyURL)
	}
	if c.VideoField == "" && c.SelfieField == "" && len(c.PhotoFields) == 0 {
		return bad("nothing to capture: no video, selfie or document field")
	}
	names := map[string]bool{}
	claim := func(what, name string) error {
		if !validFieldName(name) {
			return fmt.Errorf("%w: %s field name %q", ErrPageConfig, what, name)
		}
		if names[name] {
			return fmt.Errorf("%w: field %q used twice", ErrPageConfig, name)
		}
		names[name] = true
		return nil
	}
	if c.VideoField != "" {
		if err := claim("video", c.VideoField); err != nil {
			return PageConfig{}, err
		}
		c.SelfieField = ""
	} else if c.SelfieField != "" {
		if err := claim("selfie", c.SelfieField); err != nil {
			return PageConfig{}, err
		}
	}
	if len(c.PhotoFields) > 8 {
		return bad("%d document photos (at most 8)", len(c.PhotoFields))
	}
	for _, d := range c.PhotoFields {
		if err := claim("document", d.Field); err != nil {
			return PageConfig{}, err
		}
		if d.Side != SideSingle && d.Side != SideFront && d.Side != SideBack {
			return bad("document side %q (want %q, %q or %q)", d.Side, SideSingle, SideFront, SideBack)
		}
		if utf8.RuneCountInString(d.Label) > 120 {
			return bad("document label longer than 120 characters")
		}
	}
	if len(c.Fields) > 32 {
		return bad("%d hidden fields (at most 32)", len(c.Fields))
	}
	for k, v := range c.Fields {
		if err := claim("hidden", k); err != nil {
			return PageConfig{}, err
		}
		if len(v) > 4096 {
			return bad("hidden field %q longer than 4096 bytes", k)
		}
	}
	switch {
	case c.VideoSeconds == 0:
		c.VideoSeconds = DefaultVideoSeconds
	case c.VideoSeconds < MinVideoSeconds || c.VideoSeconds > MaxVideoSeconds:
		return bad("video of %d s (want %d–%d)", c.VideoSeconds, MinVideoSeconds, MaxVideoSeconds)
	}
	if c.MaxPhotoBytes <= 0 {
		c.MaxPhotoBytes = DefaultMaxPhotoBytes
	}
	if c.MaxVideoBytes <= 0 {
		c.MaxVideoBytes = DefaultMaxVideoBytes
	}
	return c, nil
}

// sameOriginRef: a path reference (absolute or relative), optionally with
// a query, that cannot name another origin.
func sameOriginRef(s string) bool {
	if s == "" || len(s) > 2048 || strings.HasPrefix(s, "//") || strings.ContainsAny(s, "\\ \t\r\n") {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil && u.Opaque == "" && u.Path != ""
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil && len(s) <= 2048
}

// validFieldName: what servers parse as a multipart field name without
// surprises.
func validFieldName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == '[' || c == ']') {
			return false
		}
	}
	return true
}

// pickLocale: the config's language when the page has it, else the
// browser's best match, else DefaultLocale.
func (p *VerifyPage) pickLocale(explicit, accept string) string {
	if explicit != "" {
		if tag, err := language.Parse(explicit); err == nil {
			if _, i, conf := p.matcher.Match(tag); conf >= language.High {
				return p.locales[i]
			}
		}
	}
	if accept != "" && len(accept) <= 1024 {
		tags, _, err := language.ParseAcceptLanguage(accept)
		if err == nil && len(tags) > 0 {
			if _, i, conf := p.matcher.Match(tags...); conf >= language.High {
				return p.locales[i]
			}
		}
	}
	return DefaultLocale
}

// maxThemeText bounds an integration's text override.
const maxThemeText = 500

// textsFor is the locale's texts with the theme's overrides.
func (p *VerifyPage) textsFor(locale string, overrides map[string]string) map[string]string {
	base := p.texts[locale]
	out := make(map[string]string, len(base))
	for k, v := range base {
		out[k] = v
		for _, key := range []string{"verify." + k + "@" + locale, "verify." + k} {
			if o, ok := cleanText(overrides[key]); ok {
				out[k] = o
				break
			}
		}
	}
	return out
}

// cleanText: a non-empty override of bounded length without control
// characters.
func cleanText(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" || !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxThemeText {
		return "", false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "", false
		}
	}
	return s, true
}

// clientConfig is the page's JSON configuration (verify.js reads it from
// <script type="application/json" id="verify-config">).
type clientConfig struct {
	SubmitURL     string            `json:"submit_url"`
	Fields        map[string]string `json:"fields"`
	VideoField    string            `json:"video_field,omitempty"`
	SelfieField   string            `json:"selfie_field,omitempty"`
	Documents     []clientSide      `json:"documents"`
	VideoSeconds  int               `json:"video_seconds"`
	MaxPhotoBytes int64             `json:"max_photo_bytes"`
	MaxVideoBytes int64             `json:"max_video_bytes"`
	Locale        string            `json:"locale"`
	Theme         clientTheme       `json:"theme"`
	Texts         map[string]string `json:"texts"`
}

type clientSide struct {
	Field    string `json:"field"`
	Label    string `json:"label"`
	Optional bool   `json:"optional,omitempty"`
}

// clientTheme is the theme without its texts (they are merged into Texts).
type clientTheme struct {
	Name         string `json:"name,omitempty"`
	LogoURL      string `json:"logo_url,omitempty"`
	PrimaryColor string `json:"primary_color,omitempty"`
	Background   string `json:"background,omitempty"`
	TextColor    string `json:"text_color,omitempty"`
}

// verifyPageData is what verify.html renders.
type verifyPageData struct {
	Lang       string
	Version    string
	AssetPath  string
	Named      bool
	HasFace    bool
	Video      bool
	Plan       []string
	PrivacyURL string
	Config     clientConfig
	texts      map[string]string
	vars       map[string]string
}

// T is a text with its {placeholders} filled; an unknown key fails the
// render (the tests render every locale).
func (d verifyPageData) T(key string) (string, error) {
	s, ok := d.texts[key]
	if !ok {
		return "", fmt.Errorf("no text %q", key)
	}
	return fill(s, d.vars), nil
}

func fill(s string, vars map[string]string) string {
	for k, v := range vars {
		s = strings.ReplaceAll(s, "{"+k+"}", v)
	}
	return s
}

func (p *VerifyPage) pageData(c PageConfig, locale string) verifyPageData {
	texts := p.textsFor(locale, c.Theme.Texts)
	name := strings.TrimSpace(c.Theme.Name)
	vars := map[string]string{"name": name, "seconds": strconv.Itoa(c.VideoSeconds)}
	d := verifyPageData{Lang: locale, Version: p.assets.version, AssetPath: c.AssetPath, Named: name != "",
		HasFace: c.VideoField != "" || c.SelfieField != "", Video: c.VideoField != "", PrivacyURL: c.PrivacyURL,
		texts: texts, vars: vars}
	switch {
	case c.VideoField != "":
		d.Plan = append(d.Plan, fill(texts["plan_video"], vars))
	case c.SelfieField != "":
		d.Plan = append(d.Plan, fill(texts["plan_selfie"], vars))
	}
	sides := make([]clientSide, len(c.PhotoFields))
	for i, s := range c.PhotoFields {
		label := strings.TrimSpace(s.Label)
		if label == "" {
			label = texts[sideKey(s.Side)]
		}
		sides[i] = clientSide{Field: s.Field, Label: label, Optional: s.Optional}
		d.Plan = append(d.Plan, fill(texts["plan_side"], map[string]string{"label": label}))
	}
	fields := c.Fields
	if fields == nil {
		fields = map[string]string{}
	}
	th := c.Theme
	d.Config = clientConfig{SubmitURL: c.SubmitURL, Fields: fields, VideoField: c.VideoField, SelfieField: c.SelfieField,
		Documents: sides, VideoSeconds: c.VideoSeconds, MaxPhotoBytes: c.MaxPhotoBytes, MaxVideoBytes: c.MaxVideoBytes,
		Locale: locale, Texts: texts,
		Theme: clientTheme{Name: name, LogoURL: th.LogoURL, PrimaryColor: th.PrimaryColor, Background: th.Background, TextColor: th.TextColor}}
	return d
}

func sideKey(side string) string {
	switch side {
	case SideFront:
		return "doc_front"
	case SideBack:
		return "doc_back"
	}
	return "doc_single"
}
