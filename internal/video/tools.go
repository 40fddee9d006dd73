package video

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Decoder runs Debian's ffprobe and ffmpeg as subprocesses on video
// files. The zero value uses the defaults below and is safe for
// concurrent use; it holds no state between calls.
type Decoder struct {
	// FFmpeg and FFprobe are the binaries; "" means $VISAGE_FFMPEG /
	// $VISAGE_FFPROBE, else ffmpeg / ffprobe on PATH.
	FFmpeg, FFprobe string
	Limits          Limits
	// Threads bounds the decoder and filter threads of one ffmpeg run
	// (0: 1). The face engine, not decoding, is what costs: a 720p H.264
	// second decodes in well under 100 ms on one thread.
	Threads int
	// Timeout bounds each ffprobe or ffmpeg run on top of the caller's
	// context (0: DefaultTimeout).
	Timeout time.Duration
	// Observe, if set, receives each tool run's wall time (for metrics):
	// "ffprobe", "ffprobe-packets" (duration scan) or "ffmpeg".
	Observe func(tool string, d time.Duration)
}

// observe reports a finished run. (The child's rusage is no use for its
// memory: Go starts it with vfork, so its peak RSS counts this process's.)
func (d *Decoder) observe(tool string, start time.Time) {
	if d.Observe != nil {
		d.Observe(tool, time.Since(start))
	}
}

// Limits bound what Probe accepts. Zero values mean the defaults.
type Limits struct {
	MaxBytes     int64         // file size
	MaxDuration  time.Duration // longer videos are refused before decoding
	MaxDimension int           // longest stored side in pixels
}

// Defaults: the vendors' upload limit is 50 MB; a selfie video lasts a
// few seconds, so 30 s leaves room without letting one upload hold a
// worker for minutes; 4096 px admits portrait 4K phone video.
const (
	DefaultMaxBytes     = 50 << 20
	DefaultMaxDuration  = 30 * time.Second
	DefaultMaxDimension = 4096
	// MinDimension: a picture this small cannot hold a usable face.
	MinDimension   = 16
	DefaultTimeout = 60 * time.Second
)

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxDuration <= 0 {
		l.MaxDuration = DefaultMaxDuration
	}
	if l.MaxDimension <= 0 {
		l.MaxDimension = DefaultMaxDimension
	}
	return l
}

// demuxers is ffmpeg's -format_whitelist: the containers phones, browsers
// and desktop tools record into. Everything else (image sequences,
// playlists such as HLS or concat that reference other files, raw
// streams, the text "tty" demuxer) is refused by ffmpeg itself.
const demuxers = "mov,matroska,avi,mpegts,mpeg,flv,ogg,asf"

// codecs are the video codecs decoded. Obscure decoders are where
// ffmpeg's security bugs cluster, and no camera records them.
var codecs = map[string]bool{
	"h264": true, "hevc": true, "vp8": true, "vp9": true, "av1": true,
	"mpeg4": true, "mpeg2video": true, "mpeg1video": true, "h263": true,
	"mjpeg": true, "theora": true, "prores": true, "vc1": true,
	"wmv1": true, "wmv2": true, "wmv3": true, "msmpeg4v2": true, "msmpeg4v3": true, "flv1": true,
}

// maxAlloc caps any single allocation inside ffmpeg/ffprobe (-max_alloc):
// a 4096×4096 frame needs ~50 MB; a forged header asking for gigabytes
// fails instead of exhausting memory.
const maxAlloc = 256 << 20

// safeInput are the options every ffprobe/ffmpeg run gets before its
// input: local files only (no network or nested protocols), only the
// allowed containers.
func safeInput() []string {
	return []string{"-hide_banner", "-loglevel", "error", "-max_alloc", strconv.Itoa(maxAlloc),
		"-protocol_whitelist", "file", "-format_whitelist", demuxers}
}

// inputURL names the file so that neither a leading '-' nor a 'proto:'
// prefix in the name can change how ffmpeg reads it.
func inputURL(abs string) string { return "file:" + abs }

func (d *Decoder) limits() Limits { return d.Limits.withDefaults() }

func (d *Decoder) threads() int {
	if d.Threads <= 0 {
		return 1
	}
	return d.Threads
}

func (d *Decoder) timeout() time.Duration {
	if d.Timeout <= 0 {
		return DefaultTimeout
	}
	return d.Timeout
}

func (d *Decoder) ffmpeg() (string, error)  { return lookTool(d.FFmpeg, "VISAGE_FFMPEG", "ffmpeg") }
func (d *Decoder) ffprobe() (string, error) { return lookTool(d.FFprobe, "VISAGE_FFPROBE", "ffprobe") }

func lookTool(set, env, name string) (string, error) {
	p := set
	if p == "" {
		p = os.Getenv(env)
	}
	if p == "" {
		p = name
	}
	found, err := exec.LookPath(p)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %v (run scripts/setup-system.sh)", ErrUnavailable, name, err)
	}
	return found, nil
}

// command prepares a subprocess that dies with ctx, reads nothing, and
// runs with an empty environment: FFREPORT would make ffmpeg write a log
// file, and proxy or AV_LOG variables have no business here.
func command(ctx context.Context, bin string, args ...string) (*exec.Cmd, *tailBuffer) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = []string{"LC_ALL=C"}
	cmd.Dir = "/"
	cmd.WaitDelay = 2 * time.Second // pipes are closed even if a child lingers
	setDeathSignal(cmd)
	stderr := &tailBuffer{max: stderrMax}
	cmd.Stderr = stderr
	return cmd, stderr
}

// stderrMax bounds how much of a tool's complaints is kept for the error.
const stderrMax = 2048

// tailBuffer keeps the last max bytes written to it: ffmpeg's last lines
// say why it stopped.
type tailBuffer struct {
	mu        sync.Mutex
	max       int
	buf       []byte
	truncated bool
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(p)
	if len(p) >= b.max {
		p = p[len(p)-b.max:]
		b.buf = b.buf[:0]
		b.truncated = true
	} else if over := len(b.buf) + len(p) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
		b.truncated = true
	}
	b.buf = append(b.buf, p...)
	return n, nil
}

// String is the kept text on one line.
func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(b.buf), "?")), " ")
	if b.truncated {
		s = "…" + s
	}
	return s
}

// toolError explains a failed run: the caller's cancellation or our
// timeout as such, anything else as kind with the tool's own words.
func toolError(ctx context.Context, kind error, tool string, err error, stderr *tailBuffer, input string) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("video: %s: %w", tool, cerr)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		msg := toolMessage(stderr.String(), input)
		if msg == "" {
			msg = ee.String()
		}
		return fmt.Errorf("%w: %s: %s", kind, tool, msg)
	}
	return fmt.Errorf("video: %s: %w", tool, err)
}

var logContext = regexp.MustCompile(`\[([^\]@]+) @ 0x[0-9a-f]+\] `)

// toolMessage makes ffmpeg's log fit for an error a client may see: no
// server paths, no heap addresses.
func toolMessage(msg, input string) string {
	if input != "" {
		msg = strings.ReplaceAll(msg, input, "input")
	}
	return logContext.ReplaceAllString(msg, "$1: ")
}
