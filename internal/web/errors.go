package web

import (
	"net/http"

	"github.com/visagehq/visage/internal/api/edge"
	"github.com/visagehq/visage/internal/fault"
)

// pageErrors is what the capture page's endpoints answer per fault kind:
// the status the page's script acts on, and a sentence a person can read
// (the page never shows a code).
var pageErrors = map[fault.Kind]struct {
	status int
	text   string
}{
	fault.Internal:         {500, "Something went wrong on our side. Please try again."},
	fault.BadRequest:       {400, "The page is out of step with the server. It will catch up."},
	fault.MissingField:     {400, "The picture did not arrive complete. Please try again."},
	fault.MalformedBody:    {400, "The picture did not arrive complete. Please try again."},
	fault.InvalidImage:     {400, "The camera picture could not be read."},
	fault.EmptyImage:       {400, "The camera sent an empty picture."},
	fault.Unsupported:      {415, "The camera picture must be a JPEG image."},
	fault.ImageTooLarge:    {413, "The camera picture is too large."},
	fault.PayloadTooLarge:  {413, "The camera picture is too large."},
	fault.NoFace:           {422, "No face found: look at the camera."},
	fault.MultipleFaces:    {422, "Only one face, please."},
	fault.LowQuality:       {422, "The picture is not clear enough."},
	fault.Spoof:            {422, "Photo or screen detected: use your real face."},
	fault.FacesDiffer:      {422, "A different face was detected."},
	fault.ChallengeNotMet:  {422, "Follow the instruction on the screen."},
	fault.NotEnrolled:      {404, "This link does not exist."},
	fault.AlreadyEnrolled:  {409, "This face is already registered."},
	fault.Duplicate:        {409, "This face is already registered to another account."},
	fault.Disabled:         {403, "This account is disabled."},
	fault.Locked:           {423, "This account is locked after too many failed attempts. Contact support to unlock it."},
	fault.Conflict:         {409, "The page is out of step with the server. It will catch up."},
	fault.NotFound:         {404, "This link does not exist."},
	fault.Expired:          {410, "This link has expired."},
	fault.Gone:             {410, "This file is no longer available."},
	fault.InvalidVideo:     {400, "The video could not be read. Please record it again."},
	fault.Closed:           {409, "This link has already been used."},
	fault.Unauthorized:     {401, "This link is not valid."},
	fault.Forbidden:        {403, "This link is not valid."},
	fault.MethodNotAllowed: {405, "This page cannot do that."},
	fault.RateLimited:      {429, "Too many pictures at once: slowing down."},
	fault.Busy:             {503, "The server is busy: retrying."},
	fault.Unavailable:      {503, "The server is restarting: retrying."},
	fault.Integrity:        {500, "Something went wrong on our side. Please try again."},
}

type envelope struct {
	Error errorBody `json:"error"`
}

type errorBody struct {
	Code    fault.Kind `json:"code"`
	Message string     `json:"message"`
}

// renderer renders faults for the hosted pages.
type renderer struct{}

// Renderer is the hosted pages' error rendering, for the routes of other
// packages that serve them.
func Renderer() edge.Renderer { return renderer{} }

// RenderError implements edge.Renderer.
func (renderer) RenderError(w http.ResponseWriter, r *http.Request, e *fault.Error) {
	pe, ok := pageErrors[e.Kind]
	if !ok {
		pe = pageErrors[fault.Internal]
	}
	if e.Kind == fault.Busy || e.Kind == fault.Unavailable {
		w.Header().Set("Retry-After", "1")
	}
	edge.WriteJSON(w, pe.status, envelope{Error: errorBody{Code: e.Kind, Message: pe.text}})
}
