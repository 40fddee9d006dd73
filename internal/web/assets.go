package web

import (
	"bytes"

	"crypto/sha256"
	"embed"
	"encoding/hex"
	"github.com/visagehq/visage/internal/api/edge"
	"github.com/visagehq/visage/internal/fault"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
	"sync"
	"time"
)

//go:embed static
var staticFS embed.FS

// asset is one embedded file ready to serve.
type asset struct {
	body  []byte
	ctype string
	etag  string
}

// assetSet is the embedded assets, their content version and the page.
type assetSet struct {
	files   map[string]asset
	version string // hash of all assets; stamped on URLs as ?v=
	page    []byte // capture.html with the version filled in
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
		s, err := loadAssets(staticFS)
		if err != nil {
			panic("web: embedded assets: " + err.Error())
		}
		loaded = s
	})
	return loaded
}

func loadAssets(fsys fs.FS) (*assetSet, error) {
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
		if name == "capture.html" {
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

// serveAsset serves an embedded file. A URL stamped with the current
// version (?v=…) is immutable for a year; an unstamped one is cached
// briefly and revalidated by ETag.
func (h *Handler) serveAsset(w http.ResponseWriter, r *http.Request, name string) {
	a, ok := h.assets.files[name]
	if !ok {
		edge.Fail(w, r, fault.New(fault.NotFound, "no such asset"))
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", a.ctype)
	hd.Set("ETag", a.etag)
	if r.URL.Query().Get("v") == h.assets.version {
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hd.Set("Cache-Control", "public, max-age=300")
	}
	hd.Set("Content-Security-Policy", "default-src 'none'")
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
}
