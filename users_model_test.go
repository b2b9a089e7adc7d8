package sessions_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginsessions/sessions"
)

// modelSession is what the reference model knows of a client's session.
type modelSession struct {
	alive           bool
	principal, uuid string
	counter         int
	created, saved  time.Time
	expires         time.Time
	stale           string // the UUID of the session this one replaced
}

// usersModel is the reference: what every client's session and every
// user's listing must be after each step.
type usersModel struct {
	clients []modelSession
	age     time.Duration
	max     int
}

// live reports whether client i holds a session the site still serves.
func (m *usersModel) live(i int, now time.Time) bool {
	s := m.clients[i]
	return s.alive && now.Before(s.expires)
}

// ofUser returns the indexes of the clients with a live session of user,
// in the order the listing must show them.
func (m *usersModel) ofUser(user string, now time.Time) []int {
	var idx []int
	for i, s := range m.clients {
		if m.live(i, now) && s.principal == user {
			idx = append(idx, i)
		}
	}
	slices.SortFunc(idx, func(a, b int) int {
		x, y := m.clients[a], m.clients[b]
		return cmp.Or(y.saved.Compare(x.saved), y.created.Compare(x.created), strings.Compare(x.uuid, y.uuid))
	})
	return idx
}

// save records a save of client i at now.
func (m *usersModel) save(i int, now time.Time) {
	m.clients[i].saved = now
	m.clients[i].expires = now.Add(m.age)
}

// fresh gives client i a new anonymous session, created now.
func (m *usersModel) fresh(i int, now time.Time) {
	m.clients[i] = modelSession{alive: true, created: now, stale: m.clients[i].uuid}
}

func (m *usersModel) login(i int, user string, now time.Time) {
	s := &m.clients[i]
	if !m.live(i, now) || (s.principal != "" && s.principal != user) {
		m.fresh(i, now) // a dead session, or another user's, starts afresh
	}
	s.principal = user
	m.save(i, now)
	if m.max == 0 {
		return
	}
	for n, j := range m.ofUser(user, now) {
		if n >= m.max {
			m.clients[j].alive = false
		}
	}
}

func (m *usersModel) count(i int, now time.Time) int {
	if !m.live(i, now) {
		m.fresh(i, now)
	}
	m.clients[i].counter++
	m.save(i, now)
	return m.clients[i].counter
}

func (m *usersModel) revoke(user string, keep func(i int) bool, now time.Time) int {
	n := 0
	for _, j := range m.ofUser(user, now) {
		if !keep(j) {
			m.clients[j].alive = false
			n++
		}
	}
	return n
}

// usersWorld is the system under test: a site whose clients log in,
// count, list and revoke.
type usersWorld struct {
	t       *testing.T
	rng     *rand.Rand
	store   sessions.Store
	clk     *clock
	expiry  bool // the store follows clk, so time may jump
	clients []*client
	m       usersModel
	users   []string
	// migrate, when not nil, starts moving the hash slot of user's
	// sessions to another server and moves some of its keys; the function
	// it returns finishes the move.
	migrate func(user string) (finish func())
}

// whoami answers "principal uuid counter" for the client's session.
func whoamiRoute(r *gin.Engine) {
	r.GET("/whoami", func(c *gin.Context) {
		s := sessions.Default(c)
		c.String(http.StatusOK, "%s %s %d", s.Principal(), s.UUID(), s.GetInt("n"))
	})
}

// revokedMeanwhileRoute adds /revoked-meanwhile?op=…: the request loads
// its session, another revokes every session of its user (as an admin's
// "log out everywhere" would, between this request's load and what
// follows), then this one calls CycleKey, Login as the same user or Login
// as another.
func revokedMeanwhileRoute(store sessions.Store) func(r *gin.Engine) {
	return func(r *gin.Engine) {
		r.GET("/revoked-meanwhile", func(c *gin.Context) {
			s := sessions.Default(c)
			p := s.Principal()
			if _, err := sessions.RevokeUserSessions(c, store, p); err != nil {
				c.String(http.StatusInternalServerError, "%v", err)
				return
			}
			switch c.Query("op") {
			case "cycle":
				s.CycleKey()
			case "login":
				s.Login(p)
			default:
				s.Login(c.Query("op"))
			}
			c.String(http.StatusOK, "ok")
		})
	}
}

// observe returns client i's session as the site sees it.
func (w *usersWorld) observe(i int) (principal, uuid string, counter int) {
	w.t.Helper()
	rec := w.clients[i].get("/whoami")
	parts := strings.Split(rec.Body.String(), " ")
	if rec.Code != http.StatusOK || len(parts) != 3 {
		w.t.Fatalf("client %d: /whoami: %d %q", i, rec.Code, rec.Body)
	}
	n, _ := strconv.Atoi(parts[2])
	return parts[0], parts[1], n
}

// check compares every client and every listing with the model.
func (w *usersWorld) check(step string) {
	w.t.Helper()
	now := w.clk.Now()
	for i := range w.clients {
		p, uuid, n := w.observe(i)
		s := w.m.clients[i]
		if !w.m.live(i, now) {
			if p != "" || uuid != "" || n != 0 {
				w.t.Fatalf("%s: client %d should have no session, has principal %q uuid %q counter %d", step, i, p, uuid, n)
			}
			continue
		}
		if s.uuid == "" {
			// A new session: its UUID is random, but new.
			if uuid == "" || uuid == s.stale {
				w.t.Fatalf("%s: client %d has a new session with UUID %q, the old one was %q", step, i, uuid, s.stale)
			}
			w.m.clients[i].uuid = uuid
			s.uuid = uuid
		}
		if p != s.principal || uuid != s.uuid || n != s.counter {
			w.t.Fatalf("%s: client %d is (%q, %s, %d), model says (%q, %s, %d)", step, i, p, uuid, n, s.principal, s.uuid, s.counter)
		}
	}
	for _, user := range w.users {
		infos, err := sessions.UserSessions(context.Background(), w.store, user)
		if err != nil {
			w.t.Fatalf("%s: UserSessions(%s): %v", step, user, err)
		}
		want := w.m.ofUser(user, now)
		var got, wantUUIDs []string
		for _, in := range infos {
			got = append(got, in.UUID)
		}
		for _, j := range want {
			wantUUIDs = append(wantUUIDs, w.m.clients[j].uuid)
		}
		if !slices.Equal(got, wantUUIDs) {
			w.t.Fatalf("%s: %s's sessions = %v, model says %v", step, user, got, wantUUIDs)
		}
		for k, in := range infos {
			s := w.m.clients[want[k]]
			if !in.LastSeen.Equal(s.saved) || !in.Created.Equal(s.created) || !in.Expires.Equal(s.expires) {
				w.t.Fatalf("%s: %s's session %s: created %v seen %v expires %v; model says %v %v %v",
					step, user, in.UUID, in.Created, in.LastSeen, in.Expires, s.created, s.saved, s.expires)
			}
		}
	}
}

func (w *usersWorld) pickUser() string { return w.users[w.rng.IntN(len(w.users))] }

// step runs one random operation, sequentially, and returns its name.
func (w *usersWorld) step() string {
	now := w.clk.Now()
	i := w.rng.IntN(len(w.clients))
	c := w.clients[i]
	switch op := w.rng.IntN(13); op {
	case 0, 1:
		user := w.pickUser()
		w.m.login(i, user, now)
		c.do(http.MethodPost, "/login?user="+user)
		return fmt.Sprintf("client %d logs in as %s", i, user)
	case 2, 3:
		want := w.m.count(i, now)
		if got := c.get("/count").Body.String(); got != strconv.Itoa(want) {
			w.t.Fatalf("client %d: /count = %s, model says %d", i, got, want)
		}
		return fmt.Sprintf("client %d counts", i)
	case 4:
		s := w.m.clients[i]
		want := 0
		if w.m.live(i, now) && s.principal != "" {
			want = w.m.revoke(s.principal, func(j int) bool { return j == i }, now)
		}
		if got := c.do(http.MethodPost, "/revoke-others").Body.String(); got != strconv.Itoa(want) {
			w.t.Fatalf("client %d: RevokeOtherSessions = %s, model says %d", i, got, want)
		}
		return fmt.Sprintf("client %d revokes its other sessions", i)
	case 5:
		user := w.pickUser()
		want := w.m.revoke(user, func(int) bool { return false }, now)
		if n, err := sessions.RevokeUserSessions(context.Background(), w.store, user); err != nil || n != want {
			w.t.Fatalf("RevokeUserSessions(%s) = %d, %v; model says %d", user, n, err, want)
		}
		return "revoke all of " + user
	case 6:
		j := w.rng.IntN(len(w.clients))
		target, user := w.m.clients[j], w.pickUser()
		if target.uuid == "" {
			return "nothing to revoke"
		}
		w.m.revoke(user, func(k int) bool { return k != j }, now)
		if err := sessions.RevokeSession(context.Background(), w.store, user, target.uuid); err != nil {
			w.t.Fatalf("RevokeSession: %v", err)
		}
		return fmt.Sprintf("revoke client %d's session as %s's", j, user)
	case 7:
		w.m.clients[i].alive = false
		c.get("/flush")
		return fmt.Sprintf("client %d logs out", i)
	case 8:
		if !w.expiry {
			return "no time passes"
		}
		d := time.Duration(w.rng.IntN(40)) * time.Minute
		w.clk.advance(d)
		return fmt.Sprintf("%v pass", d)
	case 9:
		return w.batch()
	case 10:
		return w.loginBatch()
	case 11:
		return w.revokedMeanwhile(i)
	default:
		return w.revokeRacingCycle(i)
	}
}

// loginBatch logs several clients in as one user at once: under a cap,
// each login's save and cap are one step, so the user ends with exactly
// the cap's number of sessions (or all of them, when fewer).
func (w *usersWorld) loginBatch() string {
	now := w.clk.Now()
	user := w.pickUser()
	before := slices.Clone(w.m.clients)
	var logins []int
	for i := range w.clients {
		if w.rng.IntN(2) == 0 {
			logins = append(logins, i)
		}
	}
	if len(logins) < 2 {
		logins = []int{0, 1}
	}
	codes := make([]int, len(w.clients))
	var wg sync.WaitGroup
	for _, i := range logins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = w.clients[i].do(http.MethodPost, "/login?user="+user).Code
		}()
	}
	wg.Wait()
	succeeded, kept := 0, 0
	for i := range w.clients {
		if slices.Contains(logins, i) {
			if codes[i] != http.StatusOK && codes[i] != http.StatusBadRequest {
				w.t.Fatalf("login batch: client %d: login answered %d", i, codes[i])
			}
			w.learn(i, user, before[i], true, codes[i], now)
			if codes[i] == http.StatusOK {
				succeeded++
			}
			continue
		}
		b := before[i]
		if !(b.alive && now.Before(b.expires) && b.principal == user) {
			continue
		}
		// Another session of the user: kept, or revoked by a login's cap.
		switch p, uuid, n := w.observe(i); {
		case p == user && uuid == b.uuid && n == b.counter:
			kept++
		case p == "" && uuid == "" && n == 0:
			w.m.clients[i].alive = false
		default:
			w.t.Fatalf("login batch: client %d (was %+v) ended as (%q, %s, %d)", i, b, p, uuid, n)
		}
	}
	want := kept + succeeded
	if w.m.max > 0 {
		// Without a cap's deletion every session stays; after one, the
		// user has exactly the cap, and every later login restores it.
		total := 0
		for i := range w.clients {
			b := before[i]
			if !slices.Contains(logins, i) && b.alive && now.Before(b.expires) && b.principal == user {
				total++
			}
		}
		want = min(w.m.max, total+succeeded)
	}
	if n := len(w.m.ofUser(user, now)); n != want {
		w.t.Fatalf("login batch: %d concurrent logins as %s (%d answered 200) under a cap of %d left %d sessions, want %d",
			len(logins), user, succeeded, w.m.max, n, want)
	}
	return fmt.Sprintf("clients %v log in as %s at once", logins, user)
}

// revokedMeanwhile runs a request whose user's sessions are all revoked
// between its load and its CycleKey or Login: it answers 400 and brings
// nothing back.
func (w *usersWorld) revokedMeanwhile(i int) string {
	now := w.clk.Now()
	s := w.m.clients[i]
	if !w.m.live(i, now) || s.principal == "" {
		return "nothing to revoke meanwhile"
	}
	op := []string{"cycle", "login", w.pickUser()}[w.rng.IntN(3)]
	w.m.revoke(s.principal, func(int) bool { return false }, now)
	if rec := w.clients[i].get("/revoked-meanwhile?op=" + op); rec.Code != http.StatusBadRequest {
		w.t.Fatalf("client %d: %s after its session was revoked answered %d %q, want 400", i, op, rec.Code, rec.Body)
	}
	return fmt.Sprintf("client %d's sessions are revoked before its %s", i, op)
}

// revokeRacingCycle revokes every session of a user while one of them
// cycles its key: either the new token is saved after the revocation (the
// session lives on, listed), or the session is gone; never a revoked
// session back.
func (w *usersWorld) revokeRacingCycle(i int) string {
	now := w.clk.Now()
	b := w.m.clients[i]
	if !w.m.live(i, now) || b.principal == "" {
		return "no cycle to race"
	}
	user := b.principal
	path := "/cycle"
	if w.rng.IntN(2) == 0 {
		path = "/login?user=" + user
	}
	others := len(w.m.ofUser(user, now)) - 1
	w.m.revoke(user, func(j int) bool { return j == i }, now)
	var (
		wg      sync.WaitGroup
		code, n int
		err     error
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		method := http.MethodGet
		if path != "/cycle" {
			method = http.MethodPost
		}
		code = w.clients[i].do(method, path).Code
	}()
	go func() {
		defer wg.Done()
		n, err = sessions.RevokeUserSessions(context.Background(), w.store, user)
	}()
	wg.Wait()
	if err != nil || (n != others && n != others+1) {
		w.t.Fatalf("RevokeUserSessions(%s) racing a cycle = %d, %v; want %d or %d", user, n, err, others, others+1)
	}
	switch p, uuid, cnt := w.observe(i); {
	case p == "" && uuid == "" && cnt == 0:
		w.m.clients[i].alive = false
	case p == user && uuid == b.uuid && cnt == b.counter && code == http.StatusOK:
		w.m.save(i, now) // saved under its new token after the revocation
	case path != "/cycle" && p == user && uuid != b.uuid && cnt == 0 && code == http.StatusOK:
		// Revoked before the request loaded it: a login from scratch.
		w.m.clients[i] = modelSession{alive: true, principal: user, uuid: uuid, created: now}
		w.m.save(i, now)
	default:
		w.t.Fatalf("client %d (was %+v) cycling while %s's sessions were revoked: status %d, ended as (%q, %s, %d)", i, b, user, code, p, uuid, cnt)
	}
	return fmt.Sprintf("client %d cycles (%s) while %s's sessions are revoked", i, path, user)
}

// batch revokes every session of a user while some clients log in as that
// user and others count, all at once. The order inside the batch is not
// fixed, so the model learns each client's outcome from the site after
// checking that it is one the guarantees allow.
func (w *usersWorld) batch() string {
	now := w.clk.Now()
	user := w.pickUser()
	before := slices.Clone(w.m.clients)
	var finish func()
	if w.migrate != nil && w.rng.IntN(2) == 0 {
		// The user's slot moves under the batch: operations may fail
		// with ErrUnavailable meanwhile, but none may lose a session
		// from the index.
		finish = w.migrate(user)
	}
	logins := map[int]bool{}
	var wg sync.WaitGroup
	var revoked int
	var revokeErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		revoked, revokeErr = sessions.RevokeUserSessions(context.Background(), w.store, user)
	}()
	codes := make([]int, len(w.clients))
	for i, c := range w.clients {
		login := w.rng.IntN(2) == 0
		logins[i] = login
		wg.Add(1)
		go func() {
			defer wg.Done()
			if login {
				codes[i] = c.do(http.MethodPost, "/login?user="+user).Code
			} else {
				codes[i] = c.get("/count").Code
			}
		}()
	}
	wg.Wait()
	revokedAll := true
	if finish != nil {
		finish()
		if errors.Is(revokeErr, sessions.ErrUnavailable) {
			revokeErr, revokedAll = nil, false
		}
	}
	if revokeErr != nil {
		w.t.Fatalf("batch: RevokeUserSessions: %v", revokeErr)
	}
	if max := len(w.m.ofUser(user, now)) + len(w.clients); revoked > max {
		w.t.Fatalf("batch: RevokeUserSessions = %d, more than %d", revoked, max)
	}
	for i := range w.clients {
		if finish != nil && w.unchangedOrGone(i, before[i], codes[i], now) {
			continue
		}
		if !revokedAll && !logins[i] && before[i].principal == user && codes[i] == http.StatusOK {
			// The revocation failed: the count went through.
			w.m.count(i, now)
			continue
		}
		w.learn(i, user, before[i], logins[i], codes[i], now)
	}
	if n := len(w.m.ofUser(user, now)); w.m.max > 0 && n > w.m.max {
		w.t.Fatalf("batch: %s has %d sessions, the cap is %d", user, n, w.m.max)
	}
	if finish != nil {
		return fmt.Sprintf("a concurrent batch while %s's slot moves (revocation done: %v)", user, revokedAll)
	}
	return "a concurrent batch"
}

// unchangedOrGone adopts the outcome of a request that failed with 503 in
// a batch during a slot migration: the session is as it was (a save that
// did not happen) or gone (a login that deleted the old record before its
// save failed). It reports whether the request failed so.
func (w *usersWorld) unchangedOrGone(i int, before modelSession, code int, now time.Time) bool {
	if code != http.StatusServiceUnavailable {
		return false
	}
	p, uuid, n := w.observe(i)
	switch {
	case p == "" && uuid == "" && n == 0:
		w.m.clients[i].alive = false
	case before.alive && now.Before(before.expires) && p == before.principal && uuid == before.uuid && n == before.counter:
	default:
		w.t.Fatalf("batch: client %d (was %+v) answered 503 and ended as (%q, %s, %d)", i, before, p, uuid, n)
	}
	return true
}

// learn adopts client i's outcome in a batch, failing if it is not one
// that the guarantees allow.
func (w *usersWorld) learn(i int, user string, before modelSession, login bool, code int, now time.Time) {
	p, uuid, n := w.observe(i)
	wasLive := before.alive && now.Before(before.expires)
	fail := func(why string) {
		w.t.Fatalf("batch: client %d (was %+v, login %v, status %d) ended as (%q, %s, %d): %s", i, before, login, code, p, uuid, n, why)
	}
	s := &w.m.clients[i]
	switch {
	case login:
		// Logged in as user (after the revocation), or revoked.
		if p == "" {
			if uuid != "" || n != 0 {
				fail("a login that was revoked left a session")
			}
			s.alive = false
			return
		}
		keptData := wasLive && (before.principal == "" || before.principal == user)
		if p != user || (n != 0 && !(keptData && n == before.counter)) {
			fail("not a login as " + user)
		}
		*s = modelSession{alive: true, principal: user, uuid: uuid, counter: n, saved: now, expires: now.Add(w.m.age), created: now}
		if keptData && n == before.counter && uuid == before.uuid {
			s.created = before.created
		}
	case wasLive && before.principal == user:
		// Counting on a session being revoked: it is gone, or the
		// counter landed in a new anonymous session.
		switch {
		case p == "" && uuid == "" && n == 0:
			s.alive = false
		case p == "" && n == 1 && uuid != before.uuid:
			*s = modelSession{alive: true, uuid: uuid, counter: 1, created: now, saved: now, expires: now.Add(w.m.age)}
		default:
			fail("a revoked session survived")
		}
	default:
		// Not the revoked user's: the count is as if alone.
		want := w.m.count(i, now)
		if p != s.principal || n != want || code != http.StatusOK {
			fail(fmt.Sprintf("a count unrelated to the revocation went wrong (model: %q, %d)", s.principal, want))
		}
		s.uuid = uuid
		if wasLive && uuid != before.uuid {
			fail("the UUID changed")
		}
	}
}

// usersModelStore is a store for the model test and the clock it follows.
type usersModelStore struct {
	store sessions.Store
	clk   *clock
	// expiry says that the store's clock is clk, so that the test may move
	// time on and see sessions expire.
	expiry bool
	// migrate is usersWorld's, for a store on a Redis Cluster.
	migrate func(user string) (finish func())
}

// TestUsersModel runs random logins, counts, listings, revocations, expiry
// and concurrent batches (revocation racing logins and counts, logins
// racing under the cap, revocation racing CycleKey) on the memory store
// against a reference model. A failure prints the seed;
// USERS_MODEL_SEED=N replays it, USERS_MODEL_RUNS=N sets the number of
// runs.
func TestUsersModel(t *testing.T) {
	runUsersModel(t, 8, 120, func(t *testing.T) usersModelStore {
		st, clk, _ := clockedStore(t)
		return usersModelStore{store: st, clk: clk, expiry: true}
	})
}

// runUsersModel runs the model test: runs sequences of steps, each on a
// fresh store.
func runUsersModel(t *testing.T, runs, steps int, open func(t *testing.T) usersModelStore) {
	seed := uint64(envInt(t, "USERS_MODEL_SEED", int(rand.Uint32())))
	runs = envInt(t, "USERS_MODEL_RUNS", runs)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("replay: USERS_MODEL_SEED=%d go test -run '%s$' .", seed, t.Name())
		}
	})
	var migrations, loginBatches, racedCycles int
	defer func() {
		t.Logf("%d runs of %d steps: %d login batches, %d cycles raced by a revocation, %d batches during a slot migration",
			runs, steps, loginBatches, racedCycles, migrations)
	}()
	for run := range runs {
		rng := rand.New(rand.NewPCG(seed, uint64(run)))
		ms := open(t)
		st, clk := ms.store, ms.clk
		const age = time.Hour
		max := rng.IntN(4) // 0: no cap
		opts := []sessions.Option{sessions.WithClock(clk.Now), sessions.WithCookieAge(age), sessions.WithMaxSessionsPerUser(max)}
		r := newEngine(st, opts, func(r *gin.Engine) {
			userRoutes(st)(r)
			whoamiRoute(r)
			revokedMeanwhileRoute(st)(r)
		})
		w := &usersWorld{t: t, rng: rng, store: st, clk: clk, expiry: ms.expiry, migrate: ms.migrate, users: []string{"ann", "bob"},
			m: usersModel{clients: make([]modelSession, 5), age: age, max: max}}
		for range w.m.clients {
			w.clients = append(w.clients, newClient(t, r))
		}
		var trail []string
		for range steps {
			// Every step happens at its own instant, so that no two
			// sessions are seen at the same time.
			clk.advance(time.Millisecond)
			trail = append(trail, w.step())
			last := trail[len(trail)-1]
			switch {
			case strings.Contains(last, "slot moves"):
				migrations++
			case strings.Contains(last, "at once"):
				loginBatches++
			case strings.Contains(last, "revoked before"), strings.Contains(last, "are revoked"):
				racedCycles++
			}
			w.check(fmt.Sprintf("run %d (cap %d), after %s", run, max, strings.Join(trail[max0(len(trail)-4):], "; ")))
		}
	}
}

func max0(n int) int { return max(n, 0) }
