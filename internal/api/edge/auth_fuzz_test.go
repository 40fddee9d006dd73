package edge

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/visagehq/visage/internal/fault"
	"github.com/visagehq/visage/internal/store"
	"github.com/visagehq/visage/internal/tenancy"
)

// The one credential fuzzAuth accepts, in each of its forms, and the
// credential for which it fails like an unreachable database.
const (
	fuzzKeyID    = "key_0123456789abcdefghjkmnpqrs"
	fuzzSecret   = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I"
	fuzzJWT      = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJpbnRfMSJ9.c2lnbmF0dXJl"
	fuzzKeyDown  = "key_down"
	fuzzKeyToken = fuzzKeyID + "." + fuzzSecret
)

var errFuzzDown = errors.New("database is down")

// fuzzAuth stands in for tenancy.Service: it accepts only the fuzz
// credential, reports every other one as tenancy does (an *AuthError) and
// fails with a plain error for fuzzKeyDown.
type fuzzAuth struct{}

func (fuzzAuth) principal() *tenancy.Principal {
	return &tenancy.Principal{Integration: &store.Integration{ID: "int_1"}, KeyID: fuzzKeyID, Scheme: tenancy.SchemeAPIKey}
}

func (a fuzzAuth) AuthenticateToken(ctx context.Context, token string) (*tenancy.Principal, error) {
	id, secret, ok := strings.Cut(strings.TrimSpace(token), ".")
	if !ok {
		return nil, &tenancy.AuthError{Reason: tenancy.ReasonMalformed}
	}
	return a.AuthenticateKey(ctx, id, secret)
}

func (a fuzzAuth) AuthenticateKey(_ context.Context, keyID, secret string) (*tenancy.Principal, error) {
	switch {
	case keyID == fuzzKeyDown:
		return nil, errFuzzDown
	case keyID == fuzzKeyID && secret == fuzzSecret:
		return a.principal(), nil
	}
	return nil, &tenancy.AuthError{Reason: tenancy.ReasonInvalid}
}

func (a fuzzAuth) AuthenticateJWT(_ context.Context, token string) (*tenancy.Principal, error) {
	if token == fuzzJWT {
		p := a.principal()
		p.Scheme = tenancy.SchemeJWT
		return p, nil
	}
	return nil, &tenancy.AuthError{Reason: tenancy.ReasonInvalid}
}

// FuzzAuthenticate drives the edge's credential extraction (x-api-key,
// Authorization Basic and Bearer, ?api_key=, a form key) with arbitrary
// header, query and form values. It asserts that it never panics; that a
// failure is a *fault.Error, Unauthorized for every credential problem and
// Unavailable only when the authenticator itself failed; that
// NoCredentials is reported exactly when no credential was sent; and that
// a principal comes only from the authenticator accepting a credential.
func FuzzAuthenticate(f *testing.F) {
	basic := func(id, secret string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
	}
	f.Add(fuzzKeyToken, "", "", "")
	f.Add(" "+fuzzKeyToken+"\t", "", "", "")
	f.Add("", basic(fuzzKeyID, fuzzSecret), "", "")
	f.Add("", "bAsIc "+base64.StdEncoding.EncodeToString([]byte(fuzzKeyID+":"+fuzzSecret)), "", "")
	f.Add("", "Basic !!!", "", "")
	f.Add("", "Basic "+base64.StdEncoding.EncodeToString([]byte("no-colon")), "", "")
	f.Add("", "Bearer "+fuzzJWT, "", "")
	f.Add("", "Bearer  "+fuzzJWT+" ", "", "")
	f.Add("", "Bearer", "", "")
	f.Add("", "Digest username=x", "", "")
	f.Add("", "", "api_key="+fuzzKeyToken, "")
	f.Add("", "", "api_key=%zz&api_key=x", "")
	f.Add("", "", "", fuzzKeyToken)
	f.Add(fuzzKeyDown+".x", "", "", "")
	f.Add("", basic(fuzzKeyDown, "x"), "", "")
	f.Add("", "", "", "")
	f.Add("x", "Bearer "+fuzzJWT, "api_key="+fuzzKeyToken, fuzzKeyToken)

	e := &Edge{cfg: Config{Auth: fuzzAuth{}}}
	f.Fuzz(func(t *testing.T, apiKey, authorization, query, formKey string) {
		r := httptest.NewRequest(http.MethodGet, "/v1/faces", nil)
		r.URL.RawQuery = query
		if apiKey != "" {
			r.Header.Set("X-Api-Key", apiKey)
		}
		if authorization != "" {
			r.Header.Set("Authorization", authorization)
		}
		p, err := e.authenticate(r, formKey)
		sent := r.Header.Get("X-Api-Key") != "" || r.Header.Get("Authorization") != "" ||
			r.URL.Query().Get("api_key") != "" || formKey != ""
		if err == nil {
			if p == nil || p.KeyID != fuzzKeyID || !sent {
				t.Fatalf("principal %+v without the accepted credential", p)
			}
			return
		}
		if p != nil {
			t.Fatalf("principal with error %v", err)
		}
		var fe *fault.Error
		if !errors.As(err, &fe) {
			t.Fatalf("unclassified error %T %v", err, err)
		}
		switch fe.Kind {
		case fault.Unauthorized:
			if (fe.Subject == NoCredentials) == sent {
				t.Fatalf("subject %q, credentials sent: %v", fe.Subject, sent)
			}
		case fault.Unavailable:
			if !errors.Is(err, errFuzzDown) {
				t.Fatalf("unavailable without the authenticator failing: %v", err)
			}
		default:
			t.Fatalf("kind %q: %v", fe.Kind, err)
		}
	})
}
