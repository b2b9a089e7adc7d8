package pgstore_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/ginsessions/sessions"
)

// TestLoginAndRevokeThroughGin: two devices log in as one user through gin;
// the list shows both, one logs the other out, and the other's next
// request is anonymous.
func TestLoginAndRevokeThroughGin(t *testing.T) {
	store, _, _ := newStore(t)
	r := engine(store)
	r.GET("/login", func(c *gin.Context) {
		sessions.Default(c).Login("ann")
		c.String(http.StatusOK, "in")
	})
	r.GET("/devices", func(c *gin.Context) {
		list, err := sessions.Default(c).UserSessions()
		if err != nil {
			c.AbortWithError(http.StatusInternalServerError, err)
			return
		}
		c.String(http.StatusOK, strconv.Itoa(len(list)))
	})
	r.GET("/revoke-others", func(c *gin.Context) {
		n, err := sessions.Default(c).RevokeOtherSessions()
		if err != nil {
			c.AbortWithError(http.StatusInternalServerError, err)
			return
		}
		c.String(http.StatusOK, strconv.Itoa(n))
	})
	r.GET("/who", func(c *gin.Context) { c.String(http.StatusOK, sessions.Default(c).Principal()) })

	laptop := sessionCookie(t, get(r, "/login", nil))
	phone := sessionCookie(t, get(r, "/login", nil))
	if w := get(r, "/devices", laptop); w.Body.String() != "2" {
		t.Fatalf("devices: %d %q, want 2", w.Code, w.Body.String())
	}
	if w := get(r, "/revoke-others", laptop); w.Body.String() != "1" {
		t.Fatalf("revoke others: %d %q, want 1", w.Code, w.Body.String())
	}
	if w := get(r, "/who", phone); w.Body.String() != "" {
		t.Fatalf("the revoked phone is still %q", w.Body.String())
	}
	if w := get(r, "/who", laptop); w.Body.String() != "ann" {
		t.Fatalf("the laptop is %q, want ann", w.Body.String())
	}
	n, err := sessions.RevokeUserSessions(testCtx(t), store, "ann")
	if err != nil || n != 1 {
		t.Fatalf("RevokeUserSessions = %d, %v; want 1, nil", n, err)
	}
}
