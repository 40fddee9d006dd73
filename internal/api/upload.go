package api

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/visagehq/visage/internal/faceauth"
)

// upload is a request's fields and images, whichever way they came:
// multipart form, JSON with base64 images, or a raw image body with the
// fields in the query string.
type upload struct {
	fields map[string]string
	raw    map[string]json.RawMessage // JSON bodies only
	images []faceauth.Image
}

func (u *upload) field(name string) string { return strings.TrimSpace(u.fields[name]) }

// imagesFor returns the images sent under one of the names, in order.
func (u *upload) imagesFor(names ...string) []faceauth.Image {
	var out []faceauth.Image
	for _, im := range u.images {
		for _, n := range names {
			if im.Name == n {
				out = append(out, im)
			}
		}
	}
	return out
}

func (s *Server) parseUpload(r *http.Request, imageFields ...string) (*upload, error) {
	u := &upload{fields: map[string]string{}}
	for k, v := range r.URL.Query() {
		if k != "api_key" && len(v) > 0 {
			u.fields[k] = v[0]
		}
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var err error
	switch {
	case ct == "multipart/form-data":
		err = s.parseMultipart(r, u, imageFields)
	case ct == "application/json" || ct == "":
		err = s.parseJSON(r, u, imageFields)
	case strings.HasPrefix(ct, "image/") || ct == "application/octet-stream":
		var data []byte
		if data, err = s.readImage(r.Body); err == nil {
			u.images = append(u.images, faceauth.Image{Data: data, Name: imageFields[0], ContentType: ct})
		}
	default:
		return nil, apiErr(CodeBadRequest, fmt.Sprintf("unsupported Content-Type %q: send multipart/form-data, application/json or an image", ct))
	}
	if err != nil {
		return nil, bodyError(err)
	}
	return u, nil
}

func tooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

// bodyError turns a body-size overrun into 413 and any other failure to
// read the body (truncated upload, client gone) into 400, wherever it
// surfaced; errors already classified pass through.
func bodyError(err error) error {
	var mbe *http.MaxBytesError
	var ae *Error
	switch {
	case errors.As(err, &mbe):
		return apiErr(CodePayloadTooLarge, fmt.Sprintf("request body exceeds the limit of %d bytes", mbe.Limit))
	case errors.As(err, &ae):
		return err
	}
	return &Error{Code: CodeBadRequest, Message: "could not read the request body: " + err.Error(), err: err}
}

func (s *Server) readImage(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, s.cfg.MaxImageBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > s.cfg.MaxImageBytes {
		return nil, apiErr(CodeImageTooLarge, fmt.Sprintf("image exceeds the limit of %d bytes", s.cfg.MaxImageBytes))
	}
	return data, nil
}

func isImageField(name string, fields []string) bool {
	for _, f := range fields {
		if name == f {
			return true
		}
	}
	return false
}

func (s *Server) parseMultipart(r *http.Request, u *upload, imageFields []string) error {
	mr, err := r.MultipartReader()
	if err != nil {
		return apiErr(CodeBadRequest, "malformed multipart body: "+err.Error())
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if tooLarge(err) {
				return err
			}
			return apiErr(CodeBadRequest, "malformed multipart body: "+err.Error())
		}
		name := part.FormName()
		if isImageField(name, imageFields) {
			data, err := s.readImage(part)
			if err != nil {
				return err
			}
			u.images = append(u.images, faceauth.Image{Data: data, Name: name, ContentType: part.Header.Get("Content-Type")})
			continue
		}
		if part.FileName() != "" {
			return apiErr(CodeBadRequest, fmt.Sprintf("unexpected file field %q (images go in %s)", name, strings.Join(imageFields, " or ")))
		}
		v, err := io.ReadAll(io.LimitReader(part, 64<<10))
		if err != nil {
			return err
		}
		u.fields[name] = string(v)
	}
}

func (s *Server) parseJSON(r *http.Request, u *upload, imageFields []string) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		u.raw = map[string]json.RawMessage{}
		return nil
	}
	if err := json.Unmarshal(body, &u.raw); err != nil {
		return apiErr(CodeInvalidJSON, "malformed JSON body: "+err.Error())
	}
	for name, v := range u.raw {
		if isImageField(name, imageFields) {
			if err := s.jsonImages(u, name, v); err != nil {
				return err
			}
			continue
		}
		var str string
		if json.Unmarshal(v, &str) == nil {
			u.fields[name] = str
		} else {
			u.fields[name] = string(v)
		}
	}
	// JSON objects are unordered; keep the caller's field order stable.
	orderImages(u.images, imageFields)
	return nil
}

func (s *Server) jsonImages(u *upload, name string, v json.RawMessage) error {
	var list []string
	var one string
	if err := json.Unmarshal(v, &one); err == nil {
		list = []string{one}
	} else if err := json.Unmarshal(v, &list); err != nil {
		return apiErr(CodeInvalidJSON, fmt.Sprintf("%s must be a base64 string or an array of them", name))
	}
	for i, b64 := range list {
		data, err := decodeBase64Image(b64)
		if err != nil {
			return apiErr(CodeInvalidImage, fmt.Sprintf("%s[%d]: %v", name, i, err))
		}
		if int64(len(data)) > s.cfg.MaxImageBytes {
			return apiErr(CodeImageTooLarge, fmt.Sprintf("%s[%d] exceeds the limit of %d bytes", name, i, s.cfg.MaxImageBytes))
		}
		u.images = append(u.images, faceauth.Image{Data: data, Name: name})
	}
	return nil
}

// decodeBase64Image accepts plain base64 (std or URL alphabet, padded or
// not) or a data: URL, as browsers and SDKs send.
func decodeBase64Image(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "data:") {
		_, after, ok := strings.Cut(s, ",")
		if !ok {
			return nil, errors.New("malformed data URL")
		}
		s = after
	}
	s = strings.TrimRight(s, "=")
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not valid base64")
}

func orderImages(imgs []faceauth.Image, fields []string) {
	rank := map[string]int{}
	for i, f := range fields {
		rank[f] = i
	}
	// Stable insertion sort: a handful of images at most.
	for i := 1; i < len(imgs); i++ {
		for j := i; j > 0 && rank[imgs[j].Name] < rank[imgs[j-1].Name]; j-- {
			imgs[j], imgs[j-1] = imgs[j-1], imgs[j]
		}
	}
}
