package document

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// AddressCheck is what a proof of address (utility bill, bank statement)
// says about a verification case.
type AddressCheck struct {
	NameFound bool
	NameText  string // the words of the text that matched the name, as printed

	DateFound bool
	Date      time.Time // the most recent date on the document not after now
	DateText  string    // that date as found (accents folded, lower case)
	AgeDays   int       // whole days from Date to now
	Recent    bool      // AgeDays <= the maxAgeDays asked for

	Dates []FoundDate // every date found, in text order
}

// FoundDate is one date read from text.
type FoundDate struct {
	Time      time.Time
	Text      string
	Ambiguous bool // nn/nn/yyyy with both parts ≤ 12, read day first
}

// CheckProofOfAddress looks in OCR text for the holder's name and the
// document's date. The name matches regardless of case, accents, word
// order and small OCR slips (one wrong letter in four-to-seven-letter
// words, two in longer ones); all its words must appear close together.
// The date is the most recent one not after now, and Recent tells
// whether it is at most maxAgeDays old. Dates after now (due dates,
// contract ends) are listed in Dates but never chosen.
func CheckProofOfAddress(text, firstName, lastName string, now time.Time, maxAgeDays int) AddressCheck {
	var c AddressCheck
	c.NameText, c.NameFound = FindName(text, firstName, lastName)
	c.Dates = FindDates(text, now)
	limit := dayOf(now)
	for _, d := range c.Dates {
		if d.Time.After(limit) {
			continue
		}
		if !c.DateFound || d.Time.After(c.Date) {
			c.Date, c.DateText, c.DateFound = d.Time, d.Text, true
		}
	}
	if c.DateFound {
		c.AgeDays = int(limit.Sub(c.Date).Hours() / 24)
		c.Recent = c.AgeDays <= maxAgeDays
	}
	return c
}

func dayOf(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// fold lower-cases and strips accents; letters that do not decompose
// (ß, æ, ø, ł, đ, œ) are spelled out the way ICAO transliterates them.
func fold(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, s)
	if err != nil {
		out = s
	}
	return strings.NewReplacer("ß", "ss", "æ", "ae", "Æ", "AE", "ø", "o", "Ø", "O", "ł", "l", "Ł", "L",
		"đ", "d", "Đ", "D", "œ", "oe", "Œ", "OE", "þ", "th", "Þ", "TH").Replace(strings.ToLower(out))
}

type word struct {
	norm       string
	start, end int // byte offsets in the original text
}

// words splits text into folded letter words, keeping where each came
// from. Digits inside a word are read as the letters OCR mistakes them
// for (J0HN → john).
func words(text string) []word {
	var out []word
	start := -1
	flush := func(end int) {
		if start >= 0 {
			w := fold(text[start:end])
			w = strings.NewReplacer("0", "o", "1", "l", "5", "s", "8", "b").Replace(w)
			w = strings.Map(func(r rune) rune {
				if unicode.IsLetter(r) {
					return r
				}
				return -1
			}, w)
			if w != "" {
				out = append(out, word{w, start, end})
			}
			start = -1
		}
	}
	for i, r := range text {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '\'' || r == '’' {
			if start < 0 {
				start = i
			}
			continue
		}
		flush(i)
	}
	flush(len(text))
	return out
}

// FindName reports whether all words of the first and last name appear
// in text within a few words of each other, and returns that stretch of
// the text.
func FindName(text, firstName, lastName string) (string, bool) {
	var want []string
	for _, w := range words(firstName + " " + lastName) {
		want = append(want, w.norm)
	}
	if len(want) == 0 {
		return "", false
	}
	ws := words(text)
	window := len(want) + 2
	for i := range ws {
		used := make([]bool, len(want))
		found, last := 0, i
		for j := i; j < len(ws) && j < i+window; j++ {
			for k, n := range want {
				if !used[k] && similar(ws[j].norm, n) {
					used[k] = true
					found++
					last = j
					break
				}
			}
			// OCR often drops the space: "JOHNDOE".
			if found < len(want) && joinedMatch(ws[j].norm, want, used) {
				for k := range used {
					used[k] = true
				}
				found, last = len(want), j
			}
			if found == len(want) {
				return text[ws[i].start:ws[last].end], true
			}
		}
	}
	return "", false
}

// joinedMatch reports whether w is the unmatched name words run together,
// in either order.
func joinedMatch(w string, want []string, used []bool) bool {
	var rest []string
	for k, n := range want {
		if !used[k] {
			rest = append(rest, n)
		}
	}
	if len(rest) < 2 || len(rest) > 3 {
		return false
	}
	fwd := strings.Join(rest, "")
	for i, j := 0, len(rest)-1; i < j; i, j = i+1, j-1 {
		rest[i], rest[j] = rest[j], rest[i]
	}
	return similar(w, fwd) || similar(w, strings.Join(rest, ""))
}

// similar allows OCR slips in proportion to the word's length.
func similar(a, b string) bool {
	if a == b {
		return true
	}
	n := len([]rune(b))
	allow := 0
	switch {
	case n >= 8:
		allow = 2
	case n >= 4:
		allow = 1
	}
	return allow > 0 && editDistance(a, b, allow) <= allow
}

// editDistance is the optimal-string-alignment distance (Levenshtein
// plus adjacent transpositions, the usual typing and OCR slip), giving up
// past limit.
func editDistance(a, b string, limit int) int {
	ra, rb := []rune(a), []rune(b)
	if d := len(ra) - len(rb); d > limit || -d > limit {
		return limit + 1
	}
	rows := [3][]int{make([]int, len(rb)+1), make([]int, len(rb)+1), make([]int, len(rb)+1)}
	for j := range rows[0] {
		rows[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		prev2, prev, cur := rows[(i+1)%3], rows[(i+2)%3], rows[i%3]
		cur[0] = i
		best := i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
			best = min(best, cur[j])
		}
		if best > limit {
			return limit + 1
		}
	}
	return rows[len(ra)%3][len(rb)]
}

// Month names in English, French, German, Spanish, Italian and Dutch,
// accents folded; a prefix of three or more letters is accepted.
var months = map[string]int{
	"january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
	"september": 9, "october": 10, "november": 11, "december": 12,
	"janvier": 1, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6, "juillet": 7, "aout": 8,
	"septembre": 9, "octobre": 10, "novembre": 11, "decembre": 12,
	"januar": 1, "februar": 2, "marz": 3, "maerz": 3, "juni": 6, "juli": 7, "oktober": 10, "dezember": 12,
	"enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7, "agosto": 8,
	"septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12,
	"gennaio": 1, "febbraio": 2, "aprile": 4, "maggio": 5, "giugno": 6, "luglio": 7, "settembre": 9,
	"ottobre": 10, "dicembre": 12, "januari": 1, "februari": 2, "maart": 3, "mei": 5, "augustus": 8,
}

func monthOf(s string) (int, bool) {
	s = strings.TrimSuffix(s, ".")
	if m, ok := months[s]; ok {
		return m, true
	}
	if len(s) < 3 {
		return 0, false
	}
	found := 0
	for name, m := range months {
		if strings.HasPrefix(name, s) {
			if found != 0 && found != m {
				return 0, false // ambiguous prefix ("ma": march or may)
			}
			found = m
		}
	}
	return found, found != 0
}

var (
	reYMD      = regexp.MustCompile(`\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b`)
	reDMY      = regexp.MustCompile(`\b(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}|\d{2})\b`)
	reDayMonth = regexp.MustCompile(`\b(\d{1,2})(?:st|nd|rd|th|er|\.)?[\s-]*(?:of\s+|de\s+)?([a-z]{3,10})\.?,?[\s-]*(?:de\s+)?(\d{4})\b`)
	reMonthDay = regexp.MustCompile(`\b([a-z]{3,10})\.?[\s-]*(\d{1,2})(?:st|nd|rd|th)?,?[\s-]+(\d{4})\b`)
)

// FindDates returns the calendar dates in text, in the order they occur:
// 2024-01-15, 15/01/2024, 15.01.24, 15 Jan 2024, 15th of January 2024,
// January 15, 2024 and the same in French, German, Spanish, Italian and
// Dutch. Numeric dates are read day first unless the first part cannot be
// a day's month (01/15/2024 is 15 January); now only resolves two-digit
// years (never more than a year ahead).
func FindDates(text string, now time.Time) []FoundDate {
	s := ocrDigits(fold(text))
	type hit struct {
		at int
		d  FoundDate
	}
	var hits []hit
	taken := make([]bool, len(s)+1)
	add := func(loc []int, y, m, d int, amb bool) {
		for i := loc[0]; i < loc[1]; i++ {
			if taken[i] {
				return
			}
		}
		t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
		if m < 1 || m > 12 || d < 1 || t.Day() != d || y < 1900 || y > now.Year()+50 {
			return
		}
		for i := loc[0]; i < loc[1]; i++ {
			taken[i] = true
		}
		hits = append(hits, hit{loc[0], FoundDate{Time: t, Text: s[loc[0]:loc[1]], Ambiguous: amb}})
	}
	num := func(x string) int { n, _ := strconv.Atoi(x); return n }
	for _, loc := range reYMD.FindAllStringSubmatchIndex(s, -1) {
		add(loc, num(s[loc[2]:loc[3]]), num(s[loc[4]:loc[5]]), num(s[loc[6]:loc[7]]), false)
	}
	for _, loc := range reDMY.FindAllStringSubmatchIndex(s, -1) {
		a, b, y := num(s[loc[2]:loc[3]]), num(s[loc[4]:loc[5]]), num(s[loc[6]:loc[7]])
		if loc[7]-loc[6] == 2 {
			y += 2000
			if y > now.Year()+1 {
				y -= 100
			}
		}
		switch {
		case a > 12 && b <= 12:
			add(loc, y, b, a, false)
		case b > 12 && a <= 12:
			add(loc, y, a, b, false)
		default:
			add(loc, y, b, a, a != b)
		}
	}
	for _, loc := range reDayMonth.FindAllStringSubmatchIndex(s, -1) {
		if m, ok := monthOf(s[loc[4]:loc[5]]); ok {
			add(loc, num(s[loc[6]:loc[7]]), m, num(s[loc[2]:loc[3]]), false)
		}
	}
	for _, loc := range reMonthDay.FindAllStringSubmatchIndex(s, -1) {
		if m, ok := monthOf(s[loc[2]:loc[3]]); ok {
			add(loc, num(s[loc[6]:loc[7]]), m, num(s[loc[4]:loc[5]]), false)
		}
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].at < hits[j].at })
	out := make([]FoundDate, len(hits))
	for i, h := range hits {
		out[i] = h.d
	}
	return out
}

// ocrDigits reads o, l and i next to a digit as 0 and 1 ("2O24", "l5").
func ocrDigits(s string) string {
	b := []byte(s)
	isD := func(i int) bool { return i >= 0 && i < len(b) && b[i] >= '0' && b[i] <= '9' }
	for pass := 0; pass < 2; pass++ {
		for i, c := range b {
			if (c == 'o' || c == 'l' || c == 'i') && (isD(i-1) || isD(i+1)) {
				if c == 'o' {
					b[i] = '0'
				} else {
					b[i] = '1'
				}
			}
		}
	}
	return string(b)
}
