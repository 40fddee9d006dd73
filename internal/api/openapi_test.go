package api

import (
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/visagehq/visage/internal/applicant"
	"github.com/visagehq/visage/internal/kyc"
)

// The served document is valid OpenAPI 3, checked against the
// specification's own JSON schema by libopenapi-validator.
func TestOpenAPIDocumentValid(t *testing.T) {
	doc, err := libopenapi.NewDocument(openapiDoc)
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("%s: %s", e.Message, e.Reason)
			for _, se := range e.SchemaValidationErrors {
				t.Errorf("  at %s (%s): %s", se.FieldPath, se.KeywordLocation, se.Reason)
			}
		}
	}
}

// Every registered route is documented and every documented operation is
// registered: the route table and the document cannot drift apart.
func TestOpenAPICoversRoutes(t *testing.T) {
	s := New(Config{Verify: kyc.New(nil, nil, nil, kyc.Options{}), Applicants: applicant.New(nil, nil, applicant.Options{})}, nil, nil, nil, slog.New(slog.DiscardHandler))
	doc, err := libopenapi.NewDocument(openapiDoc)
	if err != nil {
		t.Fatal(err)
	}
	model, errs := doc.BuildV3Model()
	if errs != nil {
		t.Fatal(errs)
	}
	var documented []string
	for path, item := range model.Model.Paths.PathItems.FromOldest() {
		for method := range item.GetOperations().FromOldest() {
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	registered := s.Patterns()
	for _, p := range registered {
		if !slices.Contains(documented, normalise(p)) {
			t.Errorf("route %q is not in openapi.json", p)
		}
	}
	for _, d := range documented {
		if !slices.ContainsFunc(registered, func(p string) bool { return normalise(p) == d }) {
			t.Errorf("openapi.json documents %q, which is not registered", d)
		}
	}
	if len(registered) < 20 {
		t.Fatalf("only %d routes registered", len(registered))
	}
}

// normalise turns a ServeMux pattern into the OpenAPI form: {name...}
// wildcards become {name}, and the exact-match marker {$} goes.
func normalise(pattern string) string {
	pattern = strings.TrimSuffix(pattern, "{$}")
	return regexp.MustCompile(`\{([A-Za-z]+)\.\.\.\}`).ReplaceAllString(pattern, "{$1}")
}

var _ = http.MethodGet
