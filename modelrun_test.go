package sessions_test

import (
	"context"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/internal/redistest"
)

// TestLifecycleModel runs generated scenarios through a real gin engine on
// the memory store and on a real Redis server, and after every request
// checks the status, what the handler read, the record the client's cookie
// names and the number of records against the reference model in
// model_test.go. MODEL_CASES sets the number of scenarios per store
// (default 2000) and MODEL_SEED the first seed; a failure prints the
// command that replays it.
func TestLifecycleModel(t *testing.T) {
	cases := envInt(t, "MODEL_CASES", 2000)
	seed := uint64(envInt(t, "MODEL_SEED", int(time.Now().UnixNano()%1_000_000_000)))
	t.Logf("seeds %d to %d", seed, seed+uint64(cases)-1)
	for _, ns := range []struct {
		name string
		open func(t *testing.T) modelStore
	}{
		{"memory", func(t *testing.T) modelStore { return memoryModelStore{} }},
		{"redis", func(t *testing.T) modelStore {
			rdb := closeAtEnd(t, redis.NewClient(&redis.Options{Addr: redistest.Addr(t)}))
			return &redisModelStore{rdb: rdb, base: testPrefix(t, rdb)}
		}},
	} {
		t.Run(ns.name, func(t *testing.T) {
			st := ns.open(t)
			for i := range uint64(cases) {
				if msg := runScenario(st, seed+i); msg != "" {
					t.Fatalf("seed %d: %s\nreplay: MODEL_SEED=%d MODEL_CASES=1 go test -run 'TestLifecycleModel/%s$' .",
						seed+i, msg, seed+i, ns.name)
				}
			}
		})
	}
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q: want a non-negative integer", name, v)
	}
	return n
}

// modelStore gives each scenario a fresh, empty store and counts its
// records.
type modelStore interface {
	fresh() (sessions.Store, func() int, func())
}

type memoryModelStore struct{}

func (memoryModelStore) fresh() (sessions.Store, func() int, func()) {
	st := sessions.NewMemoryStore()
	return st, st.Len, func() { _ = st.Close() }
}

type redisModelStore struct {
	rdb  redis.UniversalClient
	base string
	n    int
}

func (m *redisModelStore) fresh() (sessions.Store, func() int, func()) {
	m.n++
	prefix := m.base + strconv.Itoa(m.n) + ":"
	ctx := context.Background()
	keys := func() []string {
		var ks []string
		iter := m.rdb.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			ks = append(ks, iter.Val())
		}
		return ks
	}
	return sessions.NewRedisStore(m.rdb, sessions.WithRedisKeyPrefix(prefix)),
		func() int { return len(keys()) },
		func() {
			if ks := keys(); len(ks) > 0 {
				m.rdb.Del(ctx, ks...)
			}
		}
}

// generate makes a scenario of one to four requests from seed.
func generate(seed uint64) []*request {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	reqs := make([]*request, 1+rng.IntN(4))
	for i := range reqs {
		r := &request{ops: genOps(rng, rng.IntN(6)), answer: answerKind(rng.IntN(int(answerKinds)))}
		if r.answer == answerLate || r.answer == answerLateAfter5xx || r.answer == answerAfter {
			r.late = genOps(rng, 1+rng.IntN(3))
		}
		if rng.IntN(3) == 0 {
			r.fault = faultKind(1 + rng.IntN(3))
		}
		if rng.IntN(3) == 0 {
			second := []op{{kind: opSet, key: "c", n: int64(rng.IntN(10))}, {kind: opIncr, key: "n", n: 1}, {kind: opFlush}, {kind: opGet, key: "a"}}
			if rng.IntN(2) == 0 {
				// One that changes what a conditional save of the first
				// request expects: its save conflicts and runs again.
				second = []op{{kind: opUpdate, key: "l", str: "s" + strconv.Itoa(rng.IntN(10))},
					{kind: opAddFlash, str: "g" + strconv.Itoa(rng.IntN(10))}, {kind: opFlashes}, {kind: opIncr, key: "n", n: 1}}
			}
			r.second = &request{ops: []op{second[rng.IntN(len(second))]}, answer: answerString}
			r.secondAt = rng.IntN(len(r.ops) + 1)
			if j, o, ok := firstConditional(r.ops); ok && rng.IntN(2) == 0 {
				// Right after an op whose save is conditional, another
				// request changes the same key: the save must conflict.
				r.secondAt = j + 1 + rng.IntN(len(r.ops)-j)
				r.second.ops = []op{rival(o, rng)}
			}
		}
		reqs[i] = r
	}
	return reqs
}

// firstConditional finds the first op whose save is conditional: Update,
// AddFlash or Flashes.
func firstConditional(ops []op) (int, op, bool) {
	for i, o := range ops {
		if o.kind == opUpdate || o.kind == opAddFlash || o.kind == opFlashes {
			return i, o, true
		}
	}
	return 0, op{}, false
}

// rival is an op of another request that changes the key o changes.
func rival(o op, rng *rand.Rand) op {
	switch {
	case o.kind != opUpdate:
		return op{kind: opAddFlash, str: "g" + strconv.Itoa(rng.IntN(10))}
	case o.key == "n":
		return op{kind: opIncr, key: "n", n: 1}
	}
	return op{kind: opUpdate, key: o.key, str: "s" + strconv.Itoa(rng.IntN(10))}
}

func genOps(rng *rand.Rand, n int) []op {
	keys := []string{"a", "b", "n"}
	ops := make([]op, n)
	for i := range ops {
		o := op{kind: opKind(rng.IntN(int(opKinds))), key: keys[rng.IntN(len(keys))], n: int64(rng.IntN(10))}
		if rng.IntN(6) == 0 {
			o.kind = opUpdate // more of them, so that conflicts are common
		}
		switch o.kind {
		case opSet:
			if rng.IntN(3) == 0 {
				o.str = "s" + strconv.Itoa(rng.IntN(10))
			}
		case opIncr:
			o.n = 1 + int64(rng.IntN(3))
		case opAddFlash:
			o.str = "f" + strconv.Itoa(rng.IntN(10))
		case opUpdate:
			// Mostly a list; sometimes the counter, which Update cannot
			// decode, and which Incr cannot add to once it is a list.
			o.key, o.str = []string{"l", "l", "n"}[rng.IntN(3)], "u"+strconv.Itoa(rng.IntN(10))
		}
		ops[i] = o
	}
	return ops
}

// runScenario runs the scenario of seed on a fresh store and the model, and
// returns what differs, or "".
func runScenario(ms modelStore, seed uint64) string {
	reqs := generate(seed)
	store, count, cleanup := ms.fresh()
	defer cleanup()
	fs := &faultStore{Store: store}
	h := &modelHandler{}
	h.engine = h.build(fs)
	cl := &modelClient{h: h.engine}
	m := newModel()
	cookieOf := map[string]int{"": noCookie} // real token → model record
	modelCookie := noCookie
	var done []string
	for i, r := range reqs {
		done = append(done, fmt.Sprintf("request %d: %v", i+1, r))
		trace := "\n  " + strings.Join(done, "\n  ")

		wantStatus, wantObs, wantCookie := m.run(r, modelCookie)
		fs.faultOnce(r.fault)
		status, obs := h.serve(cl, r)
		fs.faultOnce(faultNone)

		if status != wantStatus {
			return fmt.Sprintf("status %d, model %d%s", status, wantStatus, trace)
		}
		if strings.Join(obs, "|") != strings.Join(wantObs, "|") {
			return fmt.Sprintf("handler read %q, model %q%s", obs, wantObs, trace)
		}
		token := cl.token
		if known, ok := cookieOf[token]; ok && known != wantCookie {
			return fmt.Sprintf("the client holds the cookie of record %d, model %d%s", known, wantCookie, trace)
		} else if !ok {
			if _, reused := findValue(cookieOf, wantCookie); reused || wantCookie == noCookie {
				return fmt.Sprintf("the client got a new cookie, model keeps record %d%s", wantCookie, trace)
			}
			cookieOf[token] = wantCookie
		}
		modelCookie = wantCookie
		rec, found, err := store.Load(context.Background(), sessions.StoreID(token))
		want, live := m.records[wantCookie]
		switch {
		case err != nil:
			return fmt.Sprintf("Load: %v%s", err, trace)
		case found != live:
			return fmt.Sprintf("the client's record found=%v, model %v%s", found, live, trace)
		case live && !maps.Equal(rec.Values, want.values) && !(len(rec.Values) == 0 && len(want.values) == 0):
			return fmt.Sprintf("the client's record holds %v, model %v%s", rec.Values, want.values, trace)
		}
		if n := count(); n != len(m.records) {
			return fmt.Sprintf("the store holds %d records, model %d%s", n, len(m.records), trace)
		}
	}
	return ""
}

func findValue(m map[string]int, v int) (string, bool) {
	for k, x := range m {
		if x == v {
			return k, true
		}
	}
	return "", false
}

// faultOnce arms the next call of kind k to fail, disarming the others.
func (s *faultStore) faultOnce(k faultKind) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loadFaults, s.saveFaults, s.deleteFaults = 0, 0, 0
	switch k {
	case faultLoad:
		s.loadFaults = 1
	case faultSave:
		s.saveFaults = 1
	case faultDelete:
		s.deleteFaults = 1
	}
}

// modelClient is a browser with one session cookie.
type modelClient struct {
	h     http.Handler
	token string
}

// modelHandler runs generated requests: /run executes the request the
// handler is told about, /inner answers a HandleContext.
type modelHandler struct {
	engine *gin.Engine
	reqs   []*request
	obs    [][]string
	after  func() // the ops a goroutine runs once the response is out
}

func (h *modelHandler) build(st sessions.Store) *gin.Engine {
	r := gin.New()
	r.Use(gin.CustomRecoveryWithWriter(io.Discard, func(c *gin.Context, _ any) {
		c.AbortWithStatus(http.StatusInternalServerError)
	}))
	// The model checks what is saved; the reports of what is not are
	// TestSessionAfterRequest's.
	r.Use(sessions.Middleware(st, sessions.WithLogger(nil)))
	r.GET("/run", h.run)
	r.GET("/inner", func(c *gin.Context) { c.String(http.StatusOK, "inner") })
	return r
}

// serve sends r with the client's cookie and returns the status and what
// the handler read.
func (h *modelHandler) serve(cl *modelClient, r *request) (int, []string) {
	i := len(h.reqs)
	h.reqs, h.obs = append(h.reqs, r), append(h.obs, nil)
	req, _ := http.NewRequest(http.MethodGet, "http://example.com/run?i="+strconv.Itoa(i), nil)
	if cl.token != "" {
		req.AddCookie(&http.Cookie{Name: "sessionid", Value: cl.token})
	}
	rec := newRecorder()
	h.engine.ServeHTTP(rec, req)
	if after := h.after; after != nil {
		// The client has the response: the goroutine the handler started
		// goes on, and the request's scenario ends when it is done.
		h.after = nil
		done := make(chan struct{})
		go func() {
			defer close(done)
			after()
		}()
		<-done
	}
	for _, ck := range rec.Result().Cookies() {
		if ck.Name != "sessionid" {
			continue
		}
		cl.token = ck.Value
		if ck.MaxAge < 0 {
			cl.token = ""
		}
	}
	return rec.Code, h.obs[i]
}

func (h *modelHandler) run(c *gin.Context) {
	i, _ := strconv.Atoi(c.Query("i"))
	r := h.reqs[i]
	s := sessions.Default(c)
	second := func() {
		// Another tab with the same cookie, served meanwhile.
		other := &modelClient{h: h.engine}
		if ck, err := c.Request.Cookie("sessionid"); err == nil {
			other.token = ck.Value
		}
		status, obs := h.serve(other, r.second)
		h.obs[i] = append(h.obs[i], "second:"+strconv.Itoa(status)+":"+strings.Join(obs, ","))
	}
	for j, o := range r.ops {
		if r.second != nil && r.secondAt == j {
			second()
		}
		h.obs[i] = append(h.obs[i], apply(s, o))
	}
	if r.second != nil && r.secondAt == len(r.ops) {
		second()
	}
	switch r.answer {
	case answerString:
		c.String(http.StatusOK, "ok")
	case answerRedirect:
		c.Redirect(http.StatusSeeOther, "/elsewhere")
	case answerNoContent:
		c.Status(http.StatusNoContent)
	case answerServerError:
		c.String(http.StatusInternalServerError, "boom")
	case answerPanic:
		panic("generated handler bug")
	case answerStream:
		_, _ = c.Writer.WriteString("a")
		c.Writer.Flush()
		_, _ = c.Writer.WriteString("b")
	case answerLate, answerLateAfter5xx:
		c.String(r.answer.status(), "early")
		for _, o := range r.late {
			h.obs[i] = append(h.obs[i], apply(s, o))
		}
	case answerHandleContext:
		c.Request.URL.Path = "/inner"
		h.engine.HandleContext(c)
	case answerAfter:
		h.after = func() {
			for _, o := range r.late {
				h.obs[i] = append(h.obs[i], apply(s, o))
			}
		}
		c.String(http.StatusOK, "answered")
	}
}

// unencodable is a struct whose JSON would be {}: Set refuses it.
type unencodable struct{ secret string }

// apply performs o on s and returns what the handler reads.
func apply(s *sessions.Session, o op) string {
	switch o.kind {
	case opGet:
		return fmt.Sprint(s.Get(o.key, "<nil>"))
	case opSet:
		if o.str != "" {
			s.Set(o.key, o.str)
		} else {
			s.Set(o.key, o.n)
		}
	case opPop:
		return fmt.Sprint(s.Pop(o.key, "<nil>"))
	case opDelete:
		s.Delete(o.key)
	case opIncr:
		return strconv.FormatInt(s.Incr(o.key, o.n), 10)
	case opClear:
		s.Clear()
	case opFlush:
		s.Flush()
	case opCycleKey:
		s.CycleKey()
	case opSetExpiry:
		s.SetExpiry(time.Hour)
	case opAddFlash:
		s.AddFlash(o.str)
	case opFlashes:
		return fmt.Sprint(s.Flashes())
	case opSave:
		if s.Save() != nil {
			return "err"
		}
		return "nil"
	case opSetBad:
		s.Set(o.key, unencodable{secret: "x"})
	case opUpdate:
		v, err := sessions.Update(s, o.key, func(old []string, _ bool) ([]string, error) {
			return append(old, o.str), nil
		})
		if err != nil {
			return "err"
		}
		return fmt.Sprint(v)
	}
	return ""
}
