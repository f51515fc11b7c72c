// Package e2e tests arena's pages and the seed's client in real headless
// Chromium, driven over the DevTools protocol by chromedp, against real
// servers on loopback.
package e2e

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// browser is the one Chromium every test of the package opens tabs in.
var browser context.Context

func chromiumPath() string {
	if p := os.Getenv("ARENA_CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

func TestMain(m *testing.M) {
	path := chromiumPath()
	if _, err := os.Stat(path); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: the browser tests need Chromium at %s: %v\n"+
			"  install it with `apt-get install -y chromium` (./scripts/test does),\n"+
			"  or point ARENA_CHROMIUM at a Chromium binary.\n", path, err)
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "arena-e2e-chromium-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // Debian's chromium refuses to run as root otherwise
		chromedp.DisableGPU,
		chromedp.UserDataDir(dir),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		// Nothing leaves the machine: every name but loopback fails at
		// once, so the seed page's CDN script fails fast instead of hanging.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	if err := chromedp.Do(bctx); err != nil { // start the browser
		fmt.Fprintf(os.Stderr, "e2e: cannot start Chromium at %s: %v\n", path, err)
		os.Exit(1)
	}
	browser = bctx
	code := m.Run()
	cancelBrowser()
	cancelAlloc()
	os.RemoveAll(dir)
	os.Exit(code)
}

// tab opens a new tab that closes when the test ends. It records every
// request the page makes, WebSockets included, and every console error and
// uncaught exception: any of them fails the test when it ends, unless
// allowConsole expected it.
type tab struct {
	t        testing.TB
	ctx      context.Context
	mu       sync.Mutex
	requests []string
	console  []string         // errors the page logged or threw
	allowed  []*regexp.Regexp // console errors a test expects
}

// allowConsole lets console errors matching re pass: a test that stops the
// server expects the page to log failed WebSocket connections.
func (tb *tab) allowConsole(re string) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.allowed = append(tb.allowed, regexp.MustCompile(re))
}

// consoleErrors lists the console errors not allowed.
func (tb *tab) consoleErrors() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	var out []string
next:
	for _, c := range tb.console {
		for _, re := range tb.allowed {
			if re.MatchString(c) {
				continue next
			}
		}
		out = append(out, c)
	}
	return out
}

// consoleText describes a console error, an exception or a log entry of
// level error, or returns "" for anything else.
func consoleText(ev any) string {
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if e.Type != runtime.ConsoleAPICalledTypeError && e.Type != runtime.ConsoleAPICalledTypeAssert {
			return ""
		}
		var parts []string
		for _, a := range e.Args {
			if a.Value != nil {
				parts = append(parts, string(a.Value))
			} else {
				parts = append(parts, a.Description)
			}
		}
		return "console." + string(e.Type) + ": " + strings.Join(parts, " ")
	case *runtime.EventExceptionThrown:
		d := e.ExceptionDetails
		text := d.Text
		if d.Exception != nil {
			text += " " + d.Exception.Description
		}
		return fmt.Sprintf("exception: %s (%s:%d)", text, d.URL, d.LineNumber)
	case *cdplog.EventEntryAdded:
		if e.Entry.Level != cdplog.EntryLevelError {
			return ""
		}
		return fmt.Sprintf("%s error: %s %s", e.Entry.Source, e.Entry.Text, e.Entry.URL)
	}
	return ""
}

func newTab(t testing.TB) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancel()
	})
	tb := &tab{t: t, ctx: ctx}
	t.Cleanup(func() { // runs before the tab closes: cleanups run last first
		for _, c := range tb.consoleErrors() {
			t.Errorf("the page logged an error: %s", c)
		}
	})
	err := chromedp.Listen(ctx, func(ev any) {
		if c := consoleText(ev); c != "" {
			tb.mu.Lock()
			tb.console = append(tb.console, c)
			tb.mu.Unlock()
			return
		}
		var url string
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			url = e.Request.URL
		case *network.EventWebSocketCreated: // not a request to the Network domain
			url = e.URL
		default:
			return
		}
		tb.mu.Lock()
		tb.requests = append(tb.requests, url)
		tb.mu.Unlock()
	})
	if err == nil {
		_, err = chromedp.Call(ctx, network.Enable, network.EnableParams{})
	}
	if err == nil {
		_, err = chromedp.Call(ctx, runtime.Enable, cdp.Empty{})
	}
	if err == nil {
		_, err = chromedp.Call(ctx, cdplog.Enable, cdp.Empty{})
	}
	if err != nil {
		t.Fatalf("open tab: %v", err)
	}
	return tb
}

func (tb *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, steps...); err != nil {
		tb.t.Fatalf("browser: %v", err)
	}
}

func (tb *tab) navigate(url string) {
	tb.t.Helper()
	tb.do(chromedp.Navigate(url))
}

// eval evaluates a JavaScript expression and decodes its value into T.
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor polls a JavaScript expression every 20 ms until it is truthy, and
// fails the test if it is not within timeout.
func waitFor(tb *tab, what, expr string, timeout time.Duration) {
	tb.t.Helper()
	_, err := chromedp.Run(tb.ctx, chromedp.Poll[any](expr,
		chromedp.WithPollingInterval(20*time.Millisecond),
		chromedp.WithPollingTimeout(timeout)))
	if err != nil {
		tb.t.Fatalf("waiting for %s (%s): %v", what, expr, err)
	}
}

// key describes a keyboard key as the DevTools protocol dispatches it.
type key struct {
	key  string // e.key
	code string // e.code
	vk   int64  // Windows virtual key code
}

var (
	keyW     = key{"w", "KeyW", 'W'}
	keyA     = key{"a", "KeyA", 'A'}
	keyS     = key{"s", "KeyS", 'S'}
	keyD     = key{"d", "KeyD", 'D'}
	keyRight = key{"ArrowRight", "ArrowRight", 0x27}
	keyDown  = key{"ArrowDown", "ArrowDown", 0x28}
	keyLeft  = key{"ArrowLeft", "ArrowLeft", 0x25}
	keyUp    = key{"ArrowUp", "ArrowUp", 0x26}
)

func (tb *tab) keyEvent(typ input.DispatchKeyEventType, k key) {
	tb.t.Helper()
	p := input.DispatchKeyEventParams{Type: typ, Key: k.key, Code: k.code, WindowsVirtualKeyCode: k.vk, NativeVirtualKeyCode: k.vk}
	if typ == input.DispatchKeyEventTypeKeyDown && len(k.key) == 1 {
		p.Text = k.key
	}
	if _, err := chromedp.Call(tb.ctx, input.DispatchKeyEvent, p); err != nil {
		tb.t.Fatalf("key %s %s: %v", typ, k.key, err)
	}
}

// hold presses k, keeps it down for d, and releases it.
func (tb *tab) hold(k key, d time.Duration) {
	tb.t.Helper()
	tb.keyEvent(input.DispatchKeyEventTypeKeyDown, k)
	time.Sleep(d) // the length of the key press is the input, not a wait for an event
	tb.keyEvent(input.DispatchKeyEventTypeKeyUp, k)
}

// offOrigin lists the requests that went anywhere but origins (or data: and
// blob: URLs, which never leave the page).
func (tb *tab) offOrigin(origins ...string) []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if len(tb.requests) == 0 {
		tb.t.Fatal("no requests recorded at all: is the recorder broken?")
	}
	var out []string
next:
	for _, u := range tb.requests {
		if strings.HasPrefix(u, "data:") || strings.HasPrefix(u, "blob:") {
			continue
		}
		for _, o := range origins {
			if strings.HasPrefix(u, o+"/") || u == o {
				continue next
			}
		}
		out = append(out, u)
	}
	return out
}

// requested reports whether the page asked for anything starting with
// prefix.
func (tb *tab) requested(prefix string) bool {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, u := range tb.requests {
		if strings.HasPrefix(u, prefix) {
			return true
		}
	}
	return false
}
