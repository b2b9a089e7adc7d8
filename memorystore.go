package sessions

import (
	"container/heap"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// MemoryStore keeps sessions in the process's memory: the embedded default,
// for development, tests and single-process deployments. Sessions do not
// survive a restart and are not shared between processes; use RedisStore
// for that.
//
// It is safe for concurrent use: records are spread over shards with a lock
// each. A background janitor removes expired records; Close stops it.
//
// The store holds at most WithMaxSessions records (1,000,000 by default) so
// that a flood of new sessions cannot exhaust memory. When it is full, a new
// session evicts the sessions closest to expiry across the whole store,
// which are the least recently saved in the common case, and never itself.
//
// Times are kept as Unix nanoseconds; an expiry past their range (the year
// 2262) is kept as the last instant they can hold, so such a session lives.
type MemoryStore struct {
	shards   [memoryShards]memoryShard
	users    memoryUsers  // the per-user index: see memoryusers.go
	max      int64        // the bound on records
	count    atomic.Int64 // records held, in every shard
	interval time.Duration
	now      func() time.Time
	events   StoreHooks // AddHooks: see memoryevents.go

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// MemoryOption configures NewMemoryStore.
type MemoryOption func(*MemoryStore)

const memoryShards = 64

// WithMaxSessions bounds the number of sessions the store holds; default
// 1,000,000. When full, saving a new session evicts those closest to
// expiry, never the one being saved. A bound below 1 panics.
func WithMaxSessions(n int) MemoryOption {
	if n < 1 {
		panic(fmt.Sprintf("sessions: WithMaxSessions(%d): the bound must be at least 1", n))
	}
	return func(s *MemoryStore) { s.max = int64(n) }
}

// WithCleanupInterval sets how often the janitor removes expired sessions;
// default one minute. Expired sessions are never served in between. A zero
// or negative interval panics.
func WithCleanupInterval(d time.Duration) MemoryOption {
	if d <= 0 {
		panic(fmt.Sprintf("sessions: WithCleanupInterval(%v): the interval must be positive", d))
	}
	return func(s *MemoryStore) { s.interval = d }
}

// NewMemoryStore returns an empty store and starts its janitor. Call Close
// when done with it to stop the janitor.
func NewMemoryStore(opts ...MemoryOption) *MemoryStore {
	s := &MemoryStore{
		max:      1_000_000,
		interval: time.Minute,
		now:      time.Now,
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	for _, opt := range opts {
		opt(s)
	}
	for i := range s.shards {
		s.shards[i].items = make(map[[32]byte]*memoryRecord)
		s.shards[i].count = &s.count
	}
	go s.janitor()
	return s
}

// Close stops the janitor. The store keeps working without it, but expired
// records then stay in memory until they are read, deleted or evicted.
// Close is safe to call more than once.
func (s *MemoryStore) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		<-s.done
	})
	return nil
}

// Len returns the number of records held, expired ones not yet removed
// included.
func (s *MemoryStore) Len() int {
	return int(s.count.Load())
}

// Load implements Store.
func (s *MemoryStore) Load(_ context.Context, id string) (Record, bool, error) {
	key, ok := parseID(id)
	if !ok {
		return Record{}, false, nil
	}
	sh := s.shard(key)
	sh.mu.RLock()
	r := sh.items[key]
	var rec Record
	found := r != nil && r.expires > s.now().UnixNano()
	if found {
		rec = r.record()
	}
	sh.mu.RUnlock()
	return rec, found, nil
}

// Save implements Store.
func (s *MemoryStore) Save(_ context.Context, id string, ch Change) error {
	key, ok := parseID(id)
	if !ok {
		return fmt.Errorf("sessions: memory store: malformed id %q", id)
	}
	var gone []memoryBinding
	var err error
	var revoked []string // by the cap
	if ch.New && ch.Principal != "" {
		// Filing the new record and creating it is one step for the
		// user's index: see memoryUsers.
		s.users.mu.Lock()
		err = s.save(key, id, ch, &gone)
		if err == nil {
			s.users.add(ch.Principal, key)
			if ch.MaxUserSessions > 0 {
				revoked = s.deleteUser(ch.Principal, UserSelection{Except: ch.UUID, Keep: ch.MaxUserSessions - 1})
			}
		}
		s.users.mu.Unlock()
	} else {
		err = s.save(key, id, ch, &gone)
	}
	if err == nil {
		// Bounded: each round removes a record or finds none to remove.
		for range memoryShards {
			if s.count.Load() <= s.max || !s.evictSoonest(key, &gone) {
				break
			}
		}
	}
	s.forget(gone)
	if err == nil && ch.Revoked != nil {
		for _, uuid := range revoked {
			ch.Revoked(uuid)
		}
	}
	return err
}

// save applies ch to the record under key; gone receives the user
// bindings of the records it removes.
func (s *MemoryStore) save(key [32]byte, id string, ch Change, gone *[]memoryBinding) error {
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	r := sh.items[key]
	if r != nil && (r.expires <= s.now().UnixNano() || ch.New) {
		sh.remove(r, gone)
		r = nil
	}
	if r == nil && !ch.New {
		return wrapError(fmt.Sprintf("sessions: memory store: saving %.8s…", id), ErrInterrupted)
	}
	var old string
	if r != nil {
		old = r.data
		if k, ok := unmet(old, ch.Expect); !ok {
			return wrapError(fmt.Sprintf("sessions: memory store: saving %.8s…: key %q changed", id, k), ErrConflict)
		}
	}
	data, err := applyChange(old, ch)
	if err != nil {
		return err
	}
	if r == nil {
		r = &memoryRecord{id: key, index: -1}
		sh.items[key] = r
		s.count.Add(1)
	}
	r.data = data
	r.saved = unixNanos(ch.Saved)
	r.seen = r.saved
	sh.setExpires(r, unixNanos(ch.Expires))
	return nil
}

// evictSoonest removes the record closest to expiry in the whole store,
// other than the one under keep. It reports false when there is none.
func (s *MemoryStore) evictSoonest(keep [32]byte, gone *[]memoryBinding) bool {
	var victim *memoryRecord
	var from *memoryShard
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		if r := sh.byExpiry.soonestBut(keep); r != nil && (victim == nil || r.expires < victim.expires) {
			victim, from = r, sh
		}
		sh.mu.RUnlock()
	}
	if victim == nil {
		return false
	}
	from.mu.Lock()
	// A concurrent request may have removed it meanwhile.
	removed := from.items[victim.id] == victim
	if removed {
		from.remove(victim, gone)
	}
	from.mu.Unlock()
	if removed && s.events.Listening() {
		s.reportEvicted(victim)
	}
	return true
}

// unixNanos is t in Unix nanoseconds, clamped to their range.
func unixNanos(t time.Time) int64 {
	switch {
	case t.After(maxUnixNanos):
		return math.MaxInt64
	case t.Before(minUnixNanos):
		return math.MinInt64
	}
	return t.UnixNano()
}

// The instants that Unix nanoseconds can hold, around 1678 and 2262.
var (
	maxUnixNanos = time.Unix(0, math.MaxInt64)
	minUnixNanos = time.Unix(0, math.MinInt64)
)

// Delete implements Store.
func (s *MemoryStore) Delete(_ context.Context, id string) (bool, error) {
	key, ok := parseID(id)
	if !ok {
		return false, nil
	}
	var gone []memoryBinding
	found := false
	var expired *memoryRecord
	sh := s.shard(key)
	sh.mu.Lock()
	if r := sh.items[key]; r != nil {
		found = r.expires > s.now().UnixNano()
		sh.remove(r, &gone)
		if !found && s.events.Listening() {
			expired = r // the janitor would have reported it
		}
	}
	sh.mu.Unlock()
	s.forget(gone)
	if expired != nil {
		s.report(context.Background(), []Event{expired.event(EventExpired, s.now())})
	}
	return found, nil
}

// Touch implements Store.
func (s *MemoryStore) Touch(_ context.Context, id string, seen, expires time.Time) error {
	key, ok := parseID(id)
	if !ok {
		return nil
	}
	sh := s.shard(key)
	sh.mu.Lock()
	if r := sh.items[key]; r != nil && r.expires > s.now().UnixNano() {
		r.seen = unixNanos(seen)
		sh.setExpires(r, unixNanos(expires))
	}
	sh.mu.Unlock()
	return nil
}

// unmet checks a conditional save's expectations against a record's packed
// data, under its shard's lock: it returns a key that no longer holds its
// expected value, or ok. The store keeps the JSON text it was given and
// Load returns it as is, so the text is compared exactly.
func unmet(data string, expect map[string]string) (key string, ok bool) {
	if len(expect) == 0 {
		return "", true
	}
	left := len(expect)
	_, fields := splitData(data)
	for rest := fields; rest != "" && left > 0; {
		var k, v string
		k, rest = readField(rest)
		v, rest = readField(rest)
		if want, ok := expect[k]; ok {
			if v != want {
				return k, false
			}
			left--
		}
	}
	if left == 0 {
		return "", true
	}
	// The keys not found are absent: they must be expected so.
	for k, want := range expect {
		if want != "" && !hasField(fields, k) {
			return k, false
		}
	}
	return "", true
}

// hasField reports whether the packed key and value pairs hold key.
func hasField(fields, key string) bool {
	for rest := fields; rest != ""; {
		var k string
		k, rest = readField(rest)
		_, rest = readField(rest)
		if k == key {
			return true
		}
	}
	return false
}

// applyChange returns the packed data of a record after ch: the UUID (a
// length-prefixed field, see readField), the expiry policy and the creation
// time (varints), the principal, IP and User-Agent (fields, empty for an
// anonymous session), then every key and value as fields. Every increment
// is checked before anything is written, so a failed change leaves no
// trace.
func applyChange(old string, ch Change) (string, error) {
	head := memoryHead{uuid: ch.UUID, created: unixNanos(ch.Created), principal: ch.Principal, ip: ch.IP, userAgent: ch.UserAgent}
	fields := ""
	if !ch.New {
		head, fields = splitData(old)
		if ch.IP != "" {
			head.ip = ch.IP
		}
	}
	var sums map[string]int64
	if len(ch.Incr) > 0 {
		sums = maps.Clone(ch.Incr)
		for rest := fields; rest != ""; {
			var k, v string
			k, rest = readField(rest)
			v, rest = readField(rest)
			if d, ok := ch.Incr[k]; ok {
				// Integer text and overflow as Redis's HINCRBY sees them.
				n, ok := decodeInt64(v)
				if !ok {
					return "", wrapError(fmt.Sprintf("sessions: memory store: incrementing %q", k), ErrNotInteger)
				}
				if sums[k], ok = addInt64(n, d); !ok {
					return "", wrapError(fmt.Sprintf("sessions: memory store: incrementing %q by %d would overflow", k, d), ErrNotInteger)
				}
			}
		}
	}
	keep := func(k string) bool {
		_, set := ch.Set[k]
		_, incr := sums[k]
		return !set && !incr && !slices.Contains(ch.Delete, k)
	}
	sumTexts := make(map[string]string, len(sums))
	for k, n := range sums {
		sumTexts[k] = strconv.FormatInt(n, 10)
	}
	// The exact size, so that a million records waste no capacity.
	var policy [2 * binary.MaxVarintLen64]byte
	policyBytes := binary.AppendVarint(binary.AppendVarint(policy[:0], int64(ch.Expiry)), head.created)
	size := fieldSize(head.uuid) + len(policyBytes) + fieldSize(head.principal) + fieldSize(head.ip) + fieldSize(head.userAgent)
	for rest := fields; rest != ""; {
		var k, v string
		k, rest = readField(rest)
		v, rest = readField(rest)
		if keep(k) {
			size += fieldSize(k) + fieldSize(v)
		}
	}
	for k, v := range ch.Set {
		size += fieldSize(k) + fieldSize(v)
	}
	for k, v := range sumTexts {
		size += fieldSize(k) + fieldSize(v)
	}

	var b strings.Builder
	b.Grow(size)
	writeField(&b, head.uuid)
	b.Write(policyBytes)
	writeField(&b, head.principal)
	writeField(&b, head.ip)
	writeField(&b, head.userAgent)
	for rest := fields; rest != ""; {
		var k, v string
		k, rest = readField(rest)
		v, rest = readField(rest)
		if keep(k) {
			writeField(&b, k)
			writeField(&b, v)
		}
	}
	for k, v := range ch.Set {
		writeField(&b, k)
		writeField(&b, v)
	}
	for k, v := range sumTexts {
		writeField(&b, k)
		writeField(&b, v)
	}
	return b.String(), nil
}

func (s *MemoryStore) shard(key [32]byte) *memoryShard {
	return &s.shards[key[0]%memoryShards]
}

// janitor removes expired records until Close.
func (s *MemoryStore) janitor() {
	defer close(s.done)
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.removeExpired()
		}
	}
}

// removeExpired drops every expired record, earliest first.
func (s *MemoryStore) removeExpired() {
	at := s.now()
	now := at.UnixNano()
	listening := s.events.Listening()
	var gone []memoryBinding
	var ended []Event
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for len(sh.byExpiry) > 0 && sh.byExpiry[0].expires <= now {
			if listening {
				ended = append(ended, sh.byExpiry[0].event(EventExpired, at))
			}
			sh.remove(sh.byExpiry[0], &gone)
		}
		sh.mu.Unlock()
	}
	s.forget(gone)
	s.report(context.Background(), ended)
}

// memoryShard is one lock's worth of records, with a heap ordered by
// expiry for the janitor and for eviction.
type memoryShard struct {
	mu       sync.RWMutex
	items    map[[32]byte]*memoryRecord
	byExpiry expiryHeap
	count    *atomic.Int64 // the store's count of records
}

// remove drops r; when r is bound to a user, gone receives the binding,
// which the caller takes out of the user's index once it holds no shard
// lock (see memoryUsers).
func (sh *memoryShard) remove(r *memoryRecord, gone *[]memoryBinding) {
	if p := r.principal(); p != "" {
		*gone = append(*gone, memoryBinding{principal: p, key: r.id})
	}
	delete(sh.items, r.id)
	sh.count.Add(-1)
	if r.index >= 0 {
		heap.Remove(&sh.byExpiry, r.index)
	}
}

func (sh *memoryShard) setExpires(r *memoryRecord, expires int64) {
	r.expires = expires
	if r.index < 0 {
		heap.Push(&sh.byExpiry, r)
		return
	}
	heap.Fix(&sh.byExpiry, r.index)
}

// memoryRecord is a session as the memory store holds it: compact, because
// a million of them must fit in a few hundred megabytes.
type memoryRecord struct {
	id      [32]byte
	data    string // the UUID, the expiry policy, the creation time, the user and the values: see applyChange
	saved   int64  // Unix nanoseconds
	seen    int64
	expires int64
	index   int // position in the shard's heap, -1 when not in it
}

// record returns r as a Record. The strings share r.data, which is never
// modified, so nothing is copied but the map.
func (r *memoryRecord) record() Record {
	head, rest := splitData(r.data)
	rec := r.meta(head)
	rec.Values = decodeValues(rest)
	return rec
}

// meta returns r as a Record without its values.
func (r *memoryRecord) meta(head memoryHead) Record {
	return Record{
		UUID:      head.uuid,
		Created:   time.Unix(0, head.created),
		Saved:     time.Unix(0, r.saved),
		LastSeen:  time.Unix(0, r.seen),
		Expires:   time.Unix(0, r.expires),
		Expiry:    time.Duration(head.expiry),
		Principal: head.principal,
		IP:        head.ip,
		UserAgent: head.userAgent,
	}
}

// principal returns the user r is bound to, "" for none.
func (r *memoryRecord) principal() string {
	head, _ := splitData(r.data)
	return head.principal
}

// decodeValues unpacks the key and value pairs that follow the UUID.
func decodeValues(data string) map[string]string {
	values := make(map[string]string)
	for len(data) > 0 {
		var k, v string
		k, data = readField(data)
		v, data = readField(data)
		values[k] = v
	}
	return values
}

// fieldSize is the number of bytes writeField writes for s.
func fieldSize(s string) int {
	var n [binary.MaxVarintLen64]byte
	return len(binary.AppendUvarint(n[:0], uint64(len(s)))) + len(s)
}

// writeField appends s to b, prefixed by its length as a uvarint.
func writeField(b *strings.Builder, s string) {
	var n [binary.MaxVarintLen64]byte
	b.Write(binary.AppendUvarint(n[:0], uint64(len(s))))
	b.WriteString(s)
}

// memoryHead is what a record's data holds before its values.
type memoryHead struct {
	uuid                     string
	expiry, created          int64
	principal, ip, userAgent string
}

// splitData splits a record's data into its head and the packed key and
// value pairs.
func splitData(data string) (head memoryHead, fields string) {
	head.uuid, data = readField(data)
	head.expiry, data = readVarint(data)
	head.created, data = readVarint(data)
	head.principal, data = readField(data)
	head.ip, data = readField(data)
	head.userAgent, data = readField(data)
	return head, data
}

// readVarint splits a varint off data, as binary.Varint reads it, without
// converting data to bytes. Malformed data reads as 0 and nothing after.
func readVarint(data string) (int64, string) {
	var u uint64
	for i := 0; i < len(data) && i < binary.MaxVarintLen64; i++ {
		c := data[i]
		u |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			// Zig-zag decoding, as binary.Varint does.
			return int64(u>>1) ^ -int64(u&1), data[i+1:]
		}
	}
	return 0, ""
}

// readField splits the first length-prefixed field off data. Malformed
// data, which only a bug could produce, reads as empty.
func readField(data string) (field, rest string) {
	var n uint64
	for i := 0; i < len(data) && i < binary.MaxVarintLen64; i++ {
		c := data[i]
		n |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			start := i + 1
			if uint64(len(data)-start) < n {
				return "", ""
			}
			end := start + int(n)
			return data[start:end], data[end:]
		}
	}
	return "", ""
}

// parseID turns a store id (hex SHA-256) into the map key.
func parseID(id string) ([32]byte, bool) {
	var key [32]byte
	if len(id) != 64 {
		return key, false
	}
	_, err := hex.Decode(key[:], []byte(id))
	return key, err == nil
}

// expiryHeap orders records by expiry, soonest first.
type expiryHeap []*memoryRecord

// soonestBut returns the record closest to expiry other than the one under
// keep, or nil. Without the root, the soonest is one of its children.
func (h expiryHeap) soonestBut(keep [32]byte) *memoryRecord {
	if len(h) == 0 {
		return nil
	}
	if h[0].id != keep {
		return h[0]
	}
	var next *memoryRecord
	for _, i := range []int{1, 2} {
		if i < len(h) && (next == nil || h[i].expires < next.expires) {
			next = h[i]
		}
	}
	return next
}

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].expires < h[j].expires }
func (h expiryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (h *expiryHeap) Push(x any) {
	r := x.(*memoryRecord)
	r.index = len(*h)
	*h = append(*h, r)
}

func (h *expiryHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	old[len(old)-1] = nil
	r.index = -1
	*h = old[:len(old)-1]
	return r
}

var _ Store = (*MemoryStore)(nil)
