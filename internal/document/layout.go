package document

// span is the columns [from, to) of one line.
type span struct{ line, from, to int }

func at(line, col int) span { return span{line, col, col + 1} }

// layout places every field of one format (Doc 9303 parts 4–7; columns
// here are 0-based, the standard's are 1-based).
type layout struct {
	code, state, name, nationality, sex span
	number, numberCheck                 span
	birth, birthCheck                   span
	expiry, expiryCheck                 span
	optional, optionalCheck             span // optionalCheck.to == 0: none
	optional2                           span // TD1 line 2 only
	composite                           span // to == 0: none (visas)
	compositeData                       []span
	longNumber                          bool // TD1/TD2 document numbers may run into the optional data
}

var layouts = map[Format]layout{
	TD1: {
		code: span{0, 0, 2}, state: span{0, 2, 5},
		number: span{0, 5, 14}, numberCheck: at(0, 14),
		optional: span{0, 15, 30},
		birth:    span{1, 0, 6}, birthCheck: at(1, 6),
		sex:    at(1, 7),
		expiry: span{1, 8, 14}, expiryCheck: at(1, 14),
		nationality:   span{1, 15, 18},
		optional2:     span{1, 18, 29},
		composite:     at(1, 29),
		compositeData: []span{{0, 5, 30}, {1, 0, 7}, {1, 8, 15}, {1, 18, 29}},
		name:          span{2, 0, 30},
		longNumber:    true,
	},
	TD2:  twoLine(36, true, true),
	TD3:  twoLine(44, false, true),
	MRVA: twoLine(44, false, false),
	MRVB: twoLine(36, false, false),
}

// twoLine builds the TD2/TD3/MRV layouts, which differ only in length,
// in whether the optional data has its own check (TD3) and whether a
// composite closes line 2 (not on visas).
func twoLine(n int, longNumber, composite bool) layout {
	l := layout{
		code: span{0, 0, 2}, state: span{0, 2, 5}, name: span{0, 5, n},
		number: span{1, 0, 9}, numberCheck: at(1, 9),
		nationality: span{1, 10, 13},
		birth:       span{1, 13, 19}, birthCheck: at(1, 19),
		sex:    at(1, 20),
		expiry: span{1, 21, 27}, expiryCheck: at(1, 27),
		longNumber: longNumber,
	}
	end := n
	if composite {
		end = n - 1
		l.composite = at(1, n-1)
		l.compositeData = []span{{1, 0, 10}, {1, 13, 20}, {1, 21, n - 1}}
	}
	if n == 44 && composite { // TD3: personal number with its own check
		l.optional = span{1, 28, 42}
		l.optionalCheck = at(1, 42)
	} else {
		l.optional = span{1, 28, end}
	}
	return l
}

func layoutOf(f Format) layout { return layouts[f] }

// class is what Doc 9303 allows at a position.
type class byte

const (
	classAlpha   class = 'a' // A–Z and <
	classDigit   class = 'n' // 0–9 (and < for unknown date parts)
	classAlnum   class = '*' // A–Z, 0–9, <
	classCheck   class = 'c' // a check digit: 0–9 (< for an empty optional field)
	classSexChar class = 's' // M, F, X, <
)

// classes returns, per line, the class of every position of format f.
func classes(f Format) [][]class {
	lay := layoutOf(f)
	out := make([][]class, f.Lines())
	for i := range out {
		out[i] = make([]class, f.LineLength())
		for j := range out[i] {
			out[i][j] = classAlnum
		}
	}
	set := func(s span, c class) {
		for j := s.from; j < s.to; j++ {
			out[s.line][j] = c
		}
	}
	set(lay.code, classAlpha)
	set(lay.state, classAlpha)
	set(lay.name, classAlpha)
	set(lay.nationality, classAlpha)
	set(lay.sex, classSexChar)
	set(lay.birth, classDigit)
	set(lay.expiry, classDigit)
	set(lay.numberCheck, classCheck)
	set(lay.birthCheck, classCheck)
	set(lay.expiryCheck, classCheck)
	if lay.optionalCheck.to > 0 {
		set(lay.optionalCheck, classCheck)
	}
	if lay.composite.to > 0 {
		set(lay.composite, classCheck)
	}
	// The second character of the document code may be a digit on some
	// cards, and TD1 numbers may run into the optional data: both stay
	// alphanumeric (the default).
	out[0][1] = classAlnum
	return out
}

func allowed(c class, ch byte) bool {
	switch c {
	case classAlpha:
		return ch == '<' || (ch >= 'A' && ch <= 'Z')
	case classDigit:
		return ch == '<' || (ch >= '0' && ch <= '9')
	case classCheck:
		return ch == '<' || (ch >= '0' && ch <= '9')
	case classSexChar:
		return ch == 'M' || ch == 'F' || ch == 'X' || ch == '<'
	}
	return value(ch) >= 0
}
