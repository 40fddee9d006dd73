package browsertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// ChooseFile clicks the element the CSS selector matches, as a person
// would, waits for the file chooser the page opens in answer, and picks the
// files in it. It proves the button really opens a chooser (a page that
// never calls input.click() times out here), then lets the page's change
// handler run as it would for a person.
func (b *Browser) ChooseFile(trigger string, timeout time.Duration, paths ...string) error {
	files := make([]string, len(paths))
	for i, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return err
		}
		if _, err := os.Stat(abs); err != nil {
			return fmt.Errorf("browsertest: file to choose: %w", err)
		}
		files[i] = abs
	}
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	opened := make(chan cdp.BackendNodeID, 1)
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	if err := chromedp.Listen(lctx, func(ev any) {
		if e, ok := ev.(*page.EventFileChooserOpened); ok {
			select {
			case opened <- e.BackendNodeID:
			default:
			}
		}
	}); err != nil {
		return err
	}
	intercept := func(on bool) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, page.SetInterceptFileChooserDialog, page.SetInterceptFileChooserDialogParams{Enabled: on})
			return err
		})
	}
	if err := chromedp.Do(ctx, intercept(true), chromedp.Click(chromedp.CSS(trigger))); err != nil {
		return fmt.Errorf("browsertest: opening the file chooser with %s: %w", trigger, err)
	}
	defer func() { _ = chromedp.Do(b.ctx, intercept(false)) }()
	select {
	case node := <-opened:
		if node == 0 {
			return fmt.Errorf("browsertest: the file chooser of %s is not an <input type=file>", trigger)
		}
		return chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, dom.SetFileInputFiles, dom.SetFileInputFilesParams{Files: files, BackendNodeID: node})
			return err
		}))
	case <-ctx.Done():
		return fmt.Errorf("browsertest: clicking %s opened no file chooser: %w", trigger, ctx.Err())
	}
}
