package faceauth

import (
	"math"

	"github.com/visagehq/visage/internal/face"
)

// ChallengePolicy holds what each active-liveness challenge demands of a
// frame. Thresholds are on the engine's attribute scales and were set on
// the fixture photos (docs/face-2fa.md).
type ChallengePolicy struct {
	SmileMin      float32 // expression model's "happy" probability
	TurnYawMin    float64 // degrees toward the asked side
	FrontalYawMax float64 // degrees; smile and blink are asked of a frontal face
	EyesOpenMin   float32
	EyesClosedMax float32
}

// DefaultChallengePolicy: on the fixtures a frontal face reads |yaw| ≤ 13°
// and a deliberately turned head 20–45°; broad smiles read ≥ 0.95 and
// neutral faces ≤ 0.2. The frontal and turn limits leave a gap, so no
// single photo can serve both a smile and a turn.
var DefaultChallengePolicy = ChallengePolicy{SmileMin: 0.7, TurnYawMin: 20, FrontalYawMax: 15, EyesOpenMin: 0.6, EyesClosedMax: 0.3}

// blink phases: open eyes seen first, then closed, then open again.
const (
	blinkWantOpen = iota
	blinkWantClosed
	blinkWantReopen
)

// stepState is one challenge's progress, kept in the session.
type stepState struct {
	Met        bool    `json:"met"`
	BlinkPhase int     `json:"blink_phase,omitempty"`
	ImageID    string  `json:"image_id,omitempty"`
	BlobKey    string  `json:"blob_key,omitempty"`
	Width      int     `json:"width,omitempty"`
	Height     int     `json:"height,omitempty"`
	Yaw        float64 `json:"yaw"`
	Liveness   float32 `json:"liveness"`
	Sealed     []byte  `json:"sealed,omitempty"` // the capture's embedding, sealed
}

// judgeFrame applies the checks every frame must pass before its
// challenge is looked at; it returns a feedback code, or "" when the frame
// is usable. Turn challenges tolerate a turned head.
func judgeFrame(f face.Face, c Challenge, livenessMin float64) string {
	q := f.Quality
	if q != nil {
		for _, r := range q.Reasons {
			switch r {
			case face.ReasonTooSmall, face.ReasonCutOff:
				return FeedbackMoveCloser
			case face.ReasonTooDark:
				return FeedbackTooDark
			case face.ReasonTooBright, face.ReasonExposure:
				return FeedbackTooBright
			case face.ReasonBlurry:
				return FeedbackBlurry
			case face.ReasonPose:
				if c != ChallengeLeft && c != ChallengeRight {
					return FeedbackLookStraight
				}
			}
		}
	}
	if f.Liveness != nil && float64(*f.Liveness) < livenessMin {
		return FeedbackSpoof
	}
	return ""
}

// advance applies one usable frame to a challenge and reports whether the
// challenge is now met, with the feedback to show.
func (p ChallengePolicy) advance(c Challenge, f face.Face, st *stepState) (met bool, feedback string) {
	yaw := 0.0
	if f.Pose != nil {
		yaw = f.Pose.Yaw
	}
	frontal := math.Abs(yaw) <= p.FrontalYawMax
	switch c {
	case ChallengeSmile:
		if !frontal {
			return false, FeedbackLookStraight
		}
		if f.Smile != nil && *f.Smile >= p.SmileMin {
			return true, FeedbackMet
		}
		return false, FeedbackSmile
	case ChallengeLeft: // the subject's own left: toward the image's right
		if yaw >= p.TurnYawMin {
			return true, FeedbackMet
		}
		return false, FeedbackTurnLeft
	case ChallengeRight:
		if yaw <= -p.TurnYawMin {
			return true, FeedbackMet
		}
		return false, FeedbackTurnRight
	case ChallengeBlink:
		return p.blink(f, frontal, st)
	}
	return false, FeedbackFailed
}

// still checks what one still image can show of challenge c: a smile on a
// frontal face, closed eyes, or the head turned to the asked side. It
// returns "" when met, else the feedback code saying what is missing.
func (p ChallengePolicy) still(c Challenge, f face.Face) string {
	switch c {
	case ChallengeBlink:
		if f.EyesOpen == nil || *f.EyesOpen > p.EyesClosedMax {
			return FeedbackBlinkNow
		}
		return ""
	case ChallengeSmile, ChallengeLeft, ChallengeRight:
		if met, fb := p.advance(c, f, &stepState{}); !met {
			return fb
		}
		return ""
	}
	return FeedbackFailed
}

// blink needs open → closed → open across frames of a frontal face; a
// single photo cannot show it.
func (p ChallengePolicy) blink(f face.Face, frontal bool, st *stepState) (bool, string) {
	if f.EyesOpen == nil {
		return false, FeedbackBlinkNow
	}
	open, closed := *f.EyesOpen >= p.EyesOpenMin, *f.EyesOpen <= p.EyesClosedMax
	switch st.BlinkPhase {
	case blinkWantOpen:
		if open && frontal {
			st.BlinkPhase = blinkWantClosed
		} else if !frontal {
			return false, FeedbackLookStraight
		}
		return false, FeedbackBlinkNow
	case blinkWantClosed:
		if closed {
			st.BlinkPhase = blinkWantReopen
			return false, FeedbackOpenEyes
		}
		return false, FeedbackBlinkNow
	default:
		if open && frontal {
			return true, FeedbackMet
		}
		return false, FeedbackOpenEyes
	}
}

// feedbackText is the English message sent with each code; the page may
// show its own (localised, themed) text instead.
var feedbackText = map[string]string{
	FeedbackNoFace:        "No face found: look at the camera",
	FeedbackMultipleFaces: "Only one face, please",
	FeedbackMoveCloser:    "Move closer and centre your face in the oval",
	FeedbackTooDark:       "Too dark: find more light",
	FeedbackTooBright:     "Too bright: avoid light behind or on you",
	FeedbackBlurry:        "Hold still",
	FeedbackLookStraight:  "Look straight at the camera",
	FeedbackSpoof:         "Photo or screen detected: use your real face",
	FeedbackMismatch:      "A different face was detected",
	FeedbackSmile:         "Smile!",
	FeedbackBlinkNow:      "Blink now",
	FeedbackOpenEyes:      "Open your eyes",
	FeedbackTurnLeft:      "Turn your head to your left",
	FeedbackTurnRight:     "Turn your head to your right",
	FeedbackMet:           "Done!",
	FeedbackCompleted:     "All done: your face is registered",
	FeedbackFailed:        "Face registration failed",
	FeedbackExpired:       "This link has expired",
	ReasonSuperseded:      "This link was replaced by a newer one: use the latest link you received",
	ReasonRegistered:      "This face is already registered",
	ReasonTooManyFrames:   "This took too long: open the link again to retry",
	ReasonDuplicate:       "This face is already registered to another account",
	ReasonImagesRefused:   "The images were not accepted",
}

// ReasonText is the sentence a person reads for a session's failure
// reason (a feedback or Reason* code); never the code itself.
func ReasonText(reason string) string {
	if t, ok := feedbackText[reason]; ok {
		return t
	}
	return feedbackText[FeedbackFailed]
}
