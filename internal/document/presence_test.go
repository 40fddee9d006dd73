package document

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/visagehq/visage/internal/imageio"
	"github.com/visagehq/visage/internal/testenv"
)

func decodeFile(t testing.TB, path string) *imageio.Image {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := imageio.Decode(data, imageio.SelfieLimits())
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

// TestMRZPresenceReport prints how often HasMRZ fires on documents and on
// live face photos (VISAGE_MRZ_REPORT=1).
func TestMRZPresenceReport(t *testing.T) {
	if os.Getenv("VISAGE_MRZ_REPORT") != "1" {
		t.Skip("set VISAGE_MRZ_REPORT=1")
	}
	root := testenv.Fixtures(t)
	count := func(glob string) (hit, n int, hits []string) {
		paths, _ := filepath.Glob(filepath.Join(root, glob))
		for _, p := range paths {
			n++
			if HasMRZ(decodeFile(t, p)) {
				hit++
				hits = append(hits, filepath.Base(p))
			}
		}
		return
	}
	for _, g := range []string{"documents/100_*", "documents/[1-9]*_*", "documents/passport-*", "liveness/live/*", "liveness/spoof/*",
		"faces/deepface/*/*", "faces/bbt/*/*", "faces/glint-dev/*/*"} {
		hit, n, hits := count(g)
		if len(hits) > 8 {
			hits = hits[:8]
		}
		t.Logf("%-24s %3d/%3d  %s", g, hit, n, strings.Join(hits, " "))
	}
}

func BenchmarkHasMRZ(b *testing.B) {
	img := decodeFile(b, filepath.Join(testenv.Fixtures(b), "faces", "deepface", "id00_img1", "img1.jpg"))
	small := img.Resize(640, 640*img.H/img.W)
	b.ResetTimer()
	for b.Loop() {
		HasMRZ(small)
	}
}
