// Package authuser speaks the template-authentication API (seed 004:
// POST /services/authenticateUser/v2 with x-api-key): a client keeps the
// user's sealed template and sends it with a best-image token of a live
// capture; the answer says whether it is the same, live person. It adapts
// words and shapes only: the checks are the face service's portable
// authentication. docs/compat.md records each choice the document leaves
// open, and the result tables it omits.
package authuser

import (
	"encoding/base64"
	"log/slog"
	"math"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/visagehq/visage/internal/api/edge"
	"github.com/visagehq/visage/internal/faceauth"
	"github.com/visagehq/visage/internal/fault"
	"github.com/visagehq/visage/internal/logctx"
)

const pathAuthenticate = "POST /services/authenticateUser/v2"

// Handler serves the surface.
type Handler struct {
	faces *faceauth.Service
	log   *slog.Logger
}

// New builds the handler.
func New(faces *faceauth.Service, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.Default()
	}
	return &Handler{faces: faces, log: log}
}

// Surface is the adapter on the request edge. "image" (a reference photo)
// is the one image field; templates and tokens are text.
func (h *Handler) Surface() edge.Surface {
	return edge.Surface{Name: "authuser", Renderer: renderer{}, Prefixes: []string{"/services/"},
		Routes: []edge.Route{{Pattern: pathAuthenticate, Handler: h.authenticate, Auth: edge.Required,
			Upload: &edge.UploadSpec{Images: []string{"image"}, NoRaw: true}}}}
}

// Response is the seed's response body, field for field.
type Response struct {
	MerchantReferenceID               string  `json:"merchantReferenceId"`
	ServiceResultCode                 int     `json:"serviceResultCode"`
	ServiceResultLog                  string  `json:"serviceResultLog"`
	ServiceFacialSimilarityResult     float64 `json:"serviceFacialSimilarityResult"`
	ServiceFacialAuthenticationLog    string  `json:"serviceFacialAuthenticationLog"`
	ServiceFacialAuthenticationResult int     `json:"serviceFacialAuthenticationResult"`
	ServiceLivenessLog                string  `json:"serviceLivenessLog"`
	ServiceLivenessResult             int     `json:"serviceLivenessResult"`
	Timestamp                         string  `json:"timestamp"`
	TransactionID                     string  `json:"transactionId"`
	RegisteredTemplateRaw             string  `json:"registeredTemplateRaw,omitempty"`
}

// timestampFormat is the seed's YYYY-MM-DDThh:mm:ss.SSSZ, in UTC.
const timestampFormat = "2006-01-02T15:04:05.000Z"

func newResponse(merchantRef string) *Response {
	return &Response{MerchantReferenceID: merchantRef, Timestamp: time.Now().UTC().Format(timestampFormat),
		TransactionID: uuid.NewString(), ServiceFacialAuthenticationLog: facialLog[facialNotEvaluated],
		ServiceLivenessLog: livenessLog[livenessNotEvaluated]}
}

func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request) {
	u := edge.UploadOf(r)
	ref := u.Field("merchantReferenceId")
	resp := newResponse(ref)
	ctx := logctx.With(r.Context(), "transaction_id", resp.TransactionID)
	// tracking is the vendor SDK's telemetry: accepted and logged, as the
	// seed asks, never interpreted.
	h.log.InfoContext(ctx, "authenticateUser", "merchant_reference_id", ref, "user_id", u.Field("userId"),
		"tracking", u.Field("tracking"))
	req, err := request(u)
	if err == nil {
		var res *faceauth.PortableResult
		if res, err = h.faces.AuthenticatePortable(ctx, faceauth.TenantOf(edge.PrincipalOf(ctx).Integration), req); err == nil {
			fill(resp, req.UserID, res)
			edge.WriteJSON(w, 200, resp)
			return
		}
	}
	fail(w, r.WithContext(ctx), resp, err)
}

// request maps the seed's fields onto a portable authentication.
func request(u *edge.Upload) (faceauth.PortableAuth, error) {
	req := faceauth.PortableAuth{UserID: u.Field("userId")}
	switch {
	case req.UserID == "":
		return req, fault.New(fault.MissingField, "userId is required")
	case u.Field("merchantReferenceId") == "":
		return req, fault.New(fault.MissingField, "merchantReferenceId is required")
	}
	var err error
	for _, f := range []struct {
		name    string
		dst     *[]byte
		subject string
	}{
		{"registeredTemplateRaw", &req.Template, faceauth.SubjectTemplate},
		{"bestImageToken", &req.Token, faceauth.SubjectToken},
		{"template", &req.ProbeTemplate, faceauth.SubjectProbeTemplate},
	} {
		if *f.dst, err = u.Base64Field(f.name); err != nil {
			return req, &fault.Error{Kind: fault.BadRequest, Message: f.name + " is not valid base64", Subject: f.subject}
		}
	}
	if imgs := u.ImagesFor("image"); len(imgs) > 0 && req.Template == nil {
		req.Reference = &faceauth.Image{Data: imgs[0].Data, Name: "image"}
	}
	switch {
	case req.Template == nil && req.Reference == nil:
		return req, fault.New(fault.MissingField, "registeredTemplateRaw is required (or image)")
	case req.Token == nil && req.ProbeTemplate == nil:
		return req, fault.New(fault.MissingField, "bestImageToken is required (or template)")
	}
	return req, nil
}

// fill writes an authentication's outcome in the seed's words.
func fill(resp *Response, userID string, res *faceauth.PortableResult) {
	resp.RegisteredTemplateRaw = base64.StdEncoding.EncodeToString(res.Template)
	if res.Outcome == faceauth.PortableUserMismatch {
		// Nothing is compared against a template of someone else.
		resp.ServiceResultCode, resp.ServiceResultLog = codeUserMismatch, userMismatchLog(userID)
		return
	}
	// The 0–100 score has two decimals: four here, without float32 noise.
	resp.ServiceFacialSimilarityResult = math.Round(float64(res.Score)*100) / 10000
	resp.ServiceFacialAuthenticationResult = facialNegative
	if res.Match {
		resp.ServiceFacialAuthenticationResult = facialPositive
	}
	resp.ServiceLivenessResult = livenessNotEvaluated
	if res.LivenessChecked {
		resp.ServiceLivenessResult = livenessSpoof
		if res.Liveness.Live {
			resp.ServiceLivenessResult = livenessLive
		}
	}
	resp.ServiceFacialAuthenticationLog = facialLog[resp.ServiceFacialAuthenticationResult]
	resp.ServiceLivenessLog = livenessLog[resp.ServiceLivenessResult]
	switch res.Outcome {
	case faceauth.PortableAuthenticated:
		resp.ServiceResultCode = codeAuthenticated
	case faceauth.PortableNotLive:
		resp.ServiceResultCode, resp.ServiceResultLog = codeNotLive, resultLog[codeNotLive]
		if !res.LivenessChecked {
			resp.ServiceLivenessLog = "Liveness is not evaluated on a template: send a bestImageToken"
		}
	default:
		resp.ServiceResultCode, resp.ServiceResultLog = codeNoMatch, resultLog[codeNoMatch]
	}
}
