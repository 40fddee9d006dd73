package aamva

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// build maps a subfile's elements onto a License.
func build(h Header, typ string, el map[string]string) *License {
	get := func(codes ...string) string {
		for _, c := range codes {
			if v := value(el[c]); v != "" {
				return v
			}
		}
		return ""
	}
	l := &License{Header: h, Type: typ, Elements: el, Issuer: issuerOf(h.IIN)}

	l.FamilyName, l.FirstName, l.MiddleName = names(get)
	l.Suffix = get("DCU", "DAE")
	l.FamilyTruncated = get("DDE") == "T"
	l.FirstTruncated = get("DDF") == "T"
	l.MiddleTruncated = get("DDG") == "T"

	l.Street, l.Street2, l.City, l.State = get("DAG"), get("DAH"), get("DAI"), get("DAJ")
	l.PostalCode = get("DAK")
	l.Country = country(get("DCG"), l.Issuer)

	// Canada writes CCYYMMDD; so did version 1 everywhere. The other
	// order is tried when the first does not make a date, since some
	// issuers use the wrong one.
	ymdFirst := l.Country == "CAN" || h.Version <= 1
	l.DateOfBirth = date(get("DBB"), ymdFirst)
	l.Expires = date(get("DBA"), ymdFirst)
	l.Issued = date(get("DBD"), ymdFirst)

	l.Sex = sex(get("DBC"))
	l.EyeColor, l.HairColor = strings.ToUpper(get("DAY")), strings.ToUpper(get("DAZ"))
	l.HeightInches = height(get("DAU"), get("DAV"), h.Version)
	l.WeightPounds = weight(get("DAW"), get("DAX"))

	l.Number = get("DAQ")
	l.Class = get("DCA", "DAR")
	l.DocumentDiscriminator = get("DCF")
	return l
}

// value drops the placeholders issuers write for "no value".
func value(v string) string {
	switch strings.ToUpper(v) {
	case "NONE", "UNAVL", "UNAVAIL", "UNKNOWN", "N/A":
		return ""
	}
	return v
}

// names reads family, first and middle names from whichever elements the
// card's version uses: DCS/DAC/DAD (version 4 on), DCS and DCT given
// names (versions 2 and 3), DAB/DAC/DAD or DAA "FAMILY,FIRST,MIDDLE"
// (version 1).
func names(get func(...string) string) (family, first, middle string) {
	family, first, middle = get("DCS", "DAB"), get("DAC"), get("DAD")
	if first == "" {
		if given := splitNames(get("DCT")); len(given) > 0 {
			first = given[0]
			if middle == "" {
				middle = strings.Join(given[1:], " ")
			}
		}
	}
	if full := get("DAA"); full != "" && (family == "" || first == "") {
		f, g, m := fullName(full)
		if family == "" {
			family = f
		}
		if first == "" {
			first = g
			if middle == "" {
				middle = m
			}
		}
	}
	return family, first, strings.Join(splitNames(middle), " ")
}

// fullName splits a version-1 DAA value. The standard separates family,
// first and middle names with commas ('$' on some cards); without
// either, the value is taken as it is printed on the card, family last.
func fullName(s string) (family, first, middle string) {
	if strings.ContainsAny(s, ",$") {
		parts := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '$' })
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		switch {
		case len(parts) == 0:
		case len(parts) == 1:
			family = parts[0]
		case len(parts) == 2:
			family, first = parts[0], parts[1]
		default:
			family, first, middle = parts[0], parts[1], strings.Join(parts[2:], " ")
		}
		return family, first, middle
	}
	parts := strings.Fields(s)
	switch len(parts) {
	case 0:
	case 1:
		family = parts[0]
	default:
		first, family = parts[0], parts[len(parts)-1]
		middle = strings.Join(parts[1:len(parts)-1], " ")
	}
	return family, first, middle
}

func splitNames(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '$' })
}

// date reads the 8 digits of an AAMVA date in the preferred order, then
// in the other. Trailing characters are ignored (some issuers append
// letters); "00000000" and impossible dates read as no date.
func date(s string, ymdFirst bool) time.Time {
	if len(s) < 8 {
		return time.Time{}
	}
	d := s[:8]
	for _, c := range []byte(d) {
		if !isDigit(c) {
			return time.Time{}
		}
	}
	ymd := func() time.Time { return mkDate(d[0:4], d[4:6], d[6:8]) }
	mdy := func() time.Time { return mkDate(d[4:8], d[0:2], d[2:4]) }
	if ymdFirst {
		if t := ymd(); !t.IsZero() {
			return t
		}
		return mdy()
	}
	if t := mdy(); !t.IsZero() {
		return t
	}
	return ymd()
}

// mkDate accepts years 1900–2199: their first two digits can never be a
// month, so a date is never read validly both ways.
func mkDate(ys, ms, ds string) time.Time {
	y, _ := strconv.Atoi(ys)
	m, _ := strconv.Atoi(ms)
	d, _ := strconv.Atoi(ds)
	if y < 1900 || y > 2199 || m < 1 || m > 12 || d < 1 {
		return time.Time{}
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d {
		return time.Time{} // 31 April and the like
	}
	return t
}

func sex(s string) Sex {
	switch strings.ToUpper(s) {
	case "1", "M":
		return SexMale
	case "2", "F":
		return SexFemale
	case "9", "X", "U":
		return SexUnspecified
	}
	return SexAbsent
}

// height reads DAU ("070 IN", "175 CM"; version 1 also "5-08", "508",
// with DAV holding centimetres) as whole inches, 0 when unreadable or
// outside 20–108 inches.
func height(dau, dav string, version int) int {
	in := heightInches(strings.ToUpper(dau), version)
	if in == 0 && dav != "" {
		in = heightInches(strings.ToUpper(dav)+" CM", version)
	}
	if in < 20 || in > 108 {
		return 0
	}
	return in
}

func heightInches(s string, version int) int {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return 0
	case strings.HasSuffix(s, "CM"):
		cm, ok := number(strings.TrimSuffix(s, "CM"))
		if !ok {
			return 0
		}
		return int(math.Round(float64(cm) / 2.54))
	case strings.HasSuffix(s, "IN"):
		v, _ := number(strings.TrimSuffix(s, "IN"))
		return v
	case strings.ContainsAny(s, "'-\""):
		// Feet and inches: 5'-08", 5-08, 5'08".
		parts := strings.FieldsFunc(s, func(r rune) bool { return r == '\'' || r == '-' || r == '"' || r == ' ' })
		if len(parts) == 0 || len(parts) > 2 {
			return 0
		}
		ft, ok := number(parts[0])
		inch := 0
		if len(parts) == 2 {
			var ok2 bool
			inch, ok2 = number(parts[1])
			ok = ok && ok2 && inch < 12
		}
		if !ok || ft > 9 {
			return 0
		}
		return ft*12 + inch
	}
	v, ok := number(s)
	if !ok {
		return 0
	}
	// Bare digits: version 1's FII ("508" is 5 ft 8 in) where that reads
	// as a height, else inches.
	if version <= 1 && len(s) == 3 && v%100 < 12 && v/100 >= 3 && v/100 <= 8 {
		return (v/100)*12 + v%100
	}
	return v
}

// weight reads DAW (pounds) or else DAX (kilograms), as pounds; 0 when
// absent or outside 20–999 pounds.
func weight(daw, dax string) int {
	if v, ok := number(strings.TrimSuffix(strings.ToUpper(daw), "LB")); ok && v >= 20 && v <= 999 {
		return v
	}
	if v, ok := number(strings.TrimSuffix(strings.ToUpper(dax), "KG")); ok && v >= 10 && v <= 450 {
		return int(math.Round(float64(v) * 2.20462262))
	}
	return 0
}

// number parses a short run of decimal digits, spaces around allowed.
func number(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 6 {
		return 0, false
	}
	v := 0
	for _, c := range []byte(s) {
		if !isDigit(c) {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// country reads DCG, falling back on the issuer's country.
func country(dcg string, issuer Jurisdiction) string {
	switch strings.ToUpper(dcg) {
	case "USA", "US":
		return "USA"
	case "CAN", "CA", "CDN":
		return "CAN"
	case "MEX", "MX":
		return "MEX"
	}
	return issuer.Country
}
