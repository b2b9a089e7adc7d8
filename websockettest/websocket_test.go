// Package websockettest proves, with a real WebSocket library, that a
// session reaches the client of a connection upgraded by
// gorilla/websocket, whose Upgrader writes its own 101 response. It is a
// module of its own so that the library never enters the root go.mod.
package websockettest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/gorilla/websocket"

	"github.com/ginsessions/sessions"
)

func init() { gin.SetMode(gin.ReleaseMode) }

// brokenStore is a memory store whose saves fail as a store that is down
// does.
type brokenStore struct{ *sessions.MemoryStore }

func (brokenStore) Save(context.Context, string, sessions.Change) error {
	return fmt.Errorf("save: %w", sessions.ErrUnavailable)
}

// site serves /ws, a WebSocket that starts a session before the upgrade,
// stores the first message in the session after the upgrade and echoes it,
// and /get?k=…, which prints a session value.
func site(t *testing.T, store sessions.Store) *httptest.Server {
	t.Helper()
	upgrader := websocket.Upgrader{}
	r := gin.New()
	r.Use(sessions.Middleware(store))
	r.GET("/ws", func(c *gin.Context) {
		s := sessions.Default(c)
		s.Set("greeting", "hello over a socket")
		h, err := sessions.UpgradeHeader(c)
		if err != nil {
			return // the error handler has answered
		}
		conn, err := upgrader.Upgrade(c.Writer, c.Request, h)
		if err != nil {
			t.Errorf("Upgrade: %v", err)
			return
		}
		defer conn.Close()
		_, msg, err := conn.ReadMessage()
		if err != nil {
			t.Errorf("ReadMessage: %v", err)
			return
		}
		// After the upgrade the client holds the cookie, so a change can be
		// saved; Save does it before the echo tells the client it may look.
		s.Set("last", string(msg))
		if err := s.Save(); err != nil {
			t.Errorf("Save after the upgrade: %v", err)
		}
		if err := conn.WriteMessage(websocket.TextMessage, msg); err != nil {
			t.Errorf("WriteMessage: %v", err)
		}
	})
	r.GET("/get", func(c *gin.Context) {
		c.String(http.StatusOK, "%v", sessions.Default(c).Get(c.Query("k"), "<none>"))
	})
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv
}

func TestUpgradeCarriesTheSessionCookie(t *testing.T) {
	store := sessions.NewMemoryStore()
	t.Cleanup(func() { _ = store.Close() })
	srv := site(t, store)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	dialer := websocket.Dialer{Jar: jar}
	conn, res, err := dialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", nil)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	if res.StatusCode != http.StatusSwitchingProtocols || len(res.Header.Values("Set-Cookie")) != 1 {
		t.Fatalf("handshake: %d, Set-Cookie %q; want 101 with the session cookie", res.StatusCode, res.Header.Values("Set-Cookie"))
	}
	if err := conn.WriteMessage(websocket.TextMessage, []byte("ping")); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := conn.ReadMessage(); err != nil || string(msg) != "ping" {
		t.Fatalf("echo: %q, %v", msg, err)
	}
	_ = conn.Close()

	client := &http.Client{Jar: jar}
	for key, want := range map[string]string{"greeting": "hello over a socket", "last": "ping"} {
		res, err := client.Get(srv.URL + "/get?k=" + key)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(got) != want {
			t.Errorf("after the socket, %s = %q, want %q", key, got, want)
		}
	}
}

func TestUpgradeRefusedWhenTheSaveFails(t *testing.T) {
	mem := sessions.NewMemoryStore()
	t.Cleanup(func() { _ = mem.Close() })
	srv := site(t, brokenStore{mem})
	_, res, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", nil)
	if !errors.Is(err, websocket.ErrBadHandshake) || res == nil || res.StatusCode != http.StatusServiceUnavailable {
		code := 0
		if res != nil {
			code = res.StatusCode
		}
		t.Fatalf("Dial with the store down: %v, status %d; want a refused handshake with 503", err, code)
	}
	if n := len(res.Header.Values("Set-Cookie")); n != 0 {
		t.Fatalf("a failed save sent %d cookies", n)
	}
}
