package api

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/visagehq/visage/internal/api/edge"
	"github.com/visagehq/visage/internal/api/wire"
	"github.com/visagehq/visage/internal/applicant"
	"github.com/visagehq/visage/internal/fault"
	"github.com/visagehq/visage/internal/store"
	"github.com/visagehq/visage/internal/tenancy"
)

// integrationView is what an integration may read of its own settings.
// Policy thresholds are the effective ones; policy_overrides lists those
// the integration set itself (the others follow the model manifest).
type integrationView struct {
	ID                  string              `json:"id"`
	Name                string              `json:"name"`
	PublicKey           string              `json:"public_key"`
	CallbackURLTemplate string              `json:"callback_url_template"`
	Theme               json.RawMessage     `json:"theme,omitempty"`
	Policy              policyView          `json:"policy"`
	Overrides           []string            `json:"policy_overrides"`
	WebhookURLs         map[string][]string `json:"webhook_urls"`
}

type policyView struct {
	MatchThreshold     float64  `json:"match_threshold"`
	LivenessThreshold  float64  `json:"liveness_threshold"`
	MaxAttempts        int      `json:"max_attempts"`
	RetentionDays      int      `json:"retention_days"`
	RequiredChallenges []string `json:"required_challenges"`
	CheckDuplicates    bool     `json:"check_duplicates"`
	StillChallenges    bool     `json:"still_challenges"`
	// Verification cases (0 = the default: no age check, 10 points, 90 days, 7 days).
	MinAge               int     `json:"min_age"`
	ReviewBand           float64 `json:"review_band"`
	AddressMaxAgeDays    int     `json:"address_max_age_days"`
	FileRetentionDays    int     `json:"file_retention_days"`
	RejectLegacyPayloads bool    `json:"reject_legacy_payloads"`
	// Validation requests: the 1:N authorisation threshold (0–100; 90 by
	// default) and whether anti-spoofing is left out.
	SearchThreshold  float64 `json:"search_threshold"`
	SkipAntiSpoofing bool    `json:"skip_anti_spoofing"`
	// Hosted pages: the origins that may frame them ([]: none).
	FrameOrigins []string `json:"frame_origins"`
}

func (s *Server) viewIntegration(in *store.Integration) integrationView {
	p := s.faces.Effective(in.Policy)
	ch := p.RequiredChallenges
	if ch == nil {
		ch = []string{}
	}
	frames := p.FrameOrigins
	if frames == nil {
		frames = []string{}
	}
	overrides := []string{}
	if in.Policy.MatchThreshold > 0 {
		overrides = append(overrides, "match_threshold")
	}
	if in.Policy.LivenessThreshold > 0 {
		overrides = append(overrides, "liveness_threshold")
	}
	hooks := in.WebhookURLs
	if hooks == nil {
		hooks = map[string][]string{}
	}
	return integrationView{ID: in.ID, Name: in.Name, PublicKey: in.PublicKey, CallbackURLTemplate: in.CallbackURLTemplate,
		Theme: in.Theme, WebhookURLs: hooks, Overrides: overrides, Policy: policyView{
			MatchThreshold: p.MatchThreshold, LivenessThreshold: p.LivenessThreshold, MaxAttempts: p.MaxAttempts,
			RetentionDays: p.RetentionDays, RequiredChallenges: ch, CheckDuplicates: p.CheckDuplicates, StillChallenges: p.StillChallenges,
			MinAge: p.MinAge, ReviewBand: p.ReviewBand, AddressMaxAgeDays: p.AddressMaxAgeDays, FileRetentionDays: p.FileRetentionDays,
			RejectLegacyPayloads: p.RejectLegacyPayloads, SearchThreshold: applicant.SearchThreshold(p), SkipAntiSpoofing: p.SkipAntiSpoofing,
			FrameOrigins: frames}}
}

func (s *Server) getIntegration(w http.ResponseWriter, r *http.Request) {
	edge.WriteJSON(w, 200, s.viewIntegration(edge.PrincipalOf(r.Context()).Integration))
}

// patchIntegration changes the caller's own settings: callback URL
// template, hosted-page theme and policy. A threshold of 0 returns it to
// the model's default.
func (s *Server) patchIntegration(w http.ResponseWriter, r *http.Request) {
	var body tenancy.Settings
	if err := edge.DecodeJSON(r, &body, true); err != nil {
		edge.Fail(w, r, err)
		return
	}
	in, err := s.tenancy.UpdateSettings(r.Context(), integrationID(r), body)
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	edge.WriteJSON(w, 200, s.viewIntegration(in))
}

// listAuditEvents: GET /v1/audit-events?cursor=&limit=, the caller's
// integration's audit log, newest first.
func (s *Server) listAuditEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, ok := pageLimit(w, r)
	if !ok {
		return
	}
	page, err := s.tenancy.AuditEvents(r.Context(), integrationID(r), q.Get("cursor"), limit)
	if err != nil {
		edge.Fail(w, r, err)
		return
	}
	edge.WriteJSON(w, http.StatusOK, wire.AuditListOf(page))
}

// pageLimit reads ?limit= (1–store.MaxPageSize; absent: 0, the default
// page), or answers 400 and reports false.
func pageLimit(w http.ResponseWriter, r *http.Request) (int, bool) {
	l := r.URL.Query().Get("limit")
	if l == "" {
		return 0, true
	}
	n, err := strconv.Atoi(l)
	if err != nil || n < 1 || n > store.MaxPageSize {
		edge.Fail(w, r, fault.New(fault.BadRequest, "limit must be 1–%d", store.MaxPageSize))
		return 0, false
	}
	return n, true
}
