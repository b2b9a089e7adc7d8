package main

import (
	"fmt"
	"net/http"
	"strings"
	"unicode"

	"github.com/ginsessions/sessions"
)

// newHandler is the whole site as the server sees it: the router behind the
// standard library's cross-origin protection. Wrapping the engine, rather
// than listing routes, is what makes every POST route refuse a form posted
// from another origin, routes added later included; the refusal comes before
// gin runs, so a forged request never loads or saves a session. GET, HEAD
// and OPTIONS always pass, which is why no handler may change anything that
// matters on a GET.
//
// trustedOrigins ("scheme://host[:port]", as browsers send them in Origin)
// may post from other origins, like Django's CSRF_TRUSTED_ORIGINS.
func newHandler(store sessions.Store, trustedOrigins []string) (http.Handler, error) {
	protection := http.NewCrossOriginProtection()
	for _, origin := range trustedOrigins {
		if err := protection.AddTrustedOrigin(origin); err != nil {
			return nil, fmt.Errorf("CSRF_TRUSTED_ORIGINS: %w", err)
		}
	}
	return protection.Handler(newRouter(store)), nil
}

// splitOrigins reads a list of origins separated by commas or spaces.
func splitOrigins(list string) []string {
	return strings.FieldsFunc(list, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
}
