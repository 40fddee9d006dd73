package kyc

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/visagehq/visage/internal/blob"
	"github.com/visagehq/visage/internal/crypto"
	"github.com/visagehq/visage/internal/document"
	"github.com/visagehq/visage/internal/faceauth"
	"github.com/visagehq/visage/internal/fault"
	"github.com/visagehq/visage/internal/fault/classify"
	"github.com/visagehq/visage/internal/store"
	"github.com/visagehq/visage/internal/video"
)

// Options configure the service.
type Options struct {
	// PublicURL is the externally visible base URL of hosted links and file
	// URLs, without a trailing slash.
	PublicURL string
	// URLKey signs hosted links and file URLs (32 bytes; derive it from the
	// master key so every node agrees).
	URLKey []byte
	// LinkTTL is a new case's link lifetime (default 3 days, at most 30).
	LinkTTL time.Duration
	// AbandonAfter ends a started case left idle (default 24 h).
	AbandonAfter time.Duration
	// OCR reads MRZs and proofs of address; nil skips them (MRZ unreadable).
	OCR *document.Reader
	// Video decodes selfie videos (zero value: the defaults).
	Video video.Decoder
	// Events receives domain events in their transaction.
	Events faceauth.Events
	Log    *slog.Logger
	// Now is the clock (tests move it to judge old specimen documents).
	Now func() time.Time
}

// Defaults.
const (
	DefaultLinkTTL      = 72 * time.Hour
	MaxLinkTTL          = 30 * 24 * time.Hour
	DefaultAbandonAfter = 24 * time.Hour
	maxAttempts         = 5 // submissions refused (bad files) before a case is declined
	videoFPS            = 10
	videoMaxFrames      = 60
)

// Service runs verification cases.
type Service struct {
	st     store.Store
	blobs  blob.Store
	faces  *faceauth.Service
	ocr    *document.Reader
	video  video.Decoder
	events faceauth.Events
	log    *slog.Logger
	now    func() time.Time
	opt    Options
}

// New builds the service.
func New(st store.Store, blobs blob.Store, faces *faceauth.Service, opt Options) *Service {
	if opt.LinkTTL <= 0 {
		opt.LinkTTL = DefaultLinkTTL
	}
	if opt.AbandonAfter <= 0 {
		opt.AbandonAfter = DefaultAbandonAfter
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	opt.PublicURL = strings.TrimRight(opt.PublicURL, "/")
	s := &Service{st: st, blobs: blobs, faces: faces, ocr: opt.OCR, video: opt.Video, events: opt.Events,
		log: opt.Log, now: opt.Now, opt: opt}
	if s.events == nil {
		s.events = noEvents{}
	}
	return s
}

// SetPublicURL sets the base URL once the listener is bound.
func (s *Service) SetPublicURL(u string) { s.opt.PublicURL = strings.TrimRight(u, "/") }

// NewCase is what opening a case takes.
type NewCase struct {
	UniqueIdentifier string
	FirstName        string
	LastName         string
	Email            string
	Phone            string
	DocumentType     string
	Source           string
	ExternalID       string        // the vendor's id form, if it has one
	LinkTTL          time.Duration // 0: the service's default
}

// Create opens a case (Not Started) with its hosted link.
func (s *Service) Create(ctx context.Context, t faceauth.Tenant, n NewCase) (*Case, error) {
	c, err := s.create(ctx, t, n)
	return c, fail(err)
}

func (s *Service) create(ctx context.Context, t faceauth.Tenant, n NewCase) (*Case, error) {
	if err := validateNew(&n); err != nil {
		return nil, err
	}
	ttl := n.LinkTTL
	if ttl <= 0 {
		ttl = s.opt.LinkTTL
	}
	if ttl > MaxLinkTTL {
		return nil, fault.New(fault.BadRequest, "the link lifetime is at most 30 days")
	}
	now := s.now()
	exp := now.Add(ttl)
	v := &store.Verification{ID: store.NewID("ver_"), IntegrationID: t.ID, UniqueIdentifier: n.UniqueIdentifier,
		FirstName: n.FirstName, LastName: n.LastName, Email: n.Email, Phone: n.Phone, DocumentType: n.DocumentType,
		Status: StatusNotStarted, Source: n.Source, ExternalID: n.ExternalID, CreatedAt: now, ExpiresAt: exp, TimerAt: &exp}
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		if err := tx.CreateVerification(ctx, v); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return fault.Wrap(fault.Conflict, err, "a case with this external id exists")
			}
			return err
		}
		return s.emit(ctx, tx, v, nil, StatusChanged{From: ""})
	})
	if err != nil {
		return nil, err
	}
	s.events.Committed()
	s.log.InfoContext(ctx, "verification opened", "integration", t.ID, "verification", v.ID, "source", v.Source)
	return s.view(ctx, v, nil)
}

func validateNew(n *NewCase) error {
	n.UniqueIdentifier = strings.TrimSpace(n.UniqueIdentifier)
	if err := faceauth.ValidateFaceID(n.UniqueIdentifier); err != nil {
		return fault.New(fault.BadRequest, "unique_identifier must be 1–128 printable characters")
	}
	for name, v := range map[string]*string{"first_name": &n.FirstName, "last_name": &n.LastName, "email": &n.Email, "phone": &n.Phone} {
		*v = strings.TrimSpace(*v)
		if len(*v) > 200 || !utf8.ValidString(*v) {
			return fault.New(fault.BadRequest, "%s must be at most 200 characters of text", name)
		}
	}
	if n.DocumentType != "" && !slices.Contains(DocumentTypes, n.DocumentType) {
		return fault.New(fault.BadRequest, "document_type must be one of %s", strings.Join(DocumentTypes, ", "))
	}
	if n.Source == "" {
		n.Source = SourceNative
	}
	return nil
}

// Get returns a case of the integration.
func (s *Service) Get(ctx context.Context, integrationID, id string) (*Case, error) {
	v, err := s.st.GetVerification(ctx, integrationID, id)
	if err != nil {
		return nil, notFound(err)
	}
	c, err := s.view(ctx, v, nil)
	return c, fail(err)
}

// GetByExternalID returns a case by its vendor id.
func (s *Service) GetByExternalID(ctx context.Context, integrationID, externalID string) (*Case, error) {
	v, err := s.st.GetVerificationByExternalID(ctx, integrationID, externalID)
	if err != nil {
		return nil, notFound(err)
	}
	c, err := s.view(ctx, v, nil)
	return c, fail(err)
}

func notFound(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fault.Wrap(fault.NotFound, err, "no such verification")
	}
	return fail(err)
}

// List pages through an integration's cases, newest first.
func (s *Service) List(ctx context.Context, integrationID, status, cursor string, limit int) ([]Case, string, error) {
	if status != "" && !slices.Contains(Statuses, status) {
		return nil, "", fault.New(fault.BadRequest, "status must be one of %s", strings.Join(Statuses, ", "))
	}
	page, err := s.st.ListVerifications(ctx, integrationID, store.VerificationFilter{Status: status, Cursor: cursor, Limit: limit})
	if err != nil {
		if errors.Is(err, store.ErrInvalid) {
			return nil, "", fault.Wrap(fault.BadRequest, err, "malformed cursor")
		}
		return nil, "", fail(err)
	}
	out := make([]Case, 0, len(page.Verifications))
	for i := range page.Verifications {
		c, err := s.view(ctx, &page.Verifications[i], nil)
		if err != nil {
			return nil, "", fail(err)
		}
		out = append(out, *c)
	}
	return out, page.Next, nil
}

// view builds a case from its row (files read unless given).
func (s *Service) view(ctx context.Context, v *store.Verification, files []store.VerificationFile) (*Case, error) {
	return s.viewIn(ctx, s.st, v, files)
}

// viewIn is view reading files through d (a transaction).
func (s *Service) viewIn(ctx context.Context, d store.Data, v *store.Verification, files []store.VerificationFile) (*Case, error) {
	if files == nil {
		var err error
		if files, err = d.ListVerificationFiles(ctx, v.IntegrationID, v.ID); err != nil {
			return nil, err
		}
	}
	c := &Case{ID: v.ID, IntegrationID: v.IntegrationID, UniqueIdentifier: v.UniqueIdentifier, FirstName: v.FirstName,
		LastName: v.LastName, Email: v.Email, Phone: v.Phone, DocumentType: v.DocumentType, Status: v.Status, Reason: v.Reason,
		Source: v.Source, ExternalID: v.ExternalID, RequestURL: s.LinkURL(v.ID), Attempts: v.Attempts,
		CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt, ExpiresAt: v.ExpiresAt, StartedAt: v.StartedAt,
		SubmittedAt: v.SubmittedAt, DecidedAt: v.DecidedAt}
	if len(v.Results) > 0 {
		c.Results = &Results{}
		if err := json.Unmarshal(v.Results, c.Results); err != nil {
			return nil, fmt.Errorf("verification %s results: %w", v.ID, err)
		}
	}
	if len(v.Details) > 0 {
		if err := json.Unmarshal(v.Details, &c.Details); err != nil {
			return nil, fmt.Errorf("verification %s details: %w", v.ID, err)
		}
	}
	if len(v.Decision) > 0 {
		c.Decision = &OperatorReview{}
		if err := json.Unmarshal(v.Decision, c.Decision); err != nil {
			return nil, fmt.Errorf("verification %s decision: %w", v.ID, err)
		}
	}
	for _, f := range files {
		if f.State == store.FilePending {
			continue
		}
		fv := File{ID: f.ID, Kind: f.Kind, FileName: f.FileName, ContentType: f.ContentType, Size: f.Size,
			Purged: f.State == store.FilePurged, CreatedAt: f.CreatedAt}
		if !fv.Purged {
			fv.URL = s.FileURL(f.IntegrationID, f.ID)
		}
		c.Files = append(c.Files, fv)
	}
	return c, nil
}

// fail classifies an error of the service.
func fail(err error) error { return classify.Err(err) }

// mac signs a purpose and its parts with the URL key.
func (s *Service) mac(parts ...string) string {
	m := hmac.New(sha256.New, s.opt.URLKey)
	m.Write([]byte("visage/kyc/v1|" + strings.Join(parts, "|")))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// LinkToken is the hosted page's credential for a case: its id and a MAC,
// so the link can be rebuilt for any payload and nothing secret is stored.
func (s *Service) LinkToken(id string) string { return id + "." + s.mac("link", id) }

// LinkURL is the hosted page of a case.
func (s *Service) LinkURL(id string) string { return s.opt.PublicURL + "/verify/" + s.LinkToken(id) }

// caseOfToken checks a link token and returns its case id.
func (s *Service) caseOfToken(token string) (string, bool) {
	id, sig, ok := strings.Cut(token, ".")
	if !ok || !strings.HasPrefix(id, "ver_") || len(token) > 128 {
		return "", false
	}
	return id, hmac.Equal([]byte(sig), []byte(s.mac("link", id)))
}

// fileURLTTL bounds a file URL; the file's purge ends it sooner.
const fileURLTTL = 30 * 24 * time.Hour

// FileURL is a capability URL of a case file, valid for 30 days or until
// the file is purged, whichever comes first.
func (s *Service) FileURL(integrationID, fileID string) string {
	exp := strconv.FormatInt(s.now().Add(fileURLTTL).Unix(), 10)
	q := url.Values{"exp": {exp}, "sig": {s.mac("file", integrationID, fileID, exp)}}
	return s.opt.PublicURL + "/files/" + integrationID + "/" + fileID + "?" + q.Encode()
}

// OpenFile returns a case file by its capability URL's parts.
func (s *Service) OpenFile(ctx context.Context, integrationID, fileID, exp, sig string) (*FileData, error) {
	n, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || !hmac.Equal([]byte(sig), []byte(s.mac("file", integrationID, fileID, exp))) {
		return nil, fault.New(fault.NotFound, "no such file")
	}
	if s.now().Unix() > n {
		return nil, fault.New(fault.Expired, "this file link has expired")
	}
	return s.FileData(ctx, integrationID, fileID)
}

// FileData is a case file's content.
type FileData struct {
	File
	Data []byte
}

// FileData returns a case file of the integration; Gone once purged.
func (s *Service) FileData(ctx context.Context, integrationID, fileID string) (*FileData, error) {
	if !strings.HasPrefix(fileID, "vfl_") || len(fileID) > 64 || !utf8.ValidString(fileID) {
		return nil, fault.New(fault.NotFound, "no such file")
	}
	f, err := s.st.GetVerificationFile(ctx, integrationID, fileID)
	if err != nil || f.State == store.FilePending {
		return nil, fault.New(fault.NotFound, "no such file")
	}
	if f.State == store.FilePurged {
		return nil, fault.New(fault.Gone, "this file was deleted after the retention period")
	}
	rc, _, err := s.blobs.Get(ctx, f.BlobKey)
	if err != nil {
		return nil, fail(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, fail(err)
	}
	return &FileData{File: File{ID: f.ID, Kind: f.Kind, FileName: f.FileName, ContentType: f.ContentType, Size: f.Size}, Data: data}, nil
}

// DeriveURLKey is the key hosted links and file URLs are signed with:
// HMAC-SHA256(master secret, "visage kyc urls v1"), the same on every node
// with the same master key, and one-way.
func DeriveURLKey(master crypto.Key) []byte {
	m := hmac.New(sha256.New, master.Secret)
	m.Write([]byte("visage kyc urls v1"))
	return m.Sum(nil)
}

// SetClock replaces the service's clock: tests judge the fixtures'
// specimen documents (long expired) at a date they were valid.
func (s *Service) SetClock(now func() time.Time) { s.now = now }
