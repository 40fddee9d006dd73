package video

import (
	"context"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/visagehq/visage/internal/imageio"
)

// FrameOptions choose which frames Frames returns. Zero values mean the
// defaults.
type FrameOptions struct {
	// FPS is the sampling rate (default 5). It is lowered when the clip
	// is long enough that MaxFrames frames at FPS would not reach its end,
	// so the samples always span the whole clip: a face swap after the
	// first seconds must not escape. A blink lasts 100–400 ms: sample at
	// 10 fps or more when a blink is what you look for.
	FPS float64
	// MaxFrames caps the frames returned (default 50). Memory is bounded
	// by MaxFrames × w × h × 3 bytes: 50 frames of 720×405 are 44 MB.
	MaxFrames int
	// MaxSide: frames are scaled (never enlarged) so that their longer
	// side is at most this (default 720; at most MaxMaxSide).
	MaxSide int
	// Info from an earlier Probe of the same file saves probing it again.
	Info *Info
}

// Defaults and bounds for FrameOptions.
const (
	DefaultFPS       = 5
	DefaultMaxFrames = 50
	DefaultMaxSide   = 720
	MaxMaxSide       = 2048
)

func (o FrameOptions) withDefaults() FrameOptions {
	if o.FPS <= 0 || math.IsNaN(o.FPS) || math.IsInf(o.FPS, 0) {
		o.FPS = DefaultFPS
	}
	if o.MaxFrames <= 0 {
		o.MaxFrames = DefaultMaxFrames
	}
	if o.MaxSide <= 0 {
		o.MaxSide = DefaultMaxSide
	}
	o.MaxSide = min(o.MaxSide, MaxMaxSide)
	return o
}

// Frame is one decoded frame, upright, in the engine's pixel format.
type Frame struct {
	Index int            // position in the returned slice
	Time  time.Duration  // from the start of the video stream (sample time)
	Image *imageio.Image // packed RGB, Image.W × Image.H
}

// Frames decodes frames sampled across the video at opt.FPS, at most
// opt.MaxFrames, scaled to fit opt.MaxSide and turned upright. It probes
// the file first (unless opt.Info is given), so every refusal Probe makes
// also happens here, before decoding. Decoding is strict: a frame ffmpeg
// cannot decode cleanly makes the whole video ErrCorrupt rather than
// passing on concealed, smeared pixels.
func Frames(ctx context.Context, path string, opt FrameOptions) ([]Frame, error) {
	var d Decoder
	return d.Frames(ctx, path, opt)
}

// Frames is the package-level Frames with this decoder's tools and limits.
func (d *Decoder) Frames(ctx context.Context, path string, opt FrameOptions) ([]Frame, error) {
	opt = opt.withDefaults()
	info := opt.Info
	if info == nil {
		var err error
		if info, err = d.Probe(ctx, path); err != nil {
			return nil, err
		}
	}
	lim := d.limits()
	if err := checkInfo(info, lim); err != nil {
		return nil, err
	}
	abs, _, err := checkFile(path, lim)
	if err != nil {
		return nil, err
	}
	bin, err := d.ffmpeg()
	if err != nil {
		return nil, err
	}
	w, h := outputSize(info, opt.MaxSide)
	rate := sampleRate(info, opt)
	ctx, cancel := context.WithTimeout(ctx, d.timeout())
	defer cancel()
	cmd, stderr := command(ctx, bin, d.frameArgs(abs, info, lim, rate, w, h, opt.MaxFrames)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("video: ffmpeg: %w", err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("video: ffmpeg: %w", err)
	}
	imgs, rerr := readFrames(out, w, h, opt.MaxFrames)
	if rerr != nil {
		_ = cmd.Process.Kill() // its output is no longer wanted
	}
	werr := cmd.Wait()
	d.observe("ffmpeg", start)
	switch {
	case ctx.Err() != nil:
		return nil, fmt.Errorf("video: ffmpeg: %w", ctx.Err())
	case werr != nil && rerr == nil:
		return nil, toolError(ctx, ErrCorrupt, "ffmpeg", werr, stderr, inputURL(abs))
	case rerr != nil:
		return nil, fmt.Errorf("%w: ffmpeg output: %v %s", ErrCorrupt, rerr, toolMessage(stderr.String(), inputURL(abs)))
	case len(imgs) == 0:
		return nil, fmt.Errorf("%w: no frame could be decoded", ErrCorrupt)
	}
	frames := make([]Frame, len(imgs))
	for i, img := range imgs {
		frames[i] = Frame{Index: i, Time: time.Duration(float64(i) / rate * float64(time.Second)), Image: img}
	}
	return frames, nil
}

// frameArgs builds the ffmpeg command line. ffmpeg applies the display
// rotation itself (autorotate) before the filters below, so w×h is the
// upright size; -t stops decoding at the duration limit even if the
// container lied to ffprobe about its length; -xerror turns any decoding
// error into a failed run.
func (d *Decoder) frameArgs(abs string, info *Info, lim Limits, rate float64, w, h, n int) []string {
	threads := strconv.Itoa(d.threads())
	args := append([]string{"-nostdin", "-xerror"}, safeInput()...)
	args = append(args,
		"-threads", threads, "-filter_threads", threads,
		"-t", strconv.FormatFloat(lim.MaxDuration.Seconds(), 'f', 3, 64),
		"-i", inputURL(abs),
		"-map", "0:"+strconv.Itoa(info.Stream), "-an", "-sn", "-dn",
		"-vf", fmt.Sprintf("fps=%s,scale=%d:%d:flags=bilinear,setsar=1", strconv.FormatFloat(rate, 'f', 4, 64), w, h),
		"-frames:v", strconv.Itoa(n),
		"-pix_fmt", "rgb24", "-f", "rawvideo", "pipe:1")
	return args
}

// outputSize fits the upright picture into maxSide × maxSide, never
// enlarging it.
func outputSize(info *Info, maxSide int) (w, h int) {
	w, h = info.DisplaySize()
	if long := max(w, h); long > maxSide {
		s := float64(maxSide) / float64(long)
		w = max(1, int(math.Round(float64(w)*s)))
		h = max(1, int(math.Round(float64(h)*s)))
	}
	return w, h
}

// sampleRate is opt.FPS, no faster than the video's own frame rate and
// slow enough that MaxFrames samples reach the end of the clip.
func sampleRate(info *Info, opt FrameOptions) float64 {
	r := opt.FPS
	if info.FrameRate > 0 {
		r = min(r, info.FrameRate)
	}
	if secs := info.Duration.Seconds(); secs > 0 && r*secs > float64(opt.MaxFrames) {
		r = float64(opt.MaxFrames) / secs
	}
	return max(r, 0.01)
}

// readFrames reads rawvideo rgb24 frames of w×h from r, at most n, each
// straight into a new imageio.Image (its Pix is the same packed layout).
// A partial last frame or data beyond n frames means the output is not
// what was asked for, and is an error.
func readFrames(r io.Reader, w, h, n int) ([]*imageio.Image, error) {
	if w <= 0 || h <= 0 || n <= 0 || w > MaxMaxSide*4 || h > MaxMaxSide*4 {
		return nil, fmt.Errorf("frame size %d×%d × %d", w, h, n)
	}
	size := w * h * 3
	var imgs []*imageio.Image
	for len(imgs) < n {
		img := imageio.NewImage(w, h)
		got, err := io.ReadFull(r, img.Pix)
		switch {
		case err == io.EOF:
			return imgs, nil
		case err == io.ErrUnexpectedEOF:
			return imgs, fmt.Errorf("short frame %d: %d of %d bytes", len(imgs), got, size)
		case err != nil:
			return imgs, err
		}
		imgs = append(imgs, img)
	}
	var one [1]byte
	for {
		got, err := r.Read(one[:])
		if got > 0 {
			return imgs, fmt.Errorf("more than %d frames of %d×%d", n, w, h)
		}
		if err == io.EOF {
			return imgs, nil
		}
		if err != nil {
			return imgs, err
		}
	}
}
