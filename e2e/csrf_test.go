package e2e

import (
	"context"
	"html/template"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// TestFormFromAnotherOriginIsRefused signs a visitor in, then has them submit
// forms on pages served from a second origin, a second server on 127.0.0.1,
// that post to the example site. The browser sends each forged POST; the site
// refuses it with 403, and the session is the same afterwards, as the site's
// own pages show.
//
// A page on another port of 127.0.0.1 is cross-origin but same-site (a site
// is the scheme and the registrable domain, or the IP address; ports do not
// count): the browser sends the SameSite=Lax cookie with its POST and marks
// it Sec-Fetch-Site: same-site, so CrossOriginProtection alone refuses it.
// The same server reached as localhost is cross-site: the browser withholds
// the cookie as well.
func TestFormFromAnotherOriginIsRefused(t *testing.T) {
	site := openSite(t)
	ctx, base := site.ctx, site.base
	sent := recordRequests(ctx, t)
	other := startOtherOrigin(t, base)

	site.navigate("/login")
	site.sendKeys("#name", "Ada")
	site.submit("#login", "/")
	signedIn := site.sessionCookie().Value

	for _, tc := range []struct {
		name       string
		page       string // the other origin's page; its form posts to target
		target     string
		fetchSite  string // the Sec-Fetch-Site the browser sends
		cookieSent bool   // whether SameSite=Lax lets the session cookie go
	}{
		{"greeting from another port", "http://" + other + "/greeting", "/greeting/set", "same-site", true},
		{"logout from another port", "http://" + other + "/logout", "/logout", "same-site", true},
		{"greeting from localhost", "http://localhost:" + port(t, other) + "/greeting", "/greeting/set", "cross-site", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &browser{t: t, ctx: ctx, base: base}
			b.do("open "+tc.page, chromedp.Navigate(tc.page))
			since := sent.mark()
			resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS("#forge")))
			if err != nil {
				t.Fatalf("submit the form: %v", err)
			}
			if resp.Status != http.StatusForbidden || resp.URL != base+tc.target {
				t.Fatalf("the form landed on %s with status %d, want %s refused with 403", resp.URL, resp.Status, base+tc.target)
			}
			if got := b.text("body"); !strings.Contains(got, "cross-origin request detected") {
				t.Errorf("the refusal reads %q, want CrossOriginProtection's", got)
			}

			req := sent.find(t, since, http.MethodPost, base+tc.target)
			if got := req.header("Sec-Fetch-Site"); got != tc.fetchSite {
				t.Errorf("Sec-Fetch-Site: %q, want %q", got, tc.fetchSite)
			}
			if got, want := req.header("Origin"), origin(t, tc.page); got != want {
				t.Errorf("Origin: %q, want %q", got, want)
			}
			if got := strings.Contains(req.header("Cookie"), "sessionid="); got != tc.cookieSent {
				t.Errorf("session cookie sent: %v, want %v", got, tc.cookieSent)
			}
			if why := req.blocked("sessionid"); !tc.cookieSent && !slices.ContainsFunc(why, isLax) {
				t.Errorf("the session cookie was withheld for %v, want SameSite=Lax", why)
			}

			// The session is unchanged, seen from the site's own pages.
			b.navigate("/greeting")
			if !b.exists("#greeting-missing") {
				t.Error("the forged form stored the greeting")
			}
			if got := b.text("#who"); !strings.Contains(got, "Ada") {
				t.Errorf("after the forged form the header reads %q, want the visitor still signed in", got)
			}
			if got := b.sessionCookie().Value; got != signedIn {
				t.Error("the forged form changed the session token")
			}
		})
	}

	// The same form on the site's own page goes through: the refusals above
	// were about where the forms came from.
	site.navigate("/greeting/set")
	site.submit("#set-greeting", "/greeting")
	if got, want := site.text("#greeting"), "Hello, Gin Sessions!"; got != want {
		t.Fatalf("greeting set from the site itself: got %q, want %q", got, want)
	}
}

// startOtherOrigin serves, on another port of 127.0.0.1, pages whose forms
// post to the example site at base: /greeting sets the greeting and /logout
// logs out. It returns the server's host:port.
func startOtherOrigin(t *testing.T, base string) string {
	t.Helper()
	page := template.Must(template.New("").Parse(`<!DOCTYPE html>
<title>Another site</title>
<form method="post" action="{{ . }}"><button id="forge" type="submit">Claim your prize</button></form>
`))
	targets := map[string]string{"/greeting": base + "/greeting/set", "/logout": base + "/logout"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target, ok := targets[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = page.Execute(w, target)
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

func port(t *testing.T, hostport string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(hostport)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// origin is the Origin header a browser sends from the page at rawURL.
func origin(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Scheme + "://" + u.Host
}

// sentRequest is what the browser put on the wire for one request: its
// headers, and the cookies it considered, each with why it was withheld.
type sentRequest struct {
	method, url string
	headers     network.Headers
	cookies     []*network.AssociatedCookie
	extraInfo   bool
}

func (r *sentRequest) header(name string) string {
	for k, v := range r.headers {
		if strings.EqualFold(k, name) {
			s, _ := v.(string)
			return s
		}
	}
	return ""
}

// blocked returns the reasons the browser gave for not sending the named
// cookie; none when it sent it or did not consider it.
func (r *sentRequest) blocked(name string) []network.CookieBlockedReason {
	for _, c := range r.cookies {
		if c.Cookie != nil && c.Cookie.Name == name {
			return c.BlockedReasons
		}
	}
	return nil
}

// isLax tells whether the browser withheld a cookie for its SameSite=Lax
// attribute; Chromium names the reason after schemeful same-site, where a
// site is the scheme and the registrable domain (or the IP address).
func isLax(why network.CookieBlockedReason) bool {
	return why == network.CookieBlockedReasonSameSiteLax || why == network.CookieBlockedReasonSchemefulSameSiteLax
}

// requestLog holds the requests the browser sent, in order, as DevTools
// reports them.
type requestLog struct {
	ctx     context.Context
	mu      sync.Mutex
	sent    []*sentRequest
	byID    map[network.RequestID]*sentRequest
	changed chan struct{}
}

func recordRequests(ctx context.Context, t *testing.T) *requestLog {
	t.Helper()
	l := &requestLog{ctx: ctx, byID: map[network.RequestID]*sentRequest{}, changed: make(chan struct{}, 1)}
	err := chromedp.Listen(ctx, func(ev any) {
		l.mu.Lock()
		defer l.mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			r := l.get(ev.RequestID)
			r.method, r.url = ev.Request.Method, ev.Request.URL
		case *network.EventRequestWillBeSentExtraInfo:
			r := l.get(ev.RequestID)
			r.headers, r.cookies, r.extraInfo = ev.Headers, ev.AssociatedCookies, true
		default:
			return
		}
		select {
		case l.changed <- struct{}{}:
		default:
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// get returns the entry for id, made when new; the caller holds l.mu.
func (l *requestLog) get(id network.RequestID) *sentRequest {
	r, ok := l.byID[id]
	if !ok {
		r = &sentRequest{}
		l.byID[id] = r
		l.sent = append(l.sent, r)
	}
	return r
}

// mark returns how many requests the browser has made so far.
func (l *requestLog) mark() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.sent)
}

// find waits until the browser has reported the headers of the first request
// of that method to rawURL that it made after mark returned since.
func (l *requestLog) find(t *testing.T, since int, method, rawURL string) *sentRequest {
	t.Helper()
	for {
		if r := l.first(since, method, rawURL); r != nil {
			return r
		}
		select {
		case <-l.changed:
		case <-l.ctx.Done():
			t.Fatalf("the browser reported no %s %s with its headers", method, rawURL)
		}
	}
}

// first returns a copy, so that the caller reads it without the lock.
func (l *requestLog) first(since int, method, rawURL string) *sentRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.sent[since:] {
		if r.method == method && r.url == rawURL && r.extraInfo {
			found := *r
			return &found
		}
	}
	return nil
}
