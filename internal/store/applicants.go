package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Applicant is a validation request: a person registered once (by a
// document and a selfie, or by a selfie) and then authorised by their
// face. Result is the last attempt's outcome, JSON owned by the applicant
// service.
type Applicant struct {
	ID            string
	IntegrationID string
	// Subject is the client's identifier of the person ("" when none);
	// an authorisation applicant finds its profile through it.
	Subject      string
	Purpose      string // ApplicantRegistration or ApplicantAuthorization
	Status       string // ApplicantOpen, ApplicantCompleted or ApplicantClosed
	ProfileID    string // the face id saved by the registration; "" before
	EndeavorID   string
	CallbackURL  string
	MaxAttempts  int // 1–5
	Attempts     int // registration attempts made
	AuthAttempts int // authorisations made
	AuthFailures int // failed authorisations in a row
	Result       json.RawMessage
	CreatedAt    time.Time
	UpdatedAt    time.Time
	CompletedAt  *time.Time
	ClosedAt     *time.Time
}

// Applicant purposes and statuses.
const (
	ApplicantRegistration  = "registration"
	ApplicantAuthorization = "authorization"
	ApplicantOpen          = "open"
	ApplicantCompleted     = "completed"
	ApplicantClosed        = "closed"
)

// Applicants persists validation requests.
type Applicants interface {
	// CreateApplicant inserts a, filling ID ("apl_…"), CreatedAt and
	// UpdatedAt.
	CreateApplicant(ctx context.Context, a *Applicant) error
	GetApplicant(ctx context.Context, integrationID, id string) (*Applicant, error)
	// GetApplicantForUpdate locks the row inside InTx.
	GetApplicantForUpdate(ctx context.Context, integrationID, id string) (*Applicant, error)
	// UpdateApplicant stores every mutable field and bumps UpdatedAt.
	UpdateApplicant(ctx context.Context, a *Applicant) error
	// SubjectProfile is the profile id of the subject's most recently
	// completed registration in the integration; ErrNotFound when none.
	SubjectProfile(ctx context.Context, integrationID, subject string) (string, error)
}

const applicantCols = `id, integration_id, subject, purpose, status, profile_id, endeavor_id, callback_url,
	max_attempts, attempts, auth_attempts, auth_failures, result, created_at, updated_at, completed_at, closed_at`

func (c *conn) CreateApplicant(ctx context.Context, a *Applicant) error {
	if a.ID == "" {
		a.ID = NewID("apl_")
	}
	if a.IntegrationID == "" || a.Purpose == "" || a.Status == "" {
		return wrap(fmt.Errorf("%w: integration, purpose and status are required", ErrInvalid), "create applicant")
	}
	a.CreatedAt = stampOrNow(a.CreatedAt)
	a.UpdatedAt = a.CreatedAt
	res, err := jsonArg(a.Result)
	if err != nil {
		return wrap(err, "create applicant")
	}
	_, err = c.exec(ctx, `INSERT INTO applicants (`+applicantCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.IntegrationID, a.Subject, a.Purpose, a.Status, a.ProfileID, a.EndeavorID, a.CallbackURL,
		a.MaxAttempts, a.Attempts, a.AuthAttempts, a.AuthFailures, res, c.d.ts(a.CreatedAt), c.d.ts(a.UpdatedAt),
		c.d.nullTS(stampPtr(a.CompletedAt)), c.d.nullTS(stampPtr(a.ClosedAt)))
	return wrap(err, "create applicant")
}

func (c *conn) GetApplicant(ctx context.Context, integrationID, id string) (*Applicant, error) {
	a, err := c.getApplicant(ctx, "", integrationID, id)
	return a, wrap(err, "get applicant %s", id)
}

func (c *conn) GetApplicantForUpdate(ctx context.Context, integrationID, id string) (*Applicant, error) {
	a, err := c.getApplicant(ctx, c.d.forUpdate, integrationID, id)
	return a, wrap(err, "get applicant %s", id)
}

func (c *conn) getApplicant(ctx context.Context, lock, integrationID, id string) (*Applicant, error) {
	var a Applicant
	var res sql.NullString
	err := c.scanRow(ctx, `SELECT `+applicantCols+` FROM applicants WHERE integration_id = ? AND id = ?`+lock,
		[]any{integrationID, id}, &a.ID, &a.IntegrationID, &a.Subject, &a.Purpose, &a.Status, &a.ProfileID, &a.EndeavorID,
		&a.CallbackURL, &a.MaxAttempts, &a.Attempts, &a.AuthAttempts, &a.AuthFailures, &res,
		tsDest{&a.CreatedAt}, tsDest{&a.UpdatedAt}, nullTSDest{&a.CompletedAt}, nullTSDest{&a.ClosedAt})
	if err != nil {
		return nil, err
	}
	a.Result = rawJSON(res)
	return &a, nil
}

func (c *conn) UpdateApplicant(ctx context.Context, a *Applicant) error {
	res, err := jsonArg(a.Result)
	if err != nil {
		return wrap(err, "update applicant %s", a.ID)
	}
	a.UpdatedAt = now()
	err = c.execOne(ctx, `UPDATE applicants SET status = ?, profile_id = ?, endeavor_id = ?, attempts = ?, auth_attempts = ?,
		auth_failures = ?, result = ?, updated_at = ?, completed_at = ?, closed_at = ? WHERE integration_id = ? AND id = ?`,
		a.Status, a.ProfileID, a.EndeavorID, a.Attempts, a.AuthAttempts, a.AuthFailures, res, c.d.ts(a.UpdatedAt),
		c.d.nullTS(stampPtr(a.CompletedAt)), c.d.nullTS(stampPtr(a.ClosedAt)), a.IntegrationID, a.ID)
	return wrap(err, "update applicant %s", a.ID)
}

func (c *conn) SubjectProfile(ctx context.Context, integrationID, subject string) (string, error) {
	var id string
	err := c.scanRow(ctx, `SELECT profile_id FROM applicants WHERE integration_id = ? AND subject = ? AND subject <> ''
		AND purpose = 'registration' AND completed_at IS NOT NULL AND profile_id <> '' ORDER BY completed_at DESC, id DESC LIMIT 1`,
		[]any{integrationID, subject}, &id)
	return id, wrap(err, "subject profile")
}
