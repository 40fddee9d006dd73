package edge

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/visagehq/visage/internal/fault"
)

// DecodeJSON reads a JSON object body into v. strict refuses unknown
// fields (a misspelt setting must not be silently ignored). Errors are
// classified: MalformedBody, PayloadTooLarge, or BadRequest for a body cut
// short.
func DecodeJSON(r *http.Request, v any, strict bool) error {
	dec := json.NewDecoder(r.Body)
	if strict {
		dec.DisallowUnknownFields()
	}
	err := dec.Decode(v)
	var mbe *http.MaxBytesError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &mbe):
		return bodyError(err)
	case errors.Is(err, io.EOF):
		return fault.New(fault.MalformedBody, "malformed JSON body: empty body")
	}
	return fault.Wrap(fault.MalformedBody, err, "malformed JSON body: %v", err)
}
