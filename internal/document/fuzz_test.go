package document

import (
	"strings"
	"testing"
	"time"
)

// FuzzParseMRZ feeds arbitrary lines to both parsers: they must return
// an MRZ or a typed error, never panic, and what they return must hold
// together.
func FuzzParseMRZ(f *testing.F) {
	for _, lines := range specimens {
		f.Add(strings.Join(lines, "\n"))
	}
	f.Add("P<UT0ERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<\nL898902C36UTO74O8I22F12O4159ZE184226B<<<<<1O")
	f.Add("IDD<<T220001293<<<<<<<<<<<<<<<\n6408125<2010315D<<<<<<<<<<<<<4\nMUSTERMANN<<ERIKA<<<<<<<<<<<<<")
	f.Add("\x00\xff<<<\n«««")
	f.Fuzz(func(t *testing.T, s string) {
		lines := strings.Split(s, "\n")
		if m, err := ParseMRZ(lines); err == nil {
			checkMRZ(t, m)
			if len(m.Repairs) != 0 {
				t.Fatal("ParseMRZ repaired")
			}
		} else if m != nil {
			t.Fatal("MRZ with error")
		}
		if m, err := ParseOCR(lines); err == nil {
			checkMRZ(t, m)
		}
	})
}

func checkMRZ(t *testing.T, m *MRZ) {
	t.Helper()
	if len(m.Lines) != m.Format.Lines() {
		t.Fatalf("%v with %d lines", m.Format, len(m.Lines))
	}
	for _, l := range m.Lines {
		if len(l) != m.Format.LineLength() {
			t.Fatalf("%v line of %d", m.Format, len(l))
		}
	}
	if m.Valid() != (m.Err() == nil) {
		t.Fatal("Valid and Err disagree")
	}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if b, err := m.BirthDate(now); err == nil && b.After(now) {
		t.Fatalf("birth %v after now", b)
	}
	_, _ = m.Expired(now)
}

// FuzzProofOfAddress feeds arbitrary text and names to the proof-of-
// address parser.
func FuzzProofOfAddress(f *testing.F) {
	f.Add("Bill date: 02/03/2024\nMs Marie-Claire Lefèvre", "Marie-Claire", "Lefevre", 90)
	f.Add("le 15 février 2024, Jürgen Groß", "Jurgen", "Gross", 30)
	f.Add("2O24-O1-l5 JOHNSMITH", "John", "Smith", 0)
	f.Add("\xff\xfe 31/12/99 mar 2024 ßßß", "ß", "", -1)
	now := time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, text, first, last string, days int) {
		c := CheckProofOfAddress(text, first, last, now, days)
		if c.DateFound && c.Date.After(now) {
			t.Fatalf("chose a future date %v", c.Date)
		}
		if c.Recent && (!c.DateFound || c.AgeDays > days) {
			t.Fatalf("recent without a recent date: %+v", c)
		}
		for _, d := range c.Dates {
			if d.Time.Year() < 1900 {
				t.Fatalf("date %v", d.Time)
			}
		}
		if c.NameFound && !strings.Contains(text, c.NameText) {
			t.Fatalf("match %q not in text", c.NameText)
		}
	})
}
