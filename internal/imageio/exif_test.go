package imageio

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"runtime"
	"testing"
)

// ifdEntry is one raw 12-byte IFD entry; value is the 4-byte value/offset
// field as written (a SHORT value sits in its first two bytes).
type ifdEntry struct {
	tag, typ uint16
	count    uint32
	value    uint32
}

// byteOrder is what binary.BigEndian and binary.LittleEndian both are.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// buildTIFF writes a TIFF header, IFD0 at offset 8 with the entries (the
// entry count written may lie: n), the next-IFD offset and extra bytes.
func buildTIFF(order byteOrder, n uint16, entries []ifdEntry, next uint32, extra []byte) []byte {
	b := make([]byte, 8, 8+2+12*len(entries)+4+len(extra))
	if order == byteOrder(binary.LittleEndian) {
		copy(b, "II")
	} else {
		copy(b, "MM")
	}
	order.PutUint16(b[2:], 42)
	order.PutUint32(b[4:], 8)
	b = order.AppendUint16(b, n)
	for _, e := range entries {
		b = order.AppendUint16(b, e.tag)
		b = order.AppendUint16(b, e.typ)
		b = order.AppendUint32(b, e.count)
		if e.typ == typeShort && e.count == 1 {
			b = order.AppendUint16(b, uint16(e.value))
			b = append(b, 0, 0)
		} else {
			b = order.AppendUint32(b, e.value)
		}
	}
	b = order.AppendUint32(b, next)
	return append(b, extra...)
}

func orientationTIFF(order byteOrder, o uint16) []byte {
	return buildTIFF(order, 1, []ifdEntry{{tagOrientation, typeShort, 1, uint32(o)}}, 0, nil)
}

// withSegment inserts a marker segment right after the JPEG SOI; length
// overrides the segment's length field when non-zero.
func withSegment(jpg []byte, marker byte, payload []byte, length int) []byte {
	if length == 0 {
		length = len(payload) + 2
	}
	out := append([]byte{}, jpg[:2]...)
	out = append(out, 0xFF, marker, byte(length>>8), byte(length))
	out = append(out, payload...)
	return append(out, jpg[2:]...)
}

func withEXIF(jpg, tiff []byte) []byte {
	return withSegment(jpg, 0xE1, append(append([]byte{}, exifHeader...), tiff...), 0)
}

// upright is an asymmetric test picture: four coloured quadrants of
// unequal size plus a gradient, so every one of the eight orientations
// gives a different image.
func upright(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var c color.RGBA
			switch left, top := x < w/3, y < h/4; {
			case left && top:
				c = color.RGBA{230, 30, 30, 255}
			case top:
				c = color.RGBA{30, 200, 40, 255}
			case left:
				c = color.RGBA{30, 40, 220, 255}
			default:
				c = color.RGBA{240, 240, 240, 255}
			}
			c.G = uint8((int(c.G) + x*2) % 256)
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

// storeAs returns the stored pixels a camera would write for an upright
// picture with EXIF orientation o, built from the standard's definition
// of where stored row 0 and column 0 lie visually (EXIF 2.3, 4.6.4 A):
// 1 top/left, 2 top/right, 3 bottom/right, 4 bottom/left, 5 left/top,
// 6 right/top, 7 right/bottom, 8 left/bottom.
func storeAs(up *image.RGBA, o int) *image.RGBA {
	w, h := up.Rect.Dx(), up.Rect.Dy()
	sw, sh := w, h
	if o >= 5 {
		sw, sh = h, w
	}
	st := image.NewRGBA(image.Rect(0, 0, sw, sh))
	for sy := 0; sy < sh; sy++ {
		for sx := 0; sx < sw; sx++ {
			var ux, uy int
			if o <= 4 { // rows stay rows
				uy, ux = sy, sx
				if o == 3 || o == 4 {
					uy = h - 1 - sy
				}
				if o == 2 || o == 3 {
					ux = w - 1 - sx
				}
			} else { // stored rows are visual columns
				ux, uy = sy, sx
				if o == 6 || o == 7 {
					ux = w - 1 - sy
				}
				if o == 7 || o == 8 {
					uy = h - 1 - sx
				}
			}
			st.SetRGBA(sx, sy, up.RGBAAt(ux, uy))
		}
	}
	return st
}

func encodeJPEG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// meanAbsDiff compares a decoded image with a reference picture.
func meanAbsDiff(got *Image, want *image.RGBA) float64 {
	var sum int
	for y := 0; y < got.H; y++ {
		for x := 0; x < got.W; x++ {
			r, g, b := got.At(x, y)
			c := want.RGBAAt(x, y)
			sum += absDiff(r, c.R) + absDiff(g, c.G) + absDiff(b, c.B)
		}
	}
	return float64(sum) / float64(3*got.W*got.H)
}

// Photos stored sideways or mirrored come out upright: each of the eight
// orientations, in both TIFF byte orders, lands every pixel where the
// upright picture has it.
func TestOrientedJPEGsComeOutUpright(t *testing.T) {
	const w, h = 96, 64
	up := upright(w, h)
	for o := 1; o <= 8; o++ {
		stored := encodeJPEG(t, storeAs(up, o))
		for _, order := range []byteOrder{binary.BigEndian, binary.LittleEndian} {
			img, info, err := Decode(withEXIF(stored, orientationTIFF(order, uint16(o))), Limits{})
			if err != nil {
				t.Fatalf("orientation %d %v: %v", o, order, err)
			}
			if info.Orientation != o || img.W != w || img.H != h || info.Width != w || info.Height != h {
				t.Fatalf("orientation %d %v: got orientation %d, %dx%d", o, order, info.Orientation, img.W, img.H)
			}
			if d := meanAbsDiff(img, up); d > 4 {
				t.Errorf("orientation %d %v: mean difference from upright %.1f", o, order, d)
			}
		}
	}
	// The check above must be able to fail: a stored-sideways image read
	// as if upright differs grossly.
	img, _, err := Decode(encodeJPEG(t, storeAs(up, 3)), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if d := meanAbsDiff(img, up); d < 30 {
		t.Fatalf("orientation 3 without EXIF looks upright (difference %.1f): the test cannot tell", d)
	}
}

// webpWithEXIF rewraps a simple (VP8) WebP in the extended format with an
// EXIF chunk after the image data, as libwebp's webpmux writes it.
func webpWithEXIF(t *testing.T, simple, exif []byte) []byte {
	t.Helper()
	cfg, _, err := image.DecodeConfig(bytes.NewReader(simple))
	if err != nil {
		t.Fatal(err)
	}
	chunk := func(fourcc string, p []byte) []byte {
		b := append([]byte(fourcc), 0, 0, 0, 0)
		binary.LittleEndian.PutUint32(b[4:], uint32(len(p)))
		b = append(b, p...)
		if len(p)%2 == 1 {
			b = append(b, 0)
		}
		return b
	}
	vp8x := make([]byte, 10)
	vp8x[0] = 0x08 // EXIF present
	put24 := func(b []byte, v int) { b[0], b[1], b[2] = byte(v), byte(v>>8), byte(v>>16) }
	put24(vp8x[4:], cfg.Width-1)
	put24(vp8x[7:], cfg.Height-1)
	body := append([]byte("WEBP"), chunk("VP8X", vp8x)...)
	body = append(body, simple[12:]...) // the VP8 chunk
	body = append(body, chunk("EXIF", exif)...)
	out := append([]byte("RIFF"), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(out[4:], uint32(len(body)))
	return append(out, body...)
}

func TestWebPOrientation(t *testing.T) {
	simple, err := os.ReadFile("testdata/testsrc.webp")
	if err != nil {
		t.Fatal(err)
	}
	plain, info, err := Decode(simple, Limits{})
	if err != nil || info.Format != "webp" || info.Orientation != 1 {
		t.Fatalf("plain webp: %v %+v", err, info)
	}
	for name, exif := range map[string][]byte{
		"tiff":        orientationTIFF(binary.LittleEndian, 6),
		"exif prefix": append(append([]byte{}, exifHeader...), orientationTIFF(binary.BigEndian, 6)...),
	} {
		img, info, err := Decode(webpWithEXIF(t, simple, exif), Limits{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if info.Orientation != 6 || !bytes.Equal(img.Pix, plain.Orient(6).Pix) {
			t.Fatalf("%s: orientation %d, %dx%d", name, info.Orientation, img.W, img.H)
		}
	}
}

// The review's file: a RATIONAL tag whose count 0xE0000001 made a 32-bit
// size computation wrap, and the EXIF library then asked for ~90 GB.
var reviewTag = ifdEntry{0x011A, 5, 0xE0000001, 8}

// hostileTIFFs are EXIF blocks built to break a careless parser, with the
// orientation a correct reader reports for each.
func hostileTIFFs() map[string]struct {
	tiff []byte
	want int
} {
	be, le := byteOrder(binary.BigEndian), byteOrder(binary.LittleEndian)
	orient6 := ifdEntry{tagOrientation, typeShort, 1, 6}
	cases := map[string]struct {
		tiff []byte
		want int
	}{
		"review rational count":          {buildTIFF(be, 1, []ifdEntry{reviewTag}, 0, nil), 1},
		"review tag beside orientation":  {buildTIFF(be, 2, []ifdEntry{reviewTag, orient6}, 0, nil), 6},
		"ifd0 offset past end":           {append(orientationTIFF(be, 6)[:4], 0x7F, 0xFF, 0xFF, 0xFF), 1},
		"ifd0 offset max":                {append(orientationTIFF(le, 6)[:4], 0xFF, 0xFF, 0xFF, 0xFF), 1},
		"ifd0 offset inside header":      {append(orientationTIFF(be, 6)[:4], 0, 0, 0, 2), 1},
		"entry count past end":           {buildTIFF(be, 0xFFFF, []ifdEntry{orient6}, 0, nil), 1},
		"truncated entry":                {orientationTIFF(be, 6)[:8+2+11], 1},
		"header only":                    {[]byte("MM\x00\x2a"), 1},
		"bad byte order":                 {append([]byte("MI"), orientationTIFF(be, 6)[2:]...), 1},
		"bad magic":                      {append([]byte("MM\x00\x2b"), orientationTIFF(be, 6)[4:]...), 1},
		"ifd chain loops to itself":      {buildTIFF(be, 1, []ifdEntry{{0x0100, typeShort, 1, 1}}, 8, nil), 1},
		"exif ifd pointer loops to ifd0": {buildTIFF(le, 2, []ifdEntry{{0x8769, 4, 1, 8}, orient6}, 8, nil), 6},
		"orientation value 0":            {orientationTIFF(be, 0), 1},
		"orientation value 9":            {orientationTIFF(le, 9), 1},
		"orientation value 0xFFFF":       {orientationTIFF(be, 0xFFFF), 1},
		"orientation count 2":            {buildTIFF(be, 1, []ifdEntry{{tagOrientation, typeShort, 2, 6 << 16}}, 0, nil), 1},
		"orientation count 0":            {buildTIFF(be, 1, []ifdEntry{{tagOrientation, typeShort, 0, 6 << 16}}, 0, nil), 1},
		"empty":                          {nil, 1},
	}
	// Huge counts of every TIFF type, both as the orientation tag and as a
	// neighbour of a valid one, with offsets pointing everywhere.
	for typ := uint16(0); typ <= 13; typ++ {
		for _, count := range []uint32{0xE0000001, 0xFFFFFFFF, 0x80000000, 0x20000000} {
			for _, off := range []uint32{8, 0xFFFFFFF0} {
				name := "type " + string(rune('a'+typ)) + " count " + hex32(count) + " offset " + hex32(off)
				cases["orientation "+name] = struct {
					tiff []byte
					want int
				}{buildTIFF(be, 1, []ifdEntry{{tagOrientation, typ, count, off}}, 0, nil), 1}
				cases["neighbour "+name] = struct {
					tiff []byte
					want int
				}{buildTIFF(le, 2, []ifdEntry{{0x010F, typ, count, off}, orient6}, 0, nil), 6}
			}
		}
	}
	return cases
}

func hex32(v uint32) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 8)
	for i := 7; i >= 0; i-- {
		b[i] = digits[v&15]
		v >>= 4
	}
	return string(b)
}

// Hostile EXIF never costs more than the image itself: Decode succeeds
// (the pixels are a fine JPEG), reports the orientation a correct reader
// sees, and allocates about what the 64×48 picture needs. The old EXIF
// library died with "fatal error: runtime: out of memory" on the first
// case, which no recover can catch.
func TestHostileEXIFIsHarmless(t *testing.T) {
	base := testJPEG(t, 64, 48)
	for name, c := range hostileTIFFs() {
		data := withEXIF(base, c.tiff)
		var got Info
		var err error
		alloc := allocated(func() { _, got, err = Decode(data, Limits{}) })
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.Orientation != c.want {
			t.Errorf("%s: orientation %d, want %d", name, got.Orientation, c.want)
		}
		if alloc > 1<<20 {
			t.Errorf("%s: Decode of a 64×48 JPEG allocated %d bytes", name, alloc)
		}
		if n := testing.AllocsPerRun(10, func() { orientation(data, "jpeg") }); n != 0 {
			t.Errorf("%s: orientation allocated %v times", name, n)
		}
	}
}

// Broken JPEG segment structure around the EXIF block: lengths past the
// end, too short, thousands of segments, EXIF after the scan.
func TestHostileJPEGSegments(t *testing.T) {
	base := testJPEG(t, 64, 48)
	tiff := orientationTIFF(binary.BigEndian, 6)
	payload := append(append([]byte{}, exifHeader...), tiff...)
	many := base
	for i := 0; i < 2000; i++ {
		many = withSegment(many, 0xE1, []byte("http://ns.adobe.com/xap/1.0/\x00<x/>"), 0)
	}
	afterScan := append(append([]byte{}, base[:len(base)-2]...), 0xFF, 0xE1, 0, byte(len(payload)+2))
	afterScan = append(append(afterScan, payload...), 0xFF, 0xD9)
	cases := map[string]struct {
		data []byte
		want int
	}{
		"length past end":   {withSegment(base[:2], 0xE1, payload, 0xFFFF), 1},
		"length 1":          {withSegment(base, 0xE1, payload, 1), 1},
		"exif header only":  {withSegment(base, 0xE1, exifHeader, 0), 1},
		"thousands of xmp":  {withEXIF(many, tiff), 6},
		"exif after xmp":    {withSegment(withEXIF(base, tiff), 0xE1, []byte("http://ns.adobe.com/xap/1.0/\x00"), 0), 6},
		"exif after scan":   {afterScan, 1},
		"fill bytes":        {append([]byte{0xFF, 0xD8, 0xFF, 0xFF, 0xFF}, withEXIF(base, tiff)[3:]...), 6},
		"not a jpeg at all": {payload, 1},
	}
	for name, c := range cases {
		if got := orientation(c.data, "jpeg"); got != c.want {
			t.Errorf("%s: orientation %d, want %d", name, got, c.want)
		}
	}
}

func TestHostileWebPChunks(t *testing.T) {
	simple, err := os.ReadFile("testdata/testsrc.webp")
	if err != nil {
		t.Fatal(err)
	}
	good := webpWithEXIF(t, simple, orientationTIFF(binary.LittleEndian, 8))
	if got := orientation(good, "webp"); got != 8 {
		t.Fatalf("good webp: orientation %d", got)
	}
	exifAt := bytes.LastIndex(good, []byte("EXIF"))
	mutate := func(f func(b []byte)) []byte {
		b := append([]byte{}, good...)
		f(b)
		return b
	}
	cases := map[string][]byte{
		"exif chunk size max":  mutate(func(b []byte) { binary.LittleEndian.PutUint32(b[exifAt+4:], 0xFFFFFFFF) }),
		"exif chunk size +1":   mutate(func(b []byte) { binary.LittleEndian.PutUint32(b[exifAt+4:], uint32(len(b)-exifAt-8+1)) }),
		"vp8 chunk size max":   mutate(func(b []byte) { binary.LittleEndian.PutUint32(b[12+18+4:], 0xFFFFFFFF) }),
		"riff size cuts exif":  mutate(func(b []byte) { binary.LittleEndian.PutUint32(b[4:], uint32(exifAt-8+6)) }),
		"riff size 0":          mutate(func(b []byte) { binary.LittleEndian.PutUint32(b[4:], 0) }),
		"truncated exif chunk": good[:exifAt+12],
		"exif tiff broken":     mutate(func(b []byte) { b[exifAt+8] = 'X' }),
		"not webp":             mutate(func(b []byte) { copy(b[8:], "WEBQ") }),
		"riff header only":     good[:12],
	}
	for name, data := range cases {
		if got := orientation(data, "webp"); got != 1 {
			t.Errorf("%s: orientation %d, want 1", name, got)
		}
		if n := testing.AllocsPerRun(10, func() { orientation(data, "webp") }); n != 0 {
			t.Errorf("%s: orientation allocated %v times", name, n)
		}
	}
}

// allocated reports the bytes fn allocated on the heap.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
