package imageio_test

import (
	"fmt"
	"math"
	"os"
	"testing"

	"github.com/visagehq/visage/internal/imageio"
	"github.com/visagehq/visage/internal/testenv"
)

// turboFixtures span the fixture photos' kinds: baseline and progressive,
// 4:2:0 and 4:4:4, small to 12 MP.
var turboFixtures = []string{
	"id09_img26/img26.jpg", // baseline 1449×2173
	"id00_img1/img1.jpg",   // baseline 1382×1868, camera EXIF
	"id12_img38/img41.jpg", // progressive 2500×2070
	"id02_img8/img49.jpg",  // progressive 4352×2903
	"id01_img3/img12.jpg",  // progressive 560×415
	"id02_img8/img51.jpg",  // baseline 600×417
}

func requireTurbo(t testing.TB) {
	t.Helper()
	if !imageio.TurboBuilt {
		t.Skip("SKIPPED: built with -tags purego (no TurboJPEG)")
	}
}

// TurboJPEG at each DCT scale gives the picture the standard decoder
// gives at that scale (its full decode, area-averaged over the same
// footprint): PSNR of at least 45 dB at full size, where only rounding
// and chroma upsampling differ, and 40 dB scaled, where DCT-domain and
// area filtering differ too. (Measured: 46–55 dB and 44–54 dB.)
func TestTurboMatchesGoDecoder(t *testing.T) {
	requireTurbo(t)
	for _, f := range turboFixtures {
		data, err := os.ReadFile(testenv.Fixture(t, "faces", "deepface", f))
		if err != nil {
			t.Fatal(err)
		}
		p, err := imageio.NewPlan(data, imageio.Limits{MaxSide: -1})
		if err != nil {
			t.Fatal(err)
		}
		if p, err = imageio.GoPlan(p); err != nil {
			t.Fatal(err)
		}
		ref, _, err := imageio.RunPlan(p, data)
		if err != nil {
			t.Fatal(err)
		}
		for _, num := range []int{8, 6, 4, 2, 1} {
			got, err := imageio.TurboAt(data, num)
			if err != nil {
				t.Fatalf("%s at %d/8: %v", f, num, err)
			}
			want := areaAt(ref, 8/float64(num), got.W, got.H)
			q := psnr(got, want)
			t.Logf("%s at %d/8: %dx%d, PSNR %.1f dB", f, num, got.W, got.H, q)
			if min := map[bool]float64{true: 45, false: 40}[num == 8]; q < min {
				t.Errorf("%s at %d/8: PSNR %.1f dB, want ≥ %.0f", f, num, q, min)
			}
		}
	}
}

// Decode takes TurboJPEG for JPEGs, at the mildest power-of-two reduction
// that fits MaxSide, and the standard decoder for what TurboJPEG refuses: here a
// file with junk bytes before a marker, which libjpeg reports as a
// warning (and TurboJPEG is told to stop on warnings) while image/jpeg
// skips them.
func TestTurboPathAndFallback(t *testing.T) {
	requireTurbo(t)
	data, err := os.ReadFile(testenv.Fixture(t, "faces", "deepface", "id12_img38", "img41.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	img, info, err := imageio.Decode(data, imageio.Limits{})
	if err != nil || info.Decoder != imageio.DecoderTurbo {
		t.Fatalf("%v, decoder %q", err, info.Decoder)
	}
	if img.W != 1250 || img.H != 1035 { // 2500×2070 at 1/2
		t.Fatalf("%dx%d, want 1250x1035", img.W, img.H)
	}
	// Junk between the first segment and the next marker.
	first := 4 + (int(data[4])<<8 | int(data[5]))
	junk := append(append(append([]byte{}, data[:first]...), "junk"...), data[first:]...)
	img2, info, err := imageio.Decode(junk, imageio.Limits{})
	if err != nil || info.Decoder != imageio.DecoderGo {
		t.Fatalf("junk: %v, decoder %q", err, info.Decoder)
	}
	if q := psnr(img, img2); q < 40 {
		t.Fatalf("fallback picture differs: PSNR %.1f", q)
	}
}

// areaAt shrinks m by the factor s (input pixels per output pixel) to
// ow×oh: output pixel j covers input [j·s, (j+1)·s), as a DCT-scaled
// decode's does, with edge pixels repeated past the border (libjpeg pads
// partial blocks so).
func areaAt(m *imageio.Image, s float64, ow, oh int) *imageio.Image {
	// axis returns, per output, the input indices and weights it covers.
	axis := func(n, out int) [][]struct {
		i int
		w float64
	} {
		res := make([][]struct {
			i int
			w float64
		}, out)
		for j := range res {
			a, b := float64(j)*s, float64(j+1)*s
			for x := int(a); float64(x) < b; x++ {
				w := math.Min(b, float64(x+1)) - math.Max(a, float64(x))
				res[j] = append(res[j], struct {
					i int
					w float64
				}{min(x, n-1), w / s})
			}
		}
		return res
	}
	ax, ay := axis(m.W, ow), axis(m.H, oh)
	rows := make([]float64, 3*ow*m.H)
	for y := 0; y < m.H; y++ {
		for j, taps := range ax {
			for _, t := range taps {
				for c := 0; c < 3; c++ {
					rows[(y*ow+j)*3+c] += t.w * float64(m.Pix[(y*m.W+t.i)*3+c])
				}
			}
		}
	}
	out := imageio.NewImage(ow, oh)
	for j, taps := range ay {
		for x := 0; x < 3*ow; x++ {
			var v float64
			for _, t := range taps {
				v += t.w * rows[t.i*3*ow+x]
			}
			out.Pix[j*3*ow+x] = uint8(math.Min(255, v+0.5))
		}
	}
	return out
}

func psnr(a, b *imageio.Image) float64 {
	if a.W != b.W || a.H != b.H {
		panic(fmt.Sprintf("psnr: %dx%d vs %dx%d", a.W, a.H, b.W, b.H))
	}
	var se float64
	for i := range a.Pix {
		d := float64(a.Pix[i]) - float64(b.Pix[i])
		se += d * d
	}
	if se == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/(se/float64(len(a.Pix))))
}
