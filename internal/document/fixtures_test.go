package document

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/imageio"
	"github.com/visagehq/visage/internal/testenv"
)

// requireTesseract skips (or, with VISAGE_REQUIRE_FIXTURES=1, fails) when
// the OCR engine is not installed.
func requireTesseract(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("tesseract"); err != nil {
		if os.Getenv("VISAGE_REQUIRE_FIXTURES") == "1" {
			t.Fatal("REQUIRED BUT MISSING: tesseract (run scripts/setup-system.sh)")
		}
		t.Skip("SKIPPED, MISSING: tesseract (run scripts/setup-system.sh)")
	}
}

// testReader uses the legacy-engine data scripts/setup-system.sh installs,
// when it is there.
func testReader(t testing.TB) *Reader {
	var r Reader
	dir := filepath.Join(testenv.Root(t), ".cache", "tessdata")
	if _, err := os.Stat(filepath.Join(dir, "eng.traineddata")); err == nil {
		r.OCR.LegacyTessdataDir = dir
	} else if os.Getenv("VISAGE_REQUIRE_FIXTURES") == "1" {
		t.Fatalf("REQUIRED BUT MISSING: legacy tessdata in %s (run scripts/setup-system.sh)", dir)
	} else if os.Getenv("DOC_LSTM_ONLY") == "" {
		t.Logf("no legacy tessdata in %s (run scripts/setup-system.sh): LSTM only", dir)
	}
	if os.Getenv("DOC_LSTM_ONLY") != "" {
		r.OCR.LegacyTessdataDir = "" // to measure what the legacy data adds
	}
	return &r
}

type docFixture struct {
	path     string
	name     string
	expected int // -1: not a document
}

func documentFixtures(t testing.TB) []docFixture {
	t.Helper()
	dir := testenv.Fixture(t, "documents")
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.Getenv("VISAGE_REQUIRE_FIXTURES") == "1" {
			t.Fatalf("REQUIRED BUT MISSING: %v", err)
		}
		t.Skipf("SKIPPED, MISSING: %v", err)
	}
	var out []docFixture
	for _, e := range entries {
		name := e.Name()
		f := docFixture{path: filepath.Join(dir, name), name: name, expected: -1}
		if pre, _, ok := strings.Cut(name, "_"); ok {
			if n, err := strconv.Atoi(pre); err == nil {
				f.expected = n
			}
		}
		if f.expected < 0 && !strings.HasPrefix(name, "pacman") && !strings.HasPrefix(name, "tesseract-test") {
			f.expected = 100 // passport-td2/td3: PassportEye's own tests expect a full read
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func loadImage(t testing.TB, path string) *imageio.Image {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := imageio.Decode(data, imageio.Limits{})
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

// passportEyeScore is the score PassportEye's file names carry: check
// digits weigh 10, line lengths and the document-code letter 1 each, plus
// 1, as a percentage of the maximum. Our lines always have the nominal
// length, so only checks and the code letter move it.
func passportEyeScore(m *MRZ) int {
	misc := 0
	switch m.Format {
	case TD1, TD2:
		if strings.ContainsRune("IAC", rune(m.Lines[0][0])) {
			misc = 1
		}
	case TD3:
		if m.Lines[0][0] == 'P' {
			misc = 1
		}
	case MRVA, MRVB:
		if m.Lines[0][0] == 'V' {
			misc = 1
		}
	}
	checks := m.ValidChecks()
	// PassportEye also requires the dates to be real calendar dates.
	for _, c := range m.Checks {
		if c.Valid && (c.Kind == CheckBirthDate || c.Kind == CheckExpiryDate) {
			raw := m.BirthDateRaw
			if c.Kind == CheckExpiryDate {
				raw = m.ExpiryDateRaw
			}
			if _, err := ResolveBirthDate(raw, time.Date(2099, 12, 31, 0, 0, 0, 0, time.UTC)); err != nil {
				checks--
			}
		}
	}
	n := len(m.Checks)
	return 100 * (10*checks + m.Format.Lines() + misc + 1) / (10*n + m.Format.Lines() + 2)
}

// TestReadMRZFixtures reads every specimen in fixtures/documents. A file
// passes when its MRZ is read with at least the validity its name gives
// (the score PassportEye reached on it), all check digits valid on the
// 100_* ones, and ErrNoMRZ on the non-documents.
func TestReadMRZFixtures(t *testing.T) {
	requireTesseract(t)
	fixtures := documentFixtures(t)
	ctx := context.Background()
	r := testReader(t)
	pass, docs := 0, 0
	for _, f := range fixtures {
		img := loadImage(t, f.path)
		start := time.Now()
		m, err := r.ReadMRZ(ctx, img)
		took := time.Since(start)
		ok := false
		switch {
		case f.expected < 0:
			ok = errors.Is(err, ErrNoMRZ)
			t.Logf("%-22s non-document  err=%v  (%v)", f.name, err, took.Round(time.Millisecond))
		case err != nil:
			ok = f.expected == 0 && errors.Is(err, ErrNoMRZ) // PassportEye read nothing either
			t.Logf("%-22s expected %3d  err=%v (%v)", f.name, f.expected, err, took.Round(time.Millisecond))
		default:
			score := passportEyeScore(m)
			ok = score >= f.expected && (f.expected < 100 || m.Valid())
			t.Logf("%-22s expected %3d  got %3d  %s %d/%d checks  repairs %d  ok=%v (%v)\n    %s", f.name, f.expected, score,
				m.Format, m.ValidChecks(), len(m.Checks), len(m.Repairs), ok, took.Round(time.Millisecond), strings.ReplaceAll(m.String(), "\n", "\n    "))
			for _, rp := range m.Repairs {
				if rp.Confirmed {
					t.Logf("      repair %v", rp)
				}
			}
		}
		if f.expected >= 0 {
			docs++
		}
		if ok {
			pass++
		} else if f.expected < 0 {
			t.Errorf("%s: non-document gave %v, %v", f.name, m, err)
		}
	}
	share := float64(pass) / float64(len(fixtures))
	t.Logf("MRZ fixtures: %d/%d files read as expected (%.0f%%), %d documents", pass, len(fixtures), 100*share, docs)
	// Measured 40/42 (95 %) on this machine: 100_pass-hrv loses a leading
	// 0 to a 9 (a digit-for-digit slip no check-confirmed repair may
	// undo) and 27_pass-gbr, 268 px wide, reads as no MRZ. The floor
	// leaves room for one or two files to flip with tesseract updates.
	const floor = 0.90
	if share < floor {
		t.Errorf("share %.2f below floor %.2f", share, floor)
	}
}

// BenchmarkReadMRZ times one document read per op on representative
// fixtures: a clean passport scan, a small ID card, a skewed phone photo
// and a non-document (the slowest path: every fallback runs).
func BenchmarkReadMRZ(b *testing.B) {
	requireTesseract(b)
	r := testReader(b)
	for _, name := range []string{"passport-td3.jpg", "100_id-che.jpg", "62_pass-aus.png", "pacman.png"} {
		img := loadImage(b, testenv.Fixture(b, "documents", name))
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := r.ReadMRZ(context.Background(), img); err != nil && !errors.Is(err, ErrNoMRZ) {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestReadMRZUpsideDown reads a passport photographed the wrong way up.
func TestReadMRZUpsideDown(t *testing.T) {
	requireTesseract(t)
	img := loadImage(t, testenv.Fixture(t, "documents", "passport-td3.jpg")).Orient(3)
	m, err := testReader(t).ReadMRZ(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Valid() || m.DocumentNumber != "L898902C3" || m.Surname != "ERIKSSON" || m.GivenNames != "ANNA MARIA" {
		t.Errorf("read %v\n%s", m.Checks, m)
	}
}
