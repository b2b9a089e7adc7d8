package main

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/ginsessions/sessions"
)

// yourSessions lists the devices the visitor is signed in on: browser, IP,
// last seen, this one marked, each with a button that signs it out.
func yourSessions(c *gin.Context) {
	s := sessions.Default(c)
	if s.Principal() == "" {
		s.AddFlash("Log in to see where you are signed in.")
		c.Redirect(http.StatusSeeOther, "/login")
		return
	}
	infos, err := s.UserSessions()
	if err != nil {
		_ = c.Error(err)
		c.String(http.StatusServiceUnavailable, "Your sessions cannot be listed right now.")
		return
	}
	rows := make([]gin.H, 0, len(infos))
	for _, in := range infos {
		rows = append(rows, gin.H{
			"uuid":      in.UUID,
			"browser":   describeBrowser(in.UserAgent),
			"ip":        in.IP,
			"last_seen": ago(time.Since(in.LastSeen)),
			"seen_at":   in.LastSeen.UTC().Format(time.RFC1123),
			"current":   in.Current,
		})
	}
	c.HTML(http.StatusOK, "sessions.html", gin.H{"title": "Your sessions", "rows": rows})
}

// revokeSession signs out one of the visitor's devices. Signing out this
// device is a logout: RevokeSession flushes the request's own session, so
// the flash below starts a new, anonymous one and shows on the next page.
func revokeSession(c *gin.Context) {
	s := sessions.Default(c)
	uuid := c.PostForm("uuid")
	if s.Principal() == "" || uuid == "" {
		c.Redirect(http.StatusSeeOther, "/login")
		return
	}
	if err := s.RevokeSession(uuid); err != nil {
		_ = c.Error(err)
		c.String(http.StatusServiceUnavailable, "That device cannot be logged out right now.")
		return
	}
	if s.Principal() == "" { // it was this device
		s.AddFlash("Logged out")
		c.Redirect(http.StatusSeeOther, "/")
		return
	}
	s.AddFlash("Logged out that device")
	c.Redirect(http.StatusSeeOther, "/sessions")
}

// revokeOtherSessions signs out every device but this one.
func revokeOtherSessions(c *gin.Context) {
	s := sessions.Default(c)
	if s.Principal() == "" {
		c.Redirect(http.StatusSeeOther, "/login")
		return
	}
	n, err := s.RevokeOtherSessions()
	if err != nil {
		_ = c.Error(err)
		c.String(http.StatusServiceUnavailable, "Your other devices cannot be logged out right now.")
		return
	}
	devices := "devices"
	if n == 1 {
		devices = "device"
	}
	s.AddFlash(fmt.Sprintf("Logged out %d other %s", n, devices))
	c.Redirect(http.StatusSeeOther, "/sessions")
}

// describeBrowser turns a User-Agent into "Firefox on Linux", roughly:
// enough for a visitor to recognize a device.
func describeBrowser(ua string) string {
	browser := firstMatch(ua, "Unknown browser", [][2]string{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"HeadlessChrome/", "Headless Chrome"},
		{"Chrome/", "Chrome"}, {"Safari/", "Safari"}, {"curl/", "curl"},
	})
	os := firstMatch(ua, "", [][2]string{
		{"Android", "Android"}, {"iPhone", "iOS"}, {"iPad", "iPadOS"}, {"Windows", "Windows"},
		{"Mac OS X", "macOS"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	})
	if os == "" {
		return browser
	}
	return browser + " on " + os
}

// firstMatch returns the name of the first marker found in s, or def.
func firstMatch(s, def string, markers [][2]string) string {
	for _, m := range markers {
		if strings.Contains(s, m[0]) {
			return m[1]
		}
	}
	return def
}

// ago says how long ago something happened, to the minute.
func ago(d time.Duration) string {
	switch m := int(d / time.Minute); {
	case m < 1:
		return "just now"
	case m == 1:
		return "1 minute ago"
	case m < 120:
		return fmt.Sprintf("%d minutes ago", m)
	default:
		return fmt.Sprintf("%d hours ago", m/60)
	}
}
