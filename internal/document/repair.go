package document

import (
	"bytes"
	"sort"
	"strings"
)

// OCR confusions by target class. A character is only ever replaced by one
// its class allows, and (outside names and country codes) only when a
// check digit then validates.
var (
	toDigit  = map[byte]string{'O': "0", 'Q': "0", 'D': "0", 'U': "0", 'C': "0", 'I': "1", 'L': "1", 'J': "1", 'T': "17", 'Z': "2", 'S': "5", 'G': "6", 'B': "8", 'A': "4", 'E': "8"}
	toLetter = map[byte]string{'0': "O", '1': "I", '2': "Z", '4': "A", '5': "S", '6': "G", '7': "T", '8': "B", '3': "B"}
	// Alphanumeric fields hold both, so a confusion can go either way;
	// '<' misread as K or L is the commonest of all.
	alnumAlt = map[byte]string{
		'0': "OQD", 'O': "0Q", 'Q': "0O", 'D': "0O", '1': "I", 'I': "1", '2': "Z", 'Z': "2",
		'5': "S", 'S': "5", '6': "G", 'G': "6", '8': "B", 'B': "8", '<': "KL", 'K': "<", 'L': "<",
	}
	toSex = map[byte]byte{'H': 'M', 'N': 'M', 'W': 'M', 'E': 'F', 'P': 'F', 'K': '<', 'L': '<'}
)

// Bounds of the repair search: they keep it fast and, more importantly,
// keep a single mod-10 check digit from "confirming" an arbitrary guess.
const (
	maxForced   = 4 // wrong-class characters in one field
	maxVariants = 4096
)

// ParseOCR parses MRZ lines as an OCR engine returns them: spaces and
// lower case are tolerated, a line one or two characters off its length
// has its filler run adjusted, characters of the wrong class for their
// field (a letter in a date) are replaced by their usual confusions, and
// those repairs are kept only where the check digits then validate. Every
// change is listed in MRZ.Repairs. Names and country codes, which no check
// digit covers, get only digit→letter fixes, marked unconfirmed.
func ParseOCR(lines []string) (*MRZ, error) { return parseOCR(lines, nil) }

// parseOCR is ParseOCR with per-character alternatives from a second OCR
// reading (alts[i][j] for line i, column j, as given); the check digits
// choose among them as among the usual confusions.
func parseOCR(lines []string, alts [][]string) (*MRZ, error) {
	if alts != nil {
		for i, l := range lines {
			if i >= len(alts) || len(alts[i]) != len(l) || strings.ContainsAny(l, " \t\r") {
				alts = nil // only kept for lines given already clean
				break
			}
		}
	}
	clean := cleanLines(lines)
	f, err := guessFormat(clean)
	if err != nil {
		return nil, err
	}
	n := f.LineLength()
	buf := make([][]byte, len(clean))
	extra := make([][]string, len(clean))
	for i, l := range clean {
		buf[i] = []byte(fitLength(l, n))
		if alts != nil && len(clean) == len(lines) && len(l) == n && len(alts[i]) == n {
			extra[i] = alts[i]
		}
	}
	r := &repairer{f: f, lines: buf, cls: classes(f), extra: extra}
	r.fixUncovered()
	r.fixChecked()
	out := make([]string, len(buf))
	for i, b := range buf {
		out[i] = string(b)
	}
	for i, l := range out {
		for j := 0; j < len(l); j++ {
			if value(l[j]) < 0 {
				return nil, &CharError{Line: i, Col: j, Char: rune(l[j])}
			}
		}
	}
	m := parse(f, out)
	m.Repairs = r.repairs
	sort.Slice(m.Repairs, func(a, b int) bool {
		if m.Repairs[a].Line != m.Repairs[b].Line {
			return m.Repairs[a].Line < m.Repairs[b].Line
		}
		return m.Repairs[a].Col < m.Repairs[b].Col
	})
	return m, nil
}

// cleanLines upper-cases, drops spaces and empty lines, and maps the
// characters OCR engines print for '<' onto it.
func cleanLines(lines []string) []string {
	var out []string
	for _, l := range lines {
		var b strings.Builder
		for _, r := range strings.ToUpper(l) {
			switch {
			case r == ' ' || r == '\t' || r == '\r':
			case r == '«' || r == '‹' || r == '≪' || r == '〈' || r == '(' || r == '[' || r == '{':
				b.WriteByte('<')
			case r < 128 && value(byte(r)) >= 0:
				b.WriteRune(r)
			default:
				b.WriteByte('?') // kept so lengths stay right; fails the charset check unless repaired
			}
		}
		if b.Len() > 0 {
			out = append(out, b.String())
		}
	}
	return out
}

// guessFormat allows each line up to two characters off the nominal length.
func guessFormat(lines []string) (Format, error) {
	lengths := make([]int, len(lines))
	for i, l := range lines {
		lengths[i] = len(l)
	}
	near := func(n int) bool {
		for _, l := range lines {
			if len(l) < n-2 || len(l) > n+2 {
				return false
			}
		}
		return true
	}
	switch {
	case len(lines) == 3 && near(30):
		return TD1, nil
	case len(lines) == 2 && near(36):
		if lines[0][0] == 'V' {
			return MRVB, nil
		}
		return TD2, nil
	case len(lines) == 2 && near(44):
		if lines[0][0] == 'V' {
			return MRVA, nil
		}
		return TD3, nil
	}
	return FormatUnknown, &FormatError{Lengths: lengths}
}

// fitLength stretches or shrinks the last filler run of a line to make it
// n long: OCR miscounts long runs of '<' far more often than anything else.
func fitLength(l string, n int) string {
	d := n - len(l)
	if d == 0 {
		return l
	}
	end := strings.LastIndex(l, "<<")
	if end < 0 {
		if d > 0 {
			return l + strings.Repeat("<", d)
		}
		return l[:n]
	}
	start := end
	for start > 0 && l[start-1] == '<' {
		start--
	}
	end += 2
	for end < len(l) && l[end] == '<' {
		end++
	}
	run := end - start
	if d > 0 {
		return l[:end] + strings.Repeat("<", d) + l[end:]
	}
	if run+d >= 1 {
		return l[:start] + l[start-d:]
	}
	return l[:n]
}

type pos struct{ line, col int }

type sub struct {
	p  pos
	to byte
}

type repairer struct {
	f       Format
	lines   [][]byte
	cls     [][]class
	extra   [][]string // alternatives from another reading, per line and column
	repairs []Repair
}

func (r *repairer) at(p pos) byte { return r.lines[p.line][p.col] }

// fixUncovered repairs positions no check digit covers: document code,
// issuing state, nationality, names and sex, where only letters and '<'
// are allowed.
func (r *repairer) fixUncovered() {
	for i, row := range r.cls {
		for j, c := range row {
			ch := r.lines[i][j]
			if allowed(c, ch) {
				continue
			}
			var to byte
			switch c {
			case classAlpha:
				if alt := toLetter[ch]; alt != "" {
					to = alt[0]
				} else if ch == '?' {
					to = '<'
				}
			case classSexChar:
				to = toSex[ch]
			default:
				continue
			}
			if to != 0 {
				r.lines[i][j] = to
				r.repairs = append(r.repairs, Repair{Line: i, Col: j, From: ch, To: to})
			}
		}
	}
	r.clearNameTail()
}

// clearNameTail turns everything after the first "<<<" that follows the
// surname separator into filler: names never hold three fillers in a row,
// and OCR turns long filler runs into K, L, C, E and the like.
func (r *repairer) clearNameTail() {
	s := layoutOf(r.f).name
	field := r.lines[s.line][s.from:s.to]
	sep := bytes.Index(field, []byte("<<"))
	if sep < 0 {
		return
	}
	k := bytes.Index(field[sep+2:], []byte("<<<"))
	if k < 0 {
		return
	}
	for j := sep + 2 + k; j < len(field); j++ {
		if field[j] != '<' {
			r.repairs = append(r.repairs, Repair{Line: s.line, Col: s.from + j, From: field[j], To: '<'})
			field[j] = '<'
		}
	}
}

// group is one check digit with the positions it covers.
type group struct {
	kind  CheckKind
	data  []pos
	check pos
	date  bool
}

func spanPos(s span) []pos {
	out := make([]pos, 0, s.to-s.from)
	for j := s.from; j < s.to; j++ {
		out = append(out, pos{s.line, j})
	}
	return out
}

func (r *repairer) groups() (own []group, composite *group) {
	lay := layoutOf(r.f)
	lines := make([]string, len(r.lines))
	for i, b := range r.lines {
		lines[i] = string(b)
	}
	num := group{kind: CheckDocumentNumber, data: spanPos(lay.number), check: pos{lay.numberCheck.line, lay.numberCheck.from}}
	if ext := numberExtension(lines, lay); ext != "" {
		o := lay.optional
		num.data = append(num.data, spanPos(span{o.line, o.from, o.from + len(ext) - 1})...)
		num.check = pos{o.line, o.from + len(ext) - 1}
	}
	own = append(own, num,
		group{kind: CheckBirthDate, data: spanPos(lay.birth), check: pos{lay.birthCheck.line, lay.birthCheck.from}, date: true},
		group{kind: CheckExpiryDate, data: spanPos(lay.expiry), check: pos{lay.expiryCheck.line, lay.expiryCheck.from}, date: true})
	if lay.optionalCheck.to > 0 {
		own = append(own, group{kind: CheckOptionalData, data: spanPos(lay.optional), check: pos{lay.optionalCheck.line, lay.optionalCheck.from}})
	}
	if lay.composite.to > 0 {
		c := group{kind: CheckComposite, check: pos{lay.composite.line, lay.composite.from}}
		for _, s := range lay.compositeData {
			c.data = append(c.data, spanPos(s)...)
		}
		composite = &c
	}
	return own, composite
}

// valid evaluates g's check with subs applied.
func (r *repairer) valid(g group, subs []sub) bool {
	get := func(p pos) byte {
		for _, s := range subs {
			if s.p == p {
				return s.to
			}
		}
		return r.at(p)
	}
	data := make([]byte, len(g.data))
	for i, p := range g.data {
		data[i] = get(p)
	}
	want, ok := CheckDigit(string(data))
	if !ok {
		return false
	}
	if g.date && !plausibleDate(string(data)) {
		return false
	}
	got := get(g.check)
	if g.kind == CheckOptionalData && strings.Trim(string(data), "<") == "" {
		return got == '<' || got == '0'
	}
	return got == want
}

// plausibleDate accepts YYMMDD with a real month and day, or '<' for
// unknown parts (part 3 allows that for birth dates).
func plausibleDate(s string) bool {
	if len(s) != 6 {
		return false
	}
	for i := 0; i < 6; i++ {
		if !(s[i] >= '0' && s[i] <= '9') && s[i] != '<' {
			return false
		}
	}
	if !strings.Contains(s[:2], "<") && !strings.Contains(s[2:4], "<") {
		m := int(s[2]-'0')*10 + int(s[3]-'0')
		if m < 1 || m > 12 {
			return false
		}
	}
	if !strings.Contains(s[4:], "<") {
		d := int(s[4]-'0')*10 + int(s[5]-'0')
		if d < 1 || d > 31 {
			return false
		}
	}
	return true
}

// alternatives lists what p may be changed to and whether it must
// change. extraOnly limits a right-class character's alternatives to
// those another OCR reading saw there.
func (r *repairer) alternatives(p pos, extraOnly bool) (alts string, forced bool) {
	ch := r.at(p)
	c := r.cls[p.line][p.col]
	forced = !allowed(c, ch)
	if forced || !extraOnly {
		switch c {
		case classDigit, classCheck:
			alts = toDigit[ch]
			if c == classCheck && ch == 'K' {
				alts += "<"
			}
		case classAlnum:
			alts = alnumAlt[ch]
			if ch == '?' {
				alts = "<"
			}
		}
	}
	if r.extra[p.line] != nil {
		alts += r.extra[p.line][p.col]
	}
	var keep []byte
	for i := 0; i < len(alts); i++ {
		if alts[i] != ch && allowed(c, alts[i]) && strings.IndexByte(string(keep), alts[i]) < 0 {
			keep = append(keep, alts[i])
		}
	}
	return string(keep), forced
}

// variants enumerates the substitution sets over ps that change every
// forced position and at most one other, forced-only sets first. ok is
// false when the search would exceed its bounds.
func (r *repairer) variants(ps []pos, extraOnly bool) (out []variantSet, ok bool) {
	var forced, optional []pos
	alts := map[pos]string{}
	for _, p := range ps {
		a, f := r.alternatives(p, extraOnly)
		alts[p] = a
		switch {
		case f && a == "":
			return nil, false // a character nothing can repair
		case f:
			forced = append(forced, p)
		case a != "":
			optional = append(optional, p)
		}
	}
	if len(forced) > maxForced {
		return nil, false
	}
	base := [][]sub{nil}
	for _, p := range forced {
		var next [][]sub
		for _, b := range base {
			for i := 0; i < len(alts[p]); i++ {
				next = append(next, append(append([]sub(nil), b...), sub{p, alts[p][i]}))
			}
		}
		base = next
	}
	for _, b := range base {
		out = append(out, variantSet{subs: b})
	}
	for _, p := range optional {
		for i := 0; i < len(alts[p]); i++ {
			for _, b := range base {
				out = append(out, variantSet{subs: append(append([]sub(nil), b...), sub{p, alts[p][i]}), optional: true})
				if len(out) > maxVariants {
					return nil, false
				}
			}
		}
	}
	// The other engine's reading of the whole field, when it differs in
	// more than one place.
	var whole []sub
	for _, p := range optional {
		if e := r.extraAt(p); e != 0 && strings.IndexByte(alts[p], e) >= 0 {
			whole = append(whole, sub{p, e})
		}
	}
	if len(whole) > 1 {
		for _, b := range base {
			out = append(out, variantSet{subs: append(append([]sub(nil), b...), whole...), optional: true})
		}
	}
	return out, true
}

// extraAt is the other reading's character at p, or 0.
func (r *repairer) extraAt(p pos) byte {
	if r.extra[p.line] == nil || r.extra[p.line][p.col] == "" {
		return 0
	}
	return r.extra[p.line][p.col][0]
}

// variantSet is one way to repair a field; optional means it changes a
// character its field allows, which a single mod-10 check cannot be
// trusted to confirm on its own.
type variantSet struct {
	subs     []sub
	optional bool
}

// candidates returns the fewest-change sets that make g validate: one
// empty set when it already does, none when nothing does.
func (r *repairer) candidates(g group) []variantSet {
	// Right-class changes are only drawn from what the other OCR engine
	// read: the composite weighs the document number and optional data
	// exactly as their own checks do, so it cannot confirm a guess there.
	all, ok := r.variants(append(append([]pos(nil), g.data...), g.check), true)
	if !ok {
		return nil
	}
	var best []variantSet
	for _, v := range all {
		if len(best) > 0 && v.optional && !best[0].optional {
			break
		}
		if !r.valid(g, v.subs) {
			continue
		}
		switch {
		case len(best) == 0 || len(v.subs) < len(best[0].subs):
			best = []variantSet{v}
		case len(v.subs) == len(best[0].subs):
			best = append(best, v)
		}
	}
	return best
}

// fixChecked applies the repairs the check digits confirm:
//   - a wrong-class character (a letter in a date) replaced by one of its
//     usual confusions, when that makes the field's own check validate
//     and no other replacement does;
//   - a right-class character (O or 0 in a document number) changed only
//     when the field's own check and the composite both validate after
//     it, a ~1 % chance for a wrong guess rather than ~10 %;
//   - positions only the composite covers only from a wrong-class
//     character or the other OCR engine's reading.
//
// A field whose repair stays ambiguous is left as read.
func (r *repairer) fixChecked() {
	own, comp := r.groups()
	cands := make([][]variantSet, len(own))
	for i, g := range own {
		cands[i] = r.candidates(g)
	}
	applyStrong := func() {
		for i, g := range own {
			if len(cands[i]) == 1 && !cands[i][0].optional {
				r.apply(cands[i][0].subs, g.kind)
			}
		}
	}
	if comp == nil {
		applyStrong()
		r.preferDigits(own)
		return
	}
	covered := map[pos]bool{}
	for _, g := range own {
		for _, p := range g.data {
			covered[p] = true
		}
		covered[g.check] = true
	}
	var rest []pos
	for _, p := range append(append([]pos(nil), comp.data...), comp.check) {
		if !covered[p] {
			rest = append(rest, p)
		}
	}
	// Positions only the composite covers: a single check, so only
	// wrong-class characters, and the composite digit as the other
	// engine read it, may change there.
	restVars, ok := r.variants(rest, true)
	if !ok {
		restVars = []variantSet{{}}
	}
	var keep []variantSet
	for _, v := range restVars {
		if !v.optional || len(v.subs) > 0 && v.subs[len(v.subs)-1].p == comp.check {
			keep = append(keep, v)
		}
	}
	restVars = keep
	choices := make([][]variantSet, len(own))
	for i := range own {
		choices[i] = cands[i]
		if len(choices[i]) == 0 {
			choices[i] = []variantSet{{}}
		}
	}
	type combo struct {
		pick []int
		rest int
		n    int
	}
	var best []combo
	budget := maxVariants * 4
	var walk func(i int, pick []int, subs []sub)
	walk = func(i int, pick []int, subs []sub) {
		if budget <= 0 {
			return
		}
		if i == len(own) {
			for ri, rv := range restVars {
				budget--
				all := append(append([]sub(nil), subs...), rv.subs...)
				if !r.valid(*comp, all) {
					continue
				}
				c := combo{append([]int(nil), pick...), ri, len(all)}
				if len(best) == 0 || c.n < best[0].n {
					best = []combo{c}
				} else if c.n == best[0].n {
					best = append(best, c)
				}
			}
			return
		}
		for k, v := range choices[i] {
			walk(i+1, append(pick, k), append(append([]sub(nil), subs...), v.subs...))
		}
	}
	walk(0, nil, nil)
	if len(best) == 0 || budget <= 0 {
		applyStrong()
		r.preferDigits(own)
		return
	}
	for i, g := range own {
		k := best[0].pick[i]
		agree := true
		for _, c := range best[1:] {
			if c.pick[i] != k {
				agree = false
			}
		}
		if agree && len(cands[i]) > 0 {
			r.apply(choices[i][k].subs, g.kind)
		}
	}
	if len(best) == 1 {
		r.apply(restVars[best[0].rest].subs, CheckComposite)
	}
	r.preferDigits(own)
}

// preferDigits reads O, Q and D in a document number as 0 when the
// number's check (and so the composite, which weighs those positions
// alike) validates either way: the check cannot tell them apart there,
// and zeros are what issuers print far more often.
func (r *repairer) preferDigits(own []group) {
	g := own[0]
	if !r.valid(g, nil) {
		return
	}
	var subs []sub
	for _, p := range g.data {
		switch r.at(p) {
		case 'O', 'Q', 'D':
			subs = append(subs, sub{p, '0'})
		}
	}
	// A leading letter is often the issuer's series prefix (D23145890).
	if len(subs) > 0 && subs[0].p == g.data[0] {
		subs = subs[1:]
	}
	if len(subs) > 0 && r.valid(g, subs) {
		r.apply(subs, CheckDocumentNumber)
	}
}

func (r *repairer) apply(subs []sub, by CheckKind) {
	for _, s := range subs {
		from := r.at(s.p)
		r.lines[s.p.line][s.p.col] = s.to
		r.repairs = append(r.repairs, Repair{Line: s.p.line, Col: s.p.col, From: from, To: s.to, Confirmed: true, By: by})
	}
}
