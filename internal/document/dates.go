package document

import (
	"fmt"
	"time"
)

// ExpiryHorizon is how far ahead a two-digit expiry year may resolve: no
// travel document is issued for longer (passports run 10 years, some
// cards 15), so "49" in 2030 is 2049 but "60" is 1960.
const ExpiryHorizon = 20

// ResolveBirthDate turns an MRZ YYMMDD birth date into a date, choosing
// the century so the date is not after now (Doc 9303 gives no century;
// a person is never born in the future).
func ResolveBirthDate(yymmdd string, now time.Time) (time.Time, error) {
	y, m, d, err := splitDate(yymmdd)
	if err != nil {
		return time.Time{}, err
	}
	century := now.Year() / 100 * 100
	t, err := makeDate(century+y, m, d, now.Location())
	if err != nil {
		return time.Time{}, err
	}
	if t.After(now) {
		t = t.AddDate(-100, 0, 0)
	}
	return t, nil
}

// ResolveExpiryDate turns an MRZ YYMMDD expiry date into a date within
// (now − 80 years, now + ExpiryHorizon years].
func ResolveExpiryDate(yymmdd string, now time.Time) (time.Time, error) {
	y, m, d, err := splitDate(yymmdd)
	if err != nil {
		return time.Time{}, err
	}
	century := now.Year() / 100 * 100
	t, err := makeDate(century+y, m, d, now.Location())
	if err != nil {
		return time.Time{}, err
	}
	if t.Year() > now.Year()+ExpiryHorizon {
		t = t.AddDate(-100, 0, 0)
	} else if t.Year() <= now.Year()+ExpiryHorizon-100 {
		t = t.AddDate(100, 0, 0)
	}
	return t, nil
}

func splitDate(s string) (y, m, d int, err error) {
	if len(s) != 6 {
		return 0, 0, 0, fmt.Errorf("%w: %q is not YYMMDD", ErrDate, s)
	}
	for i := 0; i < 6; i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, 0, 0, fmt.Errorf("%w: %q has unknown or non-digit parts", ErrDate, s)
		}
	}
	n := func(i int) int { return int(s[i]-'0')*10 + int(s[i+1]-'0') }
	return n(0), n(2), n(4), nil
}

// makeDate refuses dates time.Date would normalise (31 February).
func makeDate(y, m, d int, loc *time.Location) (time.Time, error) {
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, loc)
	if m < 1 || m > 12 || t.Day() != d {
		return time.Time{}, fmt.Errorf("%w: no day %02d-%02d", ErrDate, m, d)
	}
	return t, nil
}

// BirthDate resolves the MRZ's birth date relative to now.
func (m *MRZ) BirthDate(now time.Time) (time.Time, error) {
	return ResolveBirthDate(m.BirthDateRaw, now)
}

// ExpiryDate resolves the MRZ's expiry date relative to now.
func (m *MRZ) ExpiryDate(now time.Time) (time.Time, error) {
	return ResolveExpiryDate(m.ExpiryDateRaw, now)
}

// Expired reports whether the document has expired at now: it is valid
// through its expiry day, in now's location.
func (m *MRZ) Expired(now time.Time) (bool, error) {
	exp, err := m.ExpiryDate(now)
	if err != nil {
		return false, err
	}
	return Expired(exp, now), nil
}

// Expired reports whether now falls after the calendar day expiry.
func Expired(expiry, now time.Time) bool {
	y, mo, d := now.Date()
	today := time.Date(y, mo, d, 0, 0, 0, 0, expiry.Location())
	return today.After(expiry)
}

// Age returns the holder's age in whole years at now.
func (m *MRZ) Age(now time.Time) (int, error) {
	b, err := m.BirthDate(now)
	if err != nil {
		return 0, err
	}
	return Age(b, now), nil
}

// Age is the number of whole years from birth to now; someone born on
// 29 February turns a year older on 1 March in common years.
func Age(birth, now time.Time) int {
	by, bm, bd := birth.Date()
	ny, nm, nd := now.Date()
	age := ny - by
	if nm < bm || (nm == bm && nd < bd) {
		age--
	}
	if age < 0 {
		return 0
	}
	return age
}
