package document

import "strings"

// The two tesseract engines fail differently on OCR-B: the legacy one
// keeps the filler '<' and the line length right but confuses letters
// (S/8, H/N, Q/0); the LSTM one reads letters well but drops or garbles
// runs of '<' (as K, L, C). mergeLines keeps the legacy reading's
// structure, takes letters and digits from the LSTM one where the two
// align, and records the other reading's character at every position
// where they disagree, for the check digits to choose from.

// mrzLike keeps the lines of OCR text long enough to be MRZ lines.
func mrzLike(text string) []string { return ocrLines(text, 26) }

// ocrLines returns the lines of at least minLen characters (at most 50),
// upper-cased and without spaces.
func ocrLines(text string, minLen int) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		l = strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' || r == '\r' {
				return -1
			}
			return r
		}, strings.ToUpper(l))
		if len(l) >= minLen && len(l) <= 50 {
			out = append(out, l)
		}
	}
	return out
}

func fillerLike(c byte) bool { return c == '<' || c == 'K' || c == 'L' || c == 'C' }

// align is a Needleman–Wunsch global alignment of a to b; it returns, for
// each column, the index into a and into b (-1 for a gap).
func align(a, b string) (ia, ib []int, score int) {
	const match, near, mismatch, gap = 4, 1, -2, -3
	n, m := len(a), len(b)
	dp := make([][]int, n+1)
	for i := range dp {
		dp[i] = make([]int, m+1)
		dp[i][0] = i * gap
	}
	for j := 0; j <= m; j++ {
		dp[0][j] = j * gap
	}
	sim := func(x, y byte) int {
		switch {
		case x == y:
			return match
		case fillerLike(x) && fillerLike(y):
			return near
		}
		return mismatch
	}
	for i := 1; i <= n; i++ {
		for j := 1; j <= m; j++ {
			dp[i][j] = max(dp[i-1][j-1]+sim(a[i-1], b[j-1]), dp[i-1][j]+gap, dp[i][j-1]+gap)
		}
	}
	for i, j := n, m; i > 0 || j > 0; {
		switch {
		case i > 0 && j > 0 && dp[i][j] == dp[i-1][j-1]+sim(a[i-1], b[j-1]):
			ia, ib = append(ia, i-1), append(ib, j-1)
			i, j = i-1, j-1
		case i > 0 && dp[i][j] == dp[i-1][j]+gap:
			ia, ib = append(ia, i-1), append(ib, -1)
			i--
		default:
			ia, ib = append(ia, -1), append(ib, j-1)
			j--
		}
	}
	for l, r := 0, len(ia)-1; l < r; l, r = l+1, r-1 {
		ia[l], ia[r] = ia[r], ia[l]
		ib[l], ib[r] = ib[r], ib[l]
	}
	return ia, ib, dp[n][m]
}

// mergeLine combines a legacy-engine line with the LSTM line it aligns to.
func mergeLine(legacy, lstm string) (string, []string) {
	ia, ib, _ := align(legacy, lstm)
	var out []byte
	var alts []string
	for k := range ia {
		if ia[k] < 0 {
			continue // LSTM-only character: the legacy engine sets the length
		}
		l := legacy[ia[k]]
		if ib[k] < 0 {
			out, alts = append(out, l), append(alts, "")
			continue
		}
		s := lstm[ib[k]]
		switch {
		case l == s:
			out, alts = append(out, l), append(alts, "")
		case l == '<':
			out, alts = append(out, '<'), append(alts, string(s))
		case isDigit(l) && !isDigit(s) && s != '<':
			// The LSTM engine turns digits into look-alike letters more
			// often than the legacy one invents digits; names get their
			// letters back from the class repair.
			out, alts = append(out, l), append(alts, string(s))
		default:
			out, alts = append(out, s), append(alts, string(l))
		}
	}
	return string(out), alts
}

// mergeReadings pairs every legacy line with the LSTM line that aligns
// best to it and merges each pair.
func mergeReadings(legacy, lstm []string) ([]string, [][]string) {
	if len(legacy) == 0 || len(lstm) == 0 {
		return nil, nil
	}
	lines := make([]string, len(legacy))
	alts := make([][]string, len(legacy))
	for i, l := range legacy {
		best, bestScore := "", -1<<30
		for _, s := range lstm {
			if _, _, sc := align(l, s); sc > bestScore {
				best, bestScore = s, sc
			}
		}
		// A poor alignment means the LSTM engine read some other line, or
		// little of this one: keep the legacy reading alone.
		if bestScore < len(l) {
			lines[i], alts[i] = l, make([]string, len(l))
			continue
		}
		merged, a := mergeLine(l, best)
		lines[i] = merged
		alts[i] = a
	}
	return lines, alts
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
