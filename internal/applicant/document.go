package applicant

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/visagehq/visage/internal/barcode"
	"github.com/visagehq/visage/internal/barcode/aamva"
	"github.com/visagehq/visage/internal/document"
	"github.com/visagehq/visage/internal/face"
	"github.com/visagehq/visage/internal/faceauth"
	"github.com/visagehq/visage/internal/fault"
)

// Document is what a document says of its holder; a nil field is absent
// or unknown. Its fields are aamva.Document's (a licence converts to it);
// a machine-readable zone fills the fields it has.
type Document struct {
	PrivateName  *string `json:"private_name,omitempty"` // given names
	Abbr3Country *string `json:"abbr3_country,omitempty"`
	AbbrCountry  *string `json:"abbr_country,omitempty"`
	Address      *string `json:"address,omitempty"`
	City         *string `json:"city,omitempty"`
	Class        *string `json:"class,omitempty"`
	Country      *string `json:"country,omitempty"`
	Dob          *string `json:"dob,omitempty"`
	Expires      *string `json:"expires,omitempty"`
	Eyes         *string `json:"eyes,omitempty"`
	FamilyName   *string `json:"family_name,omitempty"`
	FirstName    *string `json:"first_name,omitempty"`
	FullName     *string `json:"full_name,omitempty"`
	Gender       *string `json:"gender,omitempty"`
	Hair         *string `json:"hair,omitempty"`
	Height       *string `json:"height,omitempty"`
	ID           *string `json:"id,omitempty"`
	IDType       *string `json:"id_type,omitempty"`
	Issued       *string `json:"issued,omitempty"`
	MiddleName   *string `json:"middle_name,omitempty"`
	PostalBox    *string `json:"postal_box,omitempty"`
	State        *string `json:"state,omitempty"`
	IssuedBy     *string `json:"issued_by,omitempty"`
	Template     *string `json:"template,omitempty"` // AAMVA version ("09") or MRZ format ("TD3")
	Weight       *string `json:"weight,omitempty"`
	Zip          *string `json:"zip,omitempty"`
}

// readDoc is a document as read.
type readDoc struct {
	face     *face.Face
	fields   *Document
	tests    []DocumentTest
	problems []Problem
	valid    bool
	expired  bool
}

func (d *readDoc) problem(code, format string, args ...any) *readDoc {
	d.problems = append(d.problems, Problem{Code: code, Message: fmt.Sprintf(format, args...)})
	return d
}

// readDocument decodes a document's sides, finds the holder's photo and
// reads the data its type carries. What the images lack is a Problem; a
// failure of the server is an error.
func (s *Service) readDocument(ctx context.Context, in Input, now time.Time) (*readDoc, error) {
	d := &readDoc{tests: []DocumentTest{}}
	if !in.HasFront || len(in.Front) == 0 {
		return d.problem(ProblemFrontMissing, "the document's front image is required for document type %d", in.DocumentType), nil
	}
	front, err := s.faces.DecodeDocument(ctx, in.Front)
	if err != nil {
		if isServer(fault.KindOf(err)) {
			return nil, err
		}
		return d.problem(ProblemFrontInvalid, "the document's front image cannot be read: %s", fault.As(err).Summary()), nil
	}
	var back *faceauth.Document
	if in.HasBack && len(in.Back) > 0 {
		if back, err = s.faces.DecodeDocument(ctx, in.Back); err != nil {
			if isServer(fault.KindOf(err)) {
				return nil, err
			}
			return d.problem(ProblemBackInvalid, "the document's back image cannot be read: %s", fault.As(err).Summary()), nil
		}
	}
	if d.face, err = s.faces.DocumentFace(ctx, front); err != nil {
		if !fault.Is(err, fault.NoFace) {
			return nil, err
		}
		d.problem(ProblemNoDocumentFace, "no face was found on the document's front")
	}
	switch in.DocumentType {
	case DocLicence:
		err = s.readLicence(ctx, d, front, back, now)
	default:
		err = s.readMRZ(ctx, d, in.DocumentType, front, back, now)
	}
	return d, err
}

// readLicence reads the AAMVA barcode of a licence: on the back when it
// was sent, else on the front.
func (s *Service) readLicence(ctx context.Context, d *readDoc, front, back *faceauth.Document, now time.Time) error {
	side := front
	if back != nil {
		side = back
	}
	res, err := barcode.DecodePDF417(ctx, side.Image)
	switch {
	case errors.Is(err, barcode.ErrNotFound) || errors.Is(err, barcode.ErrInvalidImage):
		d.problem(ProblemNoBarcode, "the licence's PDF417 barcode could not be read: send a sharp, flat photo of the back")
		return nil
	case errors.Is(err, barcode.ErrUnavailable):
		return &fault.Error{Kind: fault.Unsupported, Subject: SubjectDocumentType, Cause: err,
			Message: "licence barcodes cannot be read on this server (built without zxing-cpp)"}
	case ctx.Err() != nil:
		return fault.Wrap(fault.Busy, err, "reading the licence took too long; retry")
	case err != nil:
		return fmt.Errorf("read licence barcode: %w", err)
	}
	l, err := aamva.Parse(res[0].Bytes)
	if err != nil {
		d.tests = append(d.tests, DocumentTest{Name: "aamva_barcode", Status: "fail", Detail: err.Error()})
		d.problem(ProblemNoBarcode, "the licence's barcode holds no AAMVA licence data")
		return nil
	}
	d.tests = append(d.tests, DocumentTest{Name: "aamva_barcode", Status: "pass", Detail: fmt.Sprintf("AAMVA version %d", l.Header.Version)})
	doc := Document(l.Document())
	d.fields, d.valid = &doc, true
	if l.Expires.IsZero() {
		return s.expiryUnknown(d)
	}
	d.expired = l.Expired(now)
	return nil
}

func (s *Service) expiryUnknown(d *readDoc) error {
	if d.valid {
		d.problem(ProblemExpiryUnknown, "the document's expiry date could not be read")
	}
	return nil
}

// readMRZ reads a machine-readable zone: on the front, else on the back.
func (s *Service) readMRZ(ctx context.Context, d *readDoc, docType int, front, back *faceauth.Document, now time.Time) error {
	if s.ocr == nil {
		return &fault.Error{Kind: fault.Unsupported, Subject: SubjectDocumentType,
			Message: "machine-readable zones cannot be read on this server (OCR is not installed)"}
	}
	var m *document.MRZ
	var err error
	for _, side := range []*faceauth.Document{front, back} {
		if side == nil {
			continue
		}
		m, err = s.ocr.ReadMRZ(ctx, side.Image)
		switch {
		case err == nil:
		case errors.Is(err, document.ErrOCRUnavailable):
			return &fault.Error{Kind: fault.Unsupported, Subject: SubjectDocumentType, Cause: err,
				Message: "machine-readable zones cannot be read on this server (OCR is not installed)"}
		case errors.Is(err, document.ErrOCRTimeout):
			return fault.Wrap(fault.Busy, err, "reading the document took too long; retry")
		default:
			s.log.DebugContext(ctx, "no mrz on a document side", "err", err)
			m = nil
		}
		if m != nil {
			break
		}
	}
	if m == nil {
		d.problem(ProblemMRZUnreadable, "the document's machine-readable zone could not be read")
		return nil
	}
	digits := DocumentTest{Name: "mrz_check_digits", Status: "pass", Detail: m.Format.String()}
	if !m.Valid() {
		var bad []string
		for _, c := range m.Checks {
			if !c.Valid {
				bad = append(bad, c.Kind.String())
			}
		}
		digits.Status, digits.Detail = "fail", "invalid: "+strings.Join(bad, ", ")
	}
	kind := DocumentTest{Name: "document_type", Status: "pass", Detail: "document code " + m.DocumentCode}
	if passport := strings.HasPrefix(m.DocumentCode, "P"); passport != (docType == DocPassport) || strings.HasPrefix(m.DocumentCode, "V") {
		kind.Status = "fail"
		kind.Detail = fmt.Sprintf("document code %s is not a %s", m.DocumentCode, map[bool]string{true: "passport", false: "ID card"}[docType == DocPassport])
	}
	d.tests = append(d.tests, digits, kind)
	d.valid = digits.Status == "pass" && kind.Status == "pass"
	d.fields = mrzDocument(m, now)
	exp, err := m.Expired(now)
	if err != nil {
		return s.expiryUnknown(d)
	}
	d.expired = exp
	return nil
}

// mrzDocument is the holder's data an MRZ carries.
func mrzDocument(m *document.MRZ, now time.Time) *Document {
	str := func(s string) *string {
		if s = strings.TrimSpace(s); s == "" {
			return nil
		}
		return &s
	}
	d := &Document{PrivateName: str(m.GivenNames), FamilyName: str(m.Surname), ID: str(m.DocumentNumber), IDType: str(m.DocumentCode),
		IssuedBy: str(m.IssuingState), Template: str(m.Format.String())}
	given := strings.Fields(m.GivenNames)
	if len(given) > 0 {
		d.FirstName = str(given[0])
		d.MiddleName = str(strings.Join(given[1:], " "))
	}
	d.FullName = str(strings.TrimSpace(m.GivenNames + " " + m.Surname))
	if c, ok := countries[m.IssuingState]; ok {
		d.Abbr3Country, d.AbbrCountry, d.Country = str(c[0]), str(c[1]), str(c[2])
	} else if len(m.IssuingState) == 3 {
		d.Abbr3Country = str(m.IssuingState)
	}
	if b, err := m.BirthDate(now); err == nil {
		d.Dob = str(b.Format("2006-01-02"))
	}
	if e, err := m.ExpiryDate(now); err == nil {
		d.Expires = str(e.Format("2006-01-02"))
	}
	switch m.Sex {
	case "M":
		d.Gender = str("MALE")
	case "F":
		d.Gender = str("FEMALE")
	}
	return d
}

// countries names the issuing states whose alpha-2 code and name a
// response shows (others keep their MRZ code alone): alpha-3, alpha-2,
// name.
var countries = map[string][3]string{
	"USA": {"USA", "US", "United States of America"}, "CAN": {"CAN", "CA", "Canada"}, "MEX": {"MEX", "MX", "Mexico"},
	"GBR": {"GBR", "GB", "United Kingdom"}, "D": {"DEU", "DE", "Germany"}, "FRA": {"FRA", "FR", "France"},
	"SWE": {"SWE", "SE", "Sweden"}, "NLD": {"NLD", "NL", "Netherlands"}, "CZE": {"CZE", "CZ", "Czechia"},
	"FIN": {"FIN", "FI", "Finland"}, "POL": {"POL", "PL", "Poland"}, "UTO": {"UTO", "", "Utopia (specimen)"},
}
