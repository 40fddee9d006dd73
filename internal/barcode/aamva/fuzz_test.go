package aamva

import (
	"errors"
	"testing"
	"unicode/utf8"
)

// FuzzParse: any bytes give a License or one of the package's errors,
// never a panic, and a License always holds sane values. The committed
// corpus in testdata/fuzz/FuzzParse holds real layouts and their quirks.
func FuzzParse(f *testing.F) {
	f.Add(ohio())
	f.Add(ohioSwapped())
	f.Add(Build("636012", 10, 1, Subfile{"DL", []Element{{"DBB", "19900704"}, {"DCG", "CAN"}, {"DAU", "165 CM"}}}))
	f.Add(Build("636025", 1, 0, Subfile{"DL", []Element{{"DAA", "DOE,JANE,Q"}, {"DAU", "508"}}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrNotAAMVA) && !errors.Is(err, ErrNoSubfile) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if l.Type != "DL" && l.Type != "ID" {
			t.Fatalf("type %q", l.Type)
		}
		if len(l.Header.IIN) != 6 || l.Header.Version < 0 || l.Header.Version > 99 || len(l.Header.Designators) > 99 {
			t.Fatalf("header %+v", l.Header)
		}
		if len(l.Elements) == 0 || len(l.Elements) > maxElements {
			t.Fatalf("%d elements", len(l.Elements))
		}
		for code, v := range l.Elements {
			if len(code) != 3 || !utf8.ValidString(v) {
				t.Fatalf("element %q = %q", code, v)
			}
			for _, r := range v {
				if r < 0x20 || r == 0x7f {
					t.Fatalf("control character in %s: %q", code, v)
				}
			}
		}
		for _, d := range []struct {
			name string
			y    int
			zero bool
		}{{"dob", l.DateOfBirth.Year(), l.DateOfBirth.IsZero()}, {"expiry", l.Expires.Year(), l.Expires.IsZero()}, {"issue", l.Issued.Year(), l.Issued.IsZero()}} {
			if !d.zero && (d.y < 1900 || d.y > 2199) {
				t.Fatalf("%s year %d", d.name, d.y)
			}
		}
		if l.HeightInches != 0 && (l.HeightInches < 20 || l.HeightInches > 108) {
			t.Fatalf("height %d", l.HeightInches)
		}
		doc := l.Document()
		if doc.IDType == nil || doc.Template == nil {
			t.Fatalf("document without type or template: %+v", doc)
		}
	})
}
