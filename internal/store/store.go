// Package store persists Visage's tenants, API keys and enrolled faces.
//
// One database/sql implementation serves both backends: SQLite (the
// embedded, single-machine default) and PostgreSQL (many stateless nodes).
// The differences between them live in a small dialect value (dialect.go),
// so every query is written once and both backends pass the same test suite
// (package storetest).
//
// Every face, image and template method takes the integration id and scopes
// its SQL by it; the schema backs that up with composite foreign keys, so a
// row of one tenant can never point at a face of another.
package store

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Sentinel errors. Callers test them with errors.Is; the store wraps them
// with the operation and the ids involved.
var (
	// ErrNotFound: the row does not exist or belongs to another integration.
	// The two cases are indistinguishable on purpose, so tenants cannot probe
	// for each other's ids.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: a unique constraint was violated (duplicate faceId,
	// API key id, public key, ...).
	ErrConflict = errors.New("store: conflict")
	// ErrInvalid: the caller passed a value the store refuses to persist
	// (out-of-range policy, malformed cursor).
	ErrInvalid = errors.New("store: invalid argument")
	// ErrLocked: the face is locked after too many failed verifications.
	ErrLocked = errors.New("store: face locked")
)

// Store is a handle on one database. It is safe for concurrent use.
type Store interface {
	Data
	// InTx runs fn in one database transaction: it commits when fn returns
	// nil and rolls back when fn returns an error or panics.
	InTx(ctx context.Context, fn func(tx Tx) error) error
	// Migrate applies the embedded migrations that the database lacks. It
	// is idempotent, and on PostgreSQL safe to run from several processes
	// at once (they serialise on an advisory lock).
	Migrate(ctx context.Context) error
	// SchemaVersion reports the newest migration applied to the database
	// and the newest one embedded in this binary (current < latest means
	// Migrate is due). On an empty database it creates goose's version
	// table and reports 0.
	SchemaVersion(ctx context.Context) (current, latest int64, err error)
	// Ping checks that the database answers; for readiness probes.
	Ping(ctx context.Context) error
	Close() error
}

// Tx is a transaction opened by Store.InTx. It offers the same data methods
// as Store, so a state change and, say, an outbox row commit together.
type Tx interface {
	Data
}

// Data is the set of data methods shared by Store and Tx.
type Data interface {
	Integrations
	APIKeys
	Faces
	FaceImages
	Templates
	Webhooks
	CaptureSessions
	IndexVersions
	Verifications
	Audit
	DataKeys
	SpentTokens
	Applicants
	AuthSessions
}

// Audit persists the audit log.
type Audit interface {
	// AddAuditEvent appends e, filling e.ID ("aud_…") and e.CreatedAt.
	AddAuditEvent(ctx context.Context, e *AuditEvent) error
	// ListAuditEvents returns up to limit of an integration's events,
	// newest first, those after the cursor (the zero cursor: from now).
	ListAuditEvents(ctx context.Context, integrationID string, after AuditCursor, limit int) ([]AuditEvent, error)
}

// AuditCursor is where a page of the audit log continues: below the last
// event shown (its time and id).
type AuditCursor struct {
	At time.Time
	ID string
}

// Integrations persists tenants.
type Integrations interface {
	// CreateIntegration inserts in. It fills in.ID ("int_…") and
	// in.CreatedAt when they are zero.
	CreateIntegration(ctx context.Context, in *Integration) error
	GetIntegration(ctx context.Context, id string) (*Integration, error)
	// GetIntegrationByPublicKey serves the vendor APIs that identify an
	// integration by a public key rather than an API key.
	GetIntegrationByPublicKey(ctx context.Context, publicKey string) (*Integration, error)
	// ListIntegrations returns every integration, oldest first. Tenants are
	// few (one per business), so there is no pagination.
	ListIntegrations(ctx context.Context) ([]Integration, error)
	// UpdateIntegration overwrites every field but ID and CreatedAt.
	UpdateIntegration(ctx context.Context, in *Integration) error
	// DeleteIntegration removes the integration with its keys, faces,
	// images and templates, and returns the blob keys the caller must
	// delete from blob storage.
	DeleteIntegration(ctx context.Context, id string) (blobKeys []string, err error)
}

// APIKeys persists API keys. The store only ever sees the hash of a secret.
type APIKeys interface {
	// CreateAPIKey inserts k. k.ID is the public key id the client sends;
	// it is generated ("key_…") when empty.
	CreateAPIKey(ctx context.Context, k *APIKey) error
	// GetAPIKey looks a key up by its public id, whatever its integration:
	// that is how a request is tied to its integration. Revoked keys are
	// returned too; the caller checks RevokedAt.
	GetAPIKey(ctx context.Context, id string) (*APIKey, error)
	ListAPIKeys(ctx context.Context, integrationID string) ([]APIKey, error)
	// TouchAPIKey records that the key was used at at.
	TouchAPIKey(ctx context.Context, id string, at time.Time) error
	// RevokeAPIKey marks the key revoked at at. Revoking twice keeps the
	// first time.
	RevokeAPIKey(ctx context.Context, integrationID, id string, at time.Time) error
}

// Faces persists enrolled subjects.
type Faces interface {
	// CreateFace inserts f, filling f.ID ("face_…"), CreatedAt and
	// UpdatedAt. A second face with the same FaceID in the same
	// integration fails with ErrConflict.
	CreateFace(ctx context.Context, f *Face) error
	// GetFace finds a face by its internal id.
	GetFace(ctx context.Context, integrationID, ref string) (*Face, error)
	// GetFaceByFaceID finds a face by the client's identifier.
	GetFaceByFaceID(ctx context.Context, integrationID, faceID string) (*Face, error)
	// ListFaces returns up to limit faces in creation order, starting after
	// cursor ("" for the first page). FacePage.Next is "" on the last page.
	ListFaces(ctx context.Context, integrationID, cursor string, limit int) (FacePage, error)
	// UpdateFace stores f.Enabled and f.Metadata and bumps f.UpdatedAt.
	UpdateFace(ctx context.Context, f *Face) error
	// DeleteFace deletes the face with its images and templates in one
	// transaction and returns the images' blob keys, which the caller must
	// delete from blob storage (GDPR erasure).
	DeleteFace(ctx context.Context, integrationID, ref string) (blobKeys []string, err error)
	// FailVerification counts a failed verification of a face and locks
	// the face when the count in a row reaches max (max <= 0: never). It
	// returns the count and whether the face is locked now.
	FailVerification(ctx context.Context, integrationID, ref string, max int) (attempts int, locked bool, err error)
	// PassVerification resets a face's count of failures; ErrLocked when
	// the face was locked meanwhile (the success does not count).
	PassVerification(ctx context.Context, integrationID, ref string) error
	// UnlockFace clears a face's lock and its count of failures.
	UnlockFace(ctx context.Context, integrationID, ref string) error
	// ListUnusedFaces returns up to limit faces of an integration last used
	// (created, changed or verified) before before, least recently used
	// first: the retention sweeper's work list.
	ListUnusedFaces(ctx context.Context, integrationID string, before time.Time, limit int) ([]Face, error)
	// FaceUnusedSince reports whether the face was last used before
	// before; inside InTx it locks the row (PostgreSQL), so a verification
	// committing meanwhile is either seen or waits for the erasure.
	FaceUnusedSince(ctx context.Context, integrationID, ref string, before time.Time) (bool, error)
}

// FaceImages persists the metadata of stored face images; the bytes live in
// blob storage under BlobKey.
type FaceImages interface {
	// AddFaceImage inserts img, filling ID ("img_…") and CreatedAt. It
	// fails with ErrNotFound when img.FaceRef is not a face of
	// img.IntegrationID.
	AddFaceImage(ctx context.Context, img *FaceImage) error
	GetFaceImage(ctx context.Context, integrationID, id string) (*FaceImage, error)
	// ListFaceImages returns a face's images, oldest first.
	ListFaceImages(ctx context.Context, integrationID, faceRef string) ([]FaceImage, error)
	// DeleteFaceImage deletes one image and the templates computed from it,
	// and returns its blob key for the caller to delete.
	DeleteFaceImage(ctx context.Context, integrationID, id string) (blobKey string, err error)
}

// Templates persists sealed face embeddings.
type Templates interface {
	// AddTemplate inserts t, filling ID ("tpl_…") and CreatedAt. It fails
	// with ErrNotFound when t.FaceRef (or t.ImageID, if set) does not
	// belong to t.IntegrationID.
	AddTemplate(ctx context.Context, t *Template) error
	// ListFaceTemplates returns one face's templates, oldest first.
	ListFaceTemplates(ctx context.Context, integrationID, faceRef string) ([]Template, error)
	// ListTemplates returns every template of one embedding model in an
	// integration, to load a 1:N search index. Templates of disabled faces
	// are included and flagged, so the index can hold them without a
	// second query per face.
	ListTemplates(ctx context.Context, integrationID, modelID string) ([]IndexedTemplate, error)
	// ListAllTemplates returns up to limit templates of every integration
	// with ids after afterID, in id order (re-keying walks them in pages).
	ListAllTemplates(ctx context.Context, afterID string, limit int) ([]Template, error)
	// UpdateTemplateSealed replaces a template's sealed vector (re-keying).
	UpdateTemplateSealed(ctx context.Context, integrationID, id string, sealed []byte) error
}

// Integration is a tenant: one business using Visage.
type Integration struct {
	ID        string
	Name      string
	CreatedAt time.Time
	Policy    Policy
	// WebhookURLs maps an event name to the URLs notified of it.
	WebhookURLs         map[string][]string
	CallbackURLTemplate string
	// Theme is the hosted page's look (logo URL, colours, texts) as JSON;
	// the store keeps it opaque.
	Theme json.RawMessage
	// PublicKey identifies the integration on vendor APIs that use one.
	// Empty means none; non-empty values are unique.
	PublicKey string
	// SealedAESKey and SealedWebhookSecret arrive encrypted by the caller;
	// the store keeps the bytes as they are.
	SealedAESKey        []byte
	SealedWebhookSecret []byte
}

// Policy holds an integration's verification settings.
type Policy struct {
	// MatchThreshold is the 0–100 similarity score a match must reach;
	// 0 = the model manifest's default.
	MatchThreshold float64
	// LivenessThreshold is the 0–1 passive-liveness score a live face must
	// reach; 0 = the model manifest's default.
	LivenessThreshold  float64
	MaxAttempts        int      // 1–5 attempts per verification
	RetentionDays      int      // days biometric data is kept; 0 = no automatic deletion
	RequiredChallenges []string // active liveness challenges, e.g. "smile"
	PolicyOptions
}

// PolicyOptions are policy switches stored together (one JSON column), so
// adding one needs no migration.
type PolicyOptions struct {
	// CheckDuplicates refuses an enrolment whose face already belongs to
	// another face id of the integration.
	CheckDuplicates bool `json:"check_duplicates,omitempty"`
	// StillChallenges holds still images uploaded through the API to the
	// expression and head turn their challenge names (smile, closed eyes,
	// turned left or right); by default a still is checked only for one
	// face, quality, passive liveness and identity.
	StillChallenges bool `json:"still_challenges,omitempty"`

	// Verification cases (internal/kyc); zero values mean the defaults.
	MinAge               int     `json:"min_age,omitempty"`                // declined below this age; 0 = not checked
	ReviewBand           float64 `json:"review_band,omitempty"`            // score points under the match threshold sent to review; 0 = 10
	AddressMaxAgeDays    int     `json:"address_max_age_days,omitempty"`   // a proof of address older than this is refused; 0 = 90
	FileRetentionDays    int     `json:"file_retention_days,omitempty"`    // case files are purged after this; 0 = 7
	RejectLegacyPayloads bool    `json:"reject_legacy_payloads,omitempty"` // refuse the unauthenticated legacy encryptedData form

	// Validation requests (internal/applicant). SearchThreshold is the
	// 0–100 score a 1:N authorisation candidate must reach (0 = 90, the
	// Validation API's default); SkipAntiSpoofing leaves passive liveness
	// out of registrations and authorisations (reported as not run).
	SearchThreshold  float64 `json:"search_threshold,omitempty"`
	SkipAntiSpoofing bool    `json:"skip_anti_spoofing,omitempty"`

	// FrameOrigins are the web origins allowed to show the hosted pages in
	// an iFrame (CSP frame-ancestors); none: the pages refuse framing.
	FrameOrigins []string `json:"frame_origins,omitempty"`
}

// Validate reports a policy the store refuses to keep. The service layer
// should validate first to give a friendlier error; this is the last line.
func (p Policy) Validate() error {
	switch {
	case p.MatchThreshold < 0 || p.MatchThreshold > 100:
		return fmt.Errorf("%w: match threshold %v outside 0–100", ErrInvalid, p.MatchThreshold)
	case p.LivenessThreshold < 0 || p.LivenessThreshold > 1:
		return fmt.Errorf("%w: liveness threshold %v outside 0–1", ErrInvalid, p.LivenessThreshold)
	case p.MaxAttempts < 1 || p.MaxAttempts > 5:
		return fmt.Errorf("%w: max attempts %d outside 1–5", ErrInvalid, p.MaxAttempts)
	case p.RetentionDays < 0:
		return fmt.Errorf("%w: negative retention days %d", ErrInvalid, p.RetentionDays)
	}
	return nil
}

// APIKey is a credential of an integration. The secret itself is never
// stored: only the caller's hash of it.
type APIKey struct {
	ID            string // public key id, sent by the client; unique
	IntegrationID string
	SecretHash    []byte
	Label         string
	CreatedAt     time.Time
	LastUsedAt    *time.Time
	RevokedAt     *time.Time
	// Scope is what the key may do: ScopeVerify, ScopeEnrol or ScopeAdmin
	// (each includes the ones before it); "" on create means admin.
	Scope string
}

// API key scopes, from least to most.
const (
	ScopeVerify = "verify" // verify, search, compare, detect, read
	ScopeEnrol  = "enrol"  // also enrol, capture, open and submit verification cases, delete
	ScopeAdmin  = "admin"  // also policy, webhooks, unlocks, reviews
)

// Scopes lists the scopes from least to most.
var Scopes = []string{ScopeVerify, ScopeEnrol, ScopeAdmin}

// ValidScope reports whether s names a scope.
func ValidScope(s string) bool { return s == ScopeVerify || s == ScopeEnrol || s == ScopeAdmin }

// ScopeAllows reports whether a key of scope have may act where want is
// required.
func ScopeAllows(have, want string) bool { return scopeRank(have) >= scopeRank(want) }

func scopeRank(s string) int {
	for i, x := range Scopes {
		if x == s {
			return i
		}
	}
	return -1
}

// AuditEvent is one change someone made: who (an API key id, an operator
// command), from where, what and to which subject.
type AuditEvent struct {
	ID            string
	IntegrationID string
	Actor         string
	Remote        string
	Action        string // e.g. "integration.settings_changed"
	Subject       string // the changed thing's id
	Detail        json.RawMessage
	CreatedAt     time.Time
}

// Face is an enrolled subject.
type Face struct {
	ID            string // internal id, never shown to the client as its faceId
	IntegrationID string
	FaceID        string // the client's identifier; unique per integration
	Enabled       bool
	// Liveness says how the enrolment proved a live person: LivenessActive
	// (hosted-page challenges), LivenessPassive (API images through passive
	// liveness), LivenessNone (skipped); "" for faces from before it was
	// recorded or not yet enrolled.
	Liveness  string
	CreatedAt time.Time
	UpdatedAt time.Time
	Metadata  json.RawMessage
	// FailedAttempts counts failed verifications in a row; at the
	// integration's max_attempts the face is locked (LockedAt) until an
	// operator unlocks it.
	FailedAttempts int
	LockedAt       *time.Time
}

// Face.Liveness values.
const (
	LivenessActive  = "active"
	LivenessPassive = "passive"
	LivenessNone    = "none"
)

// FacePage is one page of ListFaces.
type FacePage struct {
	Faces []Face
	// Next is the opaque cursor of the following page; "" on the last one.
	Next string
}

// FaceImage records an image of a face kept in blob storage.
type FaceImage struct {
	ID            string
	FaceRef       string // Face.ID
	IntegrationID string
	Challenge     string // how it was captured: "enrol", "2fa-smile", ...
	BlobKey       string
	Width, Height int
	CreatedAt     time.Time
}

// Template is a face embedding, sealed (encrypted) by the caller.
type Template struct {
	ID            string
	FaceRef       string // Face.ID
	ImageID       string // FaceImage.ID it was computed from; may be ""
	IntegrationID string
	ModelID       string // embedding model; vectors of two models never compare
	Sealed        []byte
	CreatedAt     time.Time
}

// IndexedTemplate is a template with the face fields a search index needs.
type IndexedTemplate struct {
	Template
	FaceID  string // the client's identifier of the face
	Enabled bool   // whether the face may match
}

// NewID returns prefix followed by 128 random bits in 26 base32 characters:
// unguessable and, in practice, never colliding.
func NewID(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return prefix + idEncoding.EncodeToString(b[:])
}

var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// CallbackURL fills the integration's callback URL template: [user_id],
// [status] and [email], each URL-encoded; "" without a template.
func (in *Integration) CallbackURL(userID, status, email string) string {
	if in.CallbackURLTemplate == "" {
		return ""
	}
	r := strings.NewReplacer("[user_id]", url.QueryEscape(userID), "[status]", url.QueryEscape(status), "[email]", url.QueryEscape(email))
	return r.Replace(in.CallbackURLTemplate)
}
