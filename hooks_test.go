package sessions_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/ginsessions/sessions"
)

// hookLog records what hooks receive.
type hookLog struct {
	mu     sync.Mutex
	events []sessions.Event
	ops    []string // "start load", "done load", "done save: error"
	ctxOK  bool     // every StoreDone saw the context its StoreStart made
}

type hookMark struct{}

func newHookLog() *hookLog { return &hookLog{ctxOK: true} }

func (l *hookLog) hooks() sessions.Hooks {
	return sessions.Hooks{
		Event: func(_ context.Context, e sessions.Event) {
			l.mu.Lock()
			l.events = append(l.events, e)
			l.mu.Unlock()
		},
		StoreStart: func(ctx context.Context, op sessions.StoreOp) context.Context {
			l.mu.Lock()
			l.ops = append(l.ops, "start "+op.String())
			l.mu.Unlock()
			return context.WithValue(ctx, hookMark{}, op.Name)
		},
		StoreDone: func(ctx context.Context, op sessions.StoreOp, d time.Duration, err error) {
			l.mu.Lock()
			defer l.mu.Unlock()
			if ctx.Value(hookMark{}) != op.Name || d < 0 || op.Store == "" {
				l.ctxOK = false
			}
			s := "done " + op.Name
			if err != nil {
				s += ": error"
			}
			l.ops = append(l.ops, s)
		},
	}
}

// take returns and forgets what was recorded: events as "kind uuid
// principal", and the names of the store calls that ended.
func (l *hookLog) take() (events, ops []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.events {
		events = append(events, strings.TrimSpace(e.Kind.String()+" "+e.UUID+" "+e.Principal))
	}
	for _, op := range l.ops {
		if name, ok := strings.CutPrefix(op, "done "); ok {
			ops = append(ops, name)
		}
	}
	l.events, l.ops = nil, nil
	return events, ops
}

// hookRoutes adds the routes of a logged-in site to kvRoutes': /uuid
// prints the session's UUID, /login?u=… logs in, /others revokes the
// user's other sessions.
func hookRoutes(r *gin.Engine) {
	kvRoutes(r)
	r.GET("/uuid", func(c *gin.Context) { c.String(http.StatusOK, sessions.Default(c).UUID()) })
	r.GET("/login", func(c *gin.Context) {
		s := sessions.Default(c)
		s.Login(c.Query("u"))
		s.Set("user", c.Query("u"))
		c.String(http.StatusOK, "ok")
	})
	r.GET("/others", func(c *gin.Context) {
		n, err := sessions.Default(c).RevokeOtherSessions()
		if err != nil {
			c.String(http.StatusInternalServerError, err.Error())
			return
		}
		c.String(http.StatusOK, "%d", n)
	})
}

// TestHookEvents: each request-driven event fires once its store call
// succeeded, with the session's UUID and user, and each store call the
// request makes is reported, with the context StoreStart returned.
func TestHookEvents(t *testing.T) {
	log := newHookLog()
	st := newMemoryStore(t)
	c := newClient(t, newEngine(st, []sessions.Option{sessions.WithHooks(log.hooks())}, hookRoutes))

	step := func(path string, wantEvents, wantOps []string) {
		t.Helper()
		if rec := c.get(path); rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
		}
		events, ops := log.take()
		if !slices.Equal(events, wantEvents) {
			t.Errorf("%s: events %q, want %q", path, events, wantEvents)
		}
		if !slices.Equal(ops, wantOps) {
			t.Errorf("%s: store calls %q, want %q", path, ops, wantOps)
		}
	}
	uuidOf := func() string { t.Helper(); return c.get("/uuid").Body.String() }

	step("/none", nil, nil)
	c.get("/set?k=a&v=1")
	events, ops := log.take()
	first := uuidOf()
	log.take()
	if want := []string{"created " + first}; !slices.Equal(events, want) || !slices.Equal(ops, []string{"save"}) {
		t.Errorf("a new session: events %q, store calls %q, want %q and one save", events, ops, want)
	}
	step("/set?k=a&v=2", nil, []string{"load", "save"})
	step("/get?k=a", nil, []string{"load"})
	step("/login?u=ann", []string{"logged_in " + first + " ann"}, []string{"load", "delete", "user_tag", "save"})
	step("/cycle", []string{"cycled " + first + " ann"}, []string{"load", "delete", "user_tag", "save"})
	step("/flush", []string{"flushed " + first + " ann"}, []string{"load", "delete"})

	// A new session that logs in at once: created, then logged in.
	c.get("/login?u=bob")
	events, _ = log.take()
	second := uuidOf()
	log.take()
	if want := []string{"created " + second + " bob", "logged_in " + second + " bob"}; !slices.Equal(events, want) {
		t.Errorf("a new session's login: events %q, want %q", events, want)
	}
	// Emptying an anonymous session deletes it at the commit: it ends as
	// flushed.
	anon := newClient(t, c.h)
	anon.get("/set?k=a&v=1")
	third := anon.get("/uuid").Body.String()
	log.take()
	if rec := anon.get("/clear"); rec.Code != http.StatusOK {
		t.Fatal(rec.Code)
	}
	events, ops = log.take()
	if want := []string{"flushed " + third}; !slices.Equal(events, want) || !slices.Equal(ops, []string{"load", "delete"}) {
		t.Errorf("/clear: events %q, store calls %q, want %q after a load and a delete", events, ops, want)
	}

	log.mu.Lock()
	defer log.mu.Unlock()
	if !log.ctxOK {
		t.Error("a StoreDone did not get the context its StoreStart returned, or an op without a store name")
	}
}

// TestHookEventsOfFirstSave: the created event of a new session carries
// the UUID that the session then has.
func TestHookEventsOfFirstSave(t *testing.T) {
	log := newHookLog()
	c := newClient(t, newEngine(newMemoryStore(t), []sessions.Option{sessions.WithHooks(log.hooks())}, hookRoutes))
	c.get("/set?k=a&v=1")
	events, _ := log.take()
	uuid := c.get("/uuid").Body.String()
	if want := []string{"created " + uuid}; !slices.Equal(events, want) || uuid == "" {
		t.Fatalf("events %q, want %q", events, want)
	}
}

// TestHookRevoked: every revocation reports one EventRevoked per session it
// ended, with its UUID: RevokeOtherSessions, the cap at login, and the
// package functions called with the store alone, which report to the hooks
// the middleware added to the store.
func TestHookRevoked(t *testing.T) {
	log := newHookLog()
	st := newMemoryStore(t)
	h := newEngine(st, []sessions.Option{sessions.WithHooks(log.hooks()), sessions.WithMaxSessionsPerUser(3)}, hookRoutes)
	login := func() (*client, string) {
		c := newClient(t, h)
		c.get("/login?u=ann")
		return c, c.get("/uuid").Body.String()
	}
	var clients []*client
	var uuids []string
	for range 4 {
		c, u := login()
		clients, uuids = append(clients, c), append(uuids, u)
	}
	// The fourth login revoked the least recently seen, the first.
	events, _ := log.take()
	if revoked := kindOf(events, "revoked"); !slices.Equal(revoked, []string{"revoked " + uuids[0] + " ann"}) {
		t.Fatalf("the cap: %q, want the first session revoked", revoked)
	}

	if got := clients[3].get("/others").Body.String(); got != "2" {
		t.Fatalf("RevokeOtherSessions = %s, want 2", got)
	}
	events, ops := log.take()
	want := []string{"revoked " + uuids[1] + " ann", "revoked " + uuids[2] + " ann"}
	if got := kindOf(events, "revoked"); !sameSet(got, want) {
		t.Fatalf("RevokeOtherSessions: %q, want %q", got, want)
	}
	if !slices.Contains(ops, "delete_user_sessions") {
		t.Errorf("store calls %q, want delete_user_sessions among them", ops)
	}

	// Outside any request, on the store itself.
	n, err := sessions.RevokeUserSessions(context.Background(), st, "ann")
	if err != nil || n != 1 {
		t.Fatalf("RevokeUserSessions = %d, %v", n, err)
	}
	events, ops = log.take()
	if want := []string{"revoked " + uuids[3] + " ann"}; !slices.Equal(events, want) {
		t.Fatalf("RevokeUserSessions: events %q, want %q", events, want)
	}
	if !slices.Equal(ops, []string{"delete_user_sessions"}) {
		t.Errorf("RevokeUserSessions: store calls %q", ops)
	}
	if err := sessions.RevokeSession(context.Background(), st, "ann", uuids[3]); err != nil {
		t.Fatal(err)
	}
	if events, _ := log.take(); len(events) != 0 {
		t.Errorf("revoking a session that is gone: events %q, want none", events)
	}
	if _, err := sessions.UserSessions(context.Background(), st, "ann"); err != nil {
		t.Fatal(err)
	}
	if _, ops := log.take(); !slices.Equal(ops, []string{"load_user_sessions"}) {
		t.Errorf("UserSessions: store calls %q", ops)
	}
}

// TestHookFailed: a request whose save fails reports EventFailed, with the
// error, and never EventCreated or EventLoggedIn; one whose load fails
// reports EventFailed without a UUID.
func TestHookFailed(t *testing.T) {
	log := newHookLog()
	st := &flakyUserStore{MemoryStore: newMemoryStore(t)}
	c := newClient(t, newEngine(st, []sessions.Option{sessions.WithHooks(log.hooks())}, hookRoutes))

	st.failSaves(true)
	if rec := c.get("/set?k=a&v=1"); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("a failed save answered %d", rec.Code)
	}
	events, ops := log.take()
	if !slices.Equal(events, []string{"failed"}) || !slices.Equal(ops, []string{"save: error"}) {
		t.Fatalf("a failed save: events %q, store calls %q", events, ops)
	}
	st.failSaves(false)
	c.get("/set?k=a&v=1")
	uuid := c.get("/uuid").Body.String()
	log.take()
	st.failSaves(true)
	if rec := c.get("/login?u=ann"); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("a failed login answered %d", rec.Code)
	}
	events, _ = log.take()
	if want := []string{"failed " + uuid + " ann"}; !slices.Equal(events, want) {
		t.Fatalf("a failed login: events %q, want %q", events, want)
	}

	var got []sessions.Event
	st.failSaves(false)
	st.failLoads(true)
	hooks := sessions.Hooks{Event: func(_ context.Context, e sessions.Event) { got = append(got, e) }}
	c2 := newClient(t, newEngine(st, []sessions.Option{sessions.WithHooks(hooks)}, hookRoutes))
	c2.jar.SetCookies(siteURL, []*http.Cookie{{Name: "sessionid", Value: strings.Repeat("a", 43)}})
	if rec := c2.get("/get?k=a"); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("a failed load answered %d", rec.Code)
	}
	if len(got) != 1 || got[0].Kind != sessions.EventFailed || got[0].UUID != "" || !errors.Is(got[0].Err, sessions.ErrUnavailable) {
		t.Fatalf("a failed load: events %+v, want one EventFailed with ErrUnavailable", got)
	}
}

// flakyUserStore is a memory store whose loads and saves fail on demand.
type flakyUserStore struct {
	*sessions.MemoryStore
	mu               sync.Mutex
	saveErr, loadErr bool
}

func (s *flakyUserStore) failSaves(on bool) { s.mu.Lock(); s.saveErr = on; s.mu.Unlock() }
func (s *flakyUserStore) failLoads(on bool) { s.mu.Lock(); s.loadErr = on; s.mu.Unlock() }

func (s *flakyUserStore) Save(ctx context.Context, id string, ch sessions.Change) error {
	s.mu.Lock()
	fail := s.saveErr
	s.mu.Unlock()
	if fail {
		return fmt.Errorf("flaky: %w", sessions.ErrUnavailable)
	}
	return s.MemoryStore.Save(ctx, id, ch)
}

func (s *flakyUserStore) Load(ctx context.Context, id string) (sessions.Record, bool, error) {
	s.mu.Lock()
	fail := s.loadErr
	s.mu.Unlock()
	if fail {
		return sessions.Record{}, false, fmt.Errorf("flaky: %w", sessions.ErrUnavailable)
	}
	return s.MemoryStore.Load(ctx, id)
}

// TestHooksJoin: several WithHooks all run, starts in order and ends in
// reverse.
func TestHooksJoin(t *testing.T) {
	var mu sync.Mutex
	var order []string
	mk := func(name string) sessions.Hooks {
		note := func(s string) { mu.Lock(); order = append(order, s); mu.Unlock() }
		return sessions.Hooks{
			Event:      func(context.Context, sessions.Event) { note(name + " event") },
			StoreStart: func(ctx context.Context, op sessions.StoreOp) context.Context { note(name + " start"); return ctx },
			StoreDone:  func(context.Context, sessions.StoreOp, time.Duration, error) { note(name + " done") },
		}
	}
	c := newClient(t, newEngine(newMemoryStore(t), []sessions.Option{sessions.WithHooks(mk("a")), sessions.WithHooks(mk("b"))}, kvRoutes))
	c.get("/set?k=a&v=1")
	want := []string{"a start", "b start", "b done", "a done", "a event", "b event"}
	if !slices.Equal(order, want) {
		t.Fatalf("order %q, want %q", order, want)
	}
}

// TestEventKindString: the names metrics label events with.
func TestEventKindString(t *testing.T) {
	want := map[sessions.EventKind]string{
		sessions.EventCreated: "created", sessions.EventLoggedIn: "logged_in", sessions.EventCycled: "cycled",
		sessions.EventFlushed: "flushed", sessions.EventRevoked: "revoked", sessions.EventExpired: "expired",
		sessions.EventEvicted: "evicted", sessions.EventFailed: "failed", 0: "unknown", 200: "unknown",
	}
	for k, name := range want {
		if k.String() != name {
			t.Errorf("%d.String() = %q, want %q", k, k.String(), name)
		}
	}
	if op := (sessions.StoreOp{Name: "load", Store: "redis"}); op.String() != "load" {
		t.Errorf("StoreOp.String() = %q", op.String())
	}
}

// kindOf returns the events of one kind.
func kindOf(events []string, kind string) []string {
	var out []string
	for _, e := range events {
		if strings.HasPrefix(e, kind+" ") {
			out = append(out, e)
		}
	}
	return out
}

// sameSet reports whether a and b hold the same strings, in any order.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// silentUserStore is a UserStore that does not name the sessions it
// deletes, as a store written before UserSelection.Deleted.
type silentUserStore struct{ *sessions.MemoryStore }

func (s silentUserStore) DeleteUserSessions(ctx context.Context, principal string, sel sessions.UserSelection) (int, error) {
	sel.Deleted = nil
	return s.MemoryStore.DeleteUserSessions(ctx, principal, sel)
}

// TestHookRevokedUnnamed: a store that does not name what it deleted still
// gets one EventRevoked per session it counts, without UUIDs.
func TestHookRevokedUnnamed(t *testing.T) {
	log := newHookLog()
	st := silentUserStore{newMemoryStore(t)}
	h := newEngine(st, []sessions.Option{sessions.WithHooks(log.hooks())}, hookRoutes)
	var c *client
	for range 3 {
		c = newClient(t, h)
		c.get("/login?u=ann")
	}
	log.take()
	if got := c.get("/others").Body.String(); got != "2" {
		t.Fatalf("RevokeOtherSessions = %s, want 2", got)
	}
	events, _ := log.take()
	if want := []string{"revoked  ann", "revoked  ann"}; !slices.Equal(events, want) {
		t.Fatalf("events %q, want %q", events, want)
	}
}
