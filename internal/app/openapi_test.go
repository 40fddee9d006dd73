package app

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/visagehq/visage/internal/api"
)

var (
	oapiOnce sync.Once
	oapi     validator.Validator
	oapiErr  error
)

// checkResponse validates a live response against openapi.json: every
// end-to-end request doubles as a check that the document tells the truth.
// Paths the document does not describe (the capture page) are skipped.
func checkResponse(t *testing.T, req *http.Request, res *http.Response, body []byte) {
	t.Helper()
	oapiOnce.Do(func() {
		doc, err := libopenapi.NewDocument(api.OpenAPI())
		if err != nil {
			oapiErr = err
			return
		}
		var errs []error
		if oapi, errs = validator.NewValidator(doc); len(errs) > 0 {
			oapiErr = errs[0]
		}
	})
	if oapiErr != nil {
		t.Fatal(oapiErr)
	}
	if strings.HasPrefix(req.URL.Path, "/capture/") || strings.HasPrefix(req.URL.Path, "/face-auth/") || req.URL.Path == "/metrics" {
		return
	}
	probe := req.Clone(req.Context())
	probe.Body = http.NoBody
	copyRes := *res
	copyRes.Body = io.NopCloser(bytes.NewReader(body))
	if ok, errs := oapi.ValidateHttpResponse(probe, &copyRes); !ok {
		for _, e := range errs {
			// An undocumented path is the catch-all's 404/405, which the
			// surfaces' own tests check.
			if e.ValidationType == "path" && (res.StatusCode == 404 || res.StatusCode == 405) {
				continue
			}
			msg := e.Message + ": " + e.Reason
			for _, se := range e.SchemaValidationErrors {
				msg += "; " + se.FieldPath + ": " + se.Reason
			}
			t.Errorf("openapi: %s %s → %d: %s\nbody: %.400s", req.Method, req.URL.Path, res.StatusCode, msg, body)
		}
	}
}
