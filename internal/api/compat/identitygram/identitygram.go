// Package identitygram speaks the Identity Gram external API's face
// authentication (seed 000: get-2fa-url, store images against a face,
// verify 2FA, the images_stored webhook) over the native face service, so
// its clients can switch by changing the base URL. It adapts words and
// shapes only: request fields, the response envelope, NestJS-style
// errors, image types and URLs, the webhook body. The logic is faceauth's.
// docs/compat.md records every choice the vendor's document leaves open.
package identitygram

import (
	"net/http"
	"strings"

	"github.com/visagehq/visage/internal/api/edge"
	"github.com/visagehq/visage/internal/faceauth"
	"github.com/visagehq/visage/internal/fault"
	"github.com/visagehq/visage/internal/kyc"
	"github.com/visagehq/visage/internal/tenancy"
)

// Handler serves the /v2/verification endpoints.
type Handler struct {
	faces *faceauth.Service
	cases *kyc.Service // nil: no verification routes
	keys  Keys
}

// New builds the handler.
func New(faces *faceauth.Service, cases *kyc.Service, keys Keys) *Handler {
	return &Handler{faces: faces, cases: cases, keys: keys}
}

// Paths of the surface. The vendor document names no path for storing
// images or verifying; these follow its naming (docs/compat.md).
const (
	pathGet2FAURL   = "POST /v2/verification/get-2fa-url"
	pathStoreImages = "POST /v2/verification/store-images"
	pathVerify2FA   = "POST /v2/verification/verify-2fa"
	pathImage       = "GET /verification/{faceRef}/{type}/{file}"
)

// Every file part is taken as an image (the vendor names its fields by
// image type); JSON clients send base64 under the same names.
var upload = &edge.UploadSpec{AnyFile: true, Images: append([]string{"image"}, imageFields()...)}

// Surface is the adapter on the request edge.
func (h *Handler) Surface() edge.Surface {
	auth := func(pattern string, fn http.HandlerFunc, up *edge.UploadSpec, scope string) edge.Route {
		return edge.Route{Pattern: pattern, Handler: fn, Auth: edge.Required, Upload: up, Scope: scope}
	}
	routes := []edge.Route{
		auth(pathGet2FAURL, h.get2FAURL, upload, tenancy.ScopeEnrol),
		auth(pathStoreImages, h.storeImages, upload, tenancy.ScopeEnrol),
		auth(pathVerify2FA, h.verify2FA, upload, ""),
		auth(pathImage, h.image, nil, ""),
	}
	if h.cases != nil {
		routes = append(routes, auth(pathAddVerification, h.addVerification, nil, tenancy.ScopeEnrol),
			auth(pathGetVerification, h.getVerification, nil, ""))
	}
	return edge.Surface{Name: "identitygram", Renderer: renderer{}, Prefixes: []string{"/v2/", "/verification/"}, Routes: routes}
}

// envelope is the vendor's success body.
type envelope struct {
	Message string `json:"message"`
	Data    any    `json:"data"`
	Errors  any    `json:"errors"`
}

// Face is the vendor's face object.
type Face struct {
	ID            string  `json:"_id"`
	IntegrationID string  `json:"integrationId"`
	FaceID        string  `json:"faceId"`
	Images        []Image `json:"images"`
	Enabled       bool    `json:"enabled"`
}

// Image is one of a face's images.
type Image struct {
	URL  string `json:"url"`
	Type string `json:"type"`
	ID   string `json:"_id"`
}

// Image types: the vendor's names of the four captures.
var types = map[faceauth.Challenge]string{
	faceauth.ChallengeSmile: "2fa-smile",
	faceauth.ChallengeBlink: "2fa-eyeblink",
	faceauth.ChallengeLeft:  "2fa-left",
	faceauth.ChallengeRight: "2fa-right",
}

// fields are the accepted field names of each capture in store-images.
var fields = map[faceauth.Challenge][]string{
	faceauth.ChallengeSmile: {"smile", "2fa-smile"},
	faceauth.ChallengeBlink: {"eyeblink", "eyeBlink", "2fa-eyeblink"},
	faceauth.ChallengeLeft:  {"left", "2fa-left"},
	faceauth.ChallengeRight: {"right", "2fa-right"},
}

func imageFields() []string {
	var out []string
	for _, c := range faceauth.AllChallenges {
		out = append(out, fields[c]...)
	}
	return out
}

// imageURL is the seed's relative form, "verification/<face>/<type>/<image>.jpg";
// prefixed with the server's base URL it fetches the image (authenticated).
func imageURL(faceRef string, challenge, imageID string) string {
	t := types[faceauth.Challenge(challenge)]
	if t == "" {
		t = challenge
	}
	return "verification/" + faceRef + "/" + t + "/" + imageID + ".jpg"
}

func faceOf(integrationID string, v *faceauth.FaceView) Face {
	out := Face{ID: v.ID, IntegrationID: integrationID, FaceID: v.FaceID, Enabled: v.Enabled, Images: []Image{}}
	for _, im := range v.Images {
		out.Images = append(out.Images, Image{ID: im.ID, Type: types[faceauth.Challenge(im.Challenge)], URL: imageURL(v.ID, im.Challenge, im.ID)})
	}
	return out
}

// userRequest is a request naming an integration (integrationId or
// publicKey) and a user (uniqueIdentifier).
func userRequest(r *http.Request) (*edge.Upload, *tenancy.Principal, string, error) {
	u := edge.UploadOf(r)
	p := edge.PrincipalOf(r.Context())
	id, pk, uid := u.Field("integrationId"), u.Field("publicKey"), u.Field("uniqueIdentifier")
	if (id == "" && pk == "") || uid == "" {
		return nil, nil, "", fault.New(fault.MissingField, "integrationId and uniqueIdentifier are required") // the vendor's wording
	}
	if (id != "" && id != p.Integration.ID) || (pk != "" && pk != p.Integration.PublicKey) {
		return nil, nil, "", integrationNotFound
	}
	return u, p, uid, nil
}

// integrationNotFound: the body names an integration the caller's
// credentials do not belong to.
var integrationNotFound = &fault.Error{Kind: fault.NotFound, Subject: "integration", Message: "Integration not found"}

func (h *Handler) get2FAURL(w http.ResponseWriter, r *http.Request) {
	_, p, uid, err := userRequest(r)
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	// The vendor shows a new face enabled: with no template it can neither
	// verify nor match until its images are stored.
	start, err := h.faces.Start2FA(r.Context(), faceauth.TenantOf(p.Integration), uid, faceauth.StartOptions{Enabled: true})
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	face := faceOf(p.Integration.ID, start.Face)
	if start.Registered {
		const msg = "Face already registered"
		edge.WriteJSON(w, 200, envelope{Message: msg, Data: map[string]any{"success": false, "message": msg, "face": face}})
		return
	}
	const done = "Face registration URL generated successfully"
	edge.WriteJSON(w, 200, envelope{Message: done,
		Data: map[string]any{"success": true, "message": done, "url": start.URL, "newFace": face}})
}

func (h *Handler) storeImages(w http.ResponseWriter, r *http.Request) {
	u := edge.UploadOf(r)
	p := edge.PrincipalOf(r.Context())
	ref := u.Field("faceId")
	if ref == "" {
		edge.Fail(w, r, fault.New(fault.MissingField, "faceId is required"))
		return
	}
	if err := foreignIntegration(u, p); err != nil {
		edge.Fail(w, r, err)
		return
	}
	// faceId is newFace._id, as the vendor's flow says; the client's own
	// uniqueIdentifier is accepted too.
	in := p.Integration
	f, err := h.faces.FaceByRef(r.Context(), in.ID, ref)
	if fault.Is(err, fault.NotEnrolled) {
		f, err = h.faces.GetFace(r.Context(), in.ID, ref)
	}
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	var imgs []faceauth.Image
	for _, c := range faceauth.AllChallenges {
		for _, im := range u.ImagesFor(fields[c]...) {
			imgs = append(imgs, faceauth.Image{Data: im.Data, Name: types[c], Challenge: string(c), ContentType: im.ContentType})
		}
	}
	v, err := h.faces.RegisterStills(r.Context(), faceauth.TenantOf(in), f.FaceID, imgs)
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	const done = "Images stored successfully"
	edge.WriteJSON(w, 200, envelope{Message: done, Data: map[string]any{"success": true, "message": done, "face": faceOf(in.ID, v)}})
}

// foreignIntegration refuses a body naming another integration; naming
// none is fine where the vendor does not require it.
func foreignIntegration(u *edge.Upload, p *tenancy.Principal) error {
	if id := u.Field("integrationId"); id != "" && id != p.Integration.ID {
		return integrationNotFound
	}
	if pk := u.Field("publicKey"); pk != "" && pk != p.Integration.PublicKey {
		return integrationNotFound
	}
	return nil
}

func (h *Handler) verify2FA(w http.ResponseWriter, r *http.Request) {
	u, p, uid, err := userRequest(r)
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	imgs := u.ImagesFor("image")
	if len(imgs) != 1 {
		edge.Fail(w, r, fault.New(fault.MissingField, "Image file is required"))
		return
	}
	v, err := h.faces.Verify(r.Context(), faceauth.TenantOf(p.Integration), uid, faceauth.Image{Data: imgs[0].Data, Name: "image"})
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	data := map[string]any{"success": true, "verified": v.Verified, "similarity": v.Score, "faceId": uid}
	switch v.Outcome() {
	case faceauth.OutcomeVerified:
		const done = "Face verified successfully"
		data["message"] = done
		edge.WriteJSON(w, 200, envelope{Message: done, Data: data})
		return
	case faceauth.OutcomeNoMatch:
		data["message"] = "Face does not match"
	default:
		data["message"] = "Liveness check failed"
	}
	edge.WriteJSON(w, 200, envelope{Message: "Face verification failed", Data: data})
}

// image serves an image by the relative URL the vendor's bodies carry.
func (h *Handler) image(w http.ResponseWriter, r *http.Request) {
	in := edge.PrincipalOf(r.Context()).Integration
	imageID, _, _ := strings.Cut(r.PathValue("file"), ".")
	data, ctype, err := h.faces.ImageByRef(r.Context(), in.ID, r.PathValue("faceRef"), imageID)
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	edge.WriteImage(w, data, ctype)
}
