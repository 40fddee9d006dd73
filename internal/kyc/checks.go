package kyc

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/visagehq/visage/internal/document"
	"github.com/visagehq/visage/internal/face"
	"github.com/visagehq/visage/internal/faceauth"
	"github.com/visagehq/visage/internal/fault"
	"github.com/visagehq/visage/internal/video"
)

// Check outcomes.
const (
	Pass    = "pass"
	Fail    = "fail"
	Review  = "review"
	Skipped = "skipped"
)

// Reasons: the machine-readable why of a failed or borderline check, and of
// the decision it leads to.
const (
	ReasonNoDocumentFace  = "no_face_on_document"
	ReasonNoSelfieFace    = "no_face_in_selfie"
	ReasonFaceMismatch    = "face_mismatch"
	ReasonFaceBorderline  = "face_match_borderline"
	ReasonSpoof           = "spoof_suspected"
	ReasonLivenessLow     = "liveness_borderline"
	ReasonFaceSwap        = "face_swap"
	ReasonNoMotion        = "no_motion"
	ReasonMRZInvalid      = "mrz_invalid"
	ReasonMRZUnreadable   = "mrz_unreadable"
	ReasonExpired         = "document_expired"
	ReasonUnderage        = "underage"
	ReasonNameMismatch    = "name_mismatch"
	ReasonAddressName     = "address_name_mismatch"
	ReasonAddressOld      = "address_not_recent"
	ReasonAddressNoDate   = "address_date_unreadable"
	ReasonOperator        = "operator_decision"
	ReasonLinkExpired     = "link_expired"
	ReasonAbandoned       = "abandoned"
	ReasonTooManyAttempts = "too_many_attempts"
)

// Check is one check of a submission, with what it measured.
type Check struct {
	Name      string   `json:"name"`
	Status    string   `json:"status"`
	Reason    string   `json:"reason,omitempty"`
	Score     *float64 `json:"score,omitempty"`
	Threshold *float64 `json:"threshold,omitempty"`
	Detail    string   `json:"detail,omitempty"`
}

// Results are everything a submission's processing measured.
type Results struct {
	Checks      []Check       `json:"checks"`
	Method      string        `json:"method"` // the embedding model that compared the faces
	Similarity  *float64      `json:"similarity,omitempty"`
	Liveness    *float64      `json:"liveness,omitempty"`
	MRZ         *MRZResult    `json:"mrz,omitempty"`
	Video       *VideoResult  `json:"video,omitempty"`
	Address     *AddressFound `json:"address,omitempty"`
	ProcessedAt time.Time     `json:"processed_at"`
	DurationMS  int64         `json:"duration_ms"`
}

// MRZResult is what the MRZ read gave.
type MRZResult struct {
	Format  string   `json:"format"`
	Valid   bool     `json:"valid"`
	Invalid []string `json:"invalid_checks,omitempty"` // e.g. "expiry date"
}

// VideoResult summarises a selfie video's frames.
type VideoResult struct {
	Duration       float64 `json:"duration_s"`
	Frames         int     `json:"frames"`
	FaceFrames     int     `json:"face_frames"`
	MultiFaceShare float64 `json:"multi_face_share"`
	LivenessMedian float32 `json:"liveness_median"`
	LiveShare      float64 `json:"live_share"`
	Blink          bool    `json:"blink"`
	YawRange       float64 `json:"yaw_range"`
	SamePerson     bool    `json:"same_person"`
	Changes        []int   `json:"identity_changes,omitempty"`
}

// AddressFound is what a proof of address showed.
type AddressFound struct {
	NameFound bool   `json:"name_found"`
	Date      string `json:"date,omitempty"`
	AgeDays   int    `json:"age_days"`
}

// Decision is the outcome the checks lead to: the first failure declines,
// else the first borderline check sends the case to review, else it is
// approved.
func (r *Results) Decision() (status, reason string) {
	for _, c := range r.Checks {
		if c.Status == Fail {
			return StatusDeclined, c.Reason
		}
	}
	for _, c := range r.Checks {
		if c.Status == Review {
			return StatusUnderReview, c.Reason
		}
	}
	return StatusApproved, ""
}

func (r *Results) add(c Check) { r.Checks = append(r.Checks, c) }

func f64(v float64) *float64 { return &v }

// policy is the decision thresholds of a case.
type policy struct {
	match, band      float64 // calibrated score; review below match, fail below match-band
	live, liveBand   float64
	minAge           int
	addressMaxDays   int
	motionMinYaw     float64
	liveShareMin     float64
	multiFaceMaxFrac float64
}

// Default decision parameters beyond the integration's thresholds.
const (
	defaultReviewBand     = 10   // score points under the match threshold
	defaultLivenessBand   = 0.2  // liveness under the threshold sent to review, not declined
	defaultAddressMaxDays = 90   // a bill older than three months is not proof of address
	motionMinYaw          = 15   // degrees of head turn that count as motion
	liveShareMin          = 0.5  // share of a video's face frames that must be live
	multiFaceMax          = 0.25 // share of frames with several faces before review
)

// submission is a case's inputs as analysed.
type submission struct {
	doc      *faceauth.Document
	docFace  *face.Face
	selfies  []*face.Embedding // selfie photo, or a video's best frames
	live     *float64          // passive liveness of the selfie (video: median)
	video    *video.Analysis
	videoDur time.Duration
	mrz      *document.MRZ
	text     string // proof of address OCR
}

// faceChecks compares the document's face with the selfie's.
func (s *Service) faceChecks(r *Results, sub *submission, p policy) error {
	if sub.docFace == nil {
		r.add(Check{Name: "document_face", Status: Fail, Reason: ReasonNoDocumentFace})
	} else {
		r.add(Check{Name: "document_face", Status: Pass})
	}
	if len(sub.selfies) == 0 {
		r.add(Check{Name: "selfie_face", Status: Fail, Reason: ReasonNoSelfieFace})
	} else {
		r.add(Check{Name: "selfie_face", Status: Pass})
	}
	if sub.docFace != nil && len(sub.selfies) > 0 {
		best := math.Inf(-1)
		for _, e := range sub.selfies {
			sim, err := s.faces.CompareEmbeddings(sub.docFace.Embedding, e)
			if err != nil {
				return err
			}
			best = math.Max(best, float64(sim.Score))
		}
		c := Check{Name: "face_match", Score: f64(best), Threshold: f64(p.match)}
		switch {
		case best >= p.match:
			c.Status = Pass
		case best >= p.match-p.band:
			c.Status, c.Reason = Review, ReasonFaceBorderline
		default:
			c.Status, c.Reason = Fail, ReasonFaceMismatch
		}
		r.Similarity = f64(best)
		r.add(c)
	}
	if sub.live != nil {
		c := Check{Name: "liveness", Score: f64(*sub.live), Threshold: f64(p.live)}
		switch {
		case *sub.live >= p.live:
			c.Status = Pass
		case *sub.live >= p.live-p.liveBand:
			c.Status, c.Reason = Review, ReasonLivenessLow
		default:
			c.Status, c.Reason = Fail, ReasonSpoof
		}
		r.Liveness = f64(*sub.live)
		r.add(c)
	}
	return nil
}

// videoChecks: the same person throughout, live frames, and motion (a
// blink or a head turn) seen across them.
func videoChecks(r *Results, sub *submission, p policy) {
	a := sub.video
	if a == nil {
		return
	}
	vr := &VideoResult{Duration: sub.videoDur.Seconds(), Frames: len(a.Frames), FaceFrames: a.FaceFrames,
		MultiFaceShare: round3(a.MultiFaceShare), LivenessMedian: a.Liveness.Median, LiveShare: round3(a.Liveness.LiveShare),
		Blink: a.Blink.Seen, YawRange: math.Round(a.HeadMotion.YawRange*10) / 10, SamePerson: a.Identity.SamePerson, Changes: a.Identity.Changes}
	r.Video = vr
	same := Check{Name: "same_person_throughout", Status: Pass, Detail: fmt.Sprintf("%d face frames compared", a.Identity.Compared)}
	if !a.Identity.SamePerson {
		same.Status, same.Reason = Fail, ReasonFaceSwap
		same.Detail = fmt.Sprintf("identity changes at frames %v", a.Identity.Changes)
	}
	r.add(same)
	motion := Check{Name: "motion", Status: Pass, Score: f64(vr.YawRange), Threshold: f64(p.motionMinYaw),
		Detail: fmt.Sprintf("blink %v, head turn %.0f°", vr.Blink, vr.YawRange)}
	if !vr.Blink && vr.YawRange < p.motionMinYaw {
		motion.Status, motion.Reason = Review, ReasonNoMotion
	}
	r.add(motion)
	if a.FaceFrames > 0 && a.Liveness.LiveShare < p.liveShareMin {
		r.add(Check{Name: "live_frames", Status: Fail, Reason: ReasonSpoof, Score: f64(vr.LiveShare), Threshold: f64(p.liveShareMin)})
	}
	if a.MultiFaceShare > p.multiFaceMaxFrac {
		r.add(Check{Name: "one_person", Status: Review, Reason: ReasonFaceSwap, Score: f64(vr.MultiFaceShare), Threshold: f64(p.multiFaceMaxFrac),
			Detail: "several faces in the video"})
	}
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// documentChecks: the MRZ and its check digits, expiry, age and the name.
func documentChecks(r *Results, sub *submission, c *Case, p policy, now time.Time) Details {
	var d Details
	m := sub.mrz
	if m == nil {
		switch c.DocumentType {
		case DocPassport, "":
			// A passport always has an MRZ: an unreadable one is a photo a
			// person should look at, not a fraud.
			r.add(Check{Name: "mrz", Status: Review, Reason: ReasonMRZUnreadable})
		default:
			r.add(Check{Name: "mrz", Status: Skipped, Detail: "no machine-readable zone on this document"})
		}
		return d
	}
	mr := &MRZResult{Format: m.Format.String(), Valid: m.Valid()}
	for _, ch := range m.Checks {
		if !ch.Valid {
			mr.Invalid = append(mr.Invalid, ch.Kind.String())
		}
	}
	r.MRZ = mr
	if m.Valid() {
		r.add(Check{Name: "mrz", Status: Pass, Detail: mr.Format})
	} else {
		r.add(Check{Name: "mrz", Status: Fail, Reason: ReasonMRZInvalid, Detail: "check digits invalid: " + strings.Join(mr.Invalid, ", ")})
	}
	d = detailsOf(m, now)
	if exp, err := m.Expired(now); err == nil {
		c := Check{Name: "document_expiry", Status: Pass, Detail: "expires " + deref(d.ExpirationDate)}
		if exp {
			c.Status, c.Reason = Fail, ReasonExpired
			c.Detail = "expired " + deref(d.ExpirationDate)
		}
		r.add(c)
	} else {
		r.add(Check{Name: "document_expiry", Status: Review, Reason: ReasonMRZUnreadable, Detail: "expiry date unreadable"})
	}
	if d.Age != nil {
		c := Check{Name: "age", Status: Pass, Score: f64(float64(*d.Age))}
		if p.minAge > 0 {
			c.Threshold = f64(float64(p.minAge))
			if *d.Age < p.minAge {
				c.Status, c.Reason = Fail, ReasonUnderage
			}
		}
		r.add(c)
	}
	if c.FirstName != "" || c.LastName != "" {
		ch := Check{Name: "name_match", Status: Pass}
		if _, ok := document.FindName(m.GivenNames+" "+m.Surname, c.FirstName, c.LastName); !ok {
			ch.Status, ch.Reason = Review, ReasonNameMismatch
			ch.Detail = "the document names " + strings.TrimSpace(m.GivenNames+" "+m.Surname)
		}
		r.add(ch)
	}
	return d
}

// addressChecks: the case's name on the document and a recent date.
func addressChecks(r *Results, sub *submission, c *Case, p policy, now time.Time) {
	ac := document.CheckProofOfAddress(sub.text, c.FirstName, c.LastName, now, p.addressMaxDays)
	af := &AddressFound{NameFound: ac.NameFound, AgeDays: ac.AgeDays}
	if ac.DateFound {
		af.Date = ac.Date.Format("2006-01-02")
	}
	r.Address = af
	name := Check{Name: "address_name", Status: Pass}
	if !ac.NameFound {
		name.Status, name.Reason = Fail, ReasonAddressName
	}
	r.add(name)
	date := Check{Name: "address_date", Status: Pass, Score: f64(float64(ac.AgeDays)), Threshold: f64(float64(p.addressMaxDays))}
	switch {
	case !ac.DateFound:
		date.Status, date.Reason = Review, ReasonAddressNoDate
		date.Score = nil
	case !ac.Recent:
		date.Status, date.Reason = Fail, ReasonAddressOld
	}
	r.add(date)
}

// detailsOf reads the holder's data from the MRZ.
func detailsOf(m *document.MRZ, now time.Time) Details {
	var d Details
	str := func(s string) *string {
		if s = strings.TrimSpace(s); s == "" {
			return nil
		}
		return &s
	}
	if b, err := m.BirthDate(now); err == nil {
		d.DateOfBirth = str(b.Format("2006-01-02"))
		if age, err := m.Age(now); err == nil {
			d.Age = &age
		}
	}
	if e, err := m.ExpiryDate(now); err == nil {
		d.ExpirationDate = str(e.Format("2006-01-02"))
	}
	d.Gender, d.IDNumber, d.Nationality = str(m.Sex), str(m.DocumentNumber), str(m.Nationality)
	d.GivenNames, d.Surname, d.Country = str(m.GivenNames), str(m.Surname), str(m.IssuingState)
	return d
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// readMRZ reads a document side's MRZ; none is not an error.
func (s *Service) readMRZ(ctx context.Context, doc *faceauth.Document) (*document.MRZ, error) {
	if s.ocr == nil {
		return nil, nil
	}
	m, err := s.ocr.ReadMRZ(ctx, doc.Image)
	switch {
	case errors.Is(err, document.ErrNoMRZ):
		return nil, nil
	case errors.Is(err, document.ErrOCRUnavailable):
		return nil, fault.Wrap(fault.Unavailable, err, "document reading (OCR) is not installed on this server")
	case errors.Is(err, document.ErrOCRTimeout):
		return nil, fault.Wrap(fault.Busy, err, "reading the document took too long; retry")
	case err != nil:
		s.log.WarnContext(ctx, "mrz read failed", "err", err)
		return nil, nil
	}
	return m, nil
}
