package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Verification is one identity-verification case. Results, Details and
// Decision are JSON documents owned by the verification service.
type Verification struct {
	ID               string
	IntegrationID    string
	UniqueIdentifier string
	FirstName        string
	LastName         string
	Email            string
	Phone            string
	DocumentType     string
	Status           string
	Reason           string // "" when none
	Source           string // the surface that created it: native, identitygram, ivapi
	// ExternalID is the case's id in a vendor's form (e.g. a UUID
	// check_id), unique per integration when set.
	ExternalID  string
	Results     json.RawMessage
	Details     json.RawMessage
	Decision    json.RawMessage
	Attempts    int
	CreatedAt   time.Time
	UpdatedAt   time.Time
	ExpiresAt   time.Time // the hosted link's end
	StartedAt   *time.Time
	SubmittedAt *time.Time
	DecidedAt   *time.Time
	// TimerAt is when the case's next timer fires (link expiry,
	// abandonment); nil when none is due.
	TimerAt *time.Time
}

// VerificationFile is one stored file of a case (document side, selfie,
// selfie video). State is FilePending until the case's transaction that
// references it commits, so a crash in between leaves a row the
// reconciler finds and erases, never an unreferenced blob.
type VerificationFile struct {
	ID             string
	IntegrationID  string
	VerificationID string
	Kind           string
	BlobKey        string
	ContentType    string
	FileName       string
	Size           int64
	State          string
	CreatedAt      time.Time
	PurgedAt       *time.Time
}

// VerificationFile states.
const (
	FilePending = "pending"
	FileStored  = "stored"
	FilePurged  = "purged"
)

// VerificationFilter selects a page of cases, newest first.
type VerificationFilter struct {
	Status string // "" for all
	Cursor string
	Limit  int
}

// VerificationPage is one page of ListVerifications.
type VerificationPage struct {
	Verifications []Verification
	Next          string
}

// Verifications persists verification cases and their files.
type Verifications interface {
	// CreateVerification inserts v, filling ID ("ver_…"), CreatedAt and
	// UpdatedAt.
	CreateVerification(ctx context.Context, v *Verification) error
	GetVerification(ctx context.Context, integrationID, id string) (*Verification, error)
	// GetVerificationForUpdate locks the row inside InTx.
	GetVerificationForUpdate(ctx context.Context, integrationID, id string) (*Verification, error)
	GetVerificationByExternalID(ctx context.Context, integrationID, externalID string) (*Verification, error)
	// GetVerificationByID finds a case whatever its integration (the hosted
	// page's link names the case; its MAC is the credential).
	GetVerificationByID(ctx context.Context, id string) (*Verification, error)
	// DeleteVerification removes a case with its file rows (their blobs are
	// the caller's).
	DeleteVerification(ctx context.Context, integrationID, id string) error
	// UpdateVerification stores every mutable field and bumps UpdatedAt.
	UpdateVerification(ctx context.Context, v *Verification) error
	ListVerifications(ctx context.Context, integrationID string, f VerificationFilter) (VerificationPage, error)
	// ClaimDueVerifications returns, locked, up to limit cases of any
	// integration whose timer is due at now. Inside InTx only; concurrent
	// claimers on PostgreSQL skip each other's rows.
	ClaimDueVerifications(ctx context.Context, now time.Time, limit int) ([]Verification, error)

	AddVerificationFile(ctx context.Context, f *VerificationFile) error
	GetVerificationFile(ctx context.Context, integrationID, id string) (*VerificationFile, error)
	ListVerificationFiles(ctx context.Context, integrationID, verificationID string) ([]VerificationFile, error)
	// DeleteVerificationFile removes a file row (its blob is the caller's).
	DeleteVerificationFile(ctx context.Context, integrationID, id string) error
	// SetVerificationFileState stores State and PurgedAt.
	SetVerificationFileState(ctx context.Context, f *VerificationFile) error
	// ListVerificationFilesBefore returns up to limit files of an
	// integration in state, created before at, oldest first (retention).
	ListVerificationFilesBefore(ctx context.Context, integrationID, state string, at time.Time, limit int) ([]VerificationFile, error)
	// ListPendingFiles returns up to limit pending files of any
	// integration created before at (the crash reconciler).
	ListPendingFiles(ctx context.Context, at time.Time, limit int) ([]VerificationFile, error)
}

const verificationCols = `id, integration_id, unique_identifier, first_name, last_name, email, phone, document_type,
	status, reason, source, external_id, results, details, decision, attempts,
	created_at, updated_at, expires_at, started_at, submitted_at, decided_at, timer_at`

func (c *conn) CreateVerification(ctx context.Context, v *Verification) error {
	if v.ID == "" {
		v.ID = NewID("ver_")
	}
	v.CreatedAt = stampOrNow(v.CreatedAt)
	v.UpdatedAt = v.CreatedAt
	args, err := c.verificationArgs(v)
	if err != nil {
		return wrap(err, "create verification")
	}
	all := []any{v.ID, v.IntegrationID, v.UniqueIdentifier}
	all = append(all, args...)
	all = append(all, c.d.ts(v.CreatedAt), c.d.ts(v.UpdatedAt))
	all = append(all, c.times(v)...)
	_, err = c.exec(ctx, `INSERT INTO verifications (`+verificationCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, all...)
	return wrap(err, "create verification")
}

// times are v's columns from expires_at to timer_at.
func (c *conn) times(v *Verification) []any {
	return []any{c.d.ts(stamp(v.ExpiresAt)), c.d.nullTS(stampPtr(v.StartedAt)), c.d.nullTS(stampPtr(v.SubmittedAt)),
		c.d.nullTS(stampPtr(v.DecidedAt)), c.d.nullTS(stampPtr(v.TimerAt))}
}

// verificationArgs validates v and returns its columns from first_name to
// attempts.
func (c *conn) verificationArgs(v *Verification) ([]any, error) {
	if v.IntegrationID == "" || v.UniqueIdentifier == "" || v.Status == "" {
		return nil, fmt.Errorf("%w: integration, unique identifier and status are required", ErrInvalid)
	}
	var js [3]any
	for i, raw := range []json.RawMessage{v.Results, v.Details, v.Decision} {
		a, err := jsonArg(raw)
		if err != nil {
			return nil, err
		}
		js[i] = a
	}
	return []any{v.FirstName, v.LastName, v.Email, v.Phone, v.DocumentType, v.Status, nullString(v.Reason), v.Source,
		nullString(v.ExternalID), js[0], js[1], js[2], v.Attempts}, nil
}

func (c *conn) GetVerification(ctx context.Context, integrationID, id string) (*Verification, error) {
	v, err := c.getVerification(ctx, `integration_id = ? AND id = ?`, "", integrationID, id)
	return v, wrap(err, "get verification %s", id)
}

func (c *conn) GetVerificationForUpdate(ctx context.Context, integrationID, id string) (*Verification, error) {
	v, err := c.getVerification(ctx, `integration_id = ? AND id = ?`, c.d.forUpdate, integrationID, id)
	return v, wrap(err, "get verification %s", id)
}

func (c *conn) GetVerificationByExternalID(ctx context.Context, integrationID, externalID string) (*Verification, error) {
	v, err := c.getVerification(ctx, `integration_id = ? AND external_id = ?`, "", integrationID, externalID)
	return v, wrap(err, "get verification by external id")
}

func (c *conn) GetVerificationByID(ctx context.Context, id string) (*Verification, error) {
	v, err := c.getVerification(ctx, `id = ?`, "", id)
	return v, wrap(err, "get verification %s", id)
}

func (c *conn) getVerification(ctx context.Context, where, lock string, args ...any) (*Verification, error) {
	var v Verification
	var r verificationRow
	err := c.scanRow(ctx, `SELECT `+verificationCols+` FROM verifications WHERE `+where+lock, args, r.dest(&v)...)
	if err != nil {
		return nil, err
	}
	return &v, r.decode(&v)
}

// verificationRow holds the columns that need decoding after Scan.
type verificationRow struct {
	reason, external, results, details, decision sql.NullString
}

func (r *verificationRow) dest(v *Verification) []any {
	return []any{&v.ID, &v.IntegrationID, &v.UniqueIdentifier, &v.FirstName, &v.LastName, &v.Email, &v.Phone,
		&v.DocumentType, &v.Status, &r.reason, &v.Source, &r.external, &r.results, &r.details, &r.decision,
		&v.Attempts, tsDest{&v.CreatedAt}, tsDest{&v.UpdatedAt}, tsDest{&v.ExpiresAt},
		nullTSDest{&v.StartedAt}, nullTSDest{&v.SubmittedAt}, nullTSDest{&v.DecidedAt}, nullTSDest{&v.TimerAt}}
}

func (r *verificationRow) decode(v *Verification) error {
	v.Reason, v.ExternalID = r.reason.String, r.external.String
	v.Results, v.Details, v.Decision = rawJSON(r.results), rawJSON(r.details), rawJSON(r.decision)
	return nil
}

func (c *conn) UpdateVerification(ctx context.Context, v *Verification) error {
	args, err := c.verificationArgs(v)
	if err != nil {
		return wrap(err, "update verification %s", v.ID)
	}
	v.UpdatedAt = now()
	err = c.execOne(ctx, `UPDATE verifications SET first_name = ?, last_name = ?, email = ?, phone = ?, document_type = ?,
		status = ?, reason = ?, source = ?, external_id = ?, results = ?, details = ?, decision = ?,
		attempts = ?, updated_at = ?, expires_at = ?, started_at = ?, submitted_at = ?, decided_at = ?, timer_at = ?
		WHERE integration_id = ? AND id = ?`,
		append(append(append(args, c.d.ts(v.UpdatedAt)), c.times(v)...), v.IntegrationID, v.ID)...)
	return wrap(err, "update verification %s", v.ID)
}

func (c *conn) DeleteVerification(ctx context.Context, integrationID, id string) error {
	err := c.execOne(ctx, `DELETE FROM verifications WHERE integration_id = ? AND id = ?`, integrationID, id)
	return wrap(err, "delete verification %s", id)
}

func (c *conn) ListVerifications(ctx context.Context, integrationID string, f VerificationFilter) (VerificationPage, error) {
	before, err := decodeCursor(f.Cursor)
	if err != nil {
		return VerificationPage{}, wrap(err, "list verifications")
	}
	limit := pageSize(f.Limit)
	query := `SELECT ` + verificationCols + ` FROM verifications WHERE integration_id = ?`
	args := []any{integrationID}
	if f.Status != "" {
		query += ` AND status = ?`
		args = append(args, f.Status)
	}
	if before != nil {
		query += ` AND (created_at < ? OR (created_at = ? AND id < ?))`
		ts := c.d.ts(before.createdAt)
		args = append(args, ts, ts, before.id)
	}
	query += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	rows, err := c.query(ctx, query, append(args, limit+1)...)
	out, err := c.scanVerifications(rows, err)
	if err != nil {
		return VerificationPage{}, wrap(err, "list verifications")
	}
	page := VerificationPage{Verifications: out}
	if len(out) > limit {
		page.Verifications = out[:limit]
		last := out[limit-1]
		page.Next = encodeCursor(faceCursor{createdAt: last.CreatedAt, id: last.ID})
	}
	return page, nil
}

func (c *conn) ClaimDueVerifications(ctx context.Context, at time.Time, limit int) ([]Verification, error) {
	q := `SELECT ` + verificationCols + ` FROM verifications WHERE timer_at IS NOT NULL AND timer_at <= ?
		ORDER BY timer_at LIMIT ?`
	if c.d.forUpdate != "" {
		q += c.d.forUpdate + ` SKIP LOCKED`
	}
	rows, err := c.query(ctx, q, c.d.ts(stamp(at)), max(limit, 1))
	out, err := c.scanVerifications(rows, err)
	return out, wrap(err, "claim due verifications")
}

func (c *conn) scanVerifications(rows *sql.Rows, err error) ([]Verification, error) {
	if err != nil {
		return nil, err
	}
	return collect(rows, func(r rowScanner) (Verification, error) {
		var v Verification
		var row verificationRow
		if err := r.Scan(row.dest(&v)...); err != nil {
			return v, err
		}
		return v, row.decode(&v)
	})
}

const fileCols = `id, integration_id, verification_id, kind, blob_key, content_type, file_name, size, state, created_at, purged_at`

func (c *conn) AddVerificationFile(ctx context.Context, f *VerificationFile) error {
	if f.ID == "" {
		f.ID = NewID("vfl_")
	}
	if f.State == "" {
		f.State = FilePending
	}
	f.CreatedAt = stampOrNow(f.CreatedAt)
	_, err := c.exec(ctx, `INSERT INTO verification_files (`+fileCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		f.ID, f.IntegrationID, f.VerificationID, f.Kind, f.BlobKey, f.ContentType, f.FileName, f.Size, f.State,
		c.d.ts(f.CreatedAt), c.d.nullTS(stampPtr(f.PurgedAt)))
	return wrap(err, "add verification file")
}

func (c *conn) GetVerificationFile(ctx context.Context, integrationID, id string) (*VerificationFile, error) {
	var f VerificationFile
	err := c.scanRow(ctx, `SELECT `+fileCols+` FROM verification_files WHERE integration_id = ? AND id = ?`,
		[]any{integrationID, id}, fileDest(&f)...)
	if err != nil {
		return nil, wrap(err, "get verification file %s", id)
	}
	return &f, nil
}

func fileDest(f *VerificationFile) []any {
	return []any{&f.ID, &f.IntegrationID, &f.VerificationID, &f.Kind, &f.BlobKey, &f.ContentType, &f.FileName, &f.Size,
		&f.State, tsDest{&f.CreatedAt}, nullTSDest{&f.PurgedAt}}
}

func (c *conn) ListVerificationFiles(ctx context.Context, integrationID, verificationID string) ([]VerificationFile, error) {
	rows, err := c.query(ctx, `SELECT `+fileCols+` FROM verification_files WHERE integration_id = ? AND verification_id = ?
		ORDER BY created_at, id`, integrationID, verificationID)
	out, err := scanFiles(rows, err)
	return out, wrap(err, "list verification files")
}

func (c *conn) DeleteVerificationFile(ctx context.Context, integrationID, id string) error {
	err := c.execOne(ctx, `DELETE FROM verification_files WHERE integration_id = ? AND id = ?`, integrationID, id)
	return wrap(err, "delete verification file %s", id)
}

func (c *conn) SetVerificationFileState(ctx context.Context, f *VerificationFile) error {
	err := c.execOne(ctx, `UPDATE verification_files SET state = ?, purged_at = ? WHERE integration_id = ? AND id = ?`,
		f.State, c.d.nullTS(stampPtr(f.PurgedAt)), f.IntegrationID, f.ID)
	return wrap(err, "set verification file state")
}

func (c *conn) ListVerificationFilesBefore(ctx context.Context, integrationID, state string, at time.Time, limit int) ([]VerificationFile, error) {
	rows, err := c.query(ctx, `SELECT `+fileCols+` FROM verification_files WHERE integration_id = ? AND state = ? AND created_at < ?
		ORDER BY created_at, id LIMIT ?`, integrationID, state, c.d.ts(stamp(at)), max(limit, 1))
	out, err := scanFiles(rows, err)
	return out, wrap(err, "list verification files before")
}

func (c *conn) ListPendingFiles(ctx context.Context, at time.Time, limit int) ([]VerificationFile, error) {
	rows, err := c.query(ctx, `SELECT `+fileCols+` FROM verification_files WHERE state = ? AND created_at < ?
		ORDER BY created_at, id LIMIT ?`, FilePending, c.d.ts(stamp(at)), max(limit, 1))
	out, err := scanFiles(rows, err)
	return out, wrap(err, "list pending files")
}

func scanFiles(rows *sql.Rows, err error) ([]VerificationFile, error) {
	if err != nil {
		return nil, err
	}
	return collect(rows, func(r rowScanner) (VerificationFile, error) {
		var f VerificationFile
		err := r.Scan(fileDest(&f)...)
		return f, err
	})
}
