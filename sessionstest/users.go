package sessionstest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ginsessions/sessions"
)

// userCases run on stores that implement sessions.UserStore.
var userCases = []userTestCase{
	{"UserTag", testUserTag},
	{"UserFields", testUserFields},
	{"UserList", testUserList},
	{"UserListDropsDead", testUserListDropsDead},
	{"UserDeleteSelections", testUserDeleteSelections},
	{"UserDeletedStayDead", testUserDeletedStayDead},
	{"UserChurn", testUserChurn},
	{"UserConcurrentLogin", testUserConcurrentLogin},
	{"UserListDuringLogins", testUserListDuringLogins},
	{"UserDeleteFindsOnce", testUserDeleteFindsOnce},
	{"UserLoginCap", testUserLoginCap},
	{"UserConcurrentLoginsUnderCap", testUserConcurrentLoginsUnderCap},
}

// userSession is a session of a user that the suite created.
type userSession struct {
	id   string
	uuid string
	ch   sessions.Change
}

// newPrincipal returns a principal no other case uses, so that cases may
// share a store.
func newPrincipal(name string) string { return name + "-" + NewID()[:12] }

// userID returns a random id for a session of principal, with the tag the
// store asks for.
func userID(t *testing.T, st sessions.UserStore, principal string) string {
	t.Helper()
	tag, err := st.UserTag(ctx(t), principal)
	if err != nil {
		t.Fatalf("UserTag(%q): %v", principal, err)
	}
	if tag == "" {
		return NewID()
	}
	return tag + "." + NewID()
}

// login creates a session of principal last saved at saved, expiring in an
// hour, as Session.Login does.
func login(t *testing.T, st sessions.UserStore, principal string, saved time.Time) userSession {
	t.Helper()
	u := userSession{id: userID(t, st, principal), uuid: NewID()[:36]}
	u.ch = sessions.Change{
		New: true, Set: map[string]string{"cart": "3"}, UUID: u.uuid,
		Created: saved.Add(-time.Minute), Saved: saved, Expires: time.Now().Add(time.Hour),
		Principal: principal, IP: "192.0.2.7", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36 Édition",
	}
	if err := st.Save(ctx(t), u.id, u.ch); err != nil {
		t.Fatalf("Save(New, Principal %q): %v", principal, err)
	}
	return u
}

// listed returns the UUIDs that LoadUserSessions returns for principal,
// sorted, and fails on a record that is not principal's.
func listed(t *testing.T, st sessions.UserStore, principal string) []string {
	t.Helper()
	recs, err := st.LoadUserSessions(ctx(t), principal)
	if err != nil {
		t.Fatalf("LoadUserSessions(%q): %v", principal, err)
	}
	uuids := make([]string, 0, len(recs))
	for _, r := range recs {
		if r.Principal != principal {
			t.Fatalf("LoadUserSessions(%q) returned a record of %q", principal, r.Principal)
		}
		uuids = append(uuids, r.UUID)
	}
	slices.Sort(uuids)
	return uuids
}

func uuidsOf(us ...userSession) []string {
	uuids := make([]string, 0, len(us))
	for _, u := range us {
		uuids = append(uuids, u.uuid)
	}
	slices.Sort(uuids)
	return uuids
}

func wantListed(t *testing.T, st sessions.UserStore, principal string, want ...userSession) {
	t.Helper()
	if got, w := listed(t, st, principal), uuidsOf(want...); !slices.Equal(got, w) {
		t.Fatalf("LoadUserSessions(%q) = %v, want %v", principal, got, w)
	}
}

func testUserTag(t *testing.T, st sessions.UserStore) {
	for i := range 50 {
		p := fmt.Sprintf("user-%d", i)
		a, err := st.UserTag(ctx(t), p)
		if err != nil {
			t.Fatalf("UserTag(%q): %v", p, err)
		}
		b, _ := st.UserTag(ctx(t), p)
		if a != b {
			t.Fatalf("UserTag(%q) = %q, then %q: a tag must be stable", p, a, b)
		}
		if len(a) > 16 || slices.ContainsFunc([]byte(a), func(c byte) bool { return !('a' <= c && c <= 'z' || '0' <= c && c <= '9') }) {
			t.Fatalf("UserTag(%q) = %q, want 0 to 16 characters from [0-9a-z]", p, a)
		}
	}
}

func testUserFields(t *testing.T, st sessions.UserStore) {
	ann := newPrincipal("ann")
	u := login(t, st, ann, time.Now())
	rec := mustLoad(t, st, u.id)
	if rec.Principal != ann || rec.IP != u.ch.IP || rec.UserAgent != u.ch.UserAgent {
		t.Fatalf("Load = principal %q, IP %q, User-Agent %q; want %q, %q, %q",
			rec.Principal, rec.IP, rec.UserAgent, ann, u.ch.IP, u.ch.UserAgent)
	}
	equalValues(t, rec.Values, u.ch.Set)

	for _, tc := range []struct{ ip, want string }{{"198.51.100.9", "198.51.100.9"}, {"", "198.51.100.9"}} {
		up := update(u.ch)
		up.Principal, up.IP = ann, tc.ip
		up.Set = map[string]string{"cart": "4"}
		if err := st.Save(ctx(t), u.id, up); err != nil {
			t.Fatalf("Save(update): %v", err)
		}
		rec = mustLoad(t, st, u.id)
		if rec.Principal != ann || rec.IP != tc.want || rec.UserAgent != u.ch.UserAgent {
			t.Fatalf("after an update with IP %q: principal %q, IP %q, User-Agent %q; want ann, %q, %q",
				tc.ip, rec.Principal, rec.IP, rec.UserAgent, tc.want, u.ch.UserAgent)
		}
	}

	anon := NewID()
	create(t, st, anon, map[string]string{"a": "1"})
	if rec := mustLoad(t, st, anon); rec.Principal != "" || rec.IP != "" || rec.UserAgent != "" {
		t.Fatalf("an anonymous record loads with principal %q, IP %q, User-Agent %q", rec.Principal, rec.IP, rec.UserAgent)
	}
}

func testUserList(t *testing.T, st sessions.UserStore) {
	ann, bob := newPrincipal("ann"), newPrincipal("bob")
	now := time.Now()
	a1, a2, a3 := login(t, st, ann, now.Add(-3*time.Second)), login(t, st, ann, now.Add(-2*time.Second)), login(t, st, ann, now)
	b := login(t, st, bob, now)
	create(t, st, NewID(), map[string]string{"anonymous": "1"})
	wantListed(t, st, ann, a1, a2, a3)
	wantListed(t, st, bob, b)
	wantListed(t, st, newPrincipal("nobody"))

	recs, err := st.LoadUserSessions(ctx(t), bob)
	if err != nil || len(recs) != 1 {
		t.Fatalf("LoadUserSessions(bob) = %v, %v", recs, err)
	}
	r := recs[0]
	if r.IP != b.ch.IP || r.UserAgent != b.ch.UserAgent {
		t.Fatalf("listed IP %q, User-Agent %q; want %q, %q", r.IP, r.UserAgent, b.ch.IP, b.ch.UserAgent)
	}
	sameTime(t, "listed Created", r.Created, b.ch.Created)
	sameTime(t, "listed Saved", r.Saved, b.ch.Saved)
	sameTime(t, "listed LastSeen", r.LastSeen, b.ch.Saved)
	sameTime(t, "listed Expires", r.Expires, b.ch.Expires)

	seen, expires := now.Add(time.Second), now.Add(2*time.Hour)
	if err := st.Touch(ctx(t), b.id, seen, expires); err != nil {
		t.Fatalf("Touch: %v", err)
	}
	recs, err = st.LoadUserSessions(ctx(t), bob)
	if err != nil || len(recs) != 1 {
		t.Fatalf("LoadUserSessions(bob) after Touch = %v, %v", recs, err)
	}
	sameTime(t, "listed LastSeen after Touch", recs[0].LastSeen, seen)
	sameTime(t, "listed Expires after Touch", recs[0].Expires, expires)
}

func testUserListDropsDead(t *testing.T, st sessions.UserStore) {
	ann := newPrincipal("ann")
	now := time.Now()
	live := login(t, st, ann, now)
	deleted := login(t, st, ann, now)
	if _, err := st.Delete(ctx(t), deleted.id); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	touched := login(t, st, ann, now)
	if err := st.Touch(ctx(t), touched.id, now, now.Add(-time.Second)); err != nil {
		t.Fatalf("Touch: %v", err)
	}
	born := sessions.Change{New: true, UUID: NewID()[:36], Created: now.Add(-time.Hour), Saved: now.Add(-time.Hour),
		Expires: now.Add(-time.Second), Principal: ann}
	if err := st.Save(ctx(t), userID(t, st, ann), born); err != nil {
		t.Fatalf("Save(New, already expired): %v", err)
	}
	soon := login(t, st, ann, now)
	up := update(soon.ch)
	up.Principal, up.Expires = ann, time.Now().Add(200*time.Millisecond)
	if err := st.Save(ctx(t), soon.id, up); err != nil {
		t.Fatalf("Save: %v", err)
	}
	wantListed(t, st, ann, live, soon)
	// The store's own clock decides, so poll, within a bound.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		got := listed(t, st, ann)
		if slices.Equal(got, uuidsOf(live)) {
			return
		}
		if time.Now().Before(up.Expires) && !slices.Equal(got, uuidsOf(live, soon)) {
			t.Fatalf("LoadUserSessions = %v before a session expired", got)
		}
		if time.Now().After(deadline) {
			t.Fatalf("LoadUserSessions = %v, still listing a session %v after it expired", got, time.Since(up.Expires))
		}
	}
}

func testUserDeleteSelections(t *testing.T, st sessions.UserStore) {
	for _, tc := range []struct {
		name string
		sel  func(s []userSession) sessions.UserSelection
		keep []int // indexes of the sessions left
	}{
		{"all", func([]userSession) sessions.UserSelection { return sessions.UserSelection{} }, nil},
		{"one", func(s []userSession) sessions.UserSelection { return sessions.UserSelection{UUID: s[1].uuid} }, []int{0, 2, 3}},
		{"unknown", func([]userSession) sessions.UserSelection { return sessions.UserSelection{UUID: NewID()[:36]} }, []int{0, 1, 2, 3}},
		{"except", func(s []userSession) sessions.UserSelection { return sessions.UserSelection{Except: s[0].uuid} }, []int{0}},
		{"except and keep", func(s []userSession) sessions.UserSelection {
			return sessions.UserSelection{Except: s[0].uuid, Keep: 1}
		}, []int{0, 3}},
		{"keep the most recently seen two", func([]userSession) sessions.UserSelection { return sessions.UserSelection{Keep: 2} }, []int{0, 3}},
		{"except and keep one", func(s []userSession) sessions.UserSelection {
			return sessions.UserSelection{Keep: 1, Except: s[2].uuid}
		}, []int{0, 2}},
		{"keep more than there are", func([]userSession) sessions.UserSelection { return sessions.UserSelection{Keep: 9} }, []int{0, 1, 2, 3}},
		{"one and except it", func(s []userSession) sessions.UserSelection {
			return sessions.UserSelection{UUID: s[2].uuid, Except: s[2].uuid}
		}, []int{0, 1, 2, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPrincipal("ann")
			now := time.Now()
			s := make([]userSession, 4) // seen in this order, the last most recently
			for i := range s {
				s[i] = login(t, st, p, now.Add(time.Duration(i-4)*time.Second))
			}
			// s[0], seen first, is touched last: it counts as the most
			// recently seen of all.
			if err := st.Touch(ctx(t), s[0].id, now.Add(time.Second), now.Add(time.Hour)); err != nil {
				t.Fatalf("Touch: %v", err)
			}
			other := login(t, st, newPrincipal("bob"), now)
			anon := NewID()
			create(t, st, anon, map[string]string{"a": "1"})

			sel := tc.sel(s)
			var named []string
			sel.Deleted = func(uuid string) { named = append(named, uuid) }
			n, err := st.DeleteUserSessions(ctx(t), p, sel)
			if err != nil {
				t.Fatalf("DeleteUserSessions: %v", err)
			}
			var left []userSession
			var gone []string
			for i, u := range s {
				if slices.Contains(tc.keep, i) {
					left = append(left, u)
				} else {
					gone = append(gone, u.uuid)
				}
			}
			if want := len(s) - len(left); n != want {
				t.Fatalf("DeleteUserSessions = %d, want %d", n, want)
			}
			slices.Sort(named)
			slices.Sort(gone)
			if !slices.Equal(named, gone) {
				t.Fatalf("UserSelection.Deleted was called with %q, want the UUIDs deleted, %q", named, gone)
			}
			wantListed(t, st, p, left...)
			for _, u := range s {
				if slices.Contains(uuidsOf(left...), u.uuid) {
					mustLoad(t, st, u.id)
				} else {
					mustNotFind(t, st, u.id)
				}
			}
			mustLoad(t, st, other.id)
			mustLoad(t, st, anon)
		})
	}
}

func testUserDeletedStayDead(t *testing.T, st sessions.UserStore) {
	ann := newPrincipal("ann")
	u := login(t, st, ann, time.Now())
	if n, err := st.DeleteUserSessions(ctx(t), ann, sessions.UserSelection{}); err != nil || n != 1 {
		t.Fatalf("DeleteUserSessions = %d, %v; want 1, nil", n, err)
	}
	up := update(u.ch)
	up.Principal = ann
	up.Set = map[string]string{"late": "1"}
	if err := st.Save(ctx(t), u.id, up); !errors.Is(err, sessions.ErrInterrupted) {
		t.Fatalf("Save on a revoked session: err = %v, want ErrInterrupted", err)
	}
	if err := st.Touch(ctx(t), u.id, time.Now(), time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("Touch of a revoked session: %v", err)
	}
	mustNotFind(t, st, u.id)
	wantListed(t, st, ann)
	if n, err := st.DeleteUserSessions(ctx(t), ann, sessions.UserSelection{}); err != nil || n != 0 {
		t.Fatalf("DeleteUserSessions again = %d, %v; want 0, nil", n, err)
	}
}

// testUserChurn deletes and expires many sessions of a user, and checks
// that the listing follows, whichever way each died.
func testUserChurn(t *testing.T, st sessions.UserStore) {
	ann := newPrincipal("ann")
	var live []userSession
	for i := range 60 {
		u := login(t, st, ann, time.Now())
		switch i % 3 {
		case 0:
			if _, err := st.Delete(ctx(t), u.id); err != nil {
				t.Fatalf("Delete: %v", err)
			}
		case 1:
			if err := st.Touch(ctx(t), u.id, time.Now(), time.Now().Add(-time.Millisecond)); err != nil {
				t.Fatalf("Touch: %v", err)
			}
		default:
			live = append(live, u)
		}
	}
	wantListed(t, st, ann, live...)
}

// testUserConcurrentLogin creates sessions of a user while they are all
// deleted: every session whose creation returned before the deletion began
// is gone, and every session alive afterwards is listed.
func testUserConcurrentLogin(t *testing.T, st sessions.UserStore) {
	const logins, rounds = 8, 5
	for round := range rounds {
		p := newPrincipal(fmt.Sprintf("ann-%d", round))
		var (
			clock    atomic.Int64 // orders the creations and the deletion
			deleteAt atomic.Int64
			mu       sync.Mutex
			created  []struct {
				u    userSession
				done int64
			}
			wg sync.WaitGroup
		)
		deleteAt.Store(1 << 62)
		for range logins {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 4 {
					u := userSession{id: userID(t, st, p), uuid: NewID()[:36]}
					now := time.Now()
					u.ch = sessions.Change{New: true, UUID: u.uuid, Created: now, Saved: now, Expires: now.Add(time.Hour), Principal: p}
					if err := st.Save(ctx(t), u.id, u.ch); err != nil {
						t.Errorf("Save(New): %v", err)
						return
					}
					done := clock.Add(1)
					mu.Lock()
					created = append(created, struct {
						u    userSession
						done int64
					}{u, done})
					mu.Unlock()
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			deleteAt.Store(clock.Add(1))
			if _, err := st.DeleteUserSessions(ctx(t), p, sessions.UserSelection{}); err != nil {
				t.Errorf("DeleteUserSessions: %v", err)
			}
		}()
		wg.Wait()
		if t.Failed() {
			return
		}
		var alive []userSession
		for _, c := range created {
			_, found, err := st.Load(ctx(t), c.u.id)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if found && c.done < deleteAt.Load() {
				t.Fatalf("round %d: a session created before DeleteUserSessions began survived it", round)
			}
			if found {
				alive = append(alive, c.u)
			}
		}
		wantListed(t, st, p, alive...)
	}
}

// testUserListDuringLogins lists a user's sessions while new ones are
// created: a session that Load finds is in every listing that follows.
func testUserListDuringLogins(t *testing.T, st sessions.UserStore) {
	const logins, each = 6, 8
	p := newPrincipal("ann")
	var (
		mu      sync.Mutex
		started []userSession // sessions whose creation has begun
		wg      sync.WaitGroup
		stop    atomic.Bool
	)
	for range logins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				now := time.Now()
				u := userSession{id: userID(t, st, p), uuid: NewID()[:36]}
				u.ch = sessions.Change{New: true, UUID: u.uuid, Created: now, Saved: now, Expires: now.Add(time.Hour), Principal: p}
				mu.Lock()
				started = append(started, u)
				mu.Unlock()
				if err := st.Save(ctx(t), u.id, u.ch); err != nil {
					t.Errorf("Save(New): %v", err)
					return
				}
			}
		}()
	}
	listErr := make(chan error, 1)
	go func() {
		defer close(listErr)
		for !stop.Load() {
			mu.Lock()
			candidates := slices.Clone(started)
			mu.Unlock()
			var alive []string
			for _, u := range candidates {
				_, found, err := st.Load(ctx(t), u.id)
				if err != nil {
					listErr <- err
					return
				}
				if found {
					alive = append(alive, u.uuid)
				}
			}
			recs, err := st.LoadUserSessions(ctx(t), p)
			if err != nil {
				listErr <- err
				return
			}
			got := make(map[string]bool, len(recs))
			for _, r := range recs {
				got[r.UUID] = true
			}
			for _, uuid := range alive {
				if !got[uuid] {
					listErr <- fmt.Errorf("session %s is alive but missing from the listing", uuid)
					return
				}
			}
		}
	}()
	wg.Wait()
	stop.Store(true)
	if err := <-listErr; err != nil {
		t.Fatal(err)
	}
	if n := len(listed(t, st, p)); n != logins*each {
		t.Fatalf("listed %d sessions, want %d", n, logins*each)
	}
}

// testUserDeleteFindsOnce deletes a user's session with Delete while
// DeleteUserSessions deletes it too: only one of them finds it.
func testUserDeleteFindsOnce(t *testing.T, st sessions.UserStore) {
	for range 10 {
		p := newPrincipal("ann")
		u := login(t, st, p, time.Now())
		var (
			wg    sync.WaitGroup
			found atomic.Int32
		)
		start := make(chan struct{})
		for i := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if i%2 == 0 {
					ok, err := st.Delete(ctx(t), u.id)
					if err != nil {
						t.Errorf("Delete: %v", err)
					}
					if ok {
						found.Add(1)
					}
					return
				}
				n, err := st.DeleteUserSessions(ctx(t), p, sessions.UserSelection{})
				if err != nil {
					t.Errorf("DeleteUserSessions: %v", err)
				}
				found.Add(int32(n))
			}()
		}
		close(start)
		wg.Wait()
		if n := found.Load(); n != 1 {
			t.Fatalf("concurrent Delete and DeleteUserSessions of one session found it %d times, want once", n)
		}
	}
}

// capLogin creates a session of principal as a login under a cap of max
// sessions does, and returns the UUIDs the store named through
// Change.Revoked.
func capLogin(t *testing.T, st sessions.UserStore, principal string, max int) (userSession, []string, error) {
	now := time.Now()
	u := userSession{id: userID(t, st, principal), uuid: NewID()[:36]}
	var revoked []string
	u.ch = sessions.Change{
		New: true, UUID: u.uuid, Created: now, Saved: now, Expires: now.Add(time.Hour),
		Principal: principal, MaxUserSessions: max,
		Revoked: func(uuid string) { revoked = append(revoked, uuid) },
	}
	err := st.Save(ctx(t), u.id, u.ch)
	u.ch.Revoked = nil
	return u, revoked, err
}

// wantRevoked fails unless named holds exactly the UUIDs of want, in any
// order.
func wantRevoked(t *testing.T, named []string, want ...userSession) {
	t.Helper()
	named = slices.Clone(named)
	slices.Sort(named)
	gone := uuidsOf(want...)
	slices.Sort(gone)
	if !slices.Equal(named, gone) {
		t.Fatalf("Change.Revoked was called with %q, want the UUIDs the cap deleted, %q", named, gone)
	}
}

// testUserLoginCap checks that a save with MaxUserSessions keeps the new
// session and the most recently seen others up to the cap, and names
// through Change.Revoked exactly the sessions it deleted.
func testUserLoginCap(t *testing.T, st sessions.UserStore) {
	ann, bob := newPrincipal("ann"), newPrincipal("bob")
	now := time.Now()
	old := login(t, st, ann, now.Add(-3*time.Minute))
	recent := login(t, st, ann, now.Add(-time.Minute))
	middle := login(t, st, ann, now.Add(-2*time.Minute))
	other := login(t, st, bob, now.Add(-time.Hour))
	u, revoked, err := capLogin(t, st, ann, 2)
	if err != nil {
		t.Fatalf("Save(New, MaxUserSessions 2): %v", err)
	}
	wantRevoked(t, revoked, old, middle)
	wantListed(t, st, ann, u, recent)
	mustNotFind(t, st, old.id)
	mustNotFind(t, st, middle.id)
	wantListed(t, st, bob, other)
	v, revoked, err := capLogin(t, st, ann, 1)
	if err != nil {
		t.Fatalf("Save(New, MaxUserSessions 1): %v", err)
	}
	wantRevoked(t, revoked, u, recent)
	wantListed(t, st, ann, v)
	w, revoked, err := capLogin(t, st, bob, 3)
	if err != nil {
		t.Fatalf("Save(New, MaxUserSessions 3): %v", err)
	}
	wantRevoked(t, revoked)
	wantListed(t, st, bob, w, other)
}

// testUserConcurrentLoginsUnderCap runs logins of one user at once under a
// cap: the save and the cap are one atomic step, so the user is left with
// exactly the cap's number of sessions, the one whose save finished last
// among them, and each session the caps deleted is named through
// Change.Revoked exactly once.
func testUserConcurrentLoginsUnderCap(t *testing.T, st sessions.UserStore) {
	const logins, rounds = 8, 10
	for round := range rounds {
		max := 1 + round%3
		p := newPrincipal(fmt.Sprintf("ann-%d", round))
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			created []userSession
			revoked []string
		)
		start := make(chan struct{})
		for range logins {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				u, named, err := capLogin(t, st, p, max)
				if err != nil {
					t.Errorf("Save(New, MaxUserSessions %d): %v", max, err)
					return
				}
				mu.Lock()
				created = append(created, u)
				revoked = append(revoked, named...)
				mu.Unlock()
			}()
		}
		close(start)
		wg.Wait()
		if t.Failed() {
			return
		}
		got := listed(t, st, p)
		if len(got) != max {
			t.Fatalf("round %d: %d concurrent logins under a cap of %d left %d sessions, want %d", round, logins, max, len(got), max)
		}
		alive := 0
		var gone []userSession
		for _, u := range created {
			if _, found, err := st.Load(ctx(t), u.id); err != nil {
				t.Fatalf("Load: %v", err)
			} else if found {
				alive++
			} else {
				gone = append(gone, u)
			}
		}
		if alive != max {
			t.Fatalf("round %d: %d sessions alive, want %d", round, alive, max)
		}
		wantRevoked(t, revoked, gone...)
	}
}
