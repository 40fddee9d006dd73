package faceauth

import "time"

// Challenge is an active-liveness capture step of face 2FA.
type Challenge string

// The four capture challenges, named as the Identity Gram API names image
// types.
const (
	ChallengeSmile    Challenge = "2fa-smile"
	ChallengeEyeBlink Challenge = "2fa-eyeblink"
	ChallengeLeft     Challenge = "2fa-left"
	ChallengeRight    Challenge = "2fa-right"
)

// AllChallenges is the default required set.
var AllChallenges = []Challenge{ChallengeSmile, ChallengeEyeBlink, ChallengeLeft, ChallengeRight}

// Feedback codes the capture page shows (stable; the page maps each to a
// localisable text, the server also sends an English message).
const (
	FeedbackNoFace        = "no_face"
	FeedbackMultipleFaces = "multiple_faces"
	FeedbackMoveCloser    = "move_closer"
	FeedbackTooDark       = "too_dark"
	FeedbackTooBright     = "too_bright"
	FeedbackBlurry        = "hold_still"
	FeedbackLookStraight  = "look_straight"
	FeedbackSpoof         = "spoof_suspected"
	FeedbackMismatch      = "face_mismatch"
	FeedbackSmile         = "smile"
	FeedbackBlinkNow      = "blink_now"
	FeedbackOpenEyes      = "open_eyes"
	FeedbackTurnLeft      = "turn_left"
	FeedbackTurnRight     = "turn_right"
	FeedbackMet           = "challenge_met"
	FeedbackCompleted     = "completed"
	FeedbackFailed        = "failed"
	FeedbackExpired       = "expired"
)

// Capture session statuses.
const (
	CaptureInProgress = "in_progress"
	CaptureCompleted  = "completed"
	CaptureFailed     = "failed"
	CaptureExpired    = "expired"
)

// CaptureStep is one challenge of a session, in the server's random order.
type CaptureStep struct {
	Challenge Challenge `json:"challenge"`
	Done      bool      `json:"done"`
}

// CaptureState is what the hosted page needs to drive a session:
// GET /capture/{token}/state.
type CaptureState struct {
	Status      string        `json:"status"`  // in_progress, completed, failed, expired
	Steps       []CaptureStep `json:"steps"`   // in the order the page must ask them
	Current     int           `json:"current"` // index into Steps; len(Steps) when all done
	Nonce       string        `json:"nonce"`   // echo with every frame; binds frames to this session's order
	ExpiresAt   time.Time     `json:"expires_at"`
	RedirectURL string        `json:"redirect_url,omitempty"` // integration callback, once completed or failed
	Reason      string        `json:"reason,omitempty"`       // why it failed
	Theme       Theme         `json:"theme"`
}

// Theme is the integration's look for the hosted page.
type Theme struct {
	Name         string            `json:"name,omitempty"`
	LogoURL      string            `json:"logo_url,omitempty"`
	PrimaryColor string            `json:"primary_color,omitempty"`
	Background   string            `json:"background,omitempty"`
	TextColor    string            `json:"text_color,omitempty"`
	Texts        map[string]string `json:"texts,omitempty"` // overrides by feedback code or "title", "intro", "success", "failure"
}

// FrameResult answers one frame: POST /capture/{token}/frame with fields
// challenge, nonce and the JPEG in "frame".
type FrameResult struct {
	Challenge   Challenge     `json:"challenge"`
	Met         bool          `json:"met"`      // this frame completed the challenge
	Feedback    string        `json:"feedback"` // one of the Feedback* codes
	Message     string        `json:"message"`
	Status      string        `json:"status"` // session status after this frame
	Steps       []CaptureStep `json:"steps"`
	Current     int           `json:"current"`
	RedirectURL string        `json:"redirect_url,omitempty"`
	Reason      string        `json:"reason,omitempty"`
}
