package sessions

import (
	"container/heap"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"maps"
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
// session evicts the sessions closest to expiry, which are the least
// recently saved in the common case.
type MemoryStore struct {
	shards   [memoryShards]memoryShard
	max      int64        // the bound on records
	count    atomic.Int64 // records held, in every shard
	evictAt  atomic.Uint32
	interval time.Duration
	now      func() time.Time

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// MemoryOption configures NewMemoryStore.
type MemoryOption func(*MemoryStore)

const memoryShards = 64

// WithMaxSessions bounds the number of sessions the store holds; default
// 1,000,000. When full, saving a new session evicts those closest to
// expiry. A bound below 1 panics.
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
	if err := s.save(key, id, ch); err != nil {
		return err
	}
	// The shard saved into had nothing left to evict: evict elsewhere.
	for s.count.Load() > s.max && s.evictOne() {
	}
	return nil
}

func (s *MemoryStore) save(key [32]byte, id string, ch Change) error {
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	r := sh.items[key]
	if r != nil && r.expires <= s.now().UnixNano() {
		sh.remove(r)
		r = nil
	}
	if r == nil && !ch.New {
		return fmt.Errorf("sessions: memory store: saving %.8s…: %w", id, ErrInterrupted)
	}
	var old string
	if r != nil {
		old = r.data
	}
	data, err := applyChange(old, ch)
	if err != nil {
		return err
	}
	if r == nil {
		for s.count.Load() >= s.max && len(sh.byExpiry) > 0 {
			sh.remove(sh.byExpiry[0])
		}
		r = &memoryRecord{id: key, index: -1}
		sh.items[key] = r
		s.count.Add(1)
	}
	r.data = data
	if ch.New {
		r.created = ch.Created.UnixNano()
	}
	r.saved = ch.Saved.UnixNano()
	r.seen = r.saved
	sh.setExpires(r, ch.Expires.UnixNano())
	return nil
}

// evictOne removes the record closest to expiry from the next non-empty
// shard in turn. It reports false when every shard is empty.
func (s *MemoryStore) evictOne() bool {
	start := s.evictAt.Add(1)
	for i := range uint32(memoryShards) {
		sh := &s.shards[(start+i)%memoryShards]
		sh.mu.Lock()
		if len(sh.byExpiry) > 0 {
			sh.remove(sh.byExpiry[0])
			sh.mu.Unlock()
			return true
		}
		sh.mu.Unlock()
	}
	return false
}

// Delete implements Store.
func (s *MemoryStore) Delete(_ context.Context, id string) error {
	key, ok := parseID(id)
	if !ok {
		return nil
	}
	sh := s.shard(key)
	sh.mu.Lock()
	if r := sh.items[key]; r != nil {
		sh.remove(r)
	}
	sh.mu.Unlock()
	return nil
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
		r.seen = seen.UnixNano()
		sh.setExpires(r, expires.UnixNano())
	}
	sh.mu.Unlock()
	return nil
}

// applyChange returns the packed data of a record after ch: the UUID (a
// length-prefixed field, see readField), the expiry policy (a varint), then
// every key and value as fields. Every increment is checked before
// anything is written, so a failed change leaves no trace.
func applyChange(old string, ch Change) (string, error) {
	uuid, fields := ch.UUID, ""
	if !ch.New {
		uuid, _, fields = splitData(old)
	}
	var sums map[string]int64
	if len(ch.Incr) > 0 {
		sums = maps.Clone(ch.Incr)
		for rest := fields; rest != ""; {
			var k, v string
			k, rest = readField(rest)
			v, rest = readField(rest)
			if d, ok := ch.Incr[k]; ok {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					return "", fmt.Errorf("sessions: memory store: incrementing %q: %w", k, ErrNotInteger)
				}
				sums[k] = n + d
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
	var expiry [binary.MaxVarintLen64]byte
	expiryBytes := binary.AppendVarint(expiry[:0], int64(ch.Expiry))
	size := fieldSize(uuid) + len(expiryBytes)
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
	writeField(&b, uuid)
	b.Write(expiryBytes)
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
	now := s.now().UnixNano()
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for len(sh.byExpiry) > 0 && sh.byExpiry[0].expires <= now {
			sh.remove(sh.byExpiry[0])
		}
		sh.mu.Unlock()
	}
}

// memoryShard is one lock's worth of records, with a heap ordered by
// expiry for the janitor and for eviction.
type memoryShard struct {
	mu       sync.RWMutex
	items    map[[32]byte]*memoryRecord
	byExpiry expiryHeap
	count    *atomic.Int64 // the store's count of records
}

func (sh *memoryShard) remove(r *memoryRecord) {
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
	data    string // the UUID, the expiry policy and the values: see applyChange
	created int64  // Unix nanoseconds
	saved   int64
	seen    int64
	expires int64
	index   int // position in the shard's heap, -1 when not in it
}

// record returns r as a Record. The strings share r.data, which is never
// modified, so nothing is copied but the map.
func (r *memoryRecord) record() Record {
	uuid, expiry, rest := splitData(r.data)
	return Record{
		Values:   decodeValues(rest),
		UUID:     uuid,
		Created:  time.Unix(0, r.created),
		Saved:    time.Unix(0, r.saved),
		LastSeen: time.Unix(0, r.seen),
		Expires:  time.Unix(0, r.expires),
		Expiry:   time.Duration(expiry),
	}
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

// splitData splits a record's data into the UUID, the expiry policy and the
// packed key and value pairs.
func splitData(data string) (uuid string, expiry int64, fields string) {
	uuid, rest := readField(data)
	var u uint64
	for i := 0; i < len(rest) && i < binary.MaxVarintLen64; i++ {
		c := rest[i]
		u |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			// Zig-zag decoding, as binary.Varint does.
			return uuid, int64(u>>1) ^ -int64(u&1), rest[i+1:]
		}
	}
	return uuid, 0, ""
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
