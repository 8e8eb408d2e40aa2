package e2e

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// chromePath returns the browser the tests drive: UPMON_TEST_CHROME, or a
// chromium on the PATH; it skips the test when there is none.
func chromePath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("UPMON_TEST_CHROME"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("UPMON_TEST_REQUIRE_ALL") != "" {
		t.Fatal("UPMON_TEST_REQUIRE_ALL is set but no chromium was found; set UPMON_TEST_CHROME")
	}
	t.Skip("set UPMON_TEST_CHROME=/usr/bin/chromium to run browser tests")
	return ""
}

// browser is one headless chromium tab for a test.
type browser struct {
	t       *testing.T
	ctx     context.Context
	dialogs chan string
}

// newBrowser starts a headless chromium with a private profile; it ends
// with the test. Any JavaScript dialog (alert, confirm) is recorded and
// dismissed: the dashboard never opens one, so a dialog means injected
// script ran.
func newBrowser(t *testing.T, width, height int) *browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromePath(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx, dialogs: make(chan string, 16)}
	// The first action starts the browser and binds it to its context:
	// run it on ctx itself, not on a child that is cancelled after.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			select {
			case b.dialogs <- ev.Message:
			default:
			}
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	return b
}

// do runs actions with a time limit, failing the test on error.
func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// eval evaluates a JavaScript expression.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("eval %s: %v", expr, err)
	}
	return v
}

// waitFor evaluates a JavaScript expression every 20 ms until it is
// truthy; navigations in between are fine.
func (b *browser) waitFor(expr string, d time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(d)
	var last error
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+expr+")"))
		cancel()
		if err == nil && ok {
			return
		}
		if err != nil {
			last = err
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("waited %v for %s (last error: %v)", d, expr, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// open navigates and waits for the page's script to have run.
func (b *browser) open(url string) {
	b.t.Helper()
	b.do(chromedp.Navigate(url))
	b.waitFor(`document.readyState === "complete" && document.documentElement.classList.contains("js")`, 10*time.Second)
}

// scriptsOff disables (or enables) JavaScript in the tab.
func (b *browser) scriptsOff(off bool) {
	b.t.Helper()
	if _, err := chromedp.Call(b.ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: off}); err != nil {
		b.t.Fatal(err)
	}
}

// noDialogs fails if any JavaScript dialog opened.
func (b *browser) noDialogs() {
	b.t.Helper()
	select {
	case msg := <-b.dialogs:
		b.t.Fatalf("a JavaScript dialog opened: %q (injected script ran)", msg)
	default:
	}
}

// screenshot saves a full-page PNG under docs/screenshots when
// UPMON_UPDATE_SCREENSHOTS=1 (so CI leaves the tree clean).
func (b *browser) screenshot(name string) {
	b.t.Helper()
	if os.Getenv("UPMON_UPDATE_SCREENSHOTS") != "1" {
		return
	}
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatal(err)
	}
	dir := filepath.Join("..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// freeAddr returns a loopback address no one listens on, so a restarted
// server can come back on the same one.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "<", `\x3c`)
	return `"` + r.Replace(s) + `"`
}
