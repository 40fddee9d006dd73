package imageio

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// blankPNG streams a w×h PNG of all-zero samples without ever holding
// its pixels: the shape of the review's 394 KB decompression bomb.
// interlace selects Adam7; trns adds a tRNS chunk.
func blankPNG(tb testing.TB, w, h int, depth, ctype byte, interlace, trns bool) []byte {
	tb.Helper()
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&out, binary.BigEndian, uint32(len(data)))
		c := append([]byte(typ), data...)
		out.Write(c)
		binary.Write(&out, binary.BigEndian, crc32.ChecksumIEEE(c))
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = depth, ctype
	if interlace {
		ihdr[12] = 1
	}
	chunk("IHDR", ihdr)
	if ctype == 3 {
		chunk("PLTE", []byte{0, 0, 0, 255, 255, 255})
	}
	if trns {
		switch ctype {
		case 0:
			chunk("tRNS", []byte{0, 0})
		case 2:
			chunk("tRNS", make([]byte, 6))
		}
	}
	channels := map[byte]int{0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ctype]
	rowBytes := func(pw int) int { return (pw*channels*int(depth) + 7) / 8 }
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestSpeed)
	row := make([]byte, 1+rowBytes(w))
	writeRows := func(pw, ph int) {
		if pw == 0 || ph == 0 {
			return
		}
		for y := 0; y < ph; y++ {
			zw.Write(row[:1+rowBytes(pw)])
		}
	}
	if interlace {
		for _, p := range [7][4]int{{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}} {
			writeRows((w-p[0]+p[2]-1)/p[2], (h-p[1]+p[3]-1)/p[3])
		}
	} else {
		writeRows(w, h)
	}
	zw.Close()
	chunk("IDAT", z.Bytes())
	chunk("IEND", nil)
	return out.Bytes()
}

// The review's bomb: a 7000×7000 16-bit RGBA PNG of a few hundred KB,
// which cost 5.9 s and ~1 GB to decode. It is priced from the header at
// 8 bytes a pixel and refused before any pixel buffer exists, by the
// default limits and by any budget smaller than its cost.
func TestSixteenBitPNGBombIsRefusedUpFront(t *testing.T) {
	bomb := blankPNG(t, 7000, 7000, 16, 6, false, false)
	t.Logf("bomb: %d bytes", len(bomb))
	p, err := NewPlan(bomb, Limits{MaxMemory: 1 << 40})
	if err != nil {
		t.Fatal(err)
	}
	if p.BytesPerPixel != 8 || p.Cost < 49_000_000*8 {
		t.Fatalf("priced at %v bytes/px, %d bytes", p.BytesPerPixel, p.Cost)
	}
	for name, run := range map[string]func() error{
		"default limits":  func() error { _, _, err := Decode(bomb, Limits{}); return err },
		"document limits": func() error { _, _, err := Decode(bomb, DocumentLimits()); return err },
		"selfie limits":   func() error { _, _, err := Decode(bomb, SelfieLimits()); return err },
		"256 MB budget": func() error {
			_, _, err := NewBudget(256<<20).Decode(context.Background(), bomb, Limits{MaxMemory: 1 << 40})
			return err
		},
		"budget, canceled": func() error {
			_, _, err := NewBudget(256<<20).Decode(canceled(), bomb, Limits{MaxMemory: 1 << 40})
			return err
		},
	} {
		var err error
		alloc := allocated(func() { err = run() })
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: got %v, want ErrTooLarge", name, err)
		}
		if alloc > 4<<20 {
			t.Errorf("%s: allocated %d bytes before refusing", name, alloc)
		}
	}
}

func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// Cost is an upper bound of everything a standard-library decode
// allocates, and not a wild one: for each pixel layout the decoders tell
// apart, the bytes Decode allocates lie between 2/3 of the cost (less the
// fixed slack) and the cost.
func TestCostBoundsGoDecoderAllocations(t *testing.T) {
	const w, h = 1200, 900
	up := upright(w, h)
	pal := image.NewPaletted(up.Rect, color.Palette{color.Black, color.White})
	var g bytes.Buffer
	if err := gif.Encode(&g, pal, nil); err != nil {
		t.Fatal(err)
	}
	var rgbaPNG bytes.Buffer
	if err := png.Encode(&rgbaPNG, up); err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"png grey 8":          blankPNG(t, w, h, 8, 0, false, false),
		"png grey 16":         blankPNG(t, w, h, 16, 0, false, false),
		"png grey 8 + tRNS":   blankPNG(t, w, h, 8, 0, false, true),
		"png rgb 8":           blankPNG(t, w, h, 8, 2, false, false),
		"png rgb 16":          blankPNG(t, w, h, 16, 2, false, false),
		"png rgb 8 + tRNS":    blankPNG(t, w, h, 8, 2, false, true),
		"png grey-alpha 8":    blankPNG(t, w, h, 8, 4, false, false),
		"png rgba 8":          rgbaPNG.Bytes(),
		"png rgba 16":         blankPNG(t, w, h, 16, 6, false, false),
		"png paletted":        blankPNG(t, w, h, 8, 3, false, false),
		"png rgb 8 interlace": blankPNG(t, w, h, 8, 2, true, false),
		"gif":                 g.Bytes(),
		"jpeg 4:2:0":          encodeJPEG(t, up),
	}
	for name, data := range cases {
		for _, side := range []int{-1, 600} {
			p, err := NewPlan(data, Limits{MaxSide: side})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if p, err = p.fallback(); err != nil { // the Go decoders, even where TurboJPEG exists
				t.Fatal(err)
			}
			var img *Image
			alloc := allocated(func() { img, _, err = p.run(data) })
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if side > 0 && max(img.W, img.H) != 600 { // 1200 halved
				t.Fatalf("%s: %dx%d for MaxSide %d", name, img.W, img.H, side)
			}
			if int64(alloc) > p.Cost {
				t.Errorf("%s, side %d: allocated %d bytes, priced at %d (%.1f bytes/px)", name, side, alloc, p.Cost, p.BytesPerPixel)
			}
			if float64(p.Cost-fixedSlack) > 1.5*float64(alloc) {
				t.Errorf("%s, side %d: priced at %d, allocated only %d (%.1f bytes/px)", name, side, p.Cost, alloc, p.BytesPerPixel)
			}
		}
	}
}

// A JPEG of more scans than any encoder writes is refused before its
// scans are decoded one by one over the whole image.
func TestManyScansAreRefused(t *testing.T) {
	jpg := encodeJPEG(t, upright(64, 48))
	sos := bytes.Index(jpg, sosMarker)
	scan := sos + 2 + int(binary.BigEndian.Uint16(jpg[sos+2:])) // the entropy-coded data
	data := append([]byte{}, jpg[:scan]...)
	data = append(data, bytes.Repeat([]byte{0xFF, 0xDA, 0, 2}, maxJPEGScans)...)
	data = append(data, jpg[scan:]...)
	if _, _, err := Decode(data, Limits{}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
	if _, _, err := Decode(jpg, Limits{}); err != nil {
		t.Fatal(err)
	}
}

// Decodes in flight never hold more than the budget: with room for two,
// two run at once and the rest wait; all finish.
func TestBudgetBoundsDecodesInFlight(t *testing.T) {
	data := encodeJPEG(t, upright(640, 480))
	p, err := NewPlan(data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	b := NewBudget(2*p.Cost + p.Cost/2)
	var live, peak, entered atomic.Int64
	gate := make(chan struct{})
	b.enter = func(cost int64) {
		n := live.Add(cost)
		for {
			old := peak.Load()
			if n <= old || peak.CompareAndSwap(old, n) {
				break
			}
		}
		entered.Add(1)
		<-gate
		live.Add(-cost)
	}
	const n = 6
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := b.Decode(context.Background(), data, Limits{})
			errs <- err
		}()
	}
	waitFor(t, func() bool { return entered.Load() == 2 })
	if got := b.InUse(); got != 2*p.Cost {
		t.Fatalf("in use %d, want two decodes' %d", got, 2*p.Cost)
	}
	if b.sem.TryAcquire(p.Cost) {
		t.Fatal("a third decode's cost fits in the budget")
	}
	for i := 0; i < n; i++ {
		gate <- struct{}{}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if peak.Load() > b.Max() || b.InUse() != 0 {
		t.Fatalf("peak %d over budget %d, or %d still in use", peak.Load(), b.Max(), b.InUse())
	}
}

// A decode waiting for budget gives up with its context.
func TestBudgetWaitHonoursContext(t *testing.T) {
	data := encodeJPEG(t, upright(64, 48))
	p, err := NewPlan(data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	b := NewBudget(p.Cost)
	if !b.sem.TryAcquire(p.Cost) { // someone else holds it all
		t.Fatal("empty budget is full")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, _, err := b.Decode(ctx, data, Limits{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the context's deadline", err)
	}
	b.sem.Release(p.Cost)
	if _, _, err := b.Decode(context.Background(), data, Limits{}); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition never held")
		}
	}
}

// Shrinking to MaxSide keeps the picture: on either decoder the result
// fits MaxSide, matches a float area-average of the full-size decode at
// its size, has the orientation applied after, and Info maps coordinates
// back to the source.
func TestMaxSideShrinks(t *testing.T) {
	const w, h = 1500, 1000
	jpg := encodeJPEG(t, upright(w, h))
	full, _, err := Decode(jpg, Limits{MaxSide: -1})
	if err != nil || full.W != w {
		t.Fatalf("full decode: %v", err)
	}
	for _, o := range []int{1, 6} {
		data := withEXIF(jpg, orientationTIFF(binary.BigEndian, uint16(o)))
		p, err := NewPlan(data, Limits{MaxSide: 750})
		if err != nil {
			t.Fatal(err)
		}
		gp, err := p.fallback()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []Plan{p, gp} {
			img, info, err := p.run(data)
			if err != nil {
				t.Fatal(err)
			}
			sw, sh := w, h
			if o >= 5 {
				sw, sh = h, w
			}
			if img.W*img.H != 750*500 { // 1500×1000 halved
				t.Fatalf("%s, orientation %d: %dx%d for MaxSide 750", p.Decoder, o, img.W, img.H)
			}
			ow, oh := img.W, img.H
			if o >= 5 {
				ow, oh = oh, ow
			}
			want := referenceShrink(full, ow, oh).Orient(o)
			if q := psnr(img, want); q < 30 {
				t.Errorf("%s, orientation %d: PSNR %.1f dB against the reference", p.Decoder, o, q)
			}
			if info.SourceWidth != sw || info.SourceHeight != sh || math.Abs(info.Scale-float64(img.W)/float64(sw)) > 1e-9 {
				t.Errorf("%s, orientation %d: info %+v", p.Decoder, o, info)
			}
		}
	}
}

// referenceShrink is area averaging done the slow, obvious way in float.
func referenceShrink(m *Image, ow, oh int) *Image {
	out := NewImage(ow, oh)
	sx, sy := float64(m.W)/float64(ow), float64(m.H)/float64(oh)
	for oy := 0; oy < oh; oy++ {
		for ox := 0; ox < ow; ox++ {
			var sum [3]float64
			var area float64
			for y := int(float64(oy) * sy); float64(y) < float64(oy+1)*sy && y < m.H; y++ {
				fy := math.Min(float64(y+1), float64(oy+1)*sy) - math.Max(float64(y), float64(oy)*sy)
				for x := int(float64(ox) * sx); float64(x) < float64(ox+1)*sx && x < m.W; x++ {
					fx := math.Min(float64(x+1), float64(ox+1)*sx) - math.Max(float64(x), float64(ox)*sx)
					r, g, b := m.At(x, y)
					sum[0] += fx * fy * float64(r)
					sum[1] += fx * fy * float64(g)
					sum[2] += fx * fy * float64(b)
					area += fx * fy
				}
			}
			for c := 0; c < 3; c++ {
				out.Pix[(oy*ow+ox)*3+c] = uint8(sum[c]/area + 0.5)
			}
		}
	}
	return out
}

// The box filter is the mean of each div×div block, edge pixels repeated
// into partial blocks: exactly what the obvious float version computes,
// for every power of two and for sides that are not multiples of it.
func TestShrinkBoxMatchesReference(t *testing.T) {
	src := NewImage(97, 61)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range src.Pix {
		src.Pix[i] = uint8(rng.IntN(256))
	}
	for _, div := range []int{1, 2, 4, 8, 64, 128} {
		got := shrinkBox(src.rows(), src.W, src.H, div)
		if got.W != ceilDiv(97, div) || got.H != ceilDiv(61, div) {
			t.Fatalf("div %d: %dx%d", div, got.W, got.H)
		}
		for oy := 0; oy < got.H; oy++ {
			for ox := 0; ox < got.W; ox++ {
				var sum [3]float64
				for y := oy * div; y < (oy+1)*div; y++ {
					for x := ox * div; x < (ox+1)*div; x++ {
						r, g, b := src.At(x, y) // At clamps: edge pixels repeat
						sum[0], sum[1], sum[2] = sum[0]+float64(r), sum[1]+float64(g), sum[2]+float64(b)
					}
				}
				for c := 0; c < 3; c++ {
					if want := uint8(sum[c]/float64(div*div) + 0.5); got.Pix[(oy*got.W+ox)*3+c] != want {
						t.Fatalf("div %d at %d,%d: %d, want %d", div, ox, oy, got.Pix[(oy*got.W+ox)*3+c], want)
					}
				}
			}
		}
	}
}

func psnr(a, b *Image) float64 {
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

func TestShrinkSize(t *testing.T) {
	for _, c := range [][6]int{
		{4032, 3024, 2048, 2016, 1512, 2}, {3024, 4032, 2048, 1512, 2016, 2}, {100, 50, 2048, 100, 50, 1},
		{2049, 10, 2048, 1025, 5, 2}, {2048, 2048, 2048, 2048, 2048, 1}, {100000, 1, 2048, 1563, 1, 64},
		{8193, 6000, 2048, 1025, 750, 8}, {5000, 3000, -1, 5000, 3000, 1},
	} {
		if w, h, d := shrinkSize(c[0], c[1], c[2]); w != c[3] || h != c[4] || d != c[5] {
			t.Errorf("shrinkSize(%d, %d, %d) = %d, %d, %d; want %d, %d, %d", c[0], c[1], c[2], w, h, d, c[3], c[4], c[5])
		}
	}
}
