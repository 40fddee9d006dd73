// Package video turns an uploaded selfie video into frames and judges
// them with the face engine: frame extraction with ffprobe/ffmpeg run as
// sandboxed subprocesses (Probe, Frames), and per-frame analysis with a
// summary over the clip — best frames, passive liveness, blink, head
// motion, and whether the same person is seen throughout (Analyze).
//
// It knows nothing of HTTP, tenants or storage: the caller writes the
// upload to a file, passes its path, and bounds the engine's concurrency.
package video

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Info describes a video file and the video stream Frames decodes.
type Info struct {
	Format string `json:"format"` // ffmpeg demuxer, e.g. "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm"
	Codec  string `json:"codec"`  // e.g. "h264", "vp8", "vp9"
	// Width and Height are the stored picture's; DisplaySize applies the
	// rotation and the pixel aspect ratio.
	Width  int `json:"width"`
	Height int `json:"height"`
	// Rotation is how many degrees clockwise the stored picture is turned
	// to show it upright (0, 90, 180 or 270), from the container's display
	// matrix: phones record portrait video as rotated landscape.
	Rotation    int           `json:"rotation"`
	PixelAspect float64       `json:"pixel_aspect"` // sample aspect ratio; 1 = square pixels
	FrameRate   float64       `json:"frame_rate"`   // average frames per second; 0 if unknown
	Duration    time.Duration `json:"duration_ns"`
	// DurationScanned: the container did not state its duration (as with
	// browser MediaRecorder WebM), so it was measured from the packets.
	DurationScanned bool  `json:"duration_scanned,omitempty"`
	FrameCount      int   `json:"frame_count,omitempty"` // as stated by the container; 0 if unknown
	Size            int64 `json:"size"`                  // bytes
	Stream          int   `json:"stream"`                // index of the video stream used
}

// DisplaySize is the upright picture's size in square pixels.
func (i *Info) DisplaySize() (w, h int) {
	w, h = i.Width, i.Height
	if a := i.PixelAspect; a > 0 && a != 1 {
		w = max(1, int(math.Round(float64(w)*a)))
	}
	if i.Rotation == 90 || i.Rotation == 270 {
		w, h = h, w
	}
	return w, h
}

// Probe reads a video file's metadata with ffprobe and refuses what the
// service must not decode: empty or oversized files, files that are not
// a video container this package accepts (ErrNotVideo), containers
// without a video stream (ErrNoVideoStream), unsupported codecs, absurd
// dimensions (ErrDimensions), and videos longer than the limit
// (ErrTooLong) — all before a single frame is decoded.
func Probe(ctx context.Context, path string) (*Info, error) {
	var d Decoder
	return d.Probe(ctx, path)
}

// Probe is the package-level Probe with this decoder's tools and limits.
func (d *Decoder) Probe(ctx context.Context, path string) (*Info, error) {
	lim := d.limits()
	abs, size, err := checkFile(path, lim)
	if err != nil {
		return nil, err
	}
	bin, err := d.ffprobe()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, d.timeout())
	defer cancel()
	args := append(safeInput(), "-of", "json", "-show_entries", probeEntries, inputURL(abs))
	cmd, stderr := command(ctx, bin, args...)
	var out limitedBuffer
	out.max = maxProbeOutput
	cmd.Stdout = &out
	start := time.Now()
	err = cmd.Run()
	d.observe("ffprobe", start)
	if err != nil {
		return nil, toolError(ctx, ErrCorrupt, "ffprobe", err, stderr, inputURL(abs))
	}
	if out.over {
		return nil, fmt.Errorf("%w: ffprobe output over %d bytes", ErrCorrupt, maxProbeOutput)
	}
	info, err := parseProbe(out.Bytes())
	if err != nil {
		return nil, err
	}
	info.Size = size
	if err := checkInfo(info, lim); err != nil {
		return nil, err
	}
	if info.Duration <= 0 {
		if info.Duration, err = d.scanDuration(ctx, bin, abs, info.Stream, lim.MaxDuration); err != nil {
			return nil, err
		}
		info.DurationScanned = true
	}
	if info.Duration > lim.MaxDuration {
		return nil, fmt.Errorf("%w: %.1f s, limit %.0f s", ErrTooLong, info.Duration.Seconds(), lim.MaxDuration.Seconds())
	}
	return info, nil
}

// probeEntries asks ffprobe for only what parseProbe reads.
const probeEntries = "format=format_name,duration:stream=index,codec_type,codec_name,width,height," +
	"sample_aspect_ratio,avg_frame_rate,r_frame_rate,duration,nb_frames:" +
	"stream_disposition=attached_pic:stream_tags=rotate:stream_side_data=rotation"

// maxProbeOutput: the JSON of a file with a handful of streams is ~1 KB;
// a file with thousands of streams is not a selfie.
const maxProbeOutput = 256 << 10

// checkFile refuses, before running any tool, what is plainly not an
// acceptable upload, and returns the absolute path and size.
func checkFile(path string, lim Limits) (string, int64, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", 0, fmt.Errorf("video: %w", err)
	}
	f, err := os.Open(abs)
	if err != nil {
		return "", 0, fmt.Errorf("video: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", 0, fmt.Errorf("video: %w", err)
	}
	switch {
	case !st.Mode().IsRegular():
		return "", 0, fmt.Errorf("%w: %s is not a regular file", ErrNotVideo, filepath.Base(abs))
	case st.Size() == 0:
		return "", 0, ErrEmpty
	case st.Size() > lim.MaxBytes:
		return "", 0, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, st.Size(), lim.MaxBytes)
	}
	head := make([]byte, 512)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF {
		return "", 0, fmt.Errorf("video: %w", err)
	}
	if Container(head[:n]) == "" {
		return "", 0, fmt.Errorf("%w: unrecognised contents (%s)", ErrNotVideo, describeHead(head[:n]))
	}
	return abs, st.Size(), nil
}

// Container names the container family a file's first bytes announce
// ("mp4", "matroska", "avi", "mpegts", "mpeg-ps", "flv", "ogg", "asf"),
// or "" when they announce none. ffmpeg would guess from the file name
// and call an empty or text file a broken MP4; deciding from the bytes
// lets a JPEG renamed .mp4 be "not a video" and a cut-off MP4 "corrupt".
func Container(head []byte) string {
	has := func(off int, s string) bool {
		return len(head) >= off+len(s) && string(head[off:off+len(s)]) == s
	}
	switch {
	case len(head) >= 8 && isBoxType(head[4:8]):
		return "mp4"
	case has(0, "\x1a\x45\xdf\xa3"):
		return "matroska"
	case has(0, "RIFF") && has(8, "AVI "):
		return "avi"
	case has(0, "\x47") && has(188, "\x47"), has(4, "\x47") && has(196, "\x47"):
		return "mpegts"
	case has(0, "\x00\x00\x01\xba"):
		return "mpeg-ps"
	case has(0, "FLV\x01"):
		return "flv"
	case has(0, "OggS"):
		return "ogg"
	case has(0, "\x30\x26\xb2\x75\x8e\x66\xcf\x11"):
		return "asf"
	}
	return ""
}

// isBoxType: an ISO-BMFF/QuickTime file opens with one of these boxes.
func isBoxType(b []byte) bool {
	switch string(b) {
	case "ftyp", "moov", "mdat", "free", "skip", "wide", "pnot", "styp", "sidx", "moof":
		return true
	}
	return false
}

// describeHead says what the bytes look like instead, for the error.
func describeHead(h []byte) string {
	switch {
	case bytes.HasPrefix(h, []byte("\xff\xd8\xff")):
		return "a JPEG image"
	case bytes.HasPrefix(h, []byte("\x89PNG")):
		return "a PNG image"
	case len(h) >= 12 && string(h[:4]) == "RIFF" && string(h[8:12]) == "WEBP":
		return "a WebP image"
	case bytes.HasPrefix(h, []byte("%PDF")):
		return "a PDF"
	case isText(h):
		return "text"
	}
	return "unknown binary data"
}

func isText(h []byte) bool {
	for _, c := range h {
		if c < 0x09 || (c > 0x0d && c < 0x20) || c == 0x7f {
			return false
		}
	}
	return len(h) > 0
}

// probeJSON is the part of ffprobe's JSON that parseProbe reads.
type probeJSON struct {
	Streams []struct {
		Index        int               `json:"index"`
		CodecType    string            `json:"codec_type"`
		CodecName    string            `json:"codec_name"`
		Width        int               `json:"width"`
		Height       int               `json:"height"`
		SAR          string            `json:"sample_aspect_ratio"`
		AvgFrameRate string            `json:"avg_frame_rate"`
		RFrameRate   string            `json:"r_frame_rate"`
		Duration     string            `json:"duration"`
		NbFrames     string            `json:"nb_frames"`
		Disposition  map[string]int    `json:"disposition"`
		Tags         map[string]string `json:"tags"`
		SideData     []struct {
			Rotation *float64 `json:"rotation"`
		} `json:"side_data_list"`
	} `json:"streams"`
	Format struct {
		FormatName string `json:"format_name"`
		Duration   string `json:"duration"`
	} `json:"format"`
}

// parseProbe reads ffprobe's JSON into Info: the first video stream that
// is not cover art. Duration is 0 when neither the container nor the
// stream states it.
func parseProbe(data []byte) (*Info, error) {
	var p probeJSON
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("%w: unreadable ffprobe output: %v", ErrCorrupt, err)
	}
	for _, s := range p.Streams {
		if s.CodecType != "video" || s.Disposition["attached_pic"] == 1 {
			continue
		}
		info := &Info{
			Format: p.Format.FormatName, Codec: s.CodecName, Width: s.Width, Height: s.Height,
			Stream: s.Index, PixelAspect: 1,
		}
		if a, ok := rational(s.SAR); ok && a > 0 {
			info.PixelAspect = a
		}
		if r, ok := rational(s.AvgFrameRate); ok && r > 0 {
			info.FrameRate = r
		} else if r, ok := rational(s.RFrameRate); ok && r > 0 {
			info.FrameRate = r
		}
		fd, _ := seconds(p.Format.Duration)
		sd, _ := seconds(s.Duration)
		info.Duration = max(fd, sd)
		if n, err := strconv.Atoi(s.NbFrames); err == nil && n > 0 {
			info.FrameCount = n
		}
		info.Rotation = rotation(s.Tags["rotate"], s.SideData)
		return info, nil
	}
	if len(p.Streams) == 0 && p.Format.FormatName == "" {
		return nil, fmt.Errorf("%w: ffprobe found no streams", ErrCorrupt)
	}
	return nil, fmt.Errorf("%w (%d other streams)", ErrNoVideoStream, len(p.Streams))
}

// rotation is the clockwise display rotation. ffprobe ≥ 5 reports the
// display matrix's angle, which is counter-clockwise; older versions had
// a "rotate" tag, clockwise. Angles other than right angles are rounded
// to the nearest one: ffmpeg itself would rotate and crop, and no camera
// writes them.
func rotation(tag string, side []struct {
	Rotation *float64 `json:"rotation"`
}) int {
	deg := math.NaN()
	for _, sd := range side {
		if sd.Rotation != nil {
			deg = -*sd.Rotation
			break
		}
	}
	if math.IsNaN(deg) {
		if v, err := strconv.ParseFloat(tag, 64); err == nil {
			deg = v
		}
	}
	if math.IsNaN(deg) || math.IsInf(deg, 0) || math.Abs(deg) > 1e6 {
		return 0
	}
	r := int(math.Round(deg/90)) * 90 % 360
	if r < 0 {
		r += 360
	}
	return r
}

// checkInfo applies the limits that need no decoding.
func checkInfo(info *Info, lim Limits) error {
	if !codecs[info.Codec] {
		return fmt.Errorf("%w: codec %q", ErrUnsupported, info.Codec)
	}
	if info.Width < MinDimension || info.Height < MinDimension ||
		info.Width > lim.MaxDimension || info.Height > lim.MaxDimension {
		return fmt.Errorf("%w: %d×%d (allowed %d–%d px a side)", ErrDimensions, info.Width, info.Height, MinDimension, lim.MaxDimension)
	}
	if a := info.PixelAspect; a < 0.25 || a > 4 {
		return fmt.Errorf("%w: pixel aspect ratio %.3g", ErrDimensions, a)
	}
	return nil
}

// scanDuration measures a video whose container does not state its
// length from the stream's packet timestamps (demuxing only, no
// decoding), and stops as soon as the limit is passed.
func (d *Decoder) scanDuration(ctx context.Context, bin, abs string, stream int, limit time.Duration) (time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	args := append(safeInput(), "-select_streams", strconv.Itoa(stream),
		"-show_entries", "packet=pts_time,dts_time,duration_time", "-of", "csv=p=0", inputURL(abs))
	cmd, stderr := command(ctx, bin, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, fmt.Errorf("video: ffprobe: %w", err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("video: ffprobe: %w", err)
	}
	dur, tooLong, perr := packetSpan(out, limit)
	if perr != nil || tooLong {
		cancel()
	}
	werr := cmd.Wait()
	d.observe("ffprobe-packets", start)
	switch {
	case tooLong:
		return 0, fmt.Errorf("%w: over %.0f s (measured from packets)", ErrTooLong, limit.Seconds())
	case perr != nil:
		return 0, perr
	case werr != nil:
		return 0, toolError(ctx, ErrCorrupt, "ffprobe", werr, stderr, inputURL(abs))
	case dur <= 0:
		return 0, fmt.Errorf("%w: no timed video packets", ErrCorrupt)
	}
	return dur, nil
}

// packetSpan reads ffprobe's "pts_time,dts_time,duration_time" lines and
// returns the time from the first packet to the end of the last one,
// stopping early (tooLong) once that passes limit.
func packetSpan(r io.Reader, limit time.Duration) (span time.Duration, tooLong bool, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 256), 256)
	first, end := math.Inf(1), math.Inf(-1)
	for sc.Scan() {
		start, stop, ok := packetTimes(sc.Text())
		if !ok {
			continue
		}
		first, end = math.Min(first, start), math.Max(end, stop)
		if end-first > limit.Seconds() {
			return 0, true, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, false, fmt.Errorf("%w: ffprobe packet list: %v", ErrCorrupt, err)
	}
	if math.IsInf(first, 0) {
		return 0, false, nil
	}
	return time.Duration((end - first) * float64(time.Second)), false, nil
}

// packetTimes parses one packet line; a packet without any timestamp
// tells nothing.
func packetTimes(line string) (start, end float64, ok bool) {
	f := strings.Split(strings.TrimSpace(line), ",")
	if len(f) < 2 {
		return 0, 0, false
	}
	t, ok := finite(f[0])
	if !ok {
		if t, ok = finite(f[1]); !ok {
			return 0, 0, false
		}
	}
	end = t
	if len(f) > 2 {
		if d, ok := finite(f[2]); ok && d > 0 {
			end += d
		}
	}
	return t, end, true
}

// finite parses a timestamp in seconds; ffprobe writes "N/A" for none.
// Values beyond a day are nonsense from a forged header.
func finite(s string) (float64, bool) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.Abs(v) > 86400 {
		return 0, false
	}
	return v, true
}

func seconds(s string) (time.Duration, bool) {
	v, ok := finite(s)
	if !ok || v < 0 {
		return 0, false
	}
	return time.Duration(v * float64(time.Second)), true
}

// rational parses ffprobe's "num/den" or "num:den" (0/0 means unknown).
func rational(s string) (float64, bool) {
	sep := strings.IndexAny(s, "/:")
	if sep < 0 {
		return 0, false
	}
	n, err1 := strconv.ParseFloat(s[:sep], 64)
	d, err2 := strconv.ParseFloat(s[sep+1:], 64)
	if err1 != nil || err2 != nil || d == 0 || math.IsNaN(n/d) || math.IsInf(n/d, 0) {
		return 0, false
	}
	return n / d, true
}

// limitedBuffer collects up to max bytes and notes whether more came.
type limitedBuffer struct {
	bytes.Buffer
	max  int
	over bool
}

// Write never fails, so the tool is not stopped mid-write; the excess is
// dropped.
func (b *limitedBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if room := b.max - b.Len(); n > room {
		b.over = true
		p = p[:max(0, room)]
	}
	b.Buffer.Write(p)
	return n, nil
}
