package aamva

import (
	"bytes"
	"fmt"
)

// The separators of Annex D.
const (
	dataElementSeparator = '\n'   // LF, ends each data element
	recordSeparator      = '\x1e' // RS, in the header only
	segmentTerminator    = '\r'   // CR, ends each subfile
)

// headerSearch is how far into the data the file type may start: "@",
// LF, RS, CR come first, and keyboard-wedge scanners are known to insert
// or mangle a few bytes there.
const headerSearch = 24

// parseHeader reads the file header and its subfile designators; end is
// the offset just after the last designator.
func parseHeader(data []byte) (h Header, end int, err error) {
	head := data[:min(len(data), headerSearch)]
	p, ft := -1, ""
	for _, cand := range []string{"ANSI", "AAMVA"} {
		if i := bytes.Index(head, []byte(cand)); i >= 0 && (p < 0 || i < p) {
			p, ft = i, cand
		}
	}
	if p < 0 {
		return Header{}, 0, fmt.Errorf("%w: no file type", ErrNotAAMVA)
	}
	h.FileType = ft
	p += len(ft)
	if p < len(data) && data[p] == ' ' {
		p++
	}
	if _, ok := digits(data, p, 6); !ok {
		return Header{}, 0, fmt.Errorf("%w: no issuer identification number", ErrNotAAMVA)
	}
	h.IIN = string(data[p : p+6])
	p += 6
	var ok bool
	if h.Version, ok = digits(data, p, 2); !ok {
		return Header{}, 0, fmt.Errorf("%w: no version number", ErrNotAAMVA)
	}
	p += 2
	// Version 2 and later put a jurisdiction version before the number
	// of entries; some issuers got that wrong either way, so the layout
	// whose first designator looks like one wins.
	layouts := []bool{true, false}
	if h.Version <= 1 {
		layouts = []bool{false, true}
	}
	for _, withJV := range layouts {
		q, jv := p, -1
		if withJV {
			if jv, ok = digits(data, q, 2); !ok {
				continue
			}
			q += 2
		}
		n, ok := digits(data, q, 2)
		if !ok || (n > 0 && !isDesignatorType(data, q+2)) {
			continue
		}
		h.JurisdictionVersion, h.Entries = jv, n
		h.Designators, end = parseDesignators(data, q+2, n)
		return h, end, nil
	}
	return Header{}, 0, fmt.Errorf("%w: no number of entries", ErrNotAAMVA)
}

// parseDesignators reads up to n designators (type, 4-digit offset,
// 4-digit length) from p, stopping at the first that is not one.
func parseDesignators(data []byte, p, n int) ([]Designator, int) {
	var ds []Designator
	for i := 0; i < n && isDesignatorType(data, p) && p+10 <= len(data); i++ {
		d := Designator{Type: string(data[p : p+2]), Offset: -1, Length: -1}
		// Some issuers fill these with letters; they are only a hint.
		if v, ok := digits(data, p+2, 4); ok {
			d.Offset = v
		}
		if v, ok := digits(data, p+6, 4); ok {
			d.Length = v
		}
		ds = append(ds, d)
		p += 10
	}
	return ds, p
}

// isDesignatorType reports whether two upper-case letters or digits start
// at p with at least one letter: "DL", "ID", "ZV", "Z1".
func isDesignatorType(data []byte, p int) bool {
	if p < 0 || p+2 > len(data) {
		return false
	}
	a, b := data[p], data[p+1]
	return isUpper(a) && (isUpper(b) || isDigit(b))
}

// digits parses the n decimal digits at p.
func digits(data []byte, p, n int) (int, bool) {
	if p < 0 || p+n > len(data) {
		return 0, false
	}
	v := 0
	for _, c := range data[p : p+n] {
		if !isDigit(c) {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
