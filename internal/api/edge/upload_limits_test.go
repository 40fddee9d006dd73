package edge

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/visagehq/visage/internal/fault"
)

// Every encoding a client may pick (JSON, form, query string) meets the
// same per-field and field-count limits as multipart.
func TestFieldLimitsHoldInEveryEncoding(t *testing.T) {
	long := strings.Repeat("x", maxFieldBytes+1)
	many := url.Values{}
	for i := range maxFields + 1 {
		many.Set("f"+strconv.Itoa(i), "v")
	}
	cases := []struct {
		name, ctype, query, body string
	}{
		{"json value", "application/json", "", `{"user_id":"` + long + `"}`},
		{"form value", "application/x-www-form-urlencoded", "", "user_id=" + long},
		{"query value", "application/json", "user_id=" + long, `{}`},
		{"query count", "application/json", many.Encode(), `{}`},
		{"form count", "application/x-www-form-urlencoded", "", many.Encode()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/u?"+c.query, strings.NewReader(c.body))
			r.Header.Set("Content-Type", c.ctype)
			_, err := ParseUpload(r, UploadSpec{Images: []string{"image"}, QueryFields: true})
			if fault.KindOf(err) != fault.BadRequest {
				t.Fatalf("got %v (kind %q), want bad_request", err, fault.KindOf(err))
			}
		})
	}
}

// Images are bounded per image, not as text fields: a JSON image (or the
// object around a nested one) longer than a field may be is accepted.
func TestJSONImagesAreNotTextFields(t *testing.T) {
	img := strings.Repeat("A", 2*maxFieldBytes)
	for _, body := range []string{`{"image":"` + img + `"}`, `{"model":{"faceImageBase64":"` + img + `"},"applicantId":"a"}`} {
		r := httptest.NewRequest(http.MethodPost, "/u", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		u, err := ParseUpload(r, UploadSpec{Images: []string{"image", "model.faceImageBase64"}})
		if err != nil || len(u.Images) != 1 {
			t.Fatalf("%.40s…: %v", body, err)
		}
	}
}
