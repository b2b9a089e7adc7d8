package e2e

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// chromiumPath is where Debian's chromium package puts the browser; `make e2e`
// installs it when it is missing.
const chromiumPath = "/usr/bin/chromium"

// TestExampleSite walks through the example site in headless Chromium as a
// visitor would: the visit counter, the greeting, login and logout with their
// flash messages, and the session cookie hidden from scripts.
func TestExampleSite(t *testing.T) {
	b := openSite(t)

	// The visit counter, pluralized: 1 time, 2 times, 3 times.
	for i, want := range []string{
		"You have visited this page 1 time.",
		"You have visited this page 2 times.",
		"You have visited this page 3 times.",
	} {
		b.navigate("/")
		if got := b.text("#visits"); got != want {
			t.Fatalf("visit %d: got %q, want %q", i+1, got, want)
		}
	}

	// The greeting is stored by a POST and read back by another page.
	b.navigate("/greeting")
	if !b.exists("#greeting-missing") {
		t.Fatal("the greeting page shows a greeting before one was set")
	}
	b.navigate("/greeting/set")
	b.submit("#set-greeting", "/greeting")
	if got, want := b.text("#greeting"), "Hello, Gin Sessions!"; got != want {
		t.Fatalf("greeting: got %q, want %q", got, want)
	}

	// The session cookie is HttpOnly: scripts cannot read it, though the
	// browser holds it and sends it.
	if cookie := b.eval("document.cookie"); strings.Contains(cookie, "sessionid") {
		t.Fatalf("document.cookie exposes the session cookie: %q", cookie)
	}
	before := b.sessionCookie()
	if !before.HTTPOnly {
		t.Fatal("the browser holds a session cookie without HttpOnly")
	}
	if before.SameSite != network.CookieSameSiteLax {
		t.Errorf("session cookie SameSite = %q, want Lax", before.SameSite)
	}

	// Log in: a welcome flash, the name in the header, a new token, and the
	// visit counter kept.
	b.navigate("/login")
	b.sendKeys("#name", "Ada")
	b.submit("#login", "/")
	if got := b.text("#flashes"); got != "Welcome, Ada" {
		t.Fatalf("after login the flashes read %q, want %q", got, "Welcome, Ada")
	}
	if got := b.text("#who"); !strings.Contains(got, "Ada") {
		t.Fatalf("after login the header reads %q, want the name", got)
	}
	if got, want := b.text("#visits"), "You have visited this page 4 times."; got != want {
		t.Fatalf("after login: got %q, want %q", got, want)
	}
	if after := b.sessionCookie(); after.Value == before.Value {
		t.Error("login kept the session token; CycleKey should have replaced it")
	}
	b.screenshot(filepath.Join("..", "docs", "home.png"))

	// A flash is shown once.
	b.navigate("/")
	if b.exists("#flashes") {
		t.Fatalf("the welcome flash was shown twice: %q", b.text("#flashes"))
	}

	// Log out: a flash, no name, and the counter starts again.
	b.submit("#logout", "/")
	if got := b.text("#flashes"); got != "Logged out" {
		t.Fatalf("after logout the flashes read %q, want %q", got, "Logged out")
	}
	if b.exists("#who") {
		t.Fatalf("after logout the header still reads %q", b.text("#who"))
	}
	if got, want := b.text("#visits"), "You have visited this page 1 time."; got != want {
		t.Fatalf("after logout: got %q, want %q", got, want)
	}
}

// openSite starts the example site and a fresh browser for one test. One
// deadline covers the test, so that a hung browser or server fails it
// instead of blocking it; it bounds the run, it measures nothing.
func openSite(t *testing.T) *browser {
	t.Helper()
	requireChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	base := startSite(ctx, t)
	return &browser{t: t, ctx: newBrowser(ctx, t), base: base}
}

// requireChromium fails under CI, where `make e2e` must have installed the
// browser, and skips elsewhere with the command that installs it.
func requireChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err == nil {
		return
	}
	msg := chromiumPath + " is missing: run `make e2e`, or `apt-get install chromium`"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// startSite builds the example site, runs it on a port the system picks and
// returns its address once it listens. The server is stopped when the test
// ends.
func startSite(ctx context.Context, t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "site")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./_example")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./_example: %v\n%s", err, out)
	}

	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "PORT=0", "HOST=127.0.0.1", "GIN_MODE=release", "REDIS_URL=")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})

	// The site logs "listening on http://ADDR" once its socket is open.
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			t.Log("site: " + line)
			if _, url, ok := strings.Cut(line, "listening on "); ok {
				select {
				case addr <- url:
				default:
				}
			}
		}
		close(addr)
	}()
	select {
	case url, ok := <-addr:
		if !ok {
			t.Fatal("the example site exited before it listened")
		}
		return url
	case <-ctx.Done():
		t.Fatal("the example site did not start: ", ctx.Err())
	}
	return ""
}

// newBrowser starts a headless Chromium with a fresh profile, with the flags
// this network needs: no background traffic and no QUIC to the outside.
func newBrowser(ctx context.Context, t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(1100, 800),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	t.Cleanup(cancelBrowser)
	return browserCtx
}

// browser runs one step at a time and fails the test on the first error.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
}

func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

func (b *browser) navigate(path string) {
	b.t.Helper()
	b.do("navigate to "+path, chromedp.Navigate(b.base+path))
}

// submit clicks a form's button and waits for the page the form leads to.
func (b *browser) submit(button, wantPath string) {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(button)))
	if err != nil {
		b.t.Fatalf("click %s: %v", button, err)
	}
	if resp.Status != 200 || !strings.HasSuffix(resp.URL, wantPath) {
		b.t.Fatalf("click %s: landed on %s with status %d, want %s", button, resp.URL, resp.Status, wantPath)
	}
}

func (b *browser) sendKeys(sel, text string) {
	b.t.Helper()
	b.do("type into "+sel, chromedp.SendKeys(chromedp.CSS(sel), text))
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("read %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func (b *browser) eval(js string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return s
}

// exists looks the element up once, without waiting for it to appear.
func (b *browser) exists(sel string) bool {
	b.t.Helper()
	return b.eval(`document.querySelector(`+jsString(sel)+`) === null ? "no" : "yes"`) == "yes"
}

// sessionCookie reads the session cookie from the browser's cookie store,
// which sees HttpOnly cookies that document.cookie hides.
func (b *browser) sessionCookie() *network.Cookie {
	b.t.Helper()
	res, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{b.base}})
	if err != nil {
		b.t.Fatalf("read the cookies: %v", err)
	}
	for _, c := range res.Cookies {
		if c.Name == "sessionid" {
			return c
		}
	}
	b.t.Fatalf("the browser holds no sessionid cookie (it holds %d others)", len(res.Cookies))
	return nil
}

// screenshot saves the whole page as a PNG, for docs/example-site.md.
func (b *browser) screenshot(path string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
