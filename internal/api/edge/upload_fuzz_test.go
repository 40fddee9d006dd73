package edge

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/visagehq/visage/internal/fault"
)

// Limits of the upload fuzz target: small, so that every limit is within
// reach of the fuzzer's inputs and one execution stays cheap.
const (
	fuzzBodyLimit  = 4 << 10
	fuzzImageLimit = 256
	fuzzFileLimit  = 512
	fuzzMaxImages  = 3
)

// fuzzUploadSpec derives a spec from the fuzzer's mode byte, so that one
// target covers every option the routes use.
func fuzzUploadSpec(mode uint8) UploadSpec {
	spec := UploadSpec{
		Images:        []string{"image", "images", "model.faceImageBase64"},
		MaxImageBytes: fuzzImageLimit,
		MaxFileBytes:  fuzzFileLimit,
		MaxImages:     fuzzMaxImages,
		AnyFile:       mode&1 != 0,
		QueryFields:   mode&2 != 0,
		NoRaw:         mode&4 != 0,
	}
	if mode&8 != 0 {
		spec.Files = []string{"video"}
	}
	if mode&16 != 0 {
		spec.Images = []string{"selfie", "document.front"}
	}
	return spec
}

// uploadErrorKinds are the kinds ParseUpload documents.
var uploadErrorKinds = map[fault.Kind]bool{
	fault.PayloadTooLarge: true,
	fault.ImageTooLarge:   true,
	fault.MalformedBody:   true,
	fault.BadRequest:      true,
	fault.InvalidImage:    true,
}

const fuzzMultipart = "--XyZ\r\n" +
	"Content-Disposition: form-data; name=\"user_id\"\r\n\r\n" +
	"  u-1  \r\n" +
	"--XyZ\r\n" +
	"Content-Disposition: form-data; name=\"image\"; filename=\"a.jpg\"\r\n" +
	"Content-Type: image/jpeg\r\n\r\n" +
	"\xff\xd8\xff\xe0JFIF\r\n" +
	"--XyZ\r\n" +
	"Content-Disposition: form-data; name=\"video\"; filename=\"v.webm\"\r\n" +
	"Content-Type: video/webm\r\n\r\n" +
	"\x1a\x45\xdf\xa3webm\r\n" +
	"--XyZ--\r\n"

// FuzzParseUpload feeds ParseUpload arbitrary bodies, Content-Types and
// query strings under every spec option. It asserts that parsing never
// panics; that a failure is a *fault.Error of one of the documented kinds
// (413 only when the body really is over the limit) and leaves no spooled
// file behind; that a success respects every limit (images, image and file
// sizes, fields), names only fields of the spec, and that Cleanup removes
// every spooled file.
func FuzzParseUpload(f *testing.F) {
	tmp := f.TempDir()
	// Spooled files go to os.TempDir; a private one shows exactly what a
	// parse left behind.
	f.Setenv("TMPDIR", tmp)

	png := base64.StdEncoding.EncodeToString([]byte("\x89PNG\r\n\x1a\nIHDR"))
	f.Add(uint8(8), "multipart/form-data; boundary=XyZ", "", []byte(fuzzMultipart))
	f.Add(uint8(9), "multipart/form-data; boundary=XyZ", "", []byte(fuzzMultipart))
	f.Add(uint8(0), "multipart/form-data; boundary=XyZ", "", []byte(fuzzMultipart)) // video not expected: BadRequest
	f.Add(uint8(0), "multipart/form-data", "", []byte(fuzzMultipart))               // no boundary
	f.Add(uint8(8), "multipart/form-data; boundary=XyZ", "", []byte(fuzzMultipart[:len(fuzzMultipart)-20]))
	f.Add(uint8(0), "application/json", "", []byte(`{"user_id":"u-1","image":"`+png+`","n":3,"images":["`+png+`","data:image/png;base64,`+png+`"]}`))
	f.Add(uint8(0), "application/json; charset=utf-8", "", []byte(`{"model":{"faceImageBase64":"`+png+`"}}`))
	f.Add(uint8(16), "", "", []byte(`{"selfie":null,"document":{"front":"not base64!"}}`))
	f.Add(uint8(0), "application/json", "", []byte(`{"image":["`+png+`","`+png+`","`+png+`","`+png+`"]}`)) // too many
	f.Add(uint8(0), "application/json", "", []byte(`{"image":{}}`))
	f.Add(uint8(0), "application/json", "", []byte(`{"image":`))
	f.Add(uint8(0), "", "", []byte("   "))
	f.Add(uint8(2), "application/x-www-form-urlencoded", "api_key=k.s&user_id=q", []byte("image="+strings.ReplaceAll(png, "+", " ")+"&user_id=u-1&image="))
	f.Add(uint8(0), "application/x-www-form-urlencoded", "", []byte("a=%zz"))
	f.Add(uint8(2), "image/jpeg", "user_id=u-1&api_key=x", []byte("\xff\xd8\xff\xe0"))
	f.Add(uint8(4), "application/octet-stream", "", []byte("\xff\xd8\xff\xe0"))
	f.Add(uint8(0), "image/jpeg", "", bytes.Repeat([]byte{0xff}, fuzzImageLimit+1))
	f.Add(uint8(0), "application/json", "", bytes.Repeat([]byte(" "), fuzzBodyLimit+1))
	f.Add(uint8(0), "text/plain", "", []byte("hello"))
	f.Add(uint8(0), "multipart/form-data; boundary=\"unterminated", "", []byte("--unterminated\r\n"))

	f.Fuzz(func(t *testing.T, mode uint8, contentType, query string, body []byte) {
		spec := fuzzUploadSpec(mode)
		r := httptest.NewRequest(http.MethodPost, "/upload", bytes.NewReader(body))
		r.URL.RawQuery = query
		r.Header.Set("Content-Type", contentType)
		r.Body = http.MaxBytesReader(nil, r.Body, fuzzBodyLimit)

		u, err := ParseUpload(r, spec)
		if err != nil {
			var fe *fault.Error
			if !errors.As(err, &fe) || !uploadErrorKinds[fe.Kind] {
				t.Fatalf("unclassified error %T %v (kind %q)", err, err, fault.KindOf(err))
			}
			if fe.Kind == fault.PayloadTooLarge && len(body) <= fuzzBodyLimit {
				t.Fatalf("413 for a body of %d bytes: %v", len(body), err)
			}
			if u != nil {
				t.Fatalf("upload returned with error %v", err)
			}
			assertNoSpooledFiles(t, tmp, "after the error "+err.Error())
			return
		}
		if u == nil || u.Fields == nil {
			t.Fatal("nil upload or fields without an error")
		}
		fieldLimit := maxFields
		if n := len(r.URL.Query()); spec.QueryFields && n > fieldLimit {
			fieldLimit = n // the query is merged as it is; the body then adds nothing new
		}
		checkUpload(t, spec, tmp, fieldLimit, u)
		u.Cleanup()
		assertNoSpooledFiles(t, tmp, "after Cleanup")
	})
}

func checkUpload(t *testing.T, spec UploadSpec, tmp string, fieldLimit int, u *Upload) {
	t.Helper()
	p := parser{spec: spec}
	if len(u.Images) > spec.MaxImages {
		t.Fatalf("%d images, limit %d", len(u.Images), spec.MaxImages)
	}
	for i, im := range u.Images {
		if int64(len(im.Data)) > spec.MaxImageBytes {
			t.Fatalf("image %d (%q) has %d bytes, limit %d", i, im.Field, len(im.Data), spec.MaxImageBytes)
		}
		if !p.isImage(im.Field) && !(spec.AnyFile && !p.isFile(im.Field)) {
			t.Fatalf("image %d under field %q, not an image field of %+v", i, im.Field, spec)
		}
	}
	if len(u.Fields) > fieldLimit {
		t.Fatalf("%d fields, limit %d", len(u.Fields), fieldLimit)
	}
	for _, file := range u.Files {
		if !p.isFile(file.Field) {
			t.Fatalf("spooled file under field %q, not a file field", file.Field)
		}
		if filepath.Dir(file.Path) != tmp {
			t.Fatalf("spooled to %s, outside the temporary directory", file.Path)
		}
		st, err := os.Stat(file.Path)
		if err != nil {
			t.Fatalf("spooled file of a successful parse: %v", err)
		}
		if st.Size() != file.Size || file.Size > spec.MaxFileBytes {
			t.Fatalf("file %q: %d bytes on disk, Size %d, limit %d", file.Field, st.Size(), file.Size, spec.MaxFileBytes)
		}
	}
}

func assertNoSpooledFiles(t *testing.T, dir, when string) {
	t.Helper()
	left, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		names := make([]string, len(left))
		for i, e := range left {
			names[i] = e.Name()
		}
		t.Fatalf("%s: %d files left in %s: %v", when, len(left), dir, names)
	}
}

// FuzzDecodeBase64 checks the decoder of JSON and form images: arbitrary
// text never panics and what it accepts re-encodes to the same bytes; any
// bytes encoded the ways clients send them (standard or URL alphabet,
// padded or not, wrapped at 76 columns, as a data: URL, surrounded by
// whitespace) decode back to exactly those bytes.
func FuzzDecodeBase64(f *testing.F) {
	f.Add("", []byte(nil), uint8(0))
	f.Add("data:image/jpeg;base64,/9j/4AAQ", []byte("\xff\xd8\xff\xe0"), uint8(7))
	f.Add("data:image/png", []byte{0xfb, 0xff}, uint8(2))
	f.Add("SGVsbG8=\r\n", []byte("Hello"), uint8(1))
	f.Add("-_-_", []byte{0xfb, 0xef, 0xbe}, uint8(3))
	f.Add("A", []byte(strings.Repeat("x", 100)), uint8(4))
	f.Add("AB==", []byte("ab"), uint8(5))
	f.Add("ABC=====", []byte("abc"), uint8(6))
	f.Fuzz(func(t *testing.T, s string, data []byte, variant uint8) {
		if got, err := DecodeBase64(s); err == nil {
			again, err := DecodeBase64(base64.RawStdEncoding.EncodeToString(got))
			if err != nil || !bytes.Equal(again, got) {
				t.Fatalf("%q decoded to %x, which does not round-trip: %x, %v", s, got, again, err)
			}
		} else if got != nil {
			t.Fatalf("%q: bytes with error %v", s, err)
		}

		enc := base64.StdEncoding
		if variant&1 != 0 {
			enc = base64.URLEncoding
		}
		if variant&2 != 0 {
			enc = enc.WithPadding(base64.NoPadding)
		}
		s = enc.EncodeToString(data)
		if variant&4 != 0 {
			var b strings.Builder
			for len(s) > 76 {
				b.WriteString(s[:76] + "\r\n")
				s = s[76:]
			}
			s = b.String() + s
		}
		if variant&8 != 0 {
			s = "data:image/jpeg;base64," + s
		}
		if variant&16 != 0 {
			s = " \n\t" + s + "\r\n "
		}
		got, err := DecodeBase64(s)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%q (variant %d) decoded to %x, %v; want %x", s, variant, got, err, data)
		}
	})
}
