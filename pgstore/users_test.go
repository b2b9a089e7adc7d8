package pgstore_test

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/sessionstest"
	"github.com/jackc/pgx/v5"
)

// login creates a session of principal, last seen at seen, alive until
// expires, and returns its id and UUID.
func login(t *testing.T, store sessions.Store, principal string, seen, expires time.Time) (id, uuid string) {
	t.Helper()
	id = sessionstest.NewID()
	uuid = "uuid-" + id[:12]
	ch := sessions.Change{New: true, Set: map[string]string{"a": "1"}, UUID: uuid,
		Created: seen, Saved: seen, Expires: expires,
		Principal: principal, IP: "192.0.2.7", UserAgent: "Browser/1.0"}
	if err := store.Save(testCtx(t), id, ch); err != nil {
		t.Fatalf("Save(New, %q): %v", principal, err)
	}
	return id, uuid
}

// uuidsOf lists, sorted, the UUIDs of principal's sessions.
func uuidsOf(t *testing.T, store sessions.UserStore, principal string) []string {
	t.Helper()
	recs, err := store.LoadUserSessions(testCtx(t), principal)
	if err != nil {
		t.Fatalf("LoadUserSessions: %v", err)
	}
	var uuids []string
	for _, r := range recs {
		if r.Principal != principal {
			t.Fatalf("listed a session of %q for %q", r.Principal, principal)
		}
		uuids = append(uuids, r.UUID)
	}
	slices.Sort(uuids)
	return uuids
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}

// TestLoadUserSessions: a user's live sessions, with their bookkeeping, and
// nobody else's, no anonymous one, no expired one.
func TestLoadUserSessions(t *testing.T) {
	store, _, _ := newStore(t)
	now := time.Now()
	_, a := login(t, store, "ann", now.Add(-time.Minute), now.Add(time.Hour))
	_, b := login(t, store, "ann", now, now.Add(time.Hour))
	login(t, store, "ann", now.Add(-2*time.Hour), now.Add(-time.Second)) // expired
	login(t, store, "bob", now, now.Add(time.Hour))
	login(t, store, "", now, now.Add(time.Hour))

	if got, want := uuidsOf(t, store, "ann"), sorted(a, b); !slices.Equal(got, want) {
		t.Fatalf("ann's sessions = %v, want %v", got, want)
	}
	recs, _ := store.LoadUserSessions(testCtx(t), "ann")
	for _, r := range recs {
		if r.IP != "192.0.2.7" || r.UserAgent != "Browser/1.0" || r.LastSeen.IsZero() || !r.Expires.After(now) {
			t.Fatalf("record without its bookkeeping: %+v", r)
		}
	}
	if got := uuidsOf(t, store, "nobody"); len(got) != 0 {
		t.Fatalf("sessions of a user without any: %v", got)
	}
}

// TestDeleteUserSessions: each selection deletes what it says, in one
// step, and counts the live sessions it deleted.
func TestDeleteUserSessions(t *testing.T) {
	tests := []struct {
		name    string
		sel     func(uuids []string) sessions.UserSelection
		deleted int
		left    func(uuids []string) []string // uuids[0] is the most recently seen
	}{
		{"all", func([]string) sessions.UserSelection { return sessions.UserSelection{} }, 4,
			func([]string) []string { return nil }},
		{"one", func(u []string) sessions.UserSelection { return sessions.UserSelection{UUID: u[2]} }, 1,
			func(u []string) []string { return sorted(u[0], u[1], u[3]) }},
		{"one that is not theirs", func([]string) sessions.UserSelection { return sessions.UserSelection{UUID: "other"} }, 0,
			func(u []string) []string { return sorted(u...) }},
		{"all but one", func(u []string) sessions.UserSelection { return sessions.UserSelection{Except: u[1]} }, 3,
			func(u []string) []string { return sorted(u[1]) }},
		{"keep the two most recently seen", func([]string) sessions.UserSelection { return sessions.UserSelection{Keep: 2} }, 2,
			func(u []string) []string { return sorted(u[0], u[1]) }},
		{"keep two beside the current one", func(u []string) sessions.UserSelection {
			return sessions.UserSelection{Except: u[3], Keep: 2}
		}, 1, func(u []string) []string { return sorted(u[0], u[1], u[3]) }},
		{"keep more than there are", func([]string) sessions.UserSelection { return sessions.UserSelection{Keep: 10} }, 0,
			func(u []string) []string { return sorted(u...) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store, _, _ := newStore(t)
			now := time.Now()
			uuids := make([]string, 4)
			for i := range uuids {
				_, uuids[i] = login(t, store, "ann", now.Add(-time.Duration(i)*time.Minute), now.Add(time.Hour))
			}
			login(t, store, "ann", now, now.Add(-time.Second)) // expired: never counted
			_, bobs := login(t, store, "bob", now, now.Add(time.Hour))

			n, err := store.DeleteUserSessions(testCtx(t), "ann", tt.sel(uuids))
			if err != nil {
				t.Fatal(err)
			}
			if n != tt.deleted {
				t.Fatalf("deleted %d, want %d", n, tt.deleted)
			}
			if got, want := uuidsOf(t, store, "ann"), tt.left(uuids); !slices.Equal(got, want) {
				t.Fatalf("left %v, want %v", got, want)
			}
			if got := uuidsOf(t, store, "bob"); !slices.Equal(got, []string{bobs}) {
				t.Fatalf("bob's sessions = %v, want his one", got)
			}
		})
	}
}

// TestKeepFollowsTouch: the most recently seen is by the latest save or
// touch.
func TestKeepFollowsTouch(t *testing.T) {
	store, _, _ := newStore(t)
	now := time.Now()
	oldID, old := login(t, store, "ann", now.Add(-time.Hour), now.Add(time.Hour))
	login(t, store, "ann", now.Add(-time.Minute), now.Add(time.Hour))
	if err := store.Touch(testCtx(t), oldID, now, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := store.DeleteUserSessions(testCtx(t), "ann", sessions.UserSelection{Keep: 1}); err != nil {
		t.Fatal(err)
	}
	if got := uuidsOf(t, store, "ann"); !slices.Equal(got, []string{old}) {
		t.Fatalf("kept %v, want the touched session %s", got, old)
	}
}

// TestDeleteUserSessionsWhileLoggingIn: sessions created while the user's
// sessions are being deleted are either deleted or listed afterwards, and
// every session created before is gone.
func TestDeleteUserSessionsWhileLoggingIn(t *testing.T) {
	store, _, _ := newStore(t)
	now := time.Now()
	var before []string
	for range 20 {
		id, _ := login(t, store, "ann", now, now.Add(time.Hour))
		before = append(before, id)
	}
	const logins = 20
	created := make(chan string, logins)
	var wg sync.WaitGroup
	wg.Go(func() {
		for range logins {
			id, now := sessionstest.NewID(), time.Now()
			ch := sessions.Change{New: true, UUID: "uuid-" + id[:12], Created: now, Saved: now,
				Expires: now.Add(time.Hour), Principal: "ann"}
			if err := store.Save(testCtx(t), id, ch); err != nil {
				t.Errorf("Save: %v", err) // not Fatal: this is not the test's goroutine
				return
			}
			created <- id
		}
	})
	if _, err := store.DeleteUserSessions(testCtx(t), "ann", sessions.UserSelection{}); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(created)
	for _, id := range before {
		if _, found, _ := store.Load(testCtx(t), id); found {
			t.Fatalf("a session created before the delete survived it")
		}
	}
	listed := map[string]bool{}
	recs, _ := store.LoadUserSessions(testCtx(t), "ann")
	for _, r := range recs {
		listed[r.UUID] = true
	}
	for id := range created {
		if _, found, _ := store.Load(testCtx(t), id); found && !listed["uuid-"+id[:12]] {
			t.Fatalf("a live session of ann is missing from her list")
		}
	}
}

// TestIPAndUserAgent: a later save with another IP refreshes it, one
// without keeps it; what the client sent is kept even when PostgreSQL's text
// could not hold it as is; a principal it cannot hold is refused.
func TestIPAndUserAgent(t *testing.T) {
	store, _, _ := newStore(t)
	now := time.Now()
	id := sessionstest.NewID()
	ch := sessions.Change{New: true, UUID: "u", Created: now, Saved: now, Expires: now.Add(time.Hour),
		Principal: "ann", IP: "192.0.2.7", UserAgent: "Bad\xffAgent\x00/1"}
	if err := store.Save(testCtx(t), id, ch); err != nil {
		t.Fatal(err)
	}
	rec, _, _ := store.Load(testCtx(t), id)
	if rec.UserAgent != "Bad\uFFFDAgent/1" || rec.Principal != "ann" {
		t.Fatalf("UserAgent %q, Principal %q", rec.UserAgent, rec.Principal)
	}
	for _, step := range []struct{ ip, want string }{{"", "192.0.2.7"}, {"198.51.100.1", "198.51.100.1"}} {
		up := change(map[string]string{"b": "1"}, nil)
		up.IP, up.Principal = step.ip, "ann"
		if err := store.Save(testCtx(t), id, up); err != nil {
			t.Fatal(err)
		}
		if rec, _, _ := store.Load(testCtx(t), id); rec.IP != step.want || rec.UserAgent != "Bad\uFFFDAgent/1" {
			t.Fatalf("after a save with IP %q: IP %q, UserAgent %q; want IP %q", step.ip, rec.IP, rec.UserAgent, step.want)
		}
	}
	for _, principal := range []string{"a\x00b", "a\xffb"} {
		bad := ch
		bad.Principal = principal
		err := store.Save(testCtx(t), sessionstest.NewID(), bad)
		if err == nil || !strings.Contains(err.Error(), "principal") || errors.Is(err, sessions.ErrUnavailable) {
			t.Fatalf("Save with principal %q: %v, want an error about the principal", principal, err)
		}
	}
}

// TestUserTag: the store files sessions by principal, so no tag.
func TestUserTag(t *testing.T) {
	store, _, _ := newStore(t)
	tag, err := store.UserTag(testCtx(t), "ann")
	if tag != "" || err != nil {
		t.Fatalf("UserTag = %q, %v; want \"\", nil", tag, err)
	}
}

// TestUserQueriesUseTheIndex: the per-user statements find a user's rows by
// the index on principal, even in the generic plan of a prepared statement,
// where the principal is not known.
func TestUserQueriesUseTheIndex(t *testing.T) {
	store, pool, table := newStore(t)
	conn, err := pool.Acquire(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(testCtx(t), "SET plan_cache_mode = force_generic_plan; SET enable_seqscan = off"); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(testCtx(t), "RESET ALL; DEALLOCATE ALL")
	list, remove := store.UserStatements()
	for _, stmt := range []struct{ name, sql, types, args string }{
		{"list", list, "text, timestamptz", "'ann', now()"},
		{"delete", remove, "text, timestamptz, text, text, int", "'ann', now(), '', '', 0"},
	} {
		if _, err := conn.Exec(testCtx(t), "PREPARE "+stmt.name+" ("+stmt.types+") AS "+stmt.sql); err != nil {
			t.Fatal(err)
		}
		rows, err := conn.Query(testCtx(t), "EXPLAIN EXECUTE "+stmt.name+" ("+stmt.args+")")
		if err != nil {
			t.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		if plan := strings.Join(lines, "\n"); !strings.Contains(plan, table+"_principal_idx") {
			t.Errorf("the %s statement's generic plan does not use the principal index:\n%s", stmt.name, plan)
		}
	}
}
