// Package document holds the checks Visage runs on identity documents and
// proofs of address: the machine-readable zone (MRZ) of passports, ID
// cards and visas read and validated per ICAO Doc 9303, the date helpers
// that go with it (expiry, age), and the name/date tests on a proof of
// address. OCR is Debian's tesseract run as a subprocess on pixels this
// package re-encoded itself.
package document

import (
	"errors"
	"fmt"
	"strings"
)

// Format is an ICAO 9303 MRZ layout.
type Format int

// The five layouts of Doc 9303 (parts 4–7).
const (
	FormatUnknown Format = iota
	TD1                  // ID cards: 3 lines × 30 (part 5)
	TD2                  // 2 lines × 36 (part 6)
	TD3                  // passports: 2 lines × 44 (part 4)
	MRVA                 // full-size visas: 2 lines × 44 (part 7)
	MRVB                 // small visas: 2 lines × 36 (part 7)
)

func (f Format) String() string {
	switch f {
	case TD1:
		return "TD1"
	case TD2:
		return "TD2"
	case TD3:
		return "TD3"
	case MRVA:
		return "MRV-A"
	case MRVB:
		return "MRV-B"
	}
	return "unknown"
}

// Lines and LineLength give the shape of the format.
func (f Format) Lines() int {
	switch f {
	case TD1:
		return 3
	case TD2, TD3, MRVA, MRVB:
		return 2
	}
	return 0
}

// LineLength is the number of characters on each line of the format.
func (f Format) LineLength() int {
	switch f {
	case TD1:
		return 30
	case TD2, MRVB:
		return 36
	case TD3, MRVA:
		return 44
	}
	return 0
}

// CheckKind names one check digit of an MRZ.
type CheckKind int

// The check digits Doc 9303 defines. Not every format has all of them:
// visas have no composite, only TD3 checks its optional data.
const (
	CheckDocumentNumber CheckKind = iota
	CheckBirthDate
	CheckExpiryDate
	CheckOptionalData
	CheckComposite
)

func (k CheckKind) String() string {
	switch k {
	case CheckDocumentNumber:
		return "document number"
	case CheckBirthDate:
		return "birth date"
	case CheckExpiryDate:
		return "expiry date"
	case CheckOptionalData:
		return "optional data"
	case CheckComposite:
		return "composite"
	}
	return "unknown"
}

// Check is the result of one check digit.
type Check struct {
	Kind     CheckKind
	Printed  byte // the check character as it stands in the MRZ
	Computed byte // the digit Doc 9303's 7-3-1 scheme gives for the field
	Valid    bool
}

func (c Check) String() string {
	if c.Valid {
		return c.Kind.String() + " check digit valid"
	}
	return fmt.Sprintf("%s check digit invalid (printed %q, computed %q)", c.Kind, c.Printed, c.Computed)
}

// Repair is one character the OCR reader changed. Confirmed repairs made
// a check digit validate that did not before; unconfirmed ones only put a
// letter where Doc 9303 allows nothing else (names, country codes) and no
// check digit covers the position.
type Repair struct {
	Line, Col int  // 0-based
	From, To  byte // OCR character, repaired character
	Confirmed bool
	By        CheckKind // the check that confirmed it, when Confirmed
}

func (r Repair) String() string {
	how := "unconfirmed"
	if r.Confirmed {
		how = "by " + r.By.String() + " check"
	}
	return fmt.Sprintf("line %d col %d %c→%c (%s)", r.Line+1, r.Col+1, r.From, r.To, how)
}

// MRZ is a parsed machine-readable zone. Dates stay as printed (YYMMDD,
// possibly with '<' for unknown parts); use BirthDate/ExpiryDate to resolve
// the century.
type MRZ struct {
	Format Format
	Lines  []string // the lines parsed (after any repair)

	DocumentCode   string // "P", "ID", "I", "AC", "V"… with fillers dropped
	IssuingState   string // ICAO 9303 part 3 code (ISO 3166 alpha-3 or "D", "UTO"…)
	Surname        string // primary identifier; '<' become spaces
	GivenNames     string // secondary identifier; '<' become spaces
	DocumentNumber string // fillers dropped; includes a TD1/TD2 extension
	Nationality    string
	BirthDateRaw   string // YYMMDD
	Sex            string // "M", "F", "X", or "" when unspecified ('<')
	ExpiryDateRaw  string // YYMMDD
	OptionalData   string // TD3 personal number, TD1 line 1 or TD2/MRV optional data, fillers trimmed
	OptionalData2  string // TD1 line 2 optional data

	Checks  []Check
	Repairs []Repair // empty from ParseMRZ; filled by ParseOCR
}

// Valid reports whether every check digit of the MRZ validates.
func (m *MRZ) Valid() bool {
	for _, c := range m.Checks {
		if !c.Valid {
			return false
		}
	}
	return len(m.Checks) > 0
}

// Check returns the result of the check of kind k, if the format has one.
func (m *MRZ) Check(k CheckKind) (Check, bool) {
	for _, c := range m.Checks {
		if c.Kind == k {
			return c, true
		}
	}
	return Check{}, false
}

// ValidChecks counts the check digits that validate.
func (m *MRZ) ValidChecks() int {
	n := 0
	for _, c := range m.Checks {
		if c.Valid {
			n++
		}
	}
	return n
}

// Err is nil when every check digit validates, else a *CheckError naming
// the failed ones (errors.Is(err, ErrCheckDigit)).
func (m *MRZ) Err() error {
	var failed []Check
	for _, c := range m.Checks {
		if !c.Valid {
			failed = append(failed, c)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return &CheckError{Failed: failed}
}

// String is the MRZ as printed, one line per row.
func (m *MRZ) String() string { return strings.Join(m.Lines, "\n") }

// Errors callers branch on.
var (
	ErrFormat     = errors.New("mrz: not a TD1, TD2, TD3, MRV-A or MRV-B layout")
	ErrCharset    = errors.New("mrz: character outside A-Z, 0-9 and <")
	ErrCheckDigit = errors.New("mrz: check digit invalid")
	ErrDate       = errors.New("mrz: invalid date")
	ErrNoMRZ      = errors.New("document: no machine-readable zone found")
)

// FormatError says which shape was seen when no layout fits.
type FormatError struct {
	Lengths []int // length of each line given
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("%v: %d lines of lengths %v", ErrFormat, len(e.Lengths), e.Lengths)
}

func (e *FormatError) Unwrap() error { return ErrFormat }

// CharError is a character no MRZ may hold.
type CharError struct {
	Line, Col int
	Char      rune
}

func (e *CharError) Error() string {
	return fmt.Sprintf("%v: %q at line %d column %d", ErrCharset, e.Char, e.Line+1, e.Col+1)
}

func (e *CharError) Unwrap() error { return ErrCharset }

// CheckError lists the check digits that failed.
type CheckError struct {
	Failed []Check
}

func (e *CheckError) Error() string {
	parts := make([]string, len(e.Failed))
	for i, c := range e.Failed {
		parts[i] = c.Kind.String()
	}
	return fmt.Sprintf("mrz: %s check digit invalid", strings.Join(parts, ", "))
}

func (e *CheckError) Unwrap() error { return ErrCheckDigit }

// ParseMRZ parses an MRZ exactly as given: the lines must have one of the
// five Doc 9303 shapes and hold only A–Z, 0–9 and '<'. Check digits that
// fail do not make it an error: they are reported in MRZ.Checks (and by
// MRZ.Err), so a caller can say which one failed. Nothing is repaired;
// ParseOCR is the tolerant variant for OCR output.
func ParseMRZ(lines []string) (*MRZ, error) {
	f, err := detectFormat(lines)
	if err != nil {
		return nil, err
	}
	for i, l := range lines {
		for j := 0; j < len(l); j++ {
			if value(l[j]) < 0 {
				r := []rune(l[j:])[0]
				return nil, &CharError{Line: i, Col: j, Char: r}
			}
		}
	}
	return parse(f, append([]string(nil), lines...)), nil
}

// detectFormat picks the layout from the line count and lengths; a first
// character 'V' tells a visa from a TD2/TD3 of the same size.
func detectFormat(lines []string) (Format, error) {
	lengths := make([]int, len(lines))
	for i, l := range lines {
		lengths[i] = len(l)
	}
	shapeErr := &FormatError{Lengths: lengths}
	if len(lines) < 2 || len(lines) > 3 {
		return FormatUnknown, shapeErr
	}
	n := len(lines[0])
	if n == 0 {
		return FormatUnknown, shapeErr
	}
	for _, l := range lines {
		if len(l) != n {
			return FormatUnknown, shapeErr
		}
	}
	visa := lines[0][0] == 'V'
	switch {
	case len(lines) == 3 && n == 30:
		return TD1, nil
	case len(lines) == 2 && n == 36 && visa:
		return MRVB, nil
	case len(lines) == 2 && n == 36:
		return TD2, nil
	case len(lines) == 2 && n == 44 && visa:
		return MRVA, nil
	case len(lines) == 2 && n == 44:
		return TD3, nil
	}
	return FormatUnknown, shapeErr
}

// parse reads the fields of well-shaped lines; characters outside the MRZ
// set count as invalid in check digits rather than failing.
func parse(f Format, lines []string) *MRZ {
	m := &MRZ{Format: f, Lines: lines}
	lay := layoutOf(f)
	get := func(s span) string { return lines[s.line][s.from:s.to] }

	m.DocumentCode = strings.TrimRight(get(lay.code), "<")
	m.IssuingState = strings.TrimRight(get(lay.state), "<")
	m.Surname, m.GivenNames = splitName(get(lay.name))
	m.Nationality = strings.TrimRight(get(lay.nationality), "<")
	m.BirthDateRaw = get(lay.birth)
	m.ExpiryDateRaw = get(lay.expiry)
	switch sx := get(lay.sex); sx {
	case "M", "F", "X":
		m.Sex = sx
	}
	m.OptionalData = strings.TrimRight(get(lay.optional), "<")
	if lay.optional2.to > 0 {
		m.OptionalData2 = strings.TrimRight(get(lay.optional2), "<")
	}

	number, numCheck := documentNumber(lines, lay)
	m.DocumentNumber = strings.TrimRight(number, "<")
	if ext := numberExtension(lines, lay); ext != "" {
		// The optional data field then starts with the number's tail.
		m.OptionalData = strings.TrimLeft(strings.TrimPrefix(get(lay.optional), ext), "<")
		m.OptionalData = strings.TrimRight(m.OptionalData, "<")
	}
	m.Checks = append(m.Checks, check(CheckDocumentNumber, number, numCheck))
	m.Checks = append(m.Checks, check(CheckBirthDate, get(lay.birth), lines[lay.birthCheck.line][lay.birthCheck.from]))
	m.Checks = append(m.Checks, check(CheckExpiryDate, get(lay.expiry), lines[lay.expiryCheck.line][lay.expiryCheck.from]))
	if lay.optionalCheck.to > 0 {
		opt := get(lay.optional)
		c := check(CheckOptionalData, opt, lines[lay.optionalCheck.line][lay.optionalCheck.from])
		// Part 4: an empty personal number may carry '<' (or 0) as its check.
		if strings.Trim(opt, "<") == "" && (c.Printed == '<' || c.Printed == '0') {
			c.Valid = true
		}
		m.Checks = append(m.Checks, c)
	}
	if lay.composite.to > 0 {
		var b strings.Builder
		for _, s := range lay.compositeData {
			b.WriteString(get(s))
		}
		m.Checks = append(m.Checks, check(CheckComposite, b.String(), lines[lay.composite.line][lay.composite.from]))
	}
	return m
}

// splitName splits the name field at the first "<<": primary identifier
// first, then the secondary one; single '<' separate name parts.
func splitName(field string) (surname, given string) {
	field = strings.TrimRight(field, "<")
	primary, secondary, _ := strings.Cut(field, "<<")
	return nameWords(primary), nameWords(secondary)
}

func nameWords(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '<' }), " ")
}

// numberExtension returns the tail of a document number longer than nine
// characters (TD1, TD2: filler in the check position, the rest and its
// check digit at the start of the optional data), or "".
func numberExtension(lines []string, lay layout) string {
	if !lay.longNumber || lines[lay.numberCheck.line][lay.numberCheck.from] != '<' {
		return ""
	}
	opt := lines[lay.optional.line][lay.optional.from:lay.optional.to]
	ext, _, _ := strings.Cut(opt, "<")
	if len(ext) < 2 {
		return ""
	}
	return ext
}

// documentNumber returns the number as the check covers it and its check
// character, following a long-number extension when there is one.
func documentNumber(lines []string, lay layout) (string, byte) {
	num := lines[lay.number.line][lay.number.from:lay.number.to]
	if ext := numberExtension(lines, lay); ext != "" {
		return num + ext[:len(ext)-1], ext[len(ext)-1]
	}
	return num, lines[lay.numberCheck.line][lay.numberCheck.from]
}

func check(k CheckKind, data string, printed byte) Check {
	d, ok := CheckDigit(data)
	c := Check{Kind: k, Printed: printed, Computed: '?'}
	if ok {
		c.Computed = d
		c.Valid = printed == d
	}
	return c
}

// CheckDigit computes the Doc 9303 part 3 check digit of s: values 0–9 for
// digits, 10–35 for A–Z, 0 for '<', weighted 7, 3, 1 repeating, modulo 10.
// ok is false when s holds a character outside the MRZ set.
func CheckDigit(s string) (digit byte, ok bool) {
	sum := 0
	weights := [3]int{7, 3, 1}
	for i := 0; i < len(s); i++ {
		v := value(s[i])
		if v < 0 {
			return 0, false
		}
		sum += v * weights[i%3]
	}
	return byte('0' + sum%10), true
}

func value(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	case c == '<':
		return 0
	}
	return -1
}
