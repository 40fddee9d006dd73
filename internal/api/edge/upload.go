package edge

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/visagehq/visage/internal/fault"
)

// UploadSpec says which parts of a body are images, which are other files
// and how big each may be. The same spec serves every encoding a client
// may use: multipart/form-data, JSON with base64 images,
// application/x-www-form-urlencoded with base64 images, or a raw image
// body (the fields then come from the query string).
type UploadSpec struct {
	// Images are the fields holding images. In JSON a name may be a dotted
	// path into nested objects ("model.faceImageBase64"); the value is a
	// base64 string (or data: URL) or an array of them.
	Images []string
	// AnyFile treats every multipart file part as an image, whatever its
	// field name (Image.Field says which).
	AnyFile bool
	// Files are multipart file fields that are not images (videos): they
	// are spooled to temporary files, removed when the handler returns.
	Files []string
	// MaxImageBytes bounds one image (default: the edge's); MaxFileBytes
	// one spooled file (default: the body limit).
	MaxImageBytes int64
	MaxFileBytes  int64
	// MaxImages bounds how many images one request carries (default 16).
	MaxImages int
	// QueryFields merges the query string into Fields (api_key excluded),
	// for clients that send fields beside a raw image body.
	QueryFields bool
	// NoRaw refuses a raw image body.
	NoRaw bool
}

// Image is one uploaded image, undecoded.
type Image struct {
	Field       string // form field or JSON path it came in
	FileName    string
	ContentType string // as the client declared it; never trusted
	Data        []byte
}

// File is a spooled non-image upload.
type File struct {
	Field       string
	FileName    string
	ContentType string
	Path        string // temporary file, removed after the handler
	Size        int64
}

// Upload is a parsed body.
type Upload struct {
	// Fields are the text fields: JSON strings unquoted, other JSON values
	// as their JSON text, multipart and form values as sent (trimmed).
	Fields map[string]string
	// JSON is the top-level object of a JSON body (nil otherwise), for
	// handlers that need typed or nested values.
	JSON   map[string]json.RawMessage
	Images []Image
	Files  []File
}

// Field is a trimmed text field, "" when absent.
func (u *Upload) Field(name string) string { return strings.TrimSpace(u.Fields[name]) }

// Has reports whether a field was sent at all.
func (u *Upload) Has(name string) bool { _, ok := u.Fields[name]; return ok }

// ImagesFor returns the images sent under any of the names, in order.
func (u *Upload) ImagesFor(names ...string) []Image {
	var out []Image
	for _, im := range u.Images {
		for _, n := range names {
			if im.Field == n {
				out = append(out, im)
				break
			}
		}
	}
	return out
}

// FileFor returns the first spooled file of a field, or nil.
func (u *Upload) FileFor(name string) *File {
	for i := range u.Files {
		if u.Files[i].Field == name {
			return &u.Files[i]
		}
	}
	return nil
}

// Cleanup removes spooled files.
func (u *Upload) Cleanup() {
	for _, f := range u.Files {
		_ = os.Remove(f.Path)
	}
}

// UploadOf is the body the edge parsed for a route with an UploadSpec.
func UploadOf(r *http.Request) *Upload {
	u, _ := r.Context().Value(keyUpload).(*Upload)
	if u == nil {
		return &Upload{Fields: map[string]string{}}
	}
	return u
}

// Limits on the text parts of a body.
const (
	maxFieldBytes = 64 << 10
	maxFields     = 256
)

func (e *Edge) specWithDefaults(s UploadSpec) UploadSpec {
	if s.MaxImageBytes <= 0 {
		s.MaxImageBytes = e.cfg.MaxImageBytes
	}
	if s.MaxImageBytes <= 0 {
		s.MaxImageBytes = 20 << 20
	}
	if s.MaxImages <= 0 {
		s.MaxImages = 16
	}
	return s
}

// parsed parses the body before the handler and removes spooled files
// after it.
func (e *Edge) parsed(s Surface, rt Route, h http.HandlerFunc) http.HandlerFunc {
	spec := e.specWithDefaults(*rt.Upload)
	return func(w http.ResponseWriter, r *http.Request) {
		u, err := ParseUpload(r, spec)
		if err != nil {
			Fail(w, r, err)
			return
		}
		defer u.Cleanup()
		h(w, r.WithContext(context.WithValue(r.Context(), keyUpload, u)))
	}
}

// ParseUpload reads r's body by its Content-Type. Errors are classified:
// PayloadTooLarge, ImageTooLarge, MalformedBody (JSON or form syntax),
// BadRequest (multipart syntax, unexpected files, wrong content type),
// InvalidImage (bad base64). On error nothing is left on disk.
func ParseUpload(r *http.Request, spec UploadSpec) (*Upload, error) {
	u := &Upload{Fields: map[string]string{}}
	if err := parseInto(r, spec, u); err != nil {
		u.Cleanup()
		return nil, bodyError(err)
	}
	return u, nil
}

func parseInto(r *http.Request, spec UploadSpec, u *Upload) (err error) {
	if spec.MaxImages <= 0 {
		spec.MaxImages = 16
	}
	if spec.MaxImageBytes <= 0 {
		spec.MaxImageBytes = 20 << 20
	}
	p := parser{spec: spec, u: u}
	if spec.QueryFields {
		for k, v := range r.URL.Query() {
			if k == "api_key" || len(v) == 0 {
				continue
			}
			if err := p.addField(k, v[0]); err != nil {
				return err
			}
		}
	}
	ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case ct == "multipart/form-data":
		if params["boundary"] == "" {
			return fault.New(fault.BadRequest, "malformed multipart body: no boundary in Content-Type")
		}
		err = p.multipart(multipart.NewReader(r.Body, params["boundary"]))
	case ct == "application/json" || ct == "":
		err = p.json(r.Body)
	case ct == "application/x-www-form-urlencoded":
		err = p.form(r.Body)
	case (strings.HasPrefix(ct, "image/") || ct == "application/octet-stream") && !spec.NoRaw && len(spec.Images) > 0:
		var data []byte
		if data, err = readLimited(r.Body, spec.MaxImageBytes, "image"); err == nil {
			err = p.addImage(Image{Field: spec.Images[0], ContentType: ct, Data: data})
		}
	default:
		return fault.New(fault.BadRequest, "unsupported Content-Type %q: send multipart/form-data, application/json, application/x-www-form-urlencoded or an image", ct)
	}
	return err
}

// bodyError turns a body-size overrun into 413 and any other failure to
// read the body (truncated upload, client gone) into 400, wherever it
// surfaced; errors already classified pass through.
func bodyError(err error) error {
	var mbe *http.MaxBytesError
	var fe *fault.Error
	switch {
	case errors.As(err, &mbe):
		return fault.Wrap(fault.PayloadTooLarge, err, "request body exceeds the limit of %d bytes", mbe.Limit)
	case errors.As(err, &fe):
		return err
	}
	return fault.Wrap(fault.BadRequest, err, "could not read the request body: %v", err)
}

type parser struct {
	spec UploadSpec
	u    *Upload
}

func (p *parser) isImage(name string) bool {
	for _, f := range p.spec.Images {
		if f == name {
			return true
		}
	}
	return false
}

// holdsImage: the top-level JSON member name is an image field or the
// object an image path ("model.faceImageBase64") runs through.
func (p *parser) holdsImage(name string) bool {
	for _, f := range p.spec.Images {
		if f == name || strings.HasPrefix(f, name+".") {
			return true
		}
	}
	return false
}

func (p *parser) isFile(name string) bool {
	for _, f := range p.spec.Files {
		if f == name {
			return true
		}
	}
	return false
}

func (p *parser) addImage(im Image) error {
	if len(p.u.Images) >= p.spec.MaxImages {
		return fault.New(fault.BadRequest, "too many images: at most %d per request", p.spec.MaxImages)
	}
	p.u.Images = append(p.u.Images, im)
	return nil
}

// addField is the one door for text fields of every encoding (multipart,
// JSON, form, query), so the limits hold whichever a client picks.
func (p *parser) addField(name, value string) error {
	if len(value) > maxFieldBytes || len(name) > maxFieldBytes {
		return fault.New(fault.BadRequest, "field %q is longer than %d bytes", truncate(name, 64), maxFieldBytes)
	}
	if _, ok := p.u.Fields[name]; !ok && len(p.u.Fields) >= maxFields {
		return fault.New(fault.BadRequest, "too many fields: at most %d", maxFields)
	}
	p.u.Fields[name] = value
	return nil
}

// readLimited reads at most limit bytes; more is ImageTooLarge for what.
func readLimited(r io.Reader, limit int64, what string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fault.New(fault.ImageTooLarge, "%s exceeds the limit of %d bytes", what, limit)
	}
	return data, nil
}

func (p *parser) multipart(mr *multipart.Reader) error {
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return err
			}
			return fault.Wrap(fault.BadRequest, err, "malformed multipart body: %v", err)
		}
		if err := p.part(part); err != nil {
			return err
		}
		_ = part.Close()
	}
}

func (p *parser) part(part *multipart.Part) error {
	name := part.FormName()
	isFile := part.FileName() != ""
	switch {
	case p.isImage(name) || (isFile && p.spec.AnyFile && !p.isFile(name)):
		data, err := readLimited(part, p.spec.MaxImageBytes, fmt.Sprintf("image %q", name))
		if err != nil {
			return err
		}
		return p.addImage(Image{Field: name, FileName: part.FileName(), ContentType: part.Header.Get("Content-Type"), Data: data})
	case p.isFile(name):
		return p.spool(part)
	case isFile:
		return fault.New(fault.BadRequest, "unexpected file field %q (files go in %s)", name, strings.Join(append(append([]string(nil), p.spec.Images...), p.spec.Files...), ", "))
	}
	v, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
	if err != nil {
		return err
	}
	if len(v) > maxFieldBytes {
		return fault.New(fault.BadRequest, "field %q is longer than %d bytes", name, maxFieldBytes)
	}
	return p.addField(name, strings.TrimSpace(string(v)))
}

// spool writes a file part to a temporary file within its limit.
func (p *parser) spool(part *multipart.Part) error {
	limit := p.spec.MaxFileBytes
	f, err := os.CreateTemp("", "visage-upload-*")
	if err != nil {
		return fmt.Errorf("spool upload: %w", err)
	}
	file := File{Field: part.FormName(), FileName: part.FileName(), ContentType: part.Header.Get("Content-Type"), Path: f.Name()}
	p.u.Files = append(p.u.Files, file) // registered first, so Cleanup removes it on any error
	src := io.Reader(part)
	if limit > 0 {
		src = io.LimitReader(part, limit+1)
	}
	n, err := io.Copy(f, src)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if limit > 0 && n > limit {
		return fault.New(fault.ImageTooLarge, "file %q exceeds the limit of %d bytes", file.Field, limit)
	}
	p.u.Files[len(p.u.Files)-1].Size = n
	return nil
}

func (p *parser) json(body io.Reader) error {
	data, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		p.u.JSON = map[string]json.RawMessage{}
		return p.jsonImages()
	}
	if err := json.Unmarshal(data, &p.u.JSON); err != nil {
		return fault.Wrap(fault.MalformedBody, err, "malformed JSON body: %v", err)
	}
	for name, v := range p.u.JSON {
		var s string
		switch {
		case p.holdsImage(name):
			// Images (or objects around them) are bounded per image by
			// jsonImages, not as text fields; kept as before for handlers
			// that read the raw field.
			p.u.Fields[name] = string(v)
		case json.Unmarshal(v, &s) == nil:
			err = p.addField(name, s)
		default:
			err = p.addField(name, string(v))
		}
		if err != nil {
			return err
		}
	}
	return p.jsonImages()
}

// jsonImages decodes the image fields, in the spec's order (JSON objects
// are unordered).
func (p *parser) jsonImages() error {
	for _, name := range p.spec.Images {
		v, ok := lookupJSON(p.u.JSON, name)
		if !ok || string(v) == "null" {
			continue
		}
		var list []string
		var one string
		if err := json.Unmarshal(v, &one); err == nil {
			list = []string{one}
		} else if err := json.Unmarshal(v, &list); err != nil {
			return fault.New(fault.MalformedBody, "%s must be a base64 string or an array of them", name)
		}
		for i, b64 := range list {
			if err := p.base64Image(name, i, b64); err != nil {
				return err
			}
		}
		delete(p.u.Fields, name) // an image is not a text field
	}
	return nil
}

func (p *parser) base64Image(name string, i int, b64 string) error {
	if strings.TrimSpace(b64) == "" {
		return p.addImage(Image{Field: name}) // present but empty: the service says "empty image"
	}
	if int64(len(b64)) > p.spec.MaxImageBytes*4/3+8 {
		return fault.New(fault.ImageTooLarge, "%s[%d] exceeds the limit of %d bytes", name, i, p.spec.MaxImageBytes)
	}
	data, err := DecodeBase64(b64)
	if err != nil {
		return fault.Wrap(fault.InvalidImage, err, "%s[%d]: %v", name, i, err)
	}
	if int64(len(data)) > p.spec.MaxImageBytes {
		return fault.New(fault.ImageTooLarge, "%s[%d] exceeds the limit of %d bytes", name, i, p.spec.MaxImageBytes)
	}
	return p.addImage(Image{Field: name, Data: data})
}

// lookupJSON resolves a dotted path in a JSON object.
func lookupJSON(obj map[string]json.RawMessage, path string) (json.RawMessage, bool) {
	head, rest, nested := strings.Cut(path, ".")
	v, ok := obj[head]
	if !ok || !nested {
		return v, ok
	}
	var inner map[string]json.RawMessage
	if json.Unmarshal(v, &inner) != nil {
		return nil, false
	}
	return lookupJSON(inner, rest)
}

func (p *parser) form(body io.Reader) error {
	data, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	vals, err := url.ParseQuery(string(data))
	if err != nil {
		return fault.Wrap(fault.MalformedBody, err, "malformed form body: %v", err)
	}
	for name, vs := range vals {
		if len(vs) == 0 {
			continue
		}
		if p.isImage(name) {
			for i, v := range vs {
				// An unescaped "+" of base64 arrives as a space.
				if err := p.base64Image(name, i, strings.ReplaceAll(v, " ", "+")); err != nil {
					return err
				}
			}
			continue
		}
		if err := p.addField(name, strings.TrimSpace(vs[0])); err != nil {
			return err
		}
	}
	// Images in spec order, as for JSON.
	p.order()
	return nil
}

func (p *parser) order() {
	rank := map[string]int{}
	for i, f := range p.spec.Images {
		rank[f] = i
	}
	imgs := p.u.Images
	for i := 1; i < len(imgs); i++ { // stable insertion sort: a handful of images
		for j := i; j > 0 && rank[imgs[j].Field] < rank[imgs[j-1].Field]; j-- {
			imgs[j], imgs[j-1] = imgs[j-1], imgs[j]
		}
	}
}

// DecodeBase64 accepts plain base64 (standard or URL alphabet, padded or
// not, with line breaks) or a data: URL, as browsers and SDKs send.
func DecodeBase64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "data:") {
		_, after, ok := strings.Cut(s, ",")
		if !ok {
			return nil, errors.New("malformed data URL")
		}
		s = after
	}
	s = strings.NewReplacer("\n", "", "\r", "").Replace(s)
	s = strings.TrimRight(s, "=")
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not valid base64")
}

// Base64Field decodes a base64 text field (a token or sealed value): nil
// when it is absent or empty.
func (u *Upload) Base64Field(name string) ([]byte, error) {
	v := u.Field(name)
	if v == "" {
		return nil, nil
	}
	b, err := DecodeBase64(v)
	if err == nil && len(b) == 0 {
		err = errors.New("empty")
	}
	return b, err
}

// truncate shortens s to at most n bytes for an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
