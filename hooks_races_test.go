package sessions_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/ginsessions/sessions"
)

// The hooks with the guarantees of a user's sessions under races and of
// Update: the cap is part of the login's save, CycleKey refuses a session
// revoked meanwhile, and a conditional save is retried.

// TestHookCapInsideLoginSave: the cap of WithMaxSessionsPerUser, applied
// inside the login's save, reports each session it ended as revoked once
// that save succeeded, before the login's logged_in; a login whose save
// fails reports neither.
func TestHookCapInsideLoginSave(t *testing.T) {
	log := newHookLog()
	st := &flakyUserStore{MemoryStore: newMemoryStore(t)}
	h := newEngine(st, []sessions.Option{sessions.WithHooks(log.hooks()), sessions.WithMaxSessionsPerUser(1)}, hookRoutes)
	first := newClient(t, h)
	first.get("/login?u=ann")
	old := first.get("/uuid").Body.String()
	log.take()

	second := newClient(t, h)
	second.get("/set?k=a&v=1")
	uuid := second.get("/uuid").Body.String()
	log.take()
	st.failSaves(true)
	if rec := second.get("/login?u=ann"); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("a failed login answered %d", rec.Code)
	}
	events, _ := log.take()
	if want := []string{"failed " + uuid + " ann"}; !slices.Equal(events, want) {
		t.Fatalf("a failed capped login: events %q, want %q", events, want)
	}
	if got := first.get("/uuid").Body.String(); got != old {
		t.Fatalf("a failed login revoked the first session: its UUID is now %q", got)
	}
	log.take()

	st.failSaves(false)
	third := newClient(t, h)
	third.get("/set?k=a&v=1")
	uuid = third.get("/uuid").Body.String()
	log.take()
	if rec := third.get("/login?u=ann"); rec.Code != http.StatusOK {
		t.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	events, ops := log.take()
	if want := []string{"revoked " + old + " ann", "logged_in " + uuid + " ann"}; !slices.Equal(events, want) {
		t.Fatalf("a capped login: events %q, want %q", events, want)
	}
	if slices.Contains(ops, "delete_user_sessions") {
		t.Errorf("a capped login: store calls %q, want the cap inside the save", ops)
	}
}

// TestHookCycleOfRevokedSession: CycleKey of a session that another request
// revoked meanwhile reports no cycled event, only the request's failure.
func TestHookCycleOfRevokedSession(t *testing.T) {
	log := newHookLog()
	st := &revokeOnDeleteStore{MemoryStore: newMemoryStore(t)}
	h := newEngine(st, []sessions.Option{sessions.WithHooks(log.hooks())}, hookRoutes)
	c := newClient(t, h)
	c.get("/login?u=ann")
	uuid := c.get("/uuid").Body.String()
	log.take()

	// The revocation lands between this request's load and its delete.
	st.revokeNext("ann", uuid)
	if rec := c.get("/cycle"); rec.Code != http.StatusBadRequest {
		t.Fatalf("CycleKey of a revoked session answered %d, want 400", rec.Code)
	}
	events, _ := log.take()
	for _, e := range events {
		if e == "cycled "+uuid+" ann" || e == "created "+uuid+" ann" {
			t.Fatalf("CycleKey of a revoked session: events %q", events)
		}
	}
	if !slices.Contains(events, "failed "+uuid+" ann") {
		t.Fatalf("CycleKey of a revoked session: events %q, want its failure", events)
	}
}

// revokeOnDeleteStore is a memory store that, when asked, revokes a
// session just before the next Delete runs, as a concurrent request would.
type revokeOnDeleteStore struct {
	*sessions.MemoryStore
	mu              sync.Mutex
	principal, uuid string
}

func (s *revokeOnDeleteStore) revokeNext(principal, uuid string) {
	s.mu.Lock()
	s.principal, s.uuid = principal, uuid
	s.mu.Unlock()
}

func (s *revokeOnDeleteStore) Delete(ctx context.Context, id string) (bool, error) {
	s.mu.Lock()
	principal, uuid := s.principal, s.uuid
	s.principal, s.uuid = "", ""
	s.mu.Unlock()
	if uuid != "" {
		if _, err := s.DeleteUserSessions(ctx, principal, sessions.UserSelection{UUID: uuid}); err != nil {
			return false, err
		}
	}
	return s.MemoryStore.Delete(ctx, id)
}

// TestHookUpdateRetry: each try of a conditional save is a store call of
// its own, reported with its outcome, and the wrapper passes Change.Expect
// on as it is.
func TestHookUpdateRetry(t *testing.T) {
	log := newHookLog()
	st := &conflictOnceStore{MemoryStore: newMemoryStore(t)}
	h := newEngine(st, []sessions.Option{sessions.WithHooks(log.hooks())}, func(r *gin.Engine) {
		hookRoutes(r)
		r.GET("/append", func(c *gin.Context) {
			_, err := sessions.Update(sessions.Default(c), "list", func(old []string, _ bool) ([]string, error) {
				return append(old, c.Query("v")), nil
			})
			if err != nil {
				c.String(http.StatusInternalServerError, err.Error())
				return
			}
			c.String(http.StatusOK, "ok")
		})
	})
	c := newClient(t, h)
	c.get("/append?v=a")
	log.take()

	st.conflictNext()
	if rec := c.get("/append?v=b"); rec.Code != http.StatusOK {
		t.Fatalf("an Update retried after a conflict answered %d %s", rec.Code, rec.Body)
	}
	if _, ops := log.take(); !slices.Equal(ops, []string{"load", "save: error", "load", "save"}) {
		t.Fatalf("an Update retried after a conflict: store calls %q", ops)
	}
	want := map[string]string{"list": `["a"]`}
	for i, got := range st.expected() {
		if !maps.Equal(got, want) {
			t.Fatalf("conditional save %d expected %q, want %q", i, got, want)
		}
	}
	if n := len(st.expected()); n != 2 {
		t.Fatalf("%d conditional saves reached the store, want 2", n)
	}
	if got := c.get("/get?k=list").Body.String(); got != "[a b]" {
		t.Fatalf("list = %s", got)
	}
}

// conflictOnceStore is a memory store that, when asked, fails the next
// conditional save with ErrConflict, and records every Change.Expect it
// receives.
type conflictOnceStore struct {
	*sessions.MemoryStore
	mu       sync.Mutex
	conflict bool
	expects  []map[string]string
}

func (s *conflictOnceStore) conflictNext() {
	s.mu.Lock()
	s.conflict, s.expects = true, nil
	s.mu.Unlock()
}

func (s *conflictOnceStore) expected() []map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.expects)
}

func (s *conflictOnceStore) Save(ctx context.Context, id string, ch sessions.Change) error {
	if len(ch.Expect) > 0 {
		s.mu.Lock()
		s.expects = append(s.expects, maps.Clone(ch.Expect))
		conflict := s.conflict
		s.conflict = false
		s.mu.Unlock()
		if conflict {
			return fmt.Errorf("conflict once: %w", sessions.ErrConflict)
		}
	}
	return s.MemoryStore.Save(ctx, id, ch)
}
