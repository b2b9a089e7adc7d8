package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestYourSessions signs in as one user from two browsers that share no
// cookies, lists both devices from each, and logs the other one out from
// its row and then with "Log out all other devices": each time, the other
// browser is logged out on its next visit.
func TestYourSessions(t *testing.T) {
	here := openSite(t)
	here.navigate("/") // starts the browser, so that a second context can join it
	otherCtx, cancelOther := chromedp.NewContext(here.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancelOther)
	there := &browser{t: t, ctx: otherCtx, base: here.base}

	// Anonymous visitors are sent to the login page.
	there.navigate("/sessions")
	if !there.exists("#login") {
		t.Fatal("an anonymous visitor sees the sessions page")
	}
	for _, b := range []*browser{here, there} {
		b.navigate("/login")
		b.sendKeys("#name", "Ada")
		b.submit("#login", "/")
	}
	if here.sessionCookie().Value == there.sessionCookie().Value {
		t.Fatal("the two browsers share a session")
	}

	for name, b := range map[string]*browser{"here": here, "there": there} {
		b.navigate("/sessions")
		if rows, mine := b.count("tr.session-row"), b.count(".this-device"); rows != 2 || mine != 1 {
			t.Fatalf("%s: %d rows, %d marked as this device; want 2 and 1", name, rows, mine)
		}
		if got := b.text("tr.session-row.current td"); !strings.Contains(got, "Chrome") {
			t.Fatalf("%s: this device's browser reads %q", name, got)
		}
		if got := b.text("tr.session-row.current td:nth-child(2)"); got != "127.0.0.1" {
			t.Fatalf("%s: this device's IP reads %q, want 127.0.0.1", name, got)
		}
		if got := b.text("tr.session-row.current td:nth-child(3)"); got != "just now" {
			t.Fatalf("%s: this device was last seen %q, want just now", name, got)
		}
	}

	// Log out the other device from its row, then, once it has logged in
	// again, with "Log out all other devices".
	for _, tc := range []struct{ button, flash string }{
		{"tr.session-row:not(.current) button.revoke", "Logged out that device"},
		{"#revoke-others", "Logged out 1 other device"},
	} {
		here.navigate("/sessions")
		if rows := here.count("tr.session-row"); rows != 2 {
			t.Fatalf("before %s: %d rows, want 2", tc.button, rows)
		}
		here.submit(tc.button, "/sessions")
		if got := here.text("#flashes"); got != tc.flash {
			t.Fatalf("after %s, the flashes read %q, want %q", tc.button, got, tc.flash)
		}
		if rows := here.count("tr.session-row"); rows != 1 {
			t.Fatalf("after %s, %d rows remain, want 1", tc.button, rows)
		}
		there.wantLoggedOut()
		there.navigate("/login")
		there.sendKeys("#name", "Ada")
		there.submit("#login", "/")
	}
	here.navigate("/")
	if got := here.text("#who"); !strings.Contains(got, "Ada") {
		t.Fatalf("this device was logged out too: the header reads %q", got)
	}

	// Logging out is a POST: a GET of the form's address finds nothing.
	resp, err := chromedp.RunResponse(here.ctx, chromedp.Navigate(here.base+"/sessions/revoke-others"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 404 {
		t.Fatalf("GET /sessions/revoke-others answered %d, want 404", resp.Status)
	}
}

// wantLoggedOut checks that the browser's next visit is anonymous.
func (b *browser) wantLoggedOut() {
	b.t.Helper()
	b.navigate("/")
	if b.exists("#who") {
		b.t.Fatalf("the revoked browser is still signed in: %q", b.text("#who"))
	}
	b.navigate("/sessions")
	if !b.exists("#login") {
		b.t.Fatal("the revoked browser still sees the sessions page")
	}
}

// count returns how many elements match sel.
func (b *browser) count(sel string) int {
	b.t.Helper()
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+jsString(sel)+`).length`))
	if err != nil {
		b.t.Fatalf("count %s: %v", sel, err)
	}
	return n
}
