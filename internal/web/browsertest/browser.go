// Package browsertest drives the hosted capture page in a real headless
// Chromium (the system's, over the DevTools protocol) with a fake camera
// that plays a .y4m clip, for tests.
//
//	clip := browsertest.Clip(t, browsertest.Segment{Image: face, Seconds: 2})
//	b := browsertest.Launch(t, browsertest.Options{Clip: clip})
//	b.Open(url)
//	status, err := b.WaitStatus(30*time.Second, "completed", "failed")
//	b.Screenshot("capture-done")
//	b.FeedbackSeen() // every distinct #feedback text, in order
//
// Chromium comes from scripts/setup-system.sh (Debian's chromium). When it
// is missing a test is skipped loudly, or fails when
// VISAGE_REQUIRE_FIXTURES=1.
package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/visagehq/visage/internal/testenv"
)

// Chromium returns the browser binary: $VISAGE_CHROMIUM, or the first of
// chromium, chromium-browser, google-chrome-stable, google-chrome on PATH.
func Chromium() (string, error) {
	if p := os.Getenv("VISAGE_CHROMIUM"); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			return "", fmt.Errorf("VISAGE_CHROMIUM=%s: %w", p, err)
		}
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("chromium not found (run scripts/setup-system.sh, or set VISAGE_CHROMIUM)")
}

// RequireChromium returns the browser binary, or skips the test loudly
// (fails it when VISAGE_REQUIRE_FIXTURES=1).
func RequireChromium(t testing.TB) string {
	t.Helper()
	p, err := Chromium()
	if err != nil {
		missing(t, err.Error())
	}
	return p
}

func missing(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("VISAGE_REQUIRE_FIXTURES") == "1" {
		t.Fatalf("REQUIRED BUT MISSING: %s", msg)
	}
	t.Skipf("SKIPPED, MISSING: %s", msg)
}

// Camera is what getUserMedia finds.
type Camera int

// Camera modes.
const (
	// CameraFake is Chromium's fake camera: Options.Clip when set, else its
	// generated test pattern. Permission is granted.
	CameraFake Camera = iota
	// CameraDenied: the person says no (NotAllowedError).
	CameraDenied
	// CameraNone: permission granted but no camera (NotFoundError), as on a
	// machine without one.
	CameraNone
)

// Options configures a browser.
type Options struct {
	Clip   string // .y4m file played by the fake camera
	Camera Camera
	// Viewport in CSS pixels; default 390×844 (a phone).
	Width, Height int
	// Scale is the device pixel ratio of screenshots; default 1.
	Scale float64
	// Timeout bounds the browser's whole life; default 3 minutes.
	Timeout time.Duration
	// Flags are extra command-line flags (name → value, true for a bare flag).
	Flags map[string]any
}

// Browser is one headless Chromium with one tab.
type Browser struct {
	t      testing.TB
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	seen     Seen
	problems []string
	console  []string
}

// Seen is what the page showed, as recorded by an observer injected into
// every document: each list holds the distinct values in order (a value is
// added when it differs from the previous one).
type Seen struct {
	Feedback     []string // texts of #feedback (while visible)
	Instructions []string // texts of #instruction
	Statuses     []string // body[data-status]
	Challenges   []string // body[data-challenge]
	Cameras      []string // body[data-camera]
}

// recordEvent is what the injected observer reports.
type recordEvent struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
}

// observerJS runs before the page's own scripts in every document (it is
// injected over the DevTools protocol, so the page's CSP does not apply to
// it) and reports what the person would see through __visageRecord.
const observerJS = `(() => {
  const last = {};
  const report = (kind, value) => {
    if (value == null) value = '';
    if (last[kind] === value) return;
    last[kind] = value;
    if (typeof window.__visageRecord === 'function') window.__visageRecord({kind, value: String(value)});
  };
  const scan = () => {
    const b = document.body;
    if (!b) return;
    report('status', b.dataset.status);
    report('challenge', b.dataset.challenge || '');
    report('camera', b.dataset.camera || '');
    const ins = document.getElementById('instruction');
    if (ins) report('instruction', ins.textContent.trim());
    const fb = document.getElementById('feedback');
    if (fb) report('feedback', fb.hidden ? '' : fb.textContent.trim());
  };
  new MutationObserver(scan).observe(document, {subtree: true, childList: true, characterData: true, attributes: true});
  document.addEventListener('securitypolicyviolation', (e) => {
    report('csp', e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + Date.now());
  });
  window.addEventListener('error', (e) => report('error', (e.message || 'error') + ' ' + Date.now()));
  window.addEventListener('unhandledrejection', (e) => report('error', 'unhandled rejection: ' + (e.reason && e.reason.message || e.reason) + ' ' + Date.now()));
})();`

// Launch starts Chromium (headless, fake media UI and device, a fresh
// profile) and opens a blank tab. It is closed when the test ends.
func Launch(t testing.TB, opts Options) *Browser {
	t.Helper()
	exe := RequireChromium(t)
	if opts.Width == 0 || opts.Height == 0 {
		opts.Width, opts.Height = 390, 844
	}
	if opts.Scale == 0 {
		opts.Scale = 1
	}
	if opts.Timeout == 0 {
		opts.Timeout = 3 * time.Minute
	}
	if opts.Clip != "" {
		if _, err := os.Stat(opts.Clip); err != nil {
			t.Fatalf("browsertest: clip: %v", err)
		}
		if abs, err := filepath.Abs(opts.Clip); err == nil {
			opts.Clip = abs
		}
	}

	flags := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", "new"),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.Flag("password-store", "basic"),
		// Headless tabs must not have their timers throttled: the page
		// paces its uploads with setTimeout.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.WindowSize(opts.Width, opts.Height),
	}
	switch opts.Camera {
	case CameraFake:
		flags = append(flags,
			chromedp.Flag("use-fake-ui-for-media-stream", true),
			chromedp.Flag("use-fake-device-for-media-stream", true))
		if opts.Clip != "" {
			flags = append(flags, chromedp.Flag("use-file-for-fake-video-capture", opts.Clip))
		}
	case CameraDenied:
		// Permission is denied over the protocol once the browser runs.
		flags = append(flags, chromedp.Flag("use-fake-device-for-media-stream", true))
	case CameraNone:
		flags = append(flags, chromedp.Flag("use-fake-ui-for-media-stream", true))
	}
	for name, v := range opts.Flags {
		flags = append(flags, chromedp.Flag(name, v))
	}

	root, cancelRoot := context.WithTimeout(context.Background(), opts.Timeout)
	actx, cancelAlloc := chromedp.NewExecAllocator(root, flags...)
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithLogf(func(string, ...any) {}))
	b := &Browser{t: t, ctx: ctx, cancel: func() { cancelTab(); cancelAlloc(); cancelRoot() }}
	t.Cleanup(b.Close)

	// Start the browser now, so a broken install fails here, clearly.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("browsertest: starting %s: %v", exe, err)
	}
	if err := chromedp.Listen(ctx, b.onEvent); err != nil {
		t.Fatalf("browsertest: listen: %v", err)
	}
	setup := []chromedp.Action[chromedp.Void]{
		chromedp.EmulateViewport(int64(opts.Width), int64(opts.Height), chromedp.EmulateScale(opts.Scale)),
		chromedp.ExposeFunc("__visageRecord", func(_ context.Context, ev recordEvent) (chromedp.Void, error) {
			b.record(ev)
			return chromedp.Void{}, nil
		}),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument,
				page.AddScriptToEvaluateOnNewDocumentParams{Source: observerJS})
			return err
		}),
	}
	if opts.Camera == CameraDenied {
		setup = append(setup, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
				Permission: &browser.PermissionDescriptor{Name: "camera"},
				Setting:    browser.PermissionSettingDenied,
			})
			return err
		}))
	}
	if err := chromedp.Do(ctx, setup...); err != nil {
		t.Fatalf("browsertest: setting up the tab: %v", err)
	}
	return b
}

// Close ends the browser (also done when the test ends).
func (b *Browser) Close() { b.cancel() }

// Context is the tab's chromedp context, for any other chromedp action.
func (b *Browser) Context() context.Context { return b.ctx }

// Open navigates the tab and waits for the page to load.
func (b *Browser) Open(url string) error {
	return chromedp.Do(b.ctx, chromedp.Navigate(url))
}

// WaitStatus waits until body[data-status] is one of statuses and returns
// it.
func (b *Browser) WaitStatus(timeout time.Duration, statuses ...string) (string, error) {
	sel := make([]string, len(statuses))
	for i, s := range statuses {
		sel[i] = fmt.Sprintf(`body[data-status=%q]`, s)
	}
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.WaitReady(chromedp.CSS(strings.Join(sel, ", ")))); err != nil {
		got, _ := b.Attr("body", "data-status")
		return got, fmt.Errorf("waiting for status %v (now %q): %w", statuses, got, err)
	}
	return b.Attr("body", "data-status")
}

// WaitVisible waits until the CSS selector matches a visible element.
func (b *Browser) WaitVisible(selector string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	return chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(selector)))
}

// Visible reports whether the CSS selector matches a rendered element
// (not display:none, not [hidden], with a box).
func (b *Browser) Visible(selector string) (bool, error) {
	return Eval[bool](b, fmt.Sprintf(`(() => { const e = document.querySelector(%q);
		return !!e && !e.closest('[hidden]') && e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden'; })()`, selector))
}

// Click clicks the first element the CSS selector matches.
func (b *Browser) Click(selector string) error {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	return chromedp.Do(ctx, chromedp.Click(chromedp.CSS(selector)))
}

// Text is the text content of the first element the CSS selector matches.
func (b *Browser) Text(selector string) (string, error) {
	return Eval[string](b, fmt.Sprintf(`(() => { const e = document.querySelector(%q); return e ? e.textContent.trim() : ''; })()`, selector))
}

// Attr is an attribute of the first element the CSS selector matches.
func (b *Browser) Attr(selector, name string) (string, error) {
	return Eval[string](b, fmt.Sprintf(`(() => { const e = document.querySelector(%q); return e && e.getAttribute(%q) || ''; })()`, selector, name))
}

// Location is the tab's current URL.
func (b *Browser) Location() (string, error) { return chromedp.Run(b.ctx, chromedp.Location()) }

// Eval evaluates a JavaScript expression in the page and decodes its value.
func Eval[T any](b *Browser, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr))
}

// ScreenshotDir is <repo>/artifacts/screenshots (git-ignored), or
// $VISAGE_SCREENSHOTS; it is created.
func ScreenshotDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("VISAGE_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(testenv.Root(t), "artifacts", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// Screenshot saves the viewport as a PNG under ScreenshotDir, named
// <name>.png, and returns the path. A failure is reported with t.Error.
func (b *Browser) Screenshot(name string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Errorf("browsertest: screenshot %s: %v", name, err)
		return ""
	}
	p := filepath.Join(ScreenshotDir(b.t), unsafeName.ReplaceAllString(name, "_")+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Errorf("browsertest: screenshot %s: %v", name, err)
		return ""
	}
	b.t.Logf("screenshot: %s", p)
	return p
}

func (b *Browser) record(ev recordEvent) {
	b.mu.Lock()
	defer b.mu.Unlock()
	add := func(list *[]string) {
		if ev.Value == "" {
			return
		}
		if n := len(*list); n == 0 || (*list)[n-1] != ev.Value {
			*list = append(*list, ev.Value)
		}
	}
	switch ev.Kind {
	case "feedback":
		add(&b.seen.Feedback)
	case "instruction":
		add(&b.seen.Instructions)
	case "status":
		add(&b.seen.Statuses)
	case "challenge":
		add(&b.seen.Challenges)
	case "camera":
		add(&b.seen.Cameras)
	case "csp":
		b.problems = append(b.problems, "CSP violation: "+stripStamp(ev.Value))
	case "error":
		b.problems = append(b.problems, "page error: "+stripStamp(ev.Value))
	}
}

func stripStamp(s string) string {
	if i := strings.LastIndexByte(s, ' '); i > 0 {
		return s[:i]
	}
	return s
}

// onEvent runs in the tab's read loop: quick, no commands.
func (b *Browser) onEvent(ev any) {
	var line string
	problem := false
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		var parts []string
		for _, a := range e.Args {
			if len(a.Value) > 0 {
				parts = append(parts, strings.Trim(string(a.Value), `"`))
			} else {
				parts = append(parts, a.Description)
			}
		}
		line = string(e.Type) + ": " + strings.Join(parts, " ")
		problem = e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeAssert
	case *runtime.EventExceptionThrown:
		line = "exception: " + e.ExceptionDetails.Text
		if e.ExceptionDetails.Exception != nil {
			line += " " + e.ExceptionDetails.Exception.Description
		}
		problem = true
	case *log.EventEntryAdded:
		line = string(e.Entry.Source) + " " + string(e.Entry.Level) + ": " + e.Entry.Text
		if e.Entry.URL != "" {
			line += " (" + e.Entry.URL + ")"
		}
		problem = e.Entry.Level == log.EntryLevelError && e.Entry.Source != log.EntrySourceNetwork
	default:
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.console = append(b.console, line)
	if problem {
		b.problems = append(b.problems, line)
	}
}

// Seen returns what the page has shown so far.
func (b *Browser) Seen() Seen {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.seen
	s.Feedback = append([]string(nil), s.Feedback...)
	s.Instructions = append([]string(nil), s.Instructions...)
	s.Statuses = append([]string(nil), s.Statuses...)
	s.Challenges = append([]string(nil), s.Challenges...)
	s.Cameras = append([]string(nil), s.Cameras...)
	return s
}

// FeedbackSeen is Seen().Feedback: every distinct feedback text shown, in
// order.
func (b *Browser) FeedbackSeen() []string { return b.Seen().Feedback }

// Problems lists JavaScript exceptions, console errors and CSP violations
// (network errors such as an expected 404 are left out).
func (b *Browser) Problems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.problems...)
}

// Console is every console message, exception and browser log entry.
func (b *Browser) Console() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.console...)
}
