package kyc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/visagehq/visage/internal/blob"
	"github.com/visagehq/visage/internal/document"
	"github.com/visagehq/visage/internal/face"
	"github.com/visagehq/visage/internal/faceauth"
	"github.com/visagehq/visage/internal/fault"
	"github.com/visagehq/visage/internal/imageio"
	"github.com/visagehq/visage/internal/store"
	"github.com/visagehq/visage/internal/video"
)

// Input is one uploaded file: images in memory, videos spooled to disk.
type Input struct {
	Data        []byte // images
	Path        string // videos: a temporary file the caller removes
	Size        int64
	FileName    string
	ContentType string
}

// Submission is what a person or a client sends for a case.
type Submission struct {
	DocumentFront *Input
	DocumentBack  *Input
	Selfie        *Input // a selfie photo, or
	SelfieVideo   *Input // a short selfie video
}

// Submit runs a submission of a case through every check and decides it,
// in one transaction with its files and events. A submission refused for
// its files (no face, unreadable video) leaves nothing behind and counts
// as an attempt.
func (s *Service) Submit(ctx context.Context, t faceauth.Tenant, id string, sub Submission) (*Case, error) {
	c, err := s.submit(ctx, t, id, sub)
	return c, fail(err)
}

// SubmitLink is Submit for the hosted page, by the case's link token.
func (s *Service) SubmitLink(ctx context.Context, token string, sub Submission) (*Case, *store.Integration, error) {
	id, ok := s.caseOfToken(token)
	if !ok {
		return nil, nil, fault.New(fault.NotFound, "no such verification link")
	}
	v, err := s.st.GetVerificationByID(ctx, id)
	if err != nil {
		return nil, nil, notFound(err)
	}
	in, err := s.st.GetIntegration(ctx, v.IntegrationID)
	if err != nil {
		return nil, nil, fail(err)
	}
	c, err := s.Submit(ctx, faceauth.TenantOf(in), id, sub)
	return c, in, err
}

func (s *Service) submit(ctx context.Context, t faceauth.Tenant, id string, sub Submission) (*Case, error) {
	v, err := s.st.GetVerification(ctx, t.ID, id)
	if err != nil {
		return nil, notFound(err)
	}
	c, err := s.view(ctx, v, nil)
	if err != nil {
		return nil, err
	}
	if err := linkState(c, s.now()); err != nil {
		return nil, err
	}
	if err := complete(v.DocumentType, sub); err != nil {
		return nil, err
	}
	files, err := s.storeFiles(ctx, v, sub)
	if err != nil {
		return nil, err
	}
	results, details, err := s.process(ctx, t, c, sub)
	if err != nil {
		s.dropFiles(ctx, files)
		if isClientError(err) {
			s.countAttempt(ctx, t.ID, id)
		}
		return nil, err
	}
	out, err := s.commit(ctx, t, id, files, results, details)
	if err != nil {
		s.dropFiles(ctx, files)
		return nil, err
	}
	return out, nil
}

// complete checks that a submission has what its document type needs.
func complete(docType string, sub Submission) error {
	if sub.DocumentFront == nil {
		return fault.New(fault.MissingField, "the document image is required")
	}
	if docType != DocProofAddress && sub.Selfie == nil && sub.SelfieVideo == nil {
		return fault.New(fault.MissingField, "a selfie photo or selfie video is required")
	}
	return nil
}

// isClientError: a failure caused by what was sent, which costs an attempt.
func isClientError(err error) bool {
	switch fault.KindOf(err) {
	case fault.Internal, fault.Integrity, fault.Busy, fault.Unavailable, fault.Conflict:
		return false
	}
	return true
}

// storeFiles writes a submission's files: pending rows first, then the
// encrypted blobs. A crash before the commit leaves pending rows that the
// purge erases with their blobs; a failure now erases them at once.
func (s *Service) storeFiles(ctx context.Context, v *store.Verification, sub Submission) ([]store.VerificationFile, error) {
	var files []store.VerificationFile
	for _, in := range []struct {
		kind string
		in   *Input
	}{{FileDocumentFront, sub.DocumentFront}, {FileDocumentBack, sub.DocumentBack}, {FileSelfie, sub.Selfie}, {FileSelfieVideo, sub.SelfieVideo}} {
		if in.in == nil {
			continue
		}
		f := store.VerificationFile{ID: store.NewID("vfl_"), IntegrationID: v.IntegrationID, VerificationID: v.ID, Kind: in.kind,
			FileName: in.in.FileName, ContentType: contentType(in.in), Size: size(in.in), State: store.FilePending, CreatedAt: s.now()}
		f.BlobKey = v.IntegrationID + "/verifications/" + v.ID + "/" + f.ID
		if err := s.st.AddVerificationFile(ctx, &f); err != nil {
			s.dropFiles(ctx, files)
			return nil, err
		}
		files = append(files, f)
		if err := s.putBlob(ctx, &f, in.in); err != nil {
			s.dropFiles(ctx, files)
			return nil, err
		}
	}
	return files, nil
}

func size(in *Input) int64 {
	if in.Path != "" {
		return in.Size
	}
	return int64(len(in.Data))
}

// contentType is detected from images' bytes (never the client's word);
// videos keep the declared type, probed later.
func contentType(in *Input) string {
	if in.Path == "" {
		return imageio.MIMEType(in.Data)
	}
	if in.ContentType != "" {
		return in.ContentType
	}
	return "application/octet-stream"
}

func (s *Service) putBlob(ctx context.Context, f *store.VerificationFile, in *Input) error {
	var r io.Reader = bytes.NewReader(in.Data)
	if in.Path != "" {
		fh, err := os.Open(in.Path)
		if err != nil {
			return fmt.Errorf("open upload: %w", err)
		}
		defer fh.Close()
		r = fh
	}
	_, err := s.blobs.Put(ctx, f.BlobKey, r, blob.Meta{ContentType: f.ContentType, Size: f.Size})
	if err != nil {
		return fmt.Errorf("store %s: %w", f.Kind, err)
	}
	return nil
}

// dropFiles erases the blobs and rows of files no case references.
func (s *Service) dropFiles(ctx context.Context, files []store.VerificationFile) {
	ctx = context.WithoutCancel(ctx)
	for _, f := range files {
		if err := s.blobs.Delete(ctx, f.BlobKey); err != nil {
			s.log.ErrorContext(ctx, "drop verification file", "file", f.ID, "err", err)
			continue // the pending row stays for the purge to retry
		}
		if err := s.st.DeleteVerificationFile(ctx, f.IntegrationID, f.ID); err != nil {
			s.log.ErrorContext(ctx, "drop verification file row", "file", f.ID, "err", err)
		}
	}
}

// countAttempt records a refused submission; the last allowed one declines
// the case.
func (s *Service) countAttempt(ctx context.Context, integrationID, id string) {
	err := s.st.InTx(context.WithoutCancel(ctx), func(tx store.Tx) error {
		v, err := tx.GetVerificationForUpdate(ctx, integrationID, id)
		if err != nil {
			return err
		}
		v.Attempts++
		if v.Attempts < maxAttempts || Final(v.Status) {
			return tx.UpdateVerification(ctx, v)
		}
		if v.Status == StatusNotStarted {
			if err := s.move(ctx, tx, v, StatusStarted, ""); err != nil {
				return err
			}
		}
		if err := s.move(ctx, tx, v, StatusSubmitted, ""); err != nil {
			return err
		}
		return s.move(ctx, tx, v, StatusDeclined, ReasonTooManyAttempts)
	})
	if err != nil {
		s.log.ErrorContext(ctx, "count verification attempt", "verification", id, "err", err)
		return
	}
	s.events.Committed()
}

// commit stores the outcome: files stored, the status moved through
// Started and Submitted to the decision, results, details and events.
func (s *Service) commit(ctx context.Context, t faceauth.Tenant, id string, files []store.VerificationFile, r *Results, d Details) (*Case, error) {
	var v *store.Verification
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		var err error
		if v, err = tx.GetVerificationForUpdate(ctx, t.ID, id); err != nil {
			return err
		}
		if v.Status != StatusNotStarted && v.Status != StatusStarted {
			return fault.New(fault.Closed, "this verification is already %s", v.Status)
		}
		for i := range files {
			files[i].State = store.FileStored
			if err := tx.SetVerificationFileState(ctx, &files[i]); err != nil {
				return err
			}
		}
		if v.Results, err = json.Marshal(r); err != nil {
			return err
		}
		if v.Details, err = json.Marshal(d); err != nil {
			return err
		}
		v.Attempts++
		if v.Status == StatusNotStarted {
			if err := s.move(ctx, tx, v, StatusStarted, ""); err != nil {
				return err
			}
		}
		if err := s.move(ctx, tx, v, StatusSubmitted, ""); err != nil {
			return err
		}
		status, reason := r.Decision()
		return s.move(ctx, tx, v, status, reason, Processed{})
	})
	if err != nil {
		return nil, err
	}
	s.events.Committed()
	s.log.InfoContext(ctx, "verification decided", "integration", t.ID, "verification", id, "status", v.Status, "reason", v.Reason)
	return s.view(ctx, v, nil)
}

// process runs every check of a submission.
func (s *Service) process(ctx context.Context, t faceauth.Tenant, c *Case, in Submission) (*Results, Details, error) {
	start := time.Now() // the wall clock: s.now may be a test clock
	pol := s.policyOf(t)
	r := &Results{Method: s.faces.Engine().EmbeddingModel()}
	var d Details
	sub, err := s.analyse(ctx, t, c, in)
	if err != nil {
		return nil, d, err
	}
	if c.DocumentType == DocProofAddress {
		addressChecks(r, sub, c, pol, s.now())
		if len(sub.selfies) > 0 {
			if err := s.faceChecks(r, sub, pol); err != nil {
				return nil, d, err
			}
		}
	} else {
		if err := s.faceChecks(r, sub, pol); err != nil {
			return nil, d, err
		}
		videoChecks(r, sub, pol)
		d = documentChecks(r, sub, c, pol, s.now())
	}
	r.ProcessedAt = s.now().UTC()
	r.DurationMS = time.Since(start).Milliseconds()
	return r, d, nil
}

// policyOf is a tenant's decision thresholds.
func (s *Service) policyOf(t faceauth.Tenant) policy {
	p := s.faces.Effective(t.Policy)
	pol := policy{match: p.MatchThreshold, band: p.ReviewBand, live: p.LivenessThreshold, liveBand: defaultLivenessBand,
		minAge: p.MinAge, addressMaxDays: p.AddressMaxAgeDays, motionMinYaw: motionMinYaw, liveShareMin: liveShareMin,
		multiFaceMaxFrac: multiFaceMax}
	if pol.band <= 0 {
		pol.band = defaultReviewBand
	}
	if pol.addressMaxDays <= 0 {
		pol.addressMaxDays = defaultAddressMaxDays
	}
	return pol
}

// analyse decodes and analyses the submission's files.
func (s *Service) analyse(ctx context.Context, t faceauth.Tenant, c *Case, in Submission) (*submission, error) {
	sub := &submission{}
	doc, err := s.faces.DecodeDocument(ctx, in.DocumentFront.Data)
	if err != nil {
		return nil, named("document", err)
	}
	sub.doc = doc
	if c.DocumentType == DocProofAddress {
		if s.ocr == nil {
			return nil, fault.New(fault.Unavailable, "document reading (OCR) is not installed on this server")
		}
		if sub.text, err = s.ocr.ReadText(ctx, doc.Image); err != nil {
			return nil, fault.Wrap(fault.Busy, err, "could not read the document; retry")
		}
	} else {
		if sub.docFace, err = s.faces.DocumentFace(ctx, doc); err != nil {
			return nil, named("document", err)
		}
		if sub.mrz, err = s.documentMRZ(ctx, doc, in.DocumentBack); err != nil {
			return nil, err
		}
	}
	switch {
	case in.SelfieVideo != nil:
		err = s.analyseVideo(ctx, t, in.SelfieVideo, sub)
	case in.Selfie != nil:
		err = s.analyseSelfie(ctx, t, in.Selfie, sub)
	}
	return sub, err
}

// documentMRZ reads the MRZ of the front, else of the back (ID cards
// carry it there).
func (s *Service) documentMRZ(ctx context.Context, front *faceauth.Document, back *Input) (m *document.MRZ, err error) {
	if m, err = s.readMRZ(ctx, front); m != nil || err != nil || back == nil {
		return m, err
	}
	doc, err := s.faces.DecodeDocument(ctx, back.Data)
	if err != nil {
		return nil, named("document back", err)
	}
	return s.readMRZ(ctx, doc)
}

func (s *Service) analyseSelfie(ctx context.Context, t faceauth.Tenant, in *Input, sub *submission) error {
	self, err := s.faces.SelfieFace(ctx, t, in.Data)
	if err != nil {
		return named("selfie", err)
	}
	sub.selfies = []*face.Embedding{self.Face.Embedding}
	l := float64(self.Liveness.Score)
	sub.live = &l
	return nil
}

// analyseVideo samples the selfie video's frames and analyses them under
// the face service's worker slots.
func (s *Service) analyseVideo(ctx context.Context, t faceauth.Tenant, in *Input, sub *submission) error {
	info, err := s.video.Probe(ctx, in.Path)
	if err != nil {
		return videoError(err)
	}
	frames, err := s.video.Frames(ctx, in.Path, video.FrameOptions{FPS: videoFPS, MaxFrames: videoMaxFrames, Info: info})
	if err != nil {
		return videoError(err)
	}
	a, err := video.Analyze(ctx, s.faces.Slotted(), frames, s.videoOptions(t))
	if err != nil {
		return videoError(err)
	}
	if len(a.Best) == 0 {
		return fault.New(fault.NoFace, "no usable face in the selfie video: look at the camera in good light")
	}
	sub.video, sub.videoDur = a, info.Duration
	for _, i := range a.Best {
		sub.selfies = append(sub.selfies, a.Frames[i].Face.Embedding)
	}
	l := float64(a.Liveness.Median)
	sub.live = &l
	return nil
}

// videoOptions are video.Analyze's thresholds for a tenant: its match
// and liveness thresholds and the challenge policy's eye and yaw limits.
func (s *Service) videoOptions(t faceauth.Tenant) video.AnalysisOptions {
	p, ch := s.faces.Effective(t.Policy), s.faces.Challenges()
	return video.AnalysisOptions{MatchScore: float32(p.MatchThreshold), LivenessMin: float32(p.LivenessThreshold),
		EyesOpenMin: ch.EyesOpenMin, EyesClosedMax: ch.EyesClosedMax, FrontalYawMax: ch.FrontalYawMax}
}

// videoError classifies the video package's errors.
func videoError(err error) error {
	switch {
	case errors.Is(err, video.ErrTooLarge):
		return fault.Wrap(fault.PayloadTooLarge, err, "the selfie video is too large")
	case errors.Is(err, video.ErrUnavailable):
		return fault.Wrap(fault.Unavailable, err, "video decoding is not installed on this server")
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return fault.Wrap(fault.Busy, err, "decoding the video took too long; retry")
	case errors.Is(err, video.ErrEmpty), errors.Is(err, video.ErrNotVideo), errors.Is(err, video.ErrNoVideoStream),
		errors.Is(err, video.ErrUnsupported), errors.Is(err, video.ErrCorrupt), errors.Is(err, video.ErrTooLong),
		errors.Is(err, video.ErrDimensions):
		return fault.Wrap(fault.InvalidVideo, err, "selfie video: %v", err)
	}
	var fe *fault.Error
	if errors.As(err, &fe) {
		return err
	}
	return fmt.Errorf("analyse video: %w", err)
}

// named prefixes a client error's message with the file it is about.
func named(what string, err error) error {
	fe := fault.As(err)
	if isClientError(fe) {
		return &fault.Error{Kind: fe.Kind, Message: what + ": " + fe.Summary(), Cause: fe}
	}
	return err
}
