package video

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/visagehq/visage/internal/face"
	"github.com/visagehq/visage/internal/imageio"
)

// Analyzer is the face engine as Analyze uses it. *face.Engine satisfies
// it; a service wraps it to take one of its worker slots per call, so a
// video's frames queue with everyone else's images.
type Analyzer interface {
	Analyze(ctx context.Context, img *imageio.Image, opt face.Options) ([]face.Face, error)
	// Score maps cosine similarity to the calibrated 0–100 scale.
	Score(cos float32) float32
}

var _ Analyzer = (*face.Engine)(nil)

// AnalysisOptions are the decision thresholds. They belong to the caller
// (engine calibration, tenant policy) and have no defaults here: a zero
// threshold is an error, not a silent guess.
type AnalysisOptions struct {
	// MatchScore: two frames show the same person when their calibrated
	// score reaches it (e.g. Engine.MatchScore()).
	MatchScore float32
	// LivenessMin: a frame is live when passive liveness reaches it (e.g.
	// Engine.LivenessThreshold()).
	LivenessMin float32
	// Eye-state thresholds for the blink, and the yaw within which a face
	// counts as frontal: faceauth.DefaultChallengePolicy's EyesOpenMin,
	// EyesClosedMax and FrontalYawMax.
	EyesOpenMin   float32
	EyesClosedMax float32
	FrontalYawMax float64
	// Best is how many best frames to return (default 3).
	Best int
}

func (o AnalysisOptions) validate() error {
	switch {
	case o.MatchScore <= 0 || o.MatchScore > 100:
		return fmt.Errorf("%w: MatchScore %v not in (0, 100]", ErrOptions, o.MatchScore)
	case o.LivenessMin <= 0 || o.LivenessMin > 1:
		return fmt.Errorf("%w: LivenessMin %v not in (0, 1]", ErrOptions, o.LivenessMin)
	case o.EyesClosedMax <= 0 || o.EyesOpenMin > 1 || o.EyesClosedMax >= o.EyesOpenMin:
		return fmt.Errorf("%w: eye thresholds closed ≤ %v < open ≥ %v", ErrOptions, o.EyesClosedMax, o.EyesOpenMin)
	case o.FrontalYawMax <= 0 || o.FrontalYawMax > 90:
		return fmt.Errorf("%w: FrontalYawMax %v not in (0, 90]", ErrOptions, o.FrontalYawMax)
	}
	return nil
}

// FrameResult is what the engine saw in one frame.
type FrameResult struct {
	Index int           `json:"index"`
	Time  time.Duration `json:"time_ns"`
	// Faces is 0, 1, or 2 for two or more faces of similar size (face.One's
	// rule: people far behind the subject do not count).
	Faces int `json:"faces"`
	// Face is the one face, with quality, passive liveness, pose, eye
	// state, smile and embedding; nil unless Faces == 1.
	Face *face.Face `json:"face,omitempty"`
	// Rank orders frames for face matching (0–1, higher is better):
	// sharpness × face size (full at 160 px) × frontality.
	Rank    float64 `json:"rank"`
	Usable  bool    `json:"usable"`  // Face.Quality.Usable
	Frontal bool    `json:"frontal"` // |yaw| ≤ FrontalYawMax
	Live    bool    `json:"live"`    // liveness ≥ LivenessMin
	// Similarity is the calibrated score against the reference frame, and
	// SamePerson whether it reaches MatchScore (face frames only).
	Similarity float32 `json:"similarity"`
	SamePerson bool    `json:"same_person"`
}

// Analysis is the verdict material for one clip. Frame indices refer to
// Frames (and to the []Frame that was analysed).
type Analysis struct {
	Frames          []FrameResult `json:"frames"`
	FaceFrames      int           `json:"face_frames"` // exactly one face
	NoFaceFrames    int           `json:"no_face_frames"`
	MultiFaceFrames int           `json:"multi_face_frames"`
	NoFaceShare     float64       `json:"no_face_share"` // of all frames
	MultiFaceShare  float64       `json:"multi_face_share"`
	// Best are the frames to match against an ID photo or enrolled face,
	// best first: usable, frontal, live, the reference person's, by Rank.
	// Empty when no frame qualifies.
	Best []int `json:"best"`
	// Reference is the frame every face is compared with: the best frame
	// (eligible ones first, then by Rank) of the person seen in the most
	// frames; -1 without any face frame.
	Reference  int             `json:"reference"`
	Identity   Identity        `json:"identity"`
	Liveness   LivenessSummary `json:"liveness"`
	Blink      Blink           `json:"blink"`
	HeadMotion HeadMotion      `json:"head_motion"`
}

// Identity says whether one person is seen throughout.
type Identity struct {
	// SamePerson: at least one face frame, every face frame matches the
	// reference, and no face frame differs from the one before it.
	SamePerson    bool    `json:"same_person"`
	Compared      int     `json:"compared"`       // face frames compared with the reference
	MinSimilarity float32 `json:"min_similarity"` // lowest score against the reference
	// Mismatches are face frames whose face is not the reference's person.
	Mismatches []int `json:"mismatches"`
	// Changes are face frames whose person differs from the previous face
	// frame's: where the match with the reference starts or stops, or,
	// between two frames that both fail it, where they fail to match each
	// other (a second swap between two strangers).
	Changes []int `json:"changes"`
}

// LivenessSummary is passive liveness over the face frames.
type LivenessSummary struct {
	Frames    int     `json:"frames"` // face frames with a liveness reading
	Median    float32 `json:"median"`
	Min       float32 `json:"min"`
	LiveShare float64 `json:"live_share"` // share of them ≥ LivenessMin
}

// Blink reports an open → closed → open sequence of the reference
// person's eyes, open eyes on a frontal face; indices are -1 until seen.
type Blink struct {
	Seen   bool `json:"seen"`
	Open   int  `json:"open"`
	Closed int  `json:"closed"`
	Reopen int  `json:"reopen"`
}

// HeadMotion is the spread of head pose over the reference person's
// frames, in degrees.
type HeadMotion struct {
	YawMin     float64 `json:"yaw_min"`
	YawMax     float64 `json:"yaw_max"`
	YawRange   float64 `json:"yaw_range"`
	PitchRange float64 `json:"pitch_range"`
}

// engineOptions: two faces are enough for face.One to tell one from
// several, and analysing more would only cost embeddings.
var engineOptions = face.Options{MaxFaces: 2, Embed: true, Quality: true, Liveness: true, Attributes: true}

// Analyze runs the face engine on every frame, one frame at a time, and
// summarises the clip. Engine errors (including the context's) stop it.
func Analyze(ctx context.Context, eng Analyzer, frames []Frame, opt AnalysisOptions) (*Analysis, error) {
	if err := opt.validate(); err != nil {
		return nil, err
	}
	if opt.Best <= 0 {
		opt.Best = 3
	}
	a := &Analysis{Frames: make([]FrameResult, len(frames)), Reference: -1,
		Identity: Identity{Mismatches: []int{}, Changes: []int{}}, Best: []int{}}
	for i, fr := range frames {
		if fr.Image == nil {
			return nil, fmt.Errorf("video: frame %d has no image", i)
		}
		faces, err := eng.Analyze(ctx, fr.Image, engineOptions)
		if err != nil {
			return nil, fmt.Errorf("video: frame %d: %w", i, err)
		}
		a.Frames[i] = judge(i, fr.Time, faces, opt)
	}
	a.count()
	if err := a.identity(eng, opt); err != nil {
		return nil, err
	}
	a.summarise(opt)
	return a, nil
}

// judge turns the engine's faces for one frame into a FrameResult.
func judge(i int, t time.Duration, faces []face.Face, opt AnalysisOptions) FrameResult {
	r := FrameResult{Index: i, Time: t}
	f, err := face.One(faces)
	switch {
	case errors.Is(err, face.ErrNoFace):
		return r
	case err != nil:
		r.Faces = 2
		return r
	}
	r.Faces, r.Face = 1, &f
	r.Usable = f.Quality != nil && f.Quality.Usable
	r.Frontal = f.Pose != nil && math.Abs(f.Pose.Yaw) <= opt.FrontalYawMax
	r.Live = f.Liveness != nil && *f.Liveness >= opt.LivenessMin
	r.Rank = rank(&f)
	return r
}

func rank(f *face.Face) float64 {
	q := f.Quality
	if q == nil {
		return 0
	}
	size := math.Min(1, float64(q.FacePx)/160)
	pose := 1.0
	if f.Pose != nil {
		pose = math.Max(0, math.Cos(f.Pose.Yaw*math.Pi/180)*math.Cos(f.Pose.Pitch*math.Pi/180))
	}
	return q.Sharpness * size * pose
}

func (a *Analysis) count() {
	for _, r := range a.Frames {
		switch r.Faces {
		case 0:
			a.NoFaceFrames++
		case 1:
			a.FaceFrames++
		default:
			a.MultiFaceFrames++
		}
	}
	if n := float64(len(a.Frames)); n > 0 {
		a.NoFaceShare = float64(a.NoFaceFrames) / n
		a.MultiFaceShare = float64(a.MultiFaceFrames) / n
	}
}

// identity groups the face frames by person, takes the best frame of the
// largest group as the reference, and compares every face with it.
// Grouping first keeps a short, sharper stretch of someone else from
// becoming the reference of a clip that is mostly the subject.
func (a *Analysis) identity(eng Analyzer, opt AnalysisOptions) error {
	order := a.matchOrder()
	if len(order) == 0 {
		return nil
	}
	score := func(x, y int) (float32, error) {
		cos, err := face.Cosine(a.Frames[x].Face.Embedding, a.Frames[y].Face.Embedding)
		if err != nil {
			return 0, fmt.Errorf("video: frames %d and %d: %w", x, y, err)
		}
		return eng.Score(cos), nil
	}
	ref, err := a.dominant(order, opt.MatchScore, score)
	if err != nil {
		return err
	}
	a.Reference = ref
	id := &a.Identity
	id.MinSimilarity = 100
	prev := -1
	for i := range a.Frames {
		r := &a.Frames[i]
		if r.Face == nil || r.Face.Embedding == nil {
			continue
		}
		s, err := score(i, ref)
		if err != nil {
			return err
		}
		r.Similarity, r.SamePerson = s, s >= opt.MatchScore
		id.Compared++
		id.MinSimilarity = min(id.MinSimilarity, s)
		if !r.SamePerson {
			id.Mismatches = append(id.Mismatches, i)
		}
		if prev >= 0 {
			changed := r.SamePerson != a.Frames[prev].SamePerson
			if !changed && !r.SamePerson {
				ps, err := score(i, prev)
				if err != nil {
					return err
				}
				changed = ps < opt.MatchScore
			}
			if changed {
				id.Changes = append(id.Changes, i)
			}
		}
		prev = i
	}
	id.SamePerson = len(id.Mismatches) == 0 && len(id.Changes) == 0
	for _, i := range order {
		r := a.Frames[i]
		if len(a.Best) < opt.Best && r.eligible() && r.SamePerson {
			a.Best = append(a.Best, i)
		}
	}
	return nil
}

// dominant groups the frames (in match order) greedily by person — each
// joins the group whose first frame it matches best, or starts one — and
// returns the first frame of the largest group.
func (a *Analysis) dominant(order []int, match float32, score func(x, y int) (float32, error)) (int, error) {
	var reps, sizes []int
	for _, i := range order {
		best, group := float32(-1), -1
		for g, rep := range reps {
			s, err := score(i, rep)
			if err != nil {
				return 0, err
			}
			if s >= match && s > best {
				best, group = s, g
			}
		}
		if group < 0 {
			reps, sizes = append(reps, i), append(sizes, 0)
			group = len(reps) - 1
		}
		sizes[group]++
	}
	top := 0
	for g := range reps {
		if sizes[g] > sizes[top] {
			top = g
		}
	}
	return reps[top], nil
}

// eligible frames may be used for face matching.
func (r FrameResult) eligible() bool { return r.Face != nil && r.Usable && r.Frontal && r.Live }

// matchOrder lists the face frames with an embedding, eligible ones
// first, each part by rank.
func (a *Analysis) matchOrder() []int {
	var c []int
	for i, r := range a.Frames {
		if r.Face != nil && r.Face.Embedding != nil {
			c = append(c, i)
		}
	}
	slices.SortStableFunc(c, func(x, y int) int {
		rx, ry := a.Frames[x], a.Frames[y]
		if ex, ey := rx.eligible(), ry.eligible(); ex != ey {
			if ex {
				return -1
			}
			return 1
		}
		return cmp.Compare(ry.Rank, rx.Rank)
	})
	return c
}

// summarise fills liveness over every face frame, and blink and head
// motion over the reference person's frames: someone else blinking or
// turning proves nothing about the subject.
func (a *Analysis) summarise(opt AnalysisOptions) {
	var live []float32
	var yaw, pitch []float64
	blink := newBlinkTracker(opt)
	for i, r := range a.Frames {
		if r.Face == nil {
			continue
		}
		if l := r.Face.Liveness; l != nil {
			live = append(live, *l)
		}
		if !r.SamePerson {
			continue
		}
		if p := r.Face.Pose; p != nil {
			yaw, pitch = append(yaw, p.Yaw), append(pitch, p.Pitch)
		}
		if e := r.Face.EyesOpen; e != nil {
			blink.next(i, *e, r.Frontal)
		}
	}
	a.Blink = blink.result()
	if len(live) > 0 {
		s := slices.Clone(live)
		slices.Sort(s)
		n := 0
		for _, v := range s {
			if v >= opt.LivenessMin {
				n++
			}
		}
		a.Liveness = LivenessSummary{Frames: len(s), Median: median(s), Min: s[0], LiveShare: float64(n) / float64(len(s))}
	}
	if len(yaw) > 0 {
		a.HeadMotion = HeadMotion{YawMin: slices.Min(yaw), YawMax: slices.Max(yaw),
			YawRange: slices.Max(yaw) - slices.Min(yaw), PitchRange: slices.Max(pitch) - slices.Min(pitch)}
	}
}

// median of sorted values.
func median(s []float32) float32 {
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// blinkTracker is the open → closed → open state machine of
// faceauth's eye-blink challenge, over a clip instead of a session.
type blinkTracker struct {
	openMin, closedMax float32
	b                  Blink
}

func newBlinkTracker(opt AnalysisOptions) *blinkTracker {
	return &blinkTracker{openMin: opt.EyesOpenMin, closedMax: opt.EyesClosedMax, b: Blink{Open: -1, Closed: -1, Reopen: -1}}
}

// next feeds one face frame's eye reading. Open eyes must be seen on a
// frontal face (eye state is unreliable on a turned head); the closed
// moment may come from any pose.
func (t *blinkTracker) next(i int, eyesOpen float32, frontal bool) {
	if t.b.Seen {
		return
	}
	open, closed := eyesOpen >= t.openMin && frontal, eyesOpen <= t.closedMax
	switch {
	case t.b.Closed < 0 && open: // the latest open frame before the closing
		t.b.Open = i
	case t.b.Closed < 0 && closed && t.b.Open >= 0:
		t.b.Closed = i
	case t.b.Closed >= 0 && open:
		t.b.Reopen, t.b.Seen = i, true
	}
}

func (t *blinkTracker) result() Blink { return t.b }
