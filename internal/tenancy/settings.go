package tenancy

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/visagehq/visage/internal/actor"
	"github.com/visagehq/visage/internal/fault/classify"
	"github.com/visagehq/visage/internal/store"
)

// Settings are an integration's changeable options; nil fields are left
// as they are.
type Settings struct {
	Name                *string          `json:"name,omitempty"`
	CallbackURLTemplate *string          `json:"callback_url_template,omitempty"`
	Theme               *json.RawMessage `json:"theme,omitempty"`
	MatchThreshold      *float64         `json:"match_threshold,omitempty"`
	LivenessThreshold   *float64         `json:"liveness_threshold,omitempty"`
	MaxAttempts         *int             `json:"max_attempts,omitempty"`
	RetentionDays       *int             `json:"retention_days,omitempty"`
	RequiredChallenges  *[]string        `json:"required_challenges,omitempty"`
	CheckDuplicates     *bool            `json:"check_duplicates,omitempty"`
	StillChallenges     *bool            `json:"still_challenges,omitempty"`
	// Verification cases.
	MinAge               *int     `json:"min_age,omitempty"`
	ReviewBand           *float64 `json:"review_band,omitempty"`
	AddressMaxAgeDays    *int     `json:"address_max_age_days,omitempty"`
	FileRetentionDays    *int     `json:"file_retention_days,omitempty"`
	RejectLegacyPayloads *bool    `json:"reject_legacy_payloads,omitempty"`
	// Validation requests.
	SearchThreshold  *float64 `json:"search_threshold,omitempty"`
	SkipAntiSpoofing *bool    `json:"skip_anti_spoofing,omitempty"`
	// Hosted pages: the origins that may frame them.
	FrameOrigins *[]string `json:"frame_origins,omitempty"`
}

// KnownChallenges are the capture challenges a policy may require.
var KnownChallenges = []string{"smile", "blink", "turn_left", "turn_right"}

// maxThemeBytes bounds the theme JSON served to every capture page.
const maxThemeBytes = 16 << 10

// UpdateSettings applies s to the integration in one transaction.
func (svc *Service) UpdateSettings(ctx context.Context, integrationID string, s Settings) (*store.Integration, error) {
	var out *store.Integration
	err := svc.st.InTx(ctx, func(tx store.Tx) error {
		in, err := tx.GetIntegration(ctx, integrationID)
		if err != nil {
			return err
		}
		before := in.Policy
		if err := s.apply(in, svc.floors); err != nil {
			return err
		}
		if err := tx.UpdateIntegration(ctx, in); err != nil {
			return err
		}
		out = in
		// Every change of policy is on the record, with what was set and
		// the thresholds it replaced.
		return actor.Record(ctx, tx, integrationID, "integration.settings_changed", integrationID,
			map[string]any{"set": s, "before": map[string]any{"match_threshold": before.MatchThreshold,
				"liveness_threshold": before.LivenessThreshold, "max_attempts": before.MaxAttempts, "retention_days": before.RetentionDays}})
	})
	return out, classify.Err(err)
}

func (s Settings) apply(in *store.Integration, floors Floors) error {
	if s.Name != nil {
		if err := validateName(*s.Name); err != nil {
			return err
		}
		in.Name = strings.TrimSpace(*s.Name)
	}
	if s.CallbackURLTemplate != nil {
		if err := validateCallback(*s.CallbackURLTemplate); err != nil {
			return err
		}
		in.CallbackURLTemplate = *s.CallbackURLTemplate
	}
	if s.Theme != nil {
		var obj map[string]any
		if len(*s.Theme) > maxThemeBytes || json.Unmarshal(*s.Theme, &obj) != nil || obj == nil {
			return fmt.Errorf("%w: theme must be a JSON object under %d bytes", store.ErrInvalid, maxThemeBytes)
		}
		in.Theme = *s.Theme
	}
	p := &in.Policy
	setF := func(dst *float64, v *float64) {
		if v != nil {
			*dst = *v
		}
	}
	setI := func(dst *int, v *int) {
		if v != nil {
			*dst = *v
		}
	}
	setF(&p.MatchThreshold, s.MatchThreshold)
	setF(&p.LivenessThreshold, s.LivenessThreshold)
	setI(&p.MaxAttempts, s.MaxAttempts)
	setI(&p.RetentionDays, s.RetentionDays)
	setB := func(dst *bool, v *bool) {
		if v != nil {
			*dst = *v
		}
	}
	setB(&p.CheckDuplicates, s.CheckDuplicates)
	setB(&p.StillChallenges, s.StillChallenges)
	setB(&p.RejectLegacyPayloads, s.RejectLegacyPayloads)
	setI(&p.MinAge, s.MinAge)
	setF(&p.ReviewBand, s.ReviewBand)
	setI(&p.AddressMaxAgeDays, s.AddressMaxAgeDays)
	setI(&p.FileRetentionDays, s.FileRetentionDays)
	setF(&p.SearchThreshold, s.SearchThreshold)
	setB(&p.SkipAntiSpoofing, s.SkipAntiSpoofing)
	switch {
	case p.MatchThreshold != 0 && p.MatchThreshold < floors.MatchScore:
		return fmt.Errorf("%w: match_threshold may not be below %g (the model's floor; 0 restores its default)", store.ErrInvalid, floors.MatchScore)
	case p.LivenessThreshold != 0 && p.LivenessThreshold < floors.Liveness:
		return fmt.Errorf("%w: liveness_threshold may not be below %g (the model's floor; 0 restores its default)", store.ErrInvalid, floors.Liveness)
	case p.MinAge < 0 || p.MinAge > 120:
		return fmt.Errorf("%w: min_age is 0–120", store.ErrInvalid)
	case p.ReviewBand < 0 || p.ReviewBand > 50:
		return fmt.Errorf("%w: review_band is 0–50 score points", store.ErrInvalid)
	case p.AddressMaxAgeDays < 0 || p.AddressMaxAgeDays > 3650:
		return fmt.Errorf("%w: address_max_age_days is 0–3650", store.ErrInvalid)
	case p.FileRetentionDays < 0 || p.FileRetentionDays > 3650:
		return fmt.Errorf("%w: file_retention_days is 0–3650", store.ErrInvalid)
	case p.SearchThreshold != 0 && (p.SearchThreshold < floors.MatchScore || p.SearchThreshold > 100):
		return fmt.Errorf("%w: search_threshold is %g–100 (0 restores the default, 90)", store.ErrInvalid, floors.MatchScore)
	}
	if s.FrameOrigins != nil {
		origins, err := frameOrigins(*s.FrameOrigins)
		if err != nil {
			return err
		}
		p.FrameOrigins = origins
	}
	if s.RequiredChallenges != nil {
		for _, c := range *s.RequiredChallenges {
			if !contains(KnownChallenges, c) {
				return fmt.Errorf("%w: unknown challenge %q (known: %s)", store.ErrInvalid, c, strings.Join(KnownChallenges, ", "))
			}
		}
		p.RequiredChallenges = *s.RequiredChallenges
	}
	return p.Validate()
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// validateCallback accepts "" (none) or an absolute http(s) URL whose
// placeholders [user_id], [status], [email] are filled at redirect time.
func validateCallback(tpl string) error {
	if tpl == "" {
		return nil
	}
	probe := strings.NewReplacer("[user_id]", "u", "[status]", "s", "[email]", "e").Replace(tpl)
	u, err := url.Parse(probe)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%w: callback_url_template must be an absolute http(s) URL", store.ErrInvalid)
	}
	return nil
}

// maxFrameOrigins bounds the list (it is sent in a header of every page).
const maxFrameOrigins = 10

// frameOrigins normalises the origins that may frame the hosted pages:
// scheme://host[:port] with nothing after, https (http only for localhost
// and 127.0.0.1, for development). A CSP source list cannot hold paths,
// wildcards are not offered: each origin is named.
func frameOrigins(in []string) ([]string, error) {
	if len(in) > maxFrameOrigins {
		return nil, fmt.Errorf("%w: frame_origins holds at most %d origins", store.ErrInvalid, maxFrameOrigins)
	}
	out := make([]string, 0, len(in))
	for _, raw := range in {
		u, err := url.Parse(strings.TrimSpace(raw))
		bad := err != nil || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" ||
			strings.ContainsAny(u.Host, "*'; ")
		local := u != nil && (u.Hostname() == "localhost" || u.Hostname() == "127.0.0.1")
		if !bad && u.Scheme != "https" && !(u.Scheme == "http" && local) {
			bad = true
		}
		if bad {
			return nil, fmt.Errorf("%w: frame_origins: %q is not an origin like https://app.example.com", store.ErrInvalid, raw)
		}
		o := strings.ToLower(u.Scheme + "://" + u.Host)
		if !contains(out, o) {
			out = append(out, o)
		}
	}
	return out, nil
}
