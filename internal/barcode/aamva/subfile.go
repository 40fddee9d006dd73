package aamva

import "strings"

// maxElements bounds one subfile; Annex D defines fewer than 100.
const maxElements = 256

// findSubfile locates the DL or ID subfile and splits it into elements.
// It trusts the header's offsets only when they point at the subfile:
// issuers have been seen to write zero, letters, or a count one off.
func findSubfile(data []byte, h Header, end int) (string, map[string]string) {
	for _, d := range h.Designators {
		if d.Type != "DL" && d.Type != "ID" {
			continue
		}
		if start, ok := locate(data, d, end); ok {
			if el := elements(data, start); len(el) > 0 {
				return d.Type, el
			}
		}
	}
	// No usable designator: the first "DL" or "ID" that opens an element
	// after the header, else elements right after it.
	best, typ := -1, ""
	for _, t := range []string{"DL", "ID"} {
		if i := search(data, end, t); i >= 0 && (best < 0 || i < best) {
			best, typ = i, t
		}
	}
	if best >= 0 {
		return typ, elements(data, best)
	}
	if isElementCode(data, end) {
		return "DL", elements(data, end)
	}
	return "", nil
}

func locate(data []byte, d Designator, end int) (int, bool) {
	if d.Offset >= 0 {
		for _, off := range []int{d.Offset, d.Offset - 1, d.Offset + 1} {
			if opens(data, off, d.Type) {
				return off + 2, true
			}
		}
		if d.Offset >= end && isElementCode(data, d.Offset) {
			return d.Offset, true // the type is not repeated at the offset
		}
	}
	if i := search(data, end, d.Type); i >= 0 {
		return i, true
	}
	return 0, false
}

// search finds typ followed by an element code at or after from and
// returns the offset of that code.
func search(data []byte, from int, typ string) int {
	for i := max(from, 0); i+2 <= len(data); i++ {
		if opens(data, i, typ) {
			return i + 2
		}
	}
	return -1
}

// opens reports whether the subfile type typ starts at off, followed by
// a standard (D…) element code.
func opens(data []byte, off int, typ string) bool {
	return off >= 0 && off+2 <= len(data) && string(data[off:off+2]) == typ && isElementCode(data, off+2)
}

func isElementCode(data []byte, p int) bool {
	return p >= 0 && p+3 <= len(data) && data[p] == 'D' && isUpper(data[p+1]) && isUpper(data[p+2])
}

// elements splits a subfile from start: elements end at LF, the subfile
// at CR. A CR followed by LF is read as one separator, as keyboard-wedge
// scanners turn LF into CR LF; with no CR at all the subfile runs to the
// end of the data.
func elements(data []byte, start int) map[string]string {
	out := map[string]string{}
	add := func(b []byte) {
		if len(b) < 3 || !isUpper(b[0]) || !isUpper(b[1]) || !isUpper(b[2]) || len(out) >= maxElements {
			return
		}
		code := string(b[:3])
		if _, dup := out[code]; !dup {
			out[code] = text(b[3:])
		}
	}
	elem := start
	for i := start; i < len(data); i++ {
		switch data[i] {
		case dataElementSeparator:
			add(data[elem:i])
			elem = i + 1
		case segmentTerminator:
			add(data[elem:i])
			if i+1 < len(data) && data[i+1] == dataElementSeparator {
				i++
				elem = i + 1
				continue
			}
			return out
		}
	}
	add(data[elem:])
	return out
}

// text turns an element's bytes into a trimmed string: ASCII as is,
// bytes above 0x7F as ISO 8859-1 (accented names on Canadian cards),
// other control bytes dropped.
func text(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b))
	for _, c := range b {
		switch {
		case c >= 0x20 && c < 0x7f:
			sb.WriteByte(c)
		case c >= 0xa0:
			sb.WriteRune(rune(c))
		}
	}
	return strings.TrimSpace(sb.String())
}
