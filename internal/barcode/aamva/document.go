package aamva

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Document is a License flattened to the strings a document-registration
// response shows (the Validation API's "document" object): dates as
// YYYY-MM-DD, gender MALE/FEMALE, colours spelt out, height in inches,
// weight in pounds. A nil field was absent from the barcode. It carries
// no JSON tags: a surface converts it to its own tagged struct of the
// same fields (Go converts between structs that differ only in tags).
type Document struct {
	PrivateName  *string // given names: first and middle
	Abbr3Country *string // ISO 3166 alpha-3, "USA"
	AbbrCountry  *string // ISO 3166 alpha-2, "US"
	Address      *string // street lines, ", "-joined
	City         *string
	Class        *string
	Country      *string // "United States of America", "Canada", "Mexico"
	Dob          *string
	Expires      *string
	Eyes         *string // "BLUE"
	FamilyName   *string
	FirstName    *string
	FullName     *string // first, middle, family
	Gender       *string // "MALE", "FEMALE"
	Hair         *string // "BLONDE"
	Height       *string // inches, "70"
	ID           *string // licence or ID number
	IDType       *string // "DL" or "ID"
	Issued       *string
	MiddleName   *string
	PostalBox    *string // the box number when the street is a PO box
	State        *string // jurisdiction of the address
	IssuedBy     *string // jurisdiction of the issuer (from the IIN)
	Template     *string // AAMVA version, two digits: "09"
	Weight       *string // pounds, "159"
	Zip          *string // "12345-6789", "12345", "K1A 0B1"
}

// Document flattens the licence.
func (l *License) Document() Document {
	given := join(" ", l.FirstName, l.MiddleName)
	d := Document{
		PrivateName: str(given),
		FamilyName:  str(l.FamilyName),
		FirstName:   str(l.FirstName),
		MiddleName:  str(l.MiddleName),
		FullName:    str(join(" ", given, l.FamilyName)),
		Address:     str(join(", ", l.Street, l.Street2)),
		City:        str(l.City),
		State:       str(l.State),
		Zip:         str(zip(l.PostalCode, l.Country)),
		PostalBox:   str(postalBox(l.Street, l.Street2)),
		Class:       str(l.Class),
		ID:          str(l.Number),
		IDType:      str(l.Type),
		Eyes:        str(colour(eyeColours, l.EyeColor)),
		Hair:        str(colour(hairColours, l.HairColor)),
		Template:    str(fmt.Sprintf("%02d", l.Header.Version)),
	}
	if c, ok := countries[l.Country]; ok {
		d.Abbr3Country, d.AbbrCountry, d.Country = str(l.Country), str(c.alpha2), str(c.name)
	}
	if l.Issuer.Code != "" {
		d.IssuedBy = str(l.Issuer.Code)
	} else {
		d.IssuedBy = str(l.State)
	}
	d.Dob, d.Expires, d.Issued = day(l.DateOfBirth), day(l.Expires), day(l.Issued)
	switch l.Sex {
	case SexMale:
		d.Gender = str("MALE")
	case SexFemale:
		d.Gender = str("FEMALE")
	}
	if l.HeightInches > 0 {
		d.Height = str(strconv.Itoa(l.HeightInches))
	}
	if l.WeightPounds > 0 {
		d.Weight = str(strconv.Itoa(l.WeightPounds))
	}
	return d
}

var countries = map[string]struct{ alpha2, name string }{
	"USA": {"US", "United States of America"},
	"CAN": {"CA", "Canada"},
	"MEX": {"MX", "Mexico"},
}

// ANSI D-20 colour codes as Annex D lists them.
var (
	eyeColours = map[string]string{
		"BLK": "BLACK", "BLU": "BLUE", "BRO": "BROWN", "GRY": "GRAY", "GRN": "GREEN",
		"HAZ": "HAZEL", "MAR": "MAROON", "PNK": "PINK", "DIC": "DICHROMATIC", "UNK": "",
	}
	hairColours = map[string]string{
		"BAL": "BALD", "BLK": "BLACK", "BLN": "BLONDE", "BRO": "BROWN", "GRY": "GRAY",
		"RED": "RED", "SDY": "SANDY", "WHI": "WHITE", "UNK": "",
	}
)

// colour spells out a code; a value that is not a code (some issuers
// write words) passes through.
func colour(names map[string]string, code string) string {
	if name, ok := names[code]; ok {
		return name
	}
	return code
}

// zip formats a postal code: US ZIP+4 as 12345-6789 (12345 when the +4
// is the zero filler Annex D prescribes for an unknown one), Canadian
// codes as A1A 1A1, anything else as printed.
func zip(code, country string) string {
	compact := strings.NewReplacer(" ", "", "-", "").Replace(code)
	switch {
	case country != "CAN" && len(compact) == 9 && allDigits(compact):
		if compact[5:] == "0000" {
			return compact[:5]
		}
		return compact[:5] + "-" + compact[5:]
	case country != "CAN" && len(compact) == 5 && allDigits(compact):
		return compact
	case country == "CAN" && len(compact) == 6:
		return strings.ToUpper(compact[:3] + " " + compact[3:])
	}
	return code
}

func allDigits(s string) bool {
	for _, c := range []byte(s) {
		if !isDigit(c) {
			return false
		}
	}
	return s != ""
}

var poBox = regexp.MustCompile(`^(?:P\.?\s?O\.?\s*BOX|POB|BOX)(?:\s+|\s*#\s*)(\d[A-Z0-9-]*)`)

// postalBox returns the box number when a street line is a PO box.
func postalBox(lines ...string) string {
	for _, l := range lines {
		if m := poBox.FindStringSubmatch(strings.ToUpper(l)); m != nil {
			return m[1]
		}
	}
	return ""
}

func day(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	return str(t.Format("2006-01-02"))
}

func str(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// join joins the non-empty parts.
func join(sep string, parts ...string) string {
	var kept []string
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, sep)
}
