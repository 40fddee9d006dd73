package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/visagehq/visage/internal/api/edge"
	"github.com/visagehq/visage/internal/fault"
)

//go:embed static
var staticFS embed.FS

// asset is one embedded file ready to serve.
type asset struct {
	body  []byte
	ctype string
	etag  string
}

// assetSet is one page's embedded assets, their content version and the
// page itself.
type assetSet struct {
	files   map[string]asset
	version string // hash of all assets; stamped on URLs as ?v=
	page    []byte // the page's HTML with {{VERSION}} filled in
}

var (
	loadOnce   sync.Once
	loaded     *assetSet
	contentTyp = map[string]string{
		".js":   "text/javascript; charset=utf-8",
		".css":  "text/css; charset=utf-8",
		".svg":  "image/svg+xml",
		".png":  "image/png",
		".ico":  "image/x-icon",
		".json": "application/json",
	}
)

func mustLoadAssets() *assetSet {
	loadOnce.Do(func() {
		s, err := loadAssets(staticFS, "capture.html", isCaptureAsset)
		if err != nil {
			panic("web: embedded assets: " + err.Error())
		}
		loaded = s
	})
	return loaded
}

// isCaptureAsset keeps the verification and face-authentication pages'
// files out of the capture page's set (and its version hash).
func isCaptureAsset(name string) bool {
	return !strings.HasPrefix(name, "verify") && !strings.HasPrefix(name, "faceauth") && !strings.HasPrefix(name, "sdk-")
}

// loadAssets reads the files under static/ that include accepts: pageName
// is the page (not served as an asset), the rest are its assets.
func loadAssets(fsys fs.FS, pageName string, include func(name string) bool) (*assetSet, error) {
	s := &assetSet{files: map[string]asset{}}
	var names []string
	var page []byte
	err := fs.WalkDir(fsys, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "static/")
		if !include(name) {
			return nil
		}
		if name == pageName {
			page = b
			return nil
		}
		sum := sha256.Sum256(b)
		ct := contentTyp[path.Ext(name)]
		if ct == "" {
			ct = "application/octet-stream"
		}
		s.files[name] = asset{body: b, ctype: ct, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		names = append(names, name)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if page == nil {
		return nil, fs.ErrNotExist
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		h.Write([]byte(n + "\x00" + s.files[n].etag + "\x00"))
	}
	s.version = hex.EncodeToString(h.Sum(nil))[:12]
	s.page = bytes.ReplaceAll(page, []byte("{{VERSION}}"), []byte(s.version))
	return s, nil
}

// serve serves an embedded file. A URL stamped with the current
// version (?v=…) is immutable for a year; an unstamped one is cached
// briefly and revalidated by ETag.
func (s *assetSet) serve(w http.ResponseWriter, r *http.Request, name string) {
	a, ok := s.files[name]
	if !ok {
		edge.Fail(w, r, fault.New(fault.NotFound, "no such asset"))
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", a.ctype)
	hd.Set("ETag", a.etag)
	if r.URL.Query().Get("v") == s.version {
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hd.Set("Cache-Control", "public, max-age=300")
	}
	hd.Set("Content-Security-Policy", "default-src 'none'")
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
}
