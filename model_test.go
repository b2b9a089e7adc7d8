package sessions_test

import (
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// The reference model of the session lifecycle, written from docs/lifecycle.md's
// rules rather than from the implementation: a map per stored record, the
// cookie the client holds, and what each request does to them. Its store
// calls happen in the order the middleware makes them, so that injected
// faults hit the same call in both.

// opKind is a session operation a generated handler performs.
type opKind uint8

const (
	opGet opKind = iota
	opSet
	opPop
	opDelete
	opIncr
	opClear
	opFlush
	opCycleKey
	opSetExpiry
	opAddFlash
	opFlashes
	opSave
	opSetBad // Set of a struct whose JSON would be {}: the request fails
	opUpdate // append str to the list under key with Update
	opKinds
)

var opNames = [...]string{"Get", "Set", "Pop", "Delete", "Incr", "Clear", "Flush", "CycleKey", "SetExpiry", "AddFlash", "Flashes", "Save", "SetBad", "Update"}

// op is one operation: key and value where they apply; an int value when
// str is empty.
type op struct {
	kind opKind
	key  string
	n    int64
	str  string
}

func (o op) String() string {
	switch o.kind {
	case opGet, opPop, opDelete, opSetBad:
		return opNames[o.kind] + "(" + o.key + ")"
	case opSet:
		return "Set(" + o.key + "," + o.value() + ")"
	case opIncr:
		return "Incr(" + o.key + "," + strconv.FormatInt(o.n, 10) + ")"
	case opAddFlash:
		return "AddFlash(" + o.str + ")"
	case opUpdate:
		return "Update(" + o.key + ",+" + o.str + ")"
	}
	return opNames[o.kind]
}

// value is the op's value as JSON text, as the session stores it.
func (o op) value() string {
	if o.str != "" {
		return strconv.Quote(o.str)
	}
	return strconv.FormatInt(o.n, 10)
}

// answerKind is how a generated handler answers.
type answerKind uint8

const (
	answerString answerKind = iota
	answerRedirect
	answerNoContent
	answerServerError
	answerPanic
	answerStream
	answerLate          // 200, then the late ops
	answerLateAfter5xx  // 500, then the late ops
	answerHandleContext // gin's internal redirect to a route that answers 200
	answerAfter         // 200; a goroutine runs the late ops once the client has the response
	answerKinds
)

var answerNames = [...]string{"String", "Redirect", "Status204", "5xx", "panic", "Stream+Flush", "change after the headers", "change after a 5xx", "HandleContext", "use after the request"}

// status is the status the handler itself answers with.
func (a answerKind) status() int {
	switch a {
	case answerRedirect:
		return http.StatusSeeOther
	case answerNoContent:
		return http.StatusNoContent
	case answerServerError, answerPanic, answerLateAfter5xx:
		return http.StatusInternalServerError
	}
	return http.StatusOK
}

// faultKind is a store failure injected into one request: the next call
// of that kind fails with ErrUnavailable.
type faultKind uint8

const (
	faultNone faultKind = iota
	faultLoad
	faultSave
	faultDelete
)

var faultNames = [...]string{"", "load", "save", "delete"}

// request is one generated request: ops before the answer, the answer,
// ops after it (late modes), a fault, and maybe a second request of the
// same session that runs, and completes, before ops[secondAt].
type request struct {
	ops      []op
	answer   answerKind
	late     []op
	fault    faultKind
	second   *request
	secondAt int
}

func (r *request) String() string {
	var b strings.Builder
	for i, o := range r.ops {
		if r.second != nil && r.secondAt == i {
			b.WriteString("{second: " + r.second.String() + "} ")
		}
		b.WriteString(o.String() + " ")
	}
	if r.second != nil && r.secondAt == len(r.ops) {
		b.WriteString("{second: " + r.second.String() + "} ")
	}
	b.WriteString("→ " + answerNames[r.answer])
	for _, o := range r.late {
		b.WriteString(" " + o.String())
	}
	if r.fault != faultNone {
		b.WriteString(" [fault: " + faultNames[r.fault] + "]")
	}
	return b.String()
}

// modelRecord is a stored session.
type modelRecord struct {
	values     map[string]string
	persistent bool // SetExpiry(d > 0): its cookie has a Max-Age
}

// model is the store and the faults still to inject.
type model struct {
	records map[int]*modelRecord
	next    int
	faults  [4]int // by faultKind
}

func newModel() *model { return &model{records: map[int]*modelRecord{}, next: 1} }

// fault uses up an injected fault of kind k, reporting whether the call fails.
func (m *model) fault(k faultKind) bool {
	if m.faults[k] > 0 {
		m.faults[k]--
		return true
	}
	return false
}

// noCookie is the client's token when it holds no cookie.
const noCookie = 0

// touch is what a request did to a key since its last save: it decides
// what the save sends (a delta, so that concurrent requests merge).
type touch uint8

const (
	untouched touch = iota
	touchSet
	touchDelete
	touchIncr
)

// modelRequest is the model of one request in flight.
type modelRequest struct {
	m          *model
	cookie     int // the record the request's cookie names, or noCookie
	loaded     bool
	failed     bool
	errStatus  int  // the error handler's status once failed by an error
	changed    bool // changes not saved yet
	sent       bool // the headers went
	late       bool
	stored     bool // a record is under id
	id         int  // what the session's id names (0: none)
	view, base map[string]string
	touches    map[string]touch
	incrs      map[string]int64
	persistent bool
	issued     bool
	sendCookie bool
	savedEarly bool
	expireCkie bool
	ended      bool // the request has finished: each change is saved at once
	newCookie  int  // the cookie the response sets (-1: expires it, 0: none)
	obs        []string
	// pending are the keys computed from their stored value (Update,
	// AddFlash, Flashes): their save expects that value, and a conflict
	// replays the steps on the newer one.
	pending map[string]*modelCond
}

// modelCond is a key whose save is conditional: the stored value it was
// computed from, and the steps that computed it.
type modelCond struct {
	expect   string
	expectOK bool
	steps    []modelStep
}

// modelStep computes a key's value from the one before (ok: present); a
// non-zero status fails the request.
type modelStep func(v string, ok bool) (string, bool, int)

const flashKey = "_session_flashes"

func (m *model) request(cookie int) *modelRequest {
	return &modelRequest{m: m, cookie: cookie, view: map[string]string{}, base: map[string]string{},
		touches: map[string]touch{}, incrs: map[string]int64{}, pending: map[string]*modelCond{}}
}

func (q *modelRequest) fail(status int) {
	if q.errStatus == 0 {
		q.errStatus = status
	}
	q.failed = true
}

func (q *modelRequest) load() {
	if q.loaded {
		return
	}
	q.loaded = true
	if q.cookie == noCookie {
		return
	}
	if q.m.fault(faultLoad) {
		q.id = q.cookie
		q.fail(http.StatusServiceUnavailable)
		return
	}
	if rec, ok := q.m.records[q.cookie]; ok {
		q.id, q.stored, q.persistent = q.cookie, true, rec.persistent
		q.base, q.view = maps.Clone(rec.values), maps.Clone(rec.values)
	}
}

func (q *modelRequest) change() {
	if q.sent {
		q.late = true
	}
	q.changed = true
}

func (q *modelRequest) put(key, value string) {
	q.change()
	q.view[key] = value
	q.touches[key] = touchSet
	delete(q.incrs, key)
	delete(q.pending, key)
}

func (q *modelRequest) remove(key string) {
	q.change()
	delete(q.view, key)
	delete(q.incrs, key)
	delete(q.pending, key)
	if _, ok := q.base[key]; ok {
		q.touches[key] = touchDelete
	} else {
		delete(q.touches, key)
	}
}

// kill is Flush's and CycleKey's delete of the record, at once. With
// strict (CycleKey), a stored record found gone already (deleted by
// another request meanwhile) fails the request with ErrInterrupted's 400.
func (q *modelRequest) kill(strict bool) {
	if q.id != 0 {
		_, found := q.m.records[q.id]
		switch {
		case q.m.fault(faultDelete):
			q.fail(http.StatusServiceUnavailable)
		case strict && q.stored && !found:
			q.fail(http.StatusBadRequest)
		default:
			delete(q.m.records, q.id)
		}
	}
	q.stored, q.id, q.issued, q.sendCookie = false, 0, false, false
	q.pending = map[string]*modelCond{}
}

// derive runs st on key's value and stores the result; when that value is
// the stored one, the save becomes conditional on it. A step that fails
// changes nothing and derive reports false.
func (q *modelRequest) derive(key string, st modelStep) bool {
	cur, ok := q.view[key]
	next, nextOK, status := st(cur, ok)
	if status != 0 {
		return false
	}
	q.change()
	c := q.pending[key]
	switch t := q.touches[key]; {
	case c != nil:
		c.steps = append(c.steps, st)
	case !q.stored:
	case t == touchIncr || t == untouched:
		v, ok := q.base[key]
		c = &modelCond{expect: v, expectOK: ok}
		if t == touchIncr {
			c.steps = append(c.steps, incrStep(q.incrs[key]))
		}
		c.steps = append(c.steps, st)
	}
	if nextOK {
		q.put(key, next)
	} else {
		q.remove(key)
	}
	if c != nil {
		q.pending[key] = c
	}
	return true
}

// incrStep is an Incr replayed on a newer value.
func incrStep(d int64) modelStep {
	return func(v string, ok bool) (string, bool, int) {
		n, err := strconv.ParseInt(v, 10, 64)
		if ok && err != nil {
			return "", false, http.StatusInternalServerError
		}
		return strconv.FormatInt(n+d, 10), true, 0
	}
}

// appendStep appends the JSON text item to a list. A value that is not a
// list fails, as Update's decoding into a []string does.
func appendStep(item string) modelStep {
	return func(v string, ok bool) (string, bool, int) {
		if ok && !strings.HasPrefix(v, "[") {
			return "", false, http.StatusInternalServerError
		}
		if ok && len(v) > 2 {
			return v[:len(v)-1] + "," + item + "]", true, 0
		}
		return "[" + item + "]", true, 0
	}
}

// consumeStep removes the flashes taken from a list: the longest run at
// its front that ends the list taken.
func consumeStep(taken string) modelStep {
	return func(v string, ok bool) (string, bool, int) {
		if !ok || v == taken {
			return "", false, 0
		}
		old, now := listItems(taken), listItems(v)
		k := min(len(old), len(now))
		for k > 0 && !slices.Equal(old[len(old)-k:], now[:k]) {
			k--
		}
		if k == len(now) {
			return "", false, 0
		}
		return "[" + strings.Join(now[k:], ",") + "]", true, 0
	}
}

// listItems splits a list of the model's strings (no commas inside).
func listItems(v string) []string {
	return strings.Split(strings.Trim(v, "[]"), ",")
}

// decoded is how the handler prints a value: fmt's %v of Get's result.
func decoded(raw string, ok bool) string {
	switch {
	case !ok:
		return "<nil>"
	case strings.HasPrefix(raw, `"`):
		s, _ := strconv.Unquote(raw)
		return s
	case strings.HasPrefix(raw, "["):
		items := strings.Split(strings.Trim(raw, "[]"), ",")
		for i, it := range items {
			items[i], _ = strconv.Unquote(it)
		}
		return "[" + strings.Join(items, " ") + "]"
	}
	return raw
}

// apply runs one op and returns what the handler observes.
func (q *modelRequest) apply(o op) string {
	if o.kind == opSave {
		return q.save()
	}
	q.load()
	switch o.kind {
	case opGet:
		v, ok := q.view[o.key]
		return decoded(v, ok)
	case opSet:
		q.put(o.key, o.value())
	case opPop:
		v, ok := q.view[o.key]
		if ok {
			q.remove(o.key)
		}
		return decoded(v, ok)
	case opDelete:
		if _, ok := q.view[o.key]; ok {
			q.remove(o.key)
		}
	case opIncr:
		var cur int64
		if v, ok := q.view[o.key]; ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				q.fail(http.StatusInternalServerError)
				return "0"
			}
			cur = n
		}
		t, d := q.touches[o.key], q.incrs[o.key]
		q.change()
		q.view[o.key] = strconv.FormatInt(cur+o.n, 10)
		if c := q.pending[o.key]; c != nil {
			q.touches[o.key] = touchSet
			c.steps = append(c.steps, incrStep(o.n))
		} else if t == touchSet || t == touchDelete {
			q.touches[o.key] = touchSet
			delete(q.incrs, o.key)
		} else {
			q.touches[o.key], q.incrs[o.key] = touchIncr, d+o.n
		}
		return strconv.FormatInt(cur+o.n, 10)
	case opClear:
		q.change()
		q.view, q.touches, q.incrs = map[string]string{}, map[string]touch{}, map[string]int64{}
		q.pending = map[string]*modelCond{}
		for k := range q.base {
			q.touches[k] = touchDelete
		}
	case opFlush:
		q.change()
		q.kill(false)
		q.view, q.base, q.touches, q.incrs = map[string]string{}, map[string]string{}, map[string]touch{}, map[string]int64{}
		q.pending = map[string]*modelCond{}
		q.persistent = false
	case opCycleKey:
		if q.sent {
			q.fail(http.StatusInternalServerError)
			break
		}
		q.change()
		q.kill(true)
	case opSetExpiry:
		q.persistent, q.sendCookie = true, true
		q.change()
	case opSetBad:
		q.fail(http.StatusInternalServerError)
	case opAddFlash:
		q.derive(flashKey, appendStep(strconv.Quote(o.str)))
	case opFlashes:
		v, ok := q.view[flashKey]
		if ok {
			q.derive(flashKey, consumeStep(v))
			return decoded(v, ok)
		}
		return "[]"
	case opUpdate:
		if !q.derive(o.key, appendStep(strconv.Quote(o.str))) {
			return "err"
		}
		return decoded(q.view[o.key], true)
	}
	return ""
}

func (q *modelRequest) save() string {
	switch {
	case !q.loaded:
		return "nil"
	case q.failed:
		return "err"
	case q.sent && q.changed && !q.stored && len(q.view) > 0:
		q.fail(http.StatusInternalServerError) // the failure is Err's at once
		return "err"
	}
	if status := q.persist(false); status != 0 {
		q.fail(status)
		return "err"
	}
	if !q.sent {
		q.savedEarly = true
	}
	return "nil"
}

// persist saves what changed; it returns the error handler's status of a
// failure, or 0.
func (q *modelRequest) persist(commit bool) int {
	m := q.m
	if len(q.view) == 0 && len(q.pending) == 0 {
		if q.stored {
			if m.fault(faultDelete) {
				return http.StatusServiceUnavailable
			}
			delete(m.records, q.id)
		}
		q.stored, q.id, q.issued, q.sendCookie = false, 0, false, false
		q.changed, q.late = false, false
		q.base, q.touches, q.incrs = map[string]string{}, map[string]touch{}, map[string]int64{}
		q.expireCkie = q.cookie != noCookie
		return 0
	}
	if !q.changed {
		if commit && q.stored && q.savedEarly && (q.issued || q.sendCookie) {
			// The check of a session saved early: an empty update.
			if m.fault(faultSave) {
				return http.StatusServiceUnavailable
			}
			rec, ok := m.records[q.id]
			if !ok {
				return http.StatusBadRequest
			}
			rec.persistent = q.persistent
		}
		return 0
	}
	if m.fault(faultSave) {
		return http.StatusServiceUnavailable
	}
	if !q.stored {
		q.id = m.next
		m.next++
		m.records[q.id] = &modelRecord{values: maps.Clone(q.view), persistent: q.persistent}
		q.issued, q.sendCookie = true, true
	} else {
		rec, ok := m.records[q.id]
		if !ok {
			return http.StatusBadRequest
		}
		if q.conflicts(rec) {
			// One retry: the model's requests never overlap during a save.
			if m.fault(faultLoad) {
				return http.StatusServiceUnavailable
			}
			if status := q.rebase(rec); status != 0 {
				return status
			}
			if m.fault(faultSave) {
				return http.StatusServiceUnavailable
			}
		}
		next := maps.Clone(rec.values)
		for k, t := range q.touches {
			switch t {
			case touchSet:
				next[k] = q.view[k]
			case touchDelete:
				delete(next, k)
			case touchIncr:
				cur, err := strconv.ParseInt(next[k], 10, 64)
				if _, ok := next[k]; ok && err != nil {
					return http.StatusInternalServerError
				}
				next[k] = strconv.FormatInt(cur+q.incrs[k], 10)
			}
		}
		rec.values, rec.persistent = next, q.persistent
	}
	q.stored, q.changed, q.late, q.expireCkie = true, false, false, false
	q.base, q.touches, q.incrs = maps.Clone(q.view), map[string]touch{}, map[string]int64{}
	q.pending = map[string]*modelCond{}
	if q.persistent {
		q.sendCookie = true
	}
	return 0
}

// conflicts reports whether a conditional key no longer holds in rec what
// the request computed it from.
func (q *modelRequest) conflicts(rec *modelRecord) bool {
	for k, c := range q.pending {
		if v, ok := rec.values[k]; ok != c.expectOK || v != c.expect {
			return true
		}
	}
	return false
}

// rebase recomputes the conditional keys from rec; it returns the status
// of a step that fails.
func (q *modelRequest) rebase(rec *modelRecord) int {
	for k, c := range q.pending {
		v, ok := rec.values[k]
		c.expect, c.expectOK = v, ok
		for _, st := range c.steps {
			var status int
			if v, ok, status = st(v, ok); status != 0 {
				return http.StatusConflict // fails on the newer value: a conflict
			}
		}
		if ok {
			q.view[k], q.touches[k] = v, touchSet
		} else {
			delete(q.view, k)
			q.touches[k] = touchDelete
		}
	}
	return 0
}

// commit is the headers going out with the given status; it returns the
// status the client gets.
func (q *modelRequest) commit(status int) int {
	q.sent = true
	if !q.loaded {
		return status
	}
	if status >= http.StatusInternalServerError {
		q.fail(0)
		return status
	}
	if q.failed {
		return q.errStatus
	}
	if s := q.persist(true); s != 0 {
		q.fail(s)
		return s
	}
	switch {
	case q.stored && q.sendCookie:
		q.newCookie = q.id
	case !q.stored && q.expireCkie:
		q.newCookie = -1
	}
	return status
}

// finish is the end of the chain: the late changes. The request has ended
// then.
func (q *modelRequest) finish(status int) {
	defer func() { q.ended, q.sent = true, true }()
	if !q.loaded || !q.late {
		return
	}
	if status >= http.StatusInternalServerError {
		q.fail(0)
	}
	q.saveLate()
}

// saveLate saves the changes since the headers when no new cookie is
// needed; a new session's, which would need one, fails.
func (q *modelRequest) saveLate() {
	if !q.late {
		return
	}
	q.late = false
	switch {
	case q.failed:
	case q.changed && !q.stored && len(q.view) > 0:
		q.fail(http.StatusInternalServerError)
	default:
		if s := q.persist(false); s != 0 {
			q.fail(s)
		}
	}
}

// after is an op of a goroutine that outlived the request: once the
// request has ended, a change is saved at once, or fails.
func (q *modelRequest) after(o op) string {
	got := q.apply(o)
	if o.kind != opSave {
		q.saveLate()
	}
	return got
}

// run is the model of a whole request sent with cookie; it returns the
// status, the observations and the client's cookie afterwards.
func (m *model) run(r *request, cookie int) (status int, obs []string, after int) {
	m.faults[r.fault]++
	defer func() { m.faults = [4]int{} }()
	return m.runNoFault(r, cookie)
}

func (m *model) runNoFault(r *request, cookie int) (status int, obs []string, after int) {
	q := m.request(cookie)
	for i, o := range r.ops {
		if r.second != nil && r.secondAt == i {
			s, o, _ := m.runNoFault(r.second, cookie)
			q.obs = append(q.obs, "second:"+strconv.Itoa(s)+":"+strings.Join(o, ","))
		}
		q.obs = append(q.obs, q.apply(o))
	}
	if r.second != nil && r.secondAt == len(r.ops) {
		s, o, _ := m.runNoFault(r.second, cookie)
		q.obs = append(q.obs, "second:"+strconv.Itoa(s)+":"+strings.Join(o, ","))
	}
	if r.answer == answerPanic && q.loaded {
		q.fail(http.StatusInternalServerError)
	}
	status = q.commit(r.answer.status())
	if r.answer != answerAfter {
		for _, o := range r.late {
			q.obs = append(q.obs, q.apply(o))
		}
	}
	q.finish(status)
	if r.answer == answerAfter {
		for _, o := range r.late {
			q.obs = append(q.obs, q.after(o))
		}
	}
	after = cookie
	switch {
	case q.newCookie > 0:
		after = q.newCookie
	case q.newCookie < 0:
		after = noCookie
	}
	return status, q.obs, after
}
