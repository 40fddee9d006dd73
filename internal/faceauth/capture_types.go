package faceauth

import "time"

// Challenge is an active-liveness capture step of face 2FA.
type Challenge string

// The four capture challenges. Left and right are the person's own.
const (
	ChallengeSmile Challenge = "smile"
	ChallengeBlink Challenge = "blink"
	ChallengeLeft  Challenge = "turn_left"
	ChallengeRight Challenge = "turn_right"
)

// AllChallenges is the default required set.
var AllChallenges = []Challenge{ChallengeSmile, ChallengeBlink, ChallengeLeft, ChallengeRight}

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

// Reasons a capture session failed (CaptureState.Reason), beside the
// feedback codes FeedbackSpoof, FeedbackMismatch and FeedbackExpired.
const (
	ReasonSuperseded    = "superseded"         // another session registered the face
	ReasonRegistered    = "already_registered" // the face got images elsewhere first
	ReasonTooManyFrames = "too_many_frames"
	ReasonDuplicate     = "duplicate_face" // the face belongs to another face id
	ReasonImagesRefused = "images_refused"
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
	Challenge Challenge
	Done      bool
}

// CaptureState is what the hosted page needs to drive a session:
// GET /capture/{token}/state.
type CaptureState struct {
	Status      string        // in_progress, completed, failed, expired
	Steps       []CaptureStep // in the order the page must ask them
	Current     int           // index into Steps; len(Steps) when all done
	Nonce       string        // echo with every frame; binds frames to this session's order
	ExpiresAt   time.Time
	RedirectURL string // integration callback, once completed or failed
	Reason      string // why it failed
	Theme       Theme
	// FrameOrigins may show the page in an iFrame (the integration's).
	FrameOrigins []string
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
	Challenge   Challenge
	Met         bool   // this frame completed the challenge
	Feedback    string // one of the Feedback* codes
	Message     string
	Status      string // session status after this frame
	Steps       []CaptureStep
	Current     int
	RedirectURL string
	Reason      string
}
