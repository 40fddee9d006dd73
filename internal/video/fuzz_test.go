package video

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"time"
)

// FuzzParseProbe feeds ffprobe output that a hostile file could make
// ffprobe print: the JSON parser and the packet-list parser must not
// panic, and whatever they accept must keep Frames' arithmetic sane.
// Seeds (testdata/fuzz/FuzzParseProbe) are real ffprobe outputs of the
// fixture videos, a recorder's WebM, a rotated MP4, an audio file, cover
// art, a JPEG, a packet list, and hand-made hostile values.
func FuzzParseProbe(f *testing.F) {
	f.Add([]byte(`{"streams":[{"index":0,"codec_type":"video","codec_name":"vp8","width":640,"height":480,"avg_frame_rate":"30/1"}],"format":{"format_name":"matroska,webm"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := parseProbe(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrNoVideoStream) {
				t.Fatalf("untyped error: %v", err)
			}
		} else {
			checkParsed(t, info)
		}
		const limit = 30 * time.Second
		span, tooLong, err := packetSpan(bytes.NewReader(data), limit)
		if err == nil && !tooLong && (span < 0 || span > limit) {
			t.Fatalf("span %v with limit %v", span, limit)
		}
	})
}

func checkParsed(t *testing.T, info *Info) {
	t.Helper()
	bad := func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }
	if info.Rotation%90 != 0 || info.Rotation < 0 || info.Rotation >= 360 || info.Duration < 0 ||
		info.FrameRate < 0 || bad(info.FrameRate) || info.PixelAspect <= 0 || bad(info.PixelAspect) {
		t.Fatalf("parsed %+v", *info)
	}
	if checkInfo(info, Limits{}.withDefaults()) != nil {
		return
	}
	opt := FrameOptions{}.withDefaults()
	w, h := outputSize(info, opt.MaxSide)
	if w < 1 || h < 1 || w > opt.MaxSide || h > opt.MaxSide {
		t.Fatalf("output %d×%d from %+v", w, h, *info)
	}
	if r := sampleRate(info, opt); r <= 0 || bad(r) || r > opt.FPS {
		t.Fatalf("rate %v from %+v", r, *info)
	}
}

// FuzzReadFrames feeds the rawvideo reader output of any length, in
// reads of any size, ending in EOF or in a read error: it must return
// exactly the whole frames it was sent, or a clear error, never more
// than n frames, never a frame with the wrong number of bytes.
func FuzzReadFrames(f *testing.F) {
	f.Add(make([]byte, 24), byte(1), byte(1), byte(2), byte(5)) // two 2×2 frames
	f.Fuzz(func(t *testing.T, data []byte, wb, hb, nb, cb byte) {
		w, h, n := int(wb%32)+1, int(hb%32)+1, int(nb%8)+1
		r := &chunkReader{data: data, chunk: int(cb&0x3f) + 1, stall: cb&0x40 != 0}
		if cb&0x80 != 0 {
			r.end = errBroken
		}
		imgs, err := readFrames(r, w, h, n)
		size := w * h * 3
		whole := min(len(data)/size, n)
		switch {
		case r.end != nil:
			if err == nil {
				t.Fatal("a broken pipe went unnoticed")
			}
		case len(data) > n*size:
			if err == nil || !strings.Contains(err.Error(), "more than") {
				t.Fatalf("%d bytes for %d frames of %d: %v", len(data), n, size, err)
			}
		case len(data)%size != 0:
			if err == nil || !strings.Contains(err.Error(), "short frame") {
				t.Fatalf("%d bytes, frames of %d: %v", len(data), size, err)
			}
		case err != nil:
			t.Fatalf("%d whole frames: %v", len(data)/size, err)
		}
		if len(imgs) > whole {
			t.Fatalf("%d frames from %d bytes (max %d)", len(imgs), len(data), n)
		}
		for i, img := range imgs {
			if img.W != w || img.H != h || !bytes.Equal(img.Pix, data[i*size:(i+1)*size]) {
				t.Fatalf("frame %d wrong", i)
			}
		}
	})
}

var errBroken = errors.New("broken pipe")

// chunkReader hands out at most chunk bytes a read, sometimes none
// (stall), as a pipe does, and ends with end (io.EOF if nil).
type chunkReader struct {
	data  []byte
	chunk int
	stall bool
	odd   bool
	end   error
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if r.stall {
		if r.odd = !r.odd; r.odd {
			return 0, nil
		}
	}
	if len(r.data) == 0 {
		if r.end != nil {
			return 0, r.end
		}
		return 0, io.EOF
	}
	n := copy(p, r.data[:min(len(r.data), r.chunk)])
	r.data = r.data[n:]
	return n, nil
}

// TestParseProbe pins what the parser makes of ffprobe's words.
func TestParseProbe(t *testing.T) {
	stream := func(extra string) []byte {
		return []byte(`{"streams":[{"index":0,"codec_type":"audio","codec_name":"aac"},{"index":1,"codec_type":"video","codec_name":"h264",` +
			`"width":1920,"height":1080,"sample_aspect_ratio":"1:1","avg_frame_rate":"30000/1001","r_frame_rate":"30/1","duration":"5.005"` +
			extra + `}],"format":{"format_name":"mov,mp4,m4a,3gp,3g2,mj2","duration":"5.010000"}}`)
	}
	cases := []struct {
		name     string
		json     []byte
		rotation int
		w, h     int
		err      error
	}{
		{"landscape", stream(``), 0, 1920, 1080, nil},
		{"ffprobe 5+ display matrix, phone portrait", stream(`,"side_data_list":[{"rotation":-90}]`), 90, 1080, 1920, nil},
		{"display matrix the other way", stream(`,"side_data_list":[{"rotation":90}]`), 270, 1080, 1920, nil},
		{"upside down", stream(`,"side_data_list":[{"rotation":180}]`), 180, 1920, 1080, nil},
		{"older ffprobe's rotate tag", stream(`,"tags":{"rotate":"90"}`), 90, 1080, 1920, nil},
		{"odd angle rounds", stream(`,"side_data_list":[{"rotation":-93.5}]`), 90, 1080, 1920, nil},
		{"anamorphic", stream(`,"sample_aspect_ratio":"4:3"`), 0, 2560, 1080, nil},
		{"cover art only", []byte(`{"streams":[{"index":0,"codec_type":"video","codec_name":"png","disposition":{"attached_pic":1}}],"format":{"format_name":"mov"}}`), 0, 0, 0, ErrNoVideoStream},
		{"not JSON", []byte(`moov atom not found`), 0, 0, 0, ErrCorrupt},
		{"nothing found", []byte(`{}`), 0, 0, 0, ErrCorrupt},
	}
	for _, c := range cases {
		info, err := parseProbe(c.json)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("%s: %v, want %v", c.name, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if w, h := info.DisplaySize(); info.Rotation != c.rotation || w != c.w || h != c.h || info.Stream != 1 ||
			info.Duration != 5010*time.Millisecond || math.Abs(info.FrameRate-29.97) > 0.01 {
			t.Errorf("%s: %+v display %d×%d", c.name, *info, w, h)
		}
	}
	span, tooLong, err := packetSpan(strings.NewReader("0.000000,0.000000,0.033000\nN/A,0.033000,0.033000\nN/A,N/A,N/A\n1.966000,1.966000,0.034000\n"), time.Minute)
	if err != nil || tooLong || span != 2*time.Second {
		t.Fatalf("packet span %v %v %v", span, tooLong, err)
	}
	if _, tooLong, _ := packetSpan(strings.NewReader("0,0,1\n31,31,0.04\n"), 30*time.Second); !tooLong {
		t.Fatal("31 s of packets not too long for a 30 s limit")
	}
}
