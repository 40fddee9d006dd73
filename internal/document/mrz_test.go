package document

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// The specimens printed in Doc 9303 parts 4–7 (Utopia / Anna Maria Eriksson).
var specimens = map[Format][]string{
	TD1:  {"I<UTOD231458907<<<<<<<<<<<<<<<", "7408122F1204159UTO<<<<<<<<<<<6", "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"},
	TD2:  {"I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "D231458907UTO7408122F1204159<<<<<<<6"},
	TD3:  {"P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"},
	MRVA: {"V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L8988901C4XXX4009078F96121096ZE184226B<<<<<<"},
	MRVB: {"V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "L8988901C4XXX4009078F9612109<<<<<<<<"},
}

func TestParseSpecimens(t *testing.T) {
	wantChecks := map[Format]int{TD1: 4, TD2: 4, TD3: 5, MRVA: 3, MRVB: 3}
	for f, lines := range specimens {
		m, err := ParseMRZ(lines)
		if err != nil {
			t.Fatalf("%v: %v", f, err)
		}
		if m.Format != f || !m.Valid() || len(m.Checks) != wantChecks[f] || m.Err() != nil {
			t.Errorf("%v: format %v valid %v checks %v", f, m.Format, m.Valid(), m.Checks)
		}
		if m.Surname != "ERIKSSON" || m.GivenNames != "ANNA MARIA" || m.IssuingState != "UTO" || m.Sex != "F" {
			t.Errorf("%v: names/state/sex %+v", f, m)
		}
		if len(m.Repairs) != 0 {
			t.Errorf("%v: ParseMRZ repaired %v", f, m.Repairs)
		}
	}
	m, _ := ParseMRZ(specimens[TD3])
	if m.DocumentCode != "P" || m.DocumentNumber != "L898902C3" || m.Nationality != "UTO" ||
		m.BirthDateRaw != "740812" || m.ExpiryDateRaw != "120415" || m.OptionalData != "ZE184226B" {
		t.Errorf("TD3 fields: %+v", m)
	}
	m, _ = ParseMRZ(specimens[TD1])
	if m.DocumentCode != "I" || m.DocumentNumber != "D23145890" || m.Nationality != "UTO" {
		t.Errorf("TD1 fields: %+v", m)
	}
}

func TestCheckDigit(t *testing.T) {
	for s, want := range map[string]byte{"L898902C3": '6', "740812": '2', "120415": '9', "ZE184226B<<<<<": '1', "520727": '3', "<<<<<<": '0'} {
		if got, ok := CheckDigit(s); !ok || got != want {
			t.Errorf("CheckDigit(%q) = %c, %v; want %c", s, got, ok, want)
		}
	}
	if _, ok := CheckDigit("ab"); ok {
		t.Error("lower case accepted")
	}
}

func TestParseReportsEachFailedCheck(t *testing.T) {
	l := append([]string(nil), specimens[TD3]...)
	l[1] = l[1][:27] + "8" + l[1][28:] // expiry check digit 9 → 8
	m, err := ParseMRZ(l)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := m.Check(CheckExpiryDate)
	if !ok || c.Valid || c.Printed != '8' || c.Computed != '9' {
		t.Errorf("expiry check: %+v", c)
	}
	if b, _ := m.Check(CheckBirthDate); !b.Valid {
		t.Error("birth check should still pass")
	}
	if comp, _ := m.Check(CheckComposite); comp.Valid {
		t.Error("composite covers the expiry check and must fail")
	}
	err = m.Err()
	var ce *CheckError
	if !errors.Is(err, ErrCheckDigit) || !errors.As(err, &ce) || !strings.Contains(err.Error(), "expiry date") {
		t.Errorf("Err() = %v", err)
	}
}

func TestParseTypedErrors(t *testing.T) {
	var fe *FormatError
	for _, lines := range [][]string{nil, {"P<UTO"}, {"abc", "def", "ghi", "jkl"}, {strings.Repeat("<", 44), strings.Repeat("<", 36)}} {
		if _, err := ParseMRZ(lines); !errors.Is(err, ErrFormat) || !errors.As(err, &fe) {
			t.Errorf("%q: %v", lines, err)
		}
	}
	bad := []string{specimens[TD2][0], "D23145890 UTO7408122F1204159<<<<<<<6"}
	_, err := ParseMRZ(bad)
	var ce *CharError
	if !errors.Is(err, ErrCharset) || !errors.As(err, &ce) || ce.Line != 1 || ce.Col != 9 {
		t.Errorf("space: %v", err)
	}
}

func TestLongDocumentNumber(t *testing.T) {
	// TD1 with a 12-character number: 9 in place, '<', the last 3 and
	// their check digit at the start of the optional data.
	num := "D23145890123"
	cd, _ := CheckDigit(num)
	l0 := "I<UTO" + num[:9] + "<" + num[9:] + string(cd) + "<<<<<<<<<<<"
	l1 := "7408122F1204159UTO<<<<<<<<<<<"
	comp, _ := CheckDigit(l0[5:30] + l1[0:7] + l1[8:15] + l1[18:29])
	m, err := ParseMRZ([]string{l0, l1 + string(comp), "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"})
	if err != nil {
		t.Fatal(err)
	}
	if m.DocumentNumber != num || !m.Valid() || m.OptionalData != "" {
		t.Errorf("number %q valid %v optional %q checks %v", m.DocumentNumber, m.Valid(), m.OptionalData, m.Checks)
	}
}

func TestParseOCRRepairsOnlyWhatChecksConfirm(t *testing.T) {
	ocr := []string{
		"P<UT0ERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<", // 0 for O in the state, two fillers short
		"L898902C36UTO74O8I22F12O4159ZE184226B<<<<<1O",
	}
	m, err := ParseOCR(ocr)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Valid() || m.BirthDateRaw != "740812" || m.ExpiryDateRaw != "120415" || m.IssuingState != "UTO" {
		t.Fatalf("repaired: %v\n%s", m.Checks, m)
	}
	if m.String() != strings.Join(specimens[TD3], "\n") {
		t.Errorf("lines:\n%s", m)
	}
	confirmed, unconfirmed := 0, 0
	for _, r := range m.Repairs {
		if r.Confirmed {
			confirmed++
		} else {
			unconfirmed++
		}
	}
	if confirmed != 4 || unconfirmed != 1 {
		t.Errorf("repairs %+v", m.Repairs)
	}

	// A letter in a date whose check digit no confusion can satisfy stays.
	ocr[1] = "L898902C36UTO7408I25F1204159ZE184226B<<<<<10"
	m, err = ParseOCR(ocr)
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := m.Check(CheckBirthDate); c.Valid || m.BirthDateRaw != "7408I2" {
		t.Errorf("unconfirmed date repair applied: %q %+v", m.BirthDateRaw, c)
	}
}

func TestParseOCRDocumentNumberNeedsEvidence(t *testing.T) {
	// O for 0 in the alphanumeric document number: both are legal there,
	// and the composite weighs the number exactly as its own check does,
	// so a single check digit is all the evidence there is. Without a
	// second reading the number stays as read.
	l := []string{specimens[TD3][0], "L8989O2C36UTO7408122F1204159ZE184226B<<<<<10"}
	m, err := ParseOCR(l)
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := m.Check(CheckDocumentNumber); c.Valid || m.DocumentNumber != "L8989O2C3" || len(m.Repairs) != 0 {
		t.Errorf("guessed a repair: %q %v", m.DocumentNumber, m.Repairs)
	}
	// When the other OCR engine read a 0 there, the check settles it.
	alts := [][]string{make([]string, 44), make([]string, 44)}
	alts[1][5] = "0"
	m, err = parseOCR(l, alts)
	if err != nil {
		t.Fatal(err)
	}
	if m.DocumentNumber != "L898902C3" || !m.Valid() || len(m.Repairs) != 1 || !m.Repairs[0].Confirmed {
		t.Errorf("number %q checks %v repairs %v", m.DocumentNumber, m.Checks, m.Repairs)
	}
	// Letters the check cannot tell from zeros are read as zeros.
	m, err = ParseOCR([]string{"P<POLKOWALSKA<KWIATKOWSKA<<JOANNA<<<<<<<<<<<", "AAQQQOOO00POL6002084F1412314<<<<<<<<<<<<<<<4"})
	if err != nil {
		t.Fatal(err)
	}
	if m.DocumentNumber != "AA0000000" || !m.Valid() {
		t.Errorf("number %q checks %v", m.DocumentNumber, m.Checks)
	}
	// Visas have no composite; forced repairs still need their own check.
	v := []string{specimens[MRVB][0], "L8988901C4XXX4OO9O78F9612109<<<<<<<<"}
	m, err = ParseOCR(v)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Valid() || m.BirthDateRaw != "400907" {
		t.Errorf("visa: %v %s", m.Checks, m)
	}
}

func TestDates(t *testing.T) {
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		in          string
		birth, expy string
	}{
		{"740812", "1974-08-12", "1974-08-12"},
		{"260615", "2026-06-15", "2026-06-15"},
		{"260616", "1926-06-16", "2026-06-16"},
		{"460101", "1946-01-01", "2046-01-01"},
		{"470101", "1947-01-01", "1947-01-01"},
	}
	for _, c := range cases {
		b, err := ResolveBirthDate(c.in, now)
		if err != nil || b.Format("2006-01-02") != c.birth {
			t.Errorf("birth %s = %v %v, want %s", c.in, b, err, c.birth)
		}
		e, err := ResolveExpiryDate(c.in, now)
		if err != nil || e.Format("2006-01-02") != c.expy {
			t.Errorf("expiry %s = %v %v, want %s", c.in, e, err, c.expy)
		}
	}
	for _, bad := range []string{"740230", "7408<<", "741312", "12345", "7408I2"} {
		if _, err := ResolveBirthDate(bad, now); !errors.Is(err, ErrDate) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	m := &MRZ{BirthDateRaw: "080229", ExpiryDateRaw: "260615"}
	if exp, _ := m.Expired(now); exp {
		t.Error("valid through its expiry day")
	}
	if exp, _ := m.Expired(now.AddDate(0, 0, 1)); !exp {
		t.Error("expired the day after")
	}
	for d, want := range map[string]int{"2026-02-28": 17, "2026-03-01": 18, "2026-06-15": 18} {
		at, _ := time.Parse("2006-01-02", d)
		if age, _ := m.Age(at); age != want {
			t.Errorf("age at %s = %d, want %d", d, age, want)
		}
	}
}
