// Package aamva parses the data of the PDF417 barcode on North American
// driving licences and ID cards: the AAMVA DL/ID Card Design Standard,
// Annex D, versions 1 (DL/ID-2000) to 10 (2020) and what jurisdictions
// actually print. It is pure Go and takes bytes; reading the symbol off an
// image is package barcode's job.
//
// The parser is strict about bounds and lenient about layout: the header
// may lose its separators or carry wrong offsets, subfiles may lack their
// terminators, old cards name elements differently (DAA full name, DCT
// given names), dates come as MMDDCCYY (US) or CCYYMMDD (Canada, and
// version 1). Whatever the input, it returns a License or a typed error;
// it never panics.
package aamva

import (
	"errors"
	"fmt"
	"time"
)

var (
	// ErrNotAAMVA means the data has no AAMVA header (compliance
	// indicator, "ANSI " or "AAMVA", issuer number, version).
	ErrNotAAMVA = errors.New("aamva: not AAMVA barcode data")
	// ErrNoSubfile means the header parsed but no DL or ID subfile with
	// any data element could be found.
	ErrNoSubfile = errors.New("aamva: no DL or ID subfile")
	// ErrTooLarge means the data is longer than any PDF417 symbol holds.
	ErrTooLarge = errors.New("aamva: data too large")
)

// MaxSize bounds the input: a PDF417 symbol holds at most 1850 text
// characters, and licences use well under half of that.
const MaxSize = 4096

// Header is the file header that opens every AAMVA barcode.
type Header struct {
	FileType string // "ANSI", or "AAMVA" on some version-1 cards
	IIN      string // issuer identification number, 6 digits
	// Version is the AAMVA version number: 1 for DL/ID-2000, 2 for the
	// 2003 specification, … 9 for 2016, 10 for 2020.
	Version int
	// JurisdictionVersion is the issuer's own version, -1 where the
	// header has none (version 1 and earlier).
	JurisdictionVersion int
	Entries             int          // number of subfiles announced
	Designators         []Designator // as announced; offsets may be wrong
}

// Designator announces one subfile: its type ("DL", "ID", or a
// jurisdiction's "Z?") and where the header claims it lies. Offset and
// Length are -1 where the header holds no number.
type Designator struct {
	Type           string
	Offset, Length int
}

// Sex as the DBC element codes it.
type Sex int

// DBC values: 1 male, 2 female, 9 not specified (version 1: M, F).
const (
	SexAbsent Sex = iota
	SexMale
	SexFemale
	SexUnspecified
)

// License is what a DL or ID subfile says about its holder. Empty strings,
// zero numbers and zero times mean the element was absent or unreadable.
type License struct {
	Header Header
	Type   string // "DL" (driving licence) or "ID" (identification card)
	// Elements holds every element of the subfile, by its three-letter
	// code, value trimmed, for what the fields below do not cover.
	Elements map[string]string

	FamilyName, FirstName, MiddleName, Suffix string
	// Truncated reports the DDE/DDF/DDG flags: the family, first or
	// middle name was cut to fit the card.
	FamilyTruncated, FirstTruncated, MiddleTruncated bool

	DateOfBirth, Issued, Expires time.Time // dates at 00:00 UTC

	Sex          Sex
	EyeColor     string // ANSI D-20 code, e.g. "BLU"
	HairColor    string // e.g. "BRO"
	HeightInches int
	WeightPounds int

	Street, Street2, City string
	State                 string // DAJ: the address's jurisdiction code
	PostalCode            string // as printed, trimmed
	Country               string // ISO 3166 alpha-3: "USA", "CAN", "MEX"

	Number                string // DAQ: the licence or ID number
	Class                 string // DCA (version 1: DAR)
	DocumentDiscriminator string // DCF

	// Issuer is the jurisdiction the IIN belongs to; Code is empty for
	// an IIN this package does not know.
	Issuer Jurisdiction
}

// Parse reads AAMVA barcode data, as barcode.Result.Bytes holds it.
func Parse(data []byte) (*License, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes (max %d)", ErrTooLarge, len(data), MaxSize)
	}
	h, end, err := parseHeader(data)
	if err != nil {
		return nil, err
	}
	typ, elems := findSubfile(data, h, end)
	if len(elems) == 0 {
		return nil, ErrNoSubfile
	}
	return build(h, typ, elems), nil
}

// Expired reports whether the card's expiry date lies before now's date
// (a card is valid through its expiry day). A card without an expiry date
// has not expired.
func (l *License) Expired(now time.Time) bool {
	if l.Expires.IsZero() {
		return false
	}
	return dateOf(now).After(l.Expires)
}

// Age is the holder's age in whole years on now's date; ok is false
// without a date of birth or for one after now.
func (l *License) Age(now time.Time) (years int, ok bool) {
	if l.DateOfBirth.IsZero() {
		return 0, false
	}
	today := dateOf(now)
	if today.Before(l.DateOfBirth) {
		return 0, false
	}
	b := l.DateOfBirth
	years = today.Year() - b.Year()
	if today.Month() < b.Month() || (today.Month() == b.Month() && today.Day() < b.Day()) {
		years--
	}
	return years, true
}

// dateOf is t's calendar date in t's own location, at 00:00 UTC, to
// compare with the card's dates.
func dateOf(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
