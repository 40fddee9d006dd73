package web

import (
	"encoding/base64"
	"time"

	"github.com/visagehq/visage/internal/faceauth"
)

// Step is one challenge of a session, in the server's random order.
type Step struct {
	Challenge string `json:"challenge"`
	Done      bool   `json:"done"`
}

// State is GET /capture/{token}/state: what the page needs to drive a
// session.
type State struct {
	Status        string    `json:"status"`  // in_progress, completed, failed, expired
	Steps         []Step    `json:"steps"`   // in the order the page must ask them
	Current       int       `json:"current"` // index into Steps; len(Steps) when all done
	Nonce         string    `json:"nonce"`   // echoed with every frame
	ExpiresAt     time.Time `json:"expires_at"`
	RedirectURL   string    `json:"redirect_url,omitempty"`   // the integration's callback, once finished
	Reason        string    `json:"reason,omitempty"`         // why it failed (a code the page may translate)
	ReasonMessage string    `json:"reason_message,omitempty"` // the same, as a sentence
	// Theme is the integration's look, in the schema it is stored and set
	// in (PATCH /v1/integration).
	Theme faceauth.Theme `json:"theme"`
}

// Frame answers POST /capture/{token}/frame.
type Frame struct {
	Challenge     string `json:"challenge"`
	Met           bool   `json:"met"`
	Feedback      string `json:"feedback"`
	Message       string `json:"message"`
	Status        string `json:"status"`
	Steps         []Step `json:"steps"`
	Current       int    `json:"current"`
	RedirectURL   string `json:"redirect_url,omitempty"`
	Reason        string `json:"reason,omitempty"`
	ReasonMessage string `json:"reason_message,omitempty"`
}

func stepsOf(ss []faceauth.CaptureStep) []Step {
	out := make([]Step, len(ss))
	for i, s := range ss {
		out[i] = Step{Challenge: string(s.Challenge), Done: s.Done}
	}
	return out
}

func reasonMessage(reason string) string {
	if reason == "" {
		return ""
	}
	return faceauth.ReasonText(reason)
}

// StateOf converts a session's state.
func StateOf(st *faceauth.CaptureState) State {
	return State{Status: st.Status, Steps: stepsOf(st.Steps), Current: st.Current, Nonce: st.Nonce, ExpiresAt: st.ExpiresAt,
		RedirectURL: st.RedirectURL, Reason: st.Reason, ReasonMessage: reasonMessage(st.Reason), Theme: st.Theme}
}

// FrameOf converts a frame's result.
func FrameOf(f *faceauth.FrameResult) Frame {
	return Frame{Challenge: string(f.Challenge), Met: f.Met, Feedback: f.Feedback, Message: f.Message, Status: f.Status,
		Steps: stepsOf(f.Steps), Current: f.Current, RedirectURL: f.RedirectURL, Reason: f.Reason, ReasonMessage: reasonMessage(f.Reason)}
}

// AuthState is GET /face-auth/{token}/state and the answer to a selfie.
type AuthState struct {
	Kind        string                `json:"kind"`   // authenticate or best_image
	Status      string                `json:"status"` // in_progress, completed, failed, expired
	Reason      string                `json:"reason,omitempty"`
	Locale      string                `json:"locale"`
	Attempts    int                   `json:"attempts"`
	MaxAttempts int                   `json:"max_attempts"`
	ExpiresAt   time.Time             `json:"expires_at"`
	Last        *faceauth.AuthAttempt `json:"last,omitempty"`
	Theme       faceauth.Theme        `json:"theme"`
	// BestImageToken answers a best-image session's selfie (base64), once.
	BestImageToken string `json:"best_image_token,omitempty"`
}

// AuthStateOf is the page's view of a session (no face or client ids).
func AuthStateOf(st *faceauth.AuthState) AuthState {
	out := AuthState{Kind: st.Kind, Status: st.Status, Reason: st.Reason, Locale: st.Locale, Attempts: st.Attempts, MaxAttempts: st.MaxAttempts,
		ExpiresAt: st.ExpiresAt, Last: st.Last, Theme: st.Theme}
	if len(st.BestImageToken) > 0 {
		out.BestImageToken = base64.StdEncoding.EncodeToString(st.BestImageToken)
	}
	return out
}
