package validation

import (
	"testing"

	"github.com/visagehq/visage/internal/applicant"
	"github.com/visagehq/visage/internal/fault"
)

// TestErrorTable: every row of the seed's error table, by the failure the
// applicant service reports for it, with the rows tied to the vendor's
// platform on Visage's own failures; and every fault kind gets an answer.
func TestErrorTable(t *testing.T) {
	sub := func(k fault.Kind, subject string) *fault.Error {
		return &fault.Error{Kind: k, Subject: subject, Message: "x"}
	}
	for _, c := range []struct {
		err    *fault.Error
		status int
		code   int
		msg    string
	}{
		{sub(fault.Conflict, applicant.SubjectCompleted), 400, 120036, `Request "apl_1" was already completed`},
		{sub(fault.Locked, applicant.SubjectAttempts), 400, 120037, `All available attempts were used for requestId "apl_1"`},
		{sub(fault.EmptyImage, applicant.SubjectFaceImage), 400, 120038, "Face image is empty"},
		{fault.New(fault.Internal, "internal error"), 500, 120029, `Graphql error: "internal error"`},
		{sub(fault.Unavailable, applicant.SubjectSearch), 503, 120039, "Profile search is missing"},
		{sub(fault.NoFace, applicant.SubjectFaceImage), 400, 120038, "No faces found"},
		{sub(fault.MultipleFaces, applicant.SubjectFaceImage), 400, 120038, "Multiple faces found"},
		{sub(fault.Unavailable, applicant.SubjectQuality), 503, 120039, "Quality calculation failed"},
		{sub(fault.Unavailable, applicant.SubjectLiveness), 503, 120039, "Liveness calculation failed"},
		{sub(fault.Closed, applicant.SubjectClosed), 400, 120040, "Request is closed"},
		{sub(fault.Unsupported, applicant.SubjectDocumentType), 400, 120041, "This document type is not supported"},
		{sub(fault.MissingField, applicant.SubjectFaceImage), 400, 120042, "Face image is required"},
		{sub(fault.NotEnrolled, applicant.SubjectNoProfile), 400, 120043, "Applicant doesn't have verified face"},
		{sub(fault.BadRequest, applicant.SubjectEndeavor), 400, 120044, "Invalid endeavor info"},
		{sub(fault.NotFound, applicant.SubjectProfileMissing), 400, 120043, "Applicant profile not found"},
	} {
		status, code, msg := answer(c.err, "apl_1")
		if status != c.status || code != c.code || msg != c.msg {
			t.Errorf("%s/%s: %d %d %q, want %d %d %q", c.err.Kind, c.err.Subject, status, code, msg, c.status, c.code, c.msg)
		}
	}
	for _, k := range fault.Kinds {
		status, code, msg := answer(&fault.Error{Kind: k, Message: "m"}, "")
		if status < 400 || code == 0 || msg == "" {
			t.Errorf("kind %s: %d %d %q", k, status, code, msg)
		}
	}
}
