package api

import (
	"net/http"

	"github.com/visagehq/visage/internal/api/compat/ivapi"
	"github.com/visagehq/visage/internal/api/edge"
	"github.com/visagehq/visage/internal/faceauth"
	"github.com/visagehq/visage/internal/fault"
	"github.com/visagehq/visage/internal/kyc"
	"github.com/visagehq/visage/internal/store"
	"github.com/visagehq/visage/internal/web"
)

// hosted serves the hosted verification page: a case's link (/verify/…,
// the request_url of native and Identity Gram cases) and, for the
// Identity Verification API, the page its adapter asks for.
type hosted struct {
	page  *web.VerifyPage
	cases *kyc.Service
}

var _ ivapi.PageRenderer = (*hosted)(nil)

const verifyAssets = "/verify/assets/"

// sidesOf are the document sides a case's type asks for.
func sidesOf(docType string) []web.DocumentSide {
	switch docType {
	case kyc.DocLicense, kyc.DocAddressPermit:
		return []web.DocumentSide{{Field: "document_front", Side: web.SideFront}, {Field: "document_back", Side: web.SideBack}}
	case kyc.DocPassport:
		// A passport's photo page is the whole document: no back to ask for.
		return []web.DocumentSide{{Field: "document_front", Side: web.SideFront}}
	case kyc.DocProofAddress:
		return []web.DocumentSide{{Field: "document_front", Label: "Proof of address (a recent bill or statement)"}}
	}
	return []web.DocumentSide{{Field: "document_front", Side: web.SideFront}, {Field: "document_back", Side: web.SideBack, Optional: true}}
}

// casePage opens a case's link and serves the page; a link that cannot
// be used shows a sentence.
func (h *hosted) casePage(w http.ResponseWriter, r *http.Request) {
	c, in, err := h.cases.Open(r.Context(), r.PathValue("token"))
	if err != nil {
		status := 500
		switch fault.KindOf(err) {
		case fault.NotFound:
			status = 404
		case fault.Expired:
			status = 410
		case fault.Closed:
			status = 409
		}
		title, text := web.LinkMessage(status)
		web.WriteMessage(w, status, title, text, verifyAssets)
		return
	}
	cfg := web.PageConfig{Theme: faceauth.ThemeOf(in), SubmitURL: "/verify/" + r.PathValue("token") + "/submit",
		VideoField: "selfie_video", PhotoFields: sidesOf(c.DocumentType), AssetPath: verifyAssets, FrameAncestors: in.Policy.FrameOrigins}
	if c.DocumentType == kyc.DocProofAddress {
		cfg.VideoField = ""
	}
	h.page.Serve(w, r, cfg)
}

// caseSubmit takes the page's files and answers the outcome and where to
// send the person (the integration's callback URL).
func (h *hosted) caseSubmit(w http.ResponseWriter, r *http.Request) {
	sub := SubmissionOf(edge.UploadOf(r), "document_front", "document_back", "selfie", "selfie_video")
	c, in, err := h.cases.SubmitLink(r.Context(), r.PathValue("token"), sub)
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	edge.WriteJSON(w, 200, map[string]string{"status": c.Status, "redirect_url": redirectOf(in, c)})
}

func redirectOf(in *store.Integration, c *kyc.Case) string {
	return in.CallbackURL(c.UniqueIdentifier, c.Status, c.Email)
}

// ServeVerify implements ivapi.PageRenderer: the seed-002 page.
func (h *hosted) ServeVerify(w http.ResponseWriter, r *http.Request, p ivapi.Page) {
	in, err := h.cases.Integration(r.Context(), p.IntegrationID)
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	h.page.Serve(w, r, web.PageConfig{Theme: faceauth.ThemeOf(in), SubmitURL: p.SubmitURL, Fields: p.Fields,
		VideoField: "selfie_video", PhotoFields: []web.DocumentSide{{Field: "id_photo"}}, AssetPath: "/verif/assets/", FrameAncestors: in.Policy.FrameOrigins})
}

// ServeAsset implements ivapi.PageRenderer.
func (h *hosted) ServeAsset(w http.ResponseWriter, r *http.Request, name string) {
	h.page.Asset(w, r, name)
}

func (h *hosted) asset(w http.ResponseWriter, r *http.Request) {
	h.page.Asset(w, r, r.PathValue("name"))
}

// surface is the case link's routes, rendered as the hosted pages render.
func (h *hosted) surface(s *Server) edge.Surface {
	return edge.Surface{Name: "verify", Renderer: web.Renderer(), Routes: []edge.Route{
		{Pattern: "GET /verify/{token}", Handler: h.casePage, Undocumented: true},
		{Pattern: "GET " + verifyAssets + "{name}", Handler: h.asset, Undocumented: true},
		{Pattern: "POST /verify/{token}/submit", Handler: h.caseSubmit, Upload: s.submitSpec(), MaxBody: s.submitMaxBody()},
	}}
}
