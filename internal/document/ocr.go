package document

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"
)

// OCR errors.
var (
	ErrOCRUnavailable = errors.New("ocr: tesseract not installed (run scripts/setup-system.sh)")
	ErrOCRTimeout     = errors.New("ocr: tesseract timed out")
	ErrOCROutput      = errors.New("ocr: tesseract output over the limit")
	ErrOCRFailed      = errors.New("ocr: tesseract failed")
)

// Tesseract runs the tesseract command-line program. The zero value uses
// `tesseract` from PATH with Debian's English data.
type Tesseract struct {
	Path        string // default "tesseract"
	TessdataDir string // default: the engine's own (TESSDATA_PREFIX or the package's)
	// LegacyTessdataDir holds eng data with the legacy engine (see
	// scripts/setup-system.sh). When set, MRZs are read with both engines and
	// the readings combined; empty means LSTM only.
	LegacyTessdataDir string
	Lang              string        // default "eng"
	Timeout           time.Duration // per run, default 30 s
	MaxOutput         int           // bytes of text accepted, default 1 MiB
}

// The OCR character set of a machine-readable zone.
const mrzWhitelist = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<"

// tesseract's own limit: larger images are refused with an error anyway,
// and bounding them here keeps one request's memory in check.
const maxOCRPixels = 30_000_000

func (t *Tesseract) path() string {
	if t != nil && t.Path != "" {
		return t.Path
	}
	return "tesseract"
}

// Available reports whether the tesseract binary can be found.
func (t *Tesseract) Available() error {
	if _, err := exec.LookPath(t.path()); err != nil {
		return fmt.Errorf("%w: %v", ErrOCRUnavailable, err)
	}
	return nil
}

// ocrRequest is one tesseract run on an image this package encoded.
type ocrRequest struct {
	img       *gray
	psm       int
	whitelist string
	dpi       int
	legacy    bool // tesseract's legacy engine, from LegacyTessdataDir
}

// recognize runs tesseract on req.img and returns its text. The process
// gets the PNG on stdin, a one-thread OpenMP limit (the machine is shared
// and tesseract's threading slows small images down), a minimal
// environment, and is killed when ctx ends or its output passes the limit.
func (t *Tesseract) recognize(ctx context.Context, req ocrRequest) (string, error) {
	if req.img.w*req.img.h > maxOCRPixels || req.img.w == 0 || req.img.h == 0 {
		return "", fmt.Errorf("%w: image %d×%d out of range", ErrOCRFailed, req.img.w, req.img.h)
	}
	data, err := req.img.pngBytes()
	if err != nil {
		return "", fmt.Errorf("ocr: encode: %w", err)
	}
	timeout, maxOut, lang := 30*time.Second, 1<<20, "eng"
	if t != nil && t.Timeout > 0 {
		timeout = t.Timeout
	}
	if t != nil && t.MaxOutput > 0 {
		maxOut = t.MaxOutput
	}
	if t != nil && t.Lang != "" {
		lang = t.Lang
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	args := []string{"stdin", "stdout", "-l", lang, "--psm", strconv.Itoa(req.psm)}
	switch {
	case req.legacy:
		args = append(args, "--tessdata-dir", t.LegacyTessdataDir, "--oem", "0")
	case t != nil && t.TessdataDir != "":
		args = append(args, "--tessdata-dir", t.TessdataDir)
	}
	if req.dpi > 0 {
		args = append(args, "--dpi", strconv.Itoa(req.dpi))
	}
	if req.whitelist != "" {
		args = append(args, "-c", "tessedit_char_whitelist="+req.whitelist)
	}
	cmd := exec.CommandContext(ctx, t.path(), args...)
	cmd.Stdin = bytes.NewReader(data)
	cmd.Env = []string{"OMP_THREAD_LIMIT=1", "PATH=" + os.Getenv("PATH")}
	if p := os.Getenv("TESSDATA_PREFIX"); p != "" {
		cmd.Env = append(cmd.Env, "TESSDATA_PREFIX="+p)
	}
	cmd.WaitDelay = 2 * time.Second
	stdout := &limitedBuffer{max: maxOut, onOverflow: cancel}
	stderr := &limitedBuffer{max: 4 << 10}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err = cmd.Run()
	switch {
	case stdout.overflow:
		return "", fmt.Errorf("%w (%d bytes)", ErrOCROutput, maxOut)
	case errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("%w: %v", ErrOCRUnavailable, err)
	case ctx.Err() == context.DeadlineExceeded:
		return "", fmt.Errorf("%w after %v", ErrOCRTimeout, timeout)
	case ctx.Err() != nil:
		return "", ctx.Err()
	case err != nil:
		return "", fmt.Errorf("%w: %v: %s", ErrOCRFailed, err, bytes.TrimSpace(stderr.buf.Bytes()))
	}
	return stdout.buf.String(), nil
}

// limitedBuffer keeps at most max bytes and reports the overflow once.
type limitedBuffer struct {
	mu         sync.Mutex
	buf        bytes.Buffer
	max        int
	overflow   bool
	onOverflow func()
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); len(p) > room {
		b.buf.Write(p[:max(room, 0)])
		if b.onOverflow == nil {
			return len(p), nil // stderr: keep the start, drop the rest
		}
		if !b.overflow {
			b.overflow = true
			if b.onOverflow != nil {
				b.onOverflow()
			}
		}
		return 0, errors.New("output limit reached")
	}
	return b.buf.Write(p)
}
