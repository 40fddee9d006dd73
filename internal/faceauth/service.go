package faceauth

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/visagehq/visage/internal/blob"
	"github.com/visagehq/visage/internal/crypto"
	"github.com/visagehq/visage/internal/face"
	"github.com/visagehq/visage/internal/imageio"
	"github.com/visagehq/visage/internal/search"
	"github.com/visagehq/visage/internal/store"
)

// Service runs face operations for integrations.
type Service struct {
	st    store.Store
	blobs blob.Store
	kr    *crypto.Keyring
	// dataKeys gives an integration's data keyring (nil: kr for all).
	dataKeys func(ctx context.Context, integrationID string) (*crypto.Keyring, error)
	eng      *face.Engine
	index    *search.Registry
	limits   imageio.Limits // selfies and enrolment images
	frames   imageio.Limits // hosted-page camera frames
	budget   *imageio.Budget
	slots    chan struct{}
	log      *slog.Logger

	// versions: the store's index version each loaded index reflects.
	verMu    sync.Mutex
	versions map[string]int64

	// face 2FA capture sessions
	publicURL  string
	captureTTL time.Duration
	challenges ChallengePolicy
	events     Events
	metrics    Metrics
}

// Options configure a Service.
type Options struct {
	// Limits bound uploaded images (zero fields: imageio.SelfieLimits);
	// camera frames get imageio.CameraFrameLimits.
	Limits imageio.Limits
	// Budget bounds the memory of all decodes in flight (nil: 512 MB).
	Budget *imageio.Budget
	// Workers bounds concurrent engine jobs: more requests than cores
	// running inference at once only makes every one of them slower.
	Workers int
	Log     *slog.Logger
	// PublicURL is the externally visible base URL (for capture links and
	// image URLs in events), without a trailing slash.
	PublicURL string
	// CaptureTTL is a capture session's default lifetime (30 min).
	CaptureTTL time.Duration
	// Challenges overrides DefaultChallengePolicy when non-zero.
	Challenges ChallengePolicy
	// Events receives domain events in their transaction; nil drops them.
	Events Events
	// Metrics receives business counters; nil drops them.
	Metrics Metrics
	// DataKeys gives the keyring sealing an integration's templates and
	// capture frames (its data key over the master keyring); nil seals
	// everything with the master keyring.
	DataKeys func(ctx context.Context, integrationID string) (*crypto.Keyring, error)
}

// New builds the service. The search index loads each integration's
// templates from the store on first use.
func New(st store.Store, blobs blob.Store, kr *crypto.Keyring, eng *face.Engine, opt Options) *Service {
	if opt.Workers <= 0 {
		opt.Workers = runtime.NumCPU()
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	s := &Service{st: st, blobs: blobs, kr: kr, dataKeys: opt.DataKeys, eng: eng, limits: selfieLimits(opt.Limits), frames: imageio.CameraFrameLimits(), budget: opt.Budget,
		slots: make(chan struct{}, opt.Workers), log: opt.Log,
		publicURL: strings.TrimRight(opt.PublicURL, "/"), captureTTL: opt.CaptureTTL, challenges: opt.Challenges, events: opt.Events, metrics: opt.Metrics}
	if s.events == nil {
		s.events = noEvents{}
	}
	if s.budget == nil {
		s.budget = imageio.NewBudget(DefaultDecodeBudget)
	}
	if s.metrics == nil {
		s.metrics = noMetrics{}
	}
	s.versions = map[string]int64{}
	if s.captureTTL <= 0 {
		s.captureTTL = DefaultCaptureTTL
	}
	if s.challenges == (ChallengePolicy{}) {
		s.challenges = DefaultChallengePolicy
	}
	dim := eng.Manifest().Models["embedding"].Dim
	s.index = search.NewRegistry(dim, eng.EmbeddingModel(), s.loadIndex)
	return s
}

// Engine exposes the engine (for thresholds and readiness).
func (s *Service) Engine() *face.Engine { return s.eng }

// QueueDepth is how many engine jobs are running now.
func (s *Service) QueueDepth() int { return len(s.slots) }

// withSlot runs fn holding one of the engine's worker slots.
func (s *Service) withSlot(ctx context.Context, fn func() error) error {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("%w: %v", ErrBusy, ctx.Err())
	}
	defer func() { <-s.slots }()
	return fn()
}

// DefaultDecodeBudget bounds the memory of the decodes in flight: two
// 25 MP selfies at once, or many camera frames.
const DefaultDecodeBudget = 512 << 20

// selfieLimits fills the zero fields of configured limits from
// imageio.SelfieLimits.
func selfieLimits(l imageio.Limits) imageio.Limits {
	d := imageio.SelfieLimits()
	if l.MaxBytes > 0 {
		d.MaxBytes = l.MaxBytes
	}
	if l.MaxPixels > 0 {
		d.MaxPixels = l.MaxPixels
	}
	if l.MaxSide != 0 {
		d.MaxSide = l.MaxSide
	}
	if l.MaxMemory > 0 {
		d.MaxMemory = l.MaxMemory
	}
	return d
}

// decoded is an image as the engine sees it (downscaled when large) and
// the factor back to the source's pixels.
type decoded struct {
	img      *imageio.Image
	toSource float64
	srcW     int
	srcH     int
}

// decode turns upload bytes into pixels within lim, waiting for decode
// memory under the budget; a wait cut short by ctx is "busy".
func (s *Service) decode(ctx context.Context, data []byte, lim imageio.Limits) (*decoded, error) {
	img, info, err := s.budget.Decode(ctx, data, lim)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: %v", ErrBusy, err)
		}
		return nil, err
	}
	d := &decoded{img: img, toSource: 1, srcW: info.SourceWidth, srcH: info.SourceHeight}
	if info.Scale > 0 && info.Scale != 1 {
		d.toSource = 1 / info.Scale
	}
	return d, nil
}

// analyze decodes an image and runs the engine on every face (at most
// opt.MaxFaces) under one worker slot; geometry in source pixels.
func (s *Service) analyze(ctx context.Context, data []byte, opt face.Options) (*decoded, []face.Face, error) {
	d, err := s.decode(ctx, data, s.limits)
	if err != nil {
		return nil, nil, err
	}
	var faces []face.Face
	err = s.withSlot(ctx, func() (err error) {
		faces, err = s.eng.Analyze(ctx, d.img, opt)
		return err
	})
	for i := range faces {
		faces[i] = faces[i].Scaled(d.toSource)
	}
	return d, faces, err
}

// probe is one analysed image with exactly one face.
type probe struct {
	img  *decoded
	face face.Face // geometry in source pixels
}

// oneFace analyses an image that must show one face: detection, then
// landmarks, embedding, quality and liveness (and the attributes, if
// asked) of that face only, under one worker slot.
func (s *Service) oneFace(ctx context.Context, data []byte, attributes bool) (*probe, error) {
	return s.oneFaceWithin(ctx, data, s.limits, attributes)
}

func (s *Service) oneFaceWithin(ctx context.Context, data []byte, lim imageio.Limits, attributes bool) (*probe, error) {
	d, err := s.decode(ctx, data, lim)
	if err != nil {
		return nil, err
	}
	p := &probe{img: d}
	opt := face.Options{Embed: true, Quality: true, Liveness: true, Attributes: attributes}
	err = s.withSlot(ctx, func() (err error) {
		if p.face, err = s.eng.AnalyzeOne(ctx, d.img, opt); err == nil {
			s.documentPresented(ctx, d.img, &p.face)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	p.face = p.face.Scaled(d.toSource)
	return p, nil
}

// Similarity is a comparison result on both scales.
type Similarity struct {
	Score  float32 // calibrated 0–100
	Cosine float32
}

func (s *Service) similarity(a, b *face.Embedding) (Similarity, error) {
	c, err := face.Cosine(a, b)
	if err != nil {
		return Similarity{}, err
	}
	return Similarity{Score: round2(s.eng.Score(c)), Cosine: round4(c)}, nil
}

func round2(v float32) float32 { return float32(math.Round(float64(v)*100) / 100) }
func round4(v float32) float32 { return float32(math.Round(float64(v)*10000) / 10000) }

// templateAD binds a sealed template to its tenant, face, id and model, so
// a row copied to another face or integration fails to open.
func templateAD(integrationID, faceRef, templateID, model string) []byte {
	return []byte("visage/template/v1|" + integrationID + "|" + faceRef + "|" + templateID + "|" + model)
}

// keyring seals and opens an integration's templates and frames: its
// data keyring when Options.DataKeys is set, else the master keyring.
func (s *Service) keyring(ctx context.Context, integrationID string) (*crypto.Keyring, error) {
	if s.dataKeys == nil {
		return s.kr, nil
	}
	return s.dataKeys(ctx, integrationID)
}

func (s *Service) sealTemplate(ctx context.Context, t *store.Template, vec []float32) error {
	kr, err := s.keyring(ctx, t.IntegrationID)
	if err != nil {
		return fmt.Errorf("seal template: %w", err)
	}
	sealed, err := kr.Seal(vecBytes(vec), templateAD(t.IntegrationID, t.FaceRef, t.ID, t.ModelID))
	if err != nil {
		return fmt.Errorf("seal template: %w", err)
	}
	t.Sealed = sealed
	return nil
}

// openTemplate decrypts a template; any failure is an integrity error,
// never a silently wrong vector.
func (s *Service) openTemplate(ctx context.Context, integrationID, faceRef, id, model string, sealed []byte) (*face.Embedding, error) {
	kr, err := s.keyring(ctx, integrationID)
	if err != nil {
		return nil, err
	}
	buf, err := kr.Open(sealed, templateAD(integrationID, faceRef, id, model))
	if err != nil {
		return nil, fmt.Errorf("%w: template %s: %v", ErrTemplateIntegrity, id, err)
	}
	if len(buf)%4 != 0 {
		return nil, fmt.Errorf("%w: template %s has %d bytes", ErrTemplateIntegrity, id, len(buf))
	}
	return &face.Embedding{Model: model, Vector: bytesVec(buf)}, nil
}

// loadIndex feeds the search registry: every enabled face's templates of
// the engine's model. A template that fails its integrity check is left
// out and logged as an error: one corrupt row must not take a tenant's
// whole search down, and it is never used. (Verifying that face still
// fails loudly with ErrTemplateIntegrity.)
func (s *Service) loadIndex(ctx context.Context, integrationID string) ([]search.Entry, error) {
	// Read the version first: a change landing during the load makes the
	// next search see a newer version and reload, never the reverse.
	version, err := s.st.IndexVersion(ctx, integrationID)
	if err != nil {
		return nil, err
	}
	rows, err := s.st.ListTemplates(ctx, integrationID, s.eng.EmbeddingModel())
	if err != nil {
		return nil, err
	}
	defer func() {
		s.verMu.Lock()
		s.versions[integrationID] = version
		s.verMu.Unlock()
	}()
	out := make([]search.Entry, 0, len(rows))
	for _, r := range rows {
		if !r.Enabled {
			continue
		}
		emb, err := s.openTemplate(ctx, integrationID, r.FaceRef, r.ID, r.ModelID, r.Sealed)
		if err != nil {
			s.log.ErrorContext(ctx, "search index: template left out", "integration", integrationID, "face", r.FaceRef, "err", err)
			continue
		}
		out = append(out, search.Entry{ID: r.ID, FaceKey: r.FaceID, ModelID: r.ModelID, Vector: emb.Vector})
	}
	s.log.Info("search index loaded", "integration", integrationID, "templates", len(out))
	return out, nil
}

// freshIndex returns the integration's index, reloading it when another
// node (or process) changed the searchable templates since it was loaded.
func (s *Service) freshIndex(ctx context.Context, integrationID string) (*search.Index, error) {
	cur, err := s.st.IndexVersion(ctx, integrationID)
	if err != nil {
		return nil, err
	}
	s.verMu.Lock()
	if known, ok := s.versions[integrationID]; ok && known != cur {
		delete(s.versions, integrationID)
		s.index.Invalidate(integrationID)
	}
	s.verMu.Unlock()
	return s.index.Get(ctx, integrationID)
}

// indexApplied records that this node applied the change that made
// version to its loaded index. Only a direct successor is recorded: if
// another node's change came between, the index missed it and the next
// search must reload.
func (s *Service) indexApplied(integrationID string, version int64) {
	s.verMu.Lock()
	defer s.verMu.Unlock()
	if known, ok := s.versions[integrationID]; ok && known == version-1 {
		s.versions[integrationID] = version
	}
}
