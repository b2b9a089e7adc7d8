package sessions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisStore keeps sessions in Redis: a single server, a Sentinel failover
// group or a Redis Cluster, whatever the redis.UniversalClient it was given
// talks to. Create it with NewRedisStore; it is safe for concurrent use.
//
// Each session is one Redis hash under the key prefix+id, where id is the
// SHA-256 digest of the session token (never the token). The hash has one
// field per session key holding the value's JSON text, so `redis-cli HGETALL`
// shows readable data, plus one bookkeeping field, _session_meta, that Load
// never returns as a value. Its text reads like
//
//	expires=2026-12-10T07:40:32.105093463Z seen=2026-11-26T07:40:32.105093463Z saved=2026-11-26T07:40:32.105093463Z expiry=0s created=2026-11-26T07:40:32.081758667Z uuid=59d670ca-a994-445d-83c7-c769c9e22acb
//
// always in this order, one space apart: when the session expires (the key's
// own TTL follows it), when it was last seen (saved or touched), when it was
// last saved, the policy set by
// Session.SetExpiry as a Go duration, when it was first saved, and its public
// handle, last so that it may hold any text. Times are UTC with nanoseconds,
// in a fixed width. What every save rewrites comes first, so that a save or a
// touch replaces the front of the text and keeps the rest.
//
// A session lives in one key, hence in one hash slot, so every operation
// works on a Cluster. Costs, in round trips: Load 1 (HGETALL), Save 1 (a Lua
// script that applies the whole change atomically), Delete 1 (DEL), Touch 1 (a
// script that moves the expiry without rewriting values). The scripts run by
// EVALSHA; after Redis starts or its script cache is flushed, the first call of
// each script on each server costs one more round trip to send its source.
//
// Errors that mean Redis could not answer (network errors, timeouts, the
// request's context ending, an exhausted pool, LOADING, CLUSTERDOWN,
// TRYAGAIN, MASTERDOWN, READONLY, BUSY, OOM, too many clients) wrap
// ErrUnavailable. A record that is corrupted (a field that is not JSON,
// bookkeeping that is missing or does not parse, or a key that is not a hash) is
// reported to the logger set by WithRedisLogger and loaded as not found, so
// the visitor gets a fresh session, as Django does with corrupted data.
type RedisStore struct {
	client    redis.UniversalClient
	prefix    string
	logger    *slog.Logger
	loggerSet bool
}

// RedisOption configures NewRedisStore.
type RedisOption func(*RedisStore)

// WithRedisKeyPrefix sets the prefix of the keys that hold sessions; the key
// of a session is the prefix followed by the 64 hex digits of its id. The
// default is "session:"; "" stores sessions under the bare id, which suits a
// database used for nothing else.
//
// NewRedisStore panics when the prefix contains a Redis Cluster hash tag
// ("{...}"): it would put every session in one hash slot, on one server.
func WithRedisKeyPrefix(prefix string) RedisOption {
	return func(s *RedisStore) { s.prefix = prefix }
}

// WithRedisLogger sets where corrupted records are reported, one Warn record
// each with the key and the reason. The default is slog.Default() at the time
// of the report; nil turns the reports off.
func WithRedisLogger(logger *slog.Logger) RedisOption {
	return func(s *RedisStore) { s.logger, s.loggerSet = logger, true }
}

// defaultRedisKeyPrefix is the key prefix unless WithRedisKeyPrefix says
// otherwise.
const defaultRedisKeyPrefix = "session:"

// fieldMeta is the session hash's bookkeeping field. It starts with the
// reserved "_session_" prefix, so it cannot clash with an application's keys;
// the package's own reserved values (such as the flashes) use other names.
const fieldMeta = "_session_meta"

// The labels of the parts of fieldMeta's text, in their order, each but the
// first after one space. Every save writes metaExpires to metaCreated (not
// included); a touch writes metaExpires to metaSaved (not included).
const (
	metaExpires = "expires="
	metaSeen    = " seen="
	metaSaved   = " saved="
	metaExpiry  = " expiry="
	metaCreated = " created="
	metaUUID    = " uuid="
)

// redisTimeLayout writes times in UTC with a fixed width, so that they read
// well in redis-cli, keep nanoseconds and sit at fixed places in fieldMeta,
// where the scripts find the expiry. Years outside 0001–9999 are refused
// rather than stored wrongly.
const redisTimeLayout = "2006-01-02T15:04:05.000000000Z"

// NewRedisStore returns a Store that keeps sessions in Redis through client,
// which may be a *redis.Client, a Sentinel *redis.Client from
// redis.NewFailoverClient, a *redis.ClusterClient, or whatever
// redis.NewUniversalClient returns. The store never closes client: its owner
// does, after the last request.
//
// For request deadlines to bound reads and writes on the connection, create
// the client with ContextTimeoutEnabled: true; otherwise its ReadTimeout and
// WriteTimeout apply.
//
// NewRedisStore panics when client is nil or an option is impossible.
func NewRedisStore(client redis.UniversalClient, opts ...RedisOption) *RedisStore {
	if client == nil {
		panic("sessions: NewRedisStore needs a Redis client: pass redis.NewClient(&redis.Options{Addr: ...}) or redis.NewUniversalClient(...)")
	}
	s := &RedisStore{client: client, prefix: defaultRedisKeyPrefix}
	for _, opt := range opts {
		opt(s)
	}
	if tag, ok := hashTag(s.prefix); ok {
		panic(fmt.Sprintf("sessions: WithRedisKeyPrefix(%q) contains the Redis Cluster hash tag {%s}, which would put every session on one server; remove the braces", s.prefix, tag))
	}
	return s
}

// hashTag reports the non-empty hash tag in key, as Redis Cluster finds it:
// the text between the first "{" and the next "}".
func hashTag(key string) (string, bool) {
	open := strings.IndexByte(key, '{')
	if open < 0 {
		return "", false
	}
	end := strings.IndexByte(key[open+1:], '}')
	if end <= 0 {
		return "", false
	}
	return key[open+1 : open+1+end], true
}

func (s *RedisStore) key(id string) string { return s.prefix + id }

// Load implements Store with one HGETALL.
func (s *RedisStore) Load(ctx context.Context, id string) (Record, bool, error) {
	key := s.key(id)
	fields, err := s.client.HGetAll(ctx, key).Result()
	if err != nil {
		if redis.HasErrorPrefix(err, "WRONGTYPE") {
			s.reportCorrupt(ctx, key, errors.New("the key is not a hash"))
			return Record{}, false, nil
		}
		return Record{}, false, redisError("load", err)
	}
	if len(fields) == 0 {
		return Record{}, false, nil
	}
	rec, err := decodeRedisRecord(fields)
	if err != nil {
		s.reportCorrupt(ctx, key, err)
		return Record{}, false, nil
	}
	if !rec.Expires.After(time.Now()) {
		return Record{}, false, nil
	}
	return rec, true, nil
}

// decodeRedisRecord turns a session hash into a Record, or says why it is
// malformed. The Record's Values is fields itself, less the bookkeeping: the
// map is the caller's and nothing else holds it, so a copy would be waste.
func decodeRedisRecord(fields map[string]string) (Record, error) {
	meta, ok := fields[fieldMeta]
	if !ok {
		return Record{}, fmt.Errorf("field %s is missing", fieldMeta)
	}
	delete(fields, fieldMeta)
	rec := Record{Values: fields}
	if err := decodeRedisMeta(meta, &rec); err != nil {
		return Record{}, fmt.Errorf("field %s: %w", fieldMeta, err)
	}
	for name, text := range fields {
		if !json.Valid([]byte(text)) {
			return Record{}, fmt.Errorf("field %q does not hold JSON text", name)
		}
	}
	return rec, nil
}

// decodeRedisMeta reads the text of fieldMeta into rec, strictly: anything
// but what redisMeta, saveScript and touchScript write is an error.
func decodeRedisMeta(meta string, rec *Record) error {
	rest := meta
	var err error
	if rec.Expires, rest, err = cutRedisTime(rest, metaExpires); err != nil {
		return err
	}
	if rec.LastSeen, rest, err = cutRedisTime(rest, metaSeen); err != nil {
		return err
	}
	if rec.Saved, rest, err = cutRedisTime(rest, metaSaved); err != nil {
		return err
	}
	rest, ok := strings.CutPrefix(rest, metaExpiry)
	end := strings.IndexByte(rest, ' ')
	if !ok || end < 0 {
		return fmt.Errorf("no %q part in %q", strings.TrimSpace(metaExpiry), meta)
	}
	if rec.Expiry, err = time.ParseDuration(rest[:end]); err != nil {
		return err
	}
	if rec.Created, rest, err = cutRedisTime(rest[end:], metaCreated); err != nil {
		return err
	}
	if rec.UUID, ok = strings.CutPrefix(rest, metaUUID); !ok {
		return fmt.Errorf("no %q part in %q", strings.TrimSpace(metaUUID), meta)
	}
	return nil
}

// cutRedisTime parses the time labelled label at the start of text and
// returns what follows it.
func cutRedisTime(text, label string) (time.Time, string, error) {
	rest, ok := strings.CutPrefix(text, label)
	if !ok || len(rest) < len(redisTimeLayout) {
		return time.Time{}, "", fmt.Errorf("no %q time at %q", strings.TrimSpace(label), text)
	}
	t, err := time.Parse(redisTimeLayout, rest[:len(redisTimeLayout)])
	if err != nil {
		return time.Time{}, "", err
	}
	return t, rest[len(redisTimeLayout):], nil
}

// appendRedisTime appends t in redisTimeLayout.
func appendRedisTime(b []byte, t time.Time) ([]byte, error) {
	t = t.UTC()
	if y := t.Year(); y < 1 || y > 9999 {
		return nil, fmt.Errorf("sessions: redis store: time %v is outside the years 1 to 9999", t)
	}
	return t.AppendFormat(b, redisTimeLayout), nil
}

// redisNow is the current time as the scripts compare it with the expiry in
// fieldMeta: the digits of its date and time of day in redisTimeLayout, as
// one number (which a Lua double holds exactly), and its nanoseconds.
func redisNow() (clock int64, nanos int) {
	now := time.Now().UTC()
	y, mo, d := now.Date()
	h, mi, sec := now.Clock()
	clock = ((((int64(y)*100+int64(mo))*100+int64(d))*100+int64(h))*100+int64(mi))*100 + int64(sec)
	return clock, now.Nanosecond()
}

// expireAtMillis is the PEXPIREAT argument for t: rounded up, so that Redis
// never forgets a record before Load would, and at least 1, a time long past,
// so that a record that is already expired is deleted at once.
func expireAtMillis(t time.Time) int64 {
	ms := t.UnixMilli()
	if t.Nanosecond()%int(time.Millisecond) != 0 {
		ms++
	}
	return max(ms, 1)
}

func (s *RedisStore) reportCorrupt(ctx context.Context, key string, err error) {
	logger := s.logger
	if !s.loggerSet {
		logger = slog.Default()
	}
	if logger == nil {
		return
	}
	logger.WarnContext(ctx, "sessions: corrupted session in Redis, loaded as not found", "key", key, "error", err)
}

// Save implements Store with one script run: see saveScript.
func (s *RedisStore) Save(ctx context.Context, id string, ch Change) error {
	args, err := saveArgs(s.key(id), ch)
	if err != nil {
		return err
	}
	reply, err := saveScript.run(ctx, s.client, args).Text()
	if err != nil {
		return redisError("save", err)
	}
	return saveReply(reply)
}

// saveArgs lays ch out as a call of saveScript on key.
func saveArgs(key string, ch Change) ([]any, error) {
	if err := checkRedisKeys(ch); err != nil {
		return nil, err
	}
	meta, err := redisMeta(ch)
	if err != nil {
		return nil, err
	}
	mode := "update"
	if ch.New {
		mode = "new"
	}
	clock, nanos := redisNow()
	args := saveScript.call(key, 6+2*len(ch.Incr)+len(ch.Delete)+2*len(ch.Set)+2)
	args = append(args, mode, clock, nanos, expireAtMillis(ch.Expires), len(ch.Incr), len(ch.Delete))
	for k, d := range ch.Incr {
		args = append(args, k, d)
	}
	for _, k := range ch.Delete {
		args = append(args, k)
	}
	for k, v := range ch.Set {
		args = append(args, k, v)
	}
	return append(args, fieldMeta, meta), nil
}

// redisMeta is what a save of ch writes to fieldMeta: the whole text for a
// new record; for an update, the front up to metaCreated, to which the
// script adds the rest of the record's own.
func redisMeta(ch Change) (string, error) {
	expiry := ch.Expiry.String()
	size := len(metaExpires) + len(metaSeen) + len(metaSaved) + 3*len(redisTimeLayout) + len(metaExpiry) + len(expiry)
	if ch.New {
		size += len(metaCreated) + len(redisTimeLayout) + len(metaUUID) + len(ch.UUID)
	}
	var b strings.Builder
	b.Grow(size)
	if err := writeRedisTime(&b, metaExpires, ch.Expires); err != nil {
		return "", err
	}
	// A save is also a sighting: LastSeen is Saved.
	if err := writeRedisTime(&b, metaSeen, ch.Saved); err != nil {
		return "", err
	}
	if err := writeRedisTime(&b, metaSaved, ch.Saved); err != nil {
		return "", err
	}
	b.WriteString(metaExpiry)
	b.WriteString(expiry)
	if ch.New {
		if err := writeRedisTime(&b, metaCreated, ch.Created); err != nil {
			return "", err
		}
		b.WriteString(metaUUID)
		b.WriteString(ch.UUID)
	}
	return b.String(), nil
}

// writeRedisTime writes label and t in redisTimeLayout to b.
func writeRedisTime(b *strings.Builder, label string, t time.Time) error {
	var buf [len(redisTimeLayout)]byte
	text, err := appendRedisTime(buf[:0], t)
	if err != nil {
		return err
	}
	b.WriteString(label)
	b.Write(text)
	return nil
}

// checkRedisKeys refuses a change that would overwrite the bookkeeping field,
// which would corrupt the record.
func checkRedisKeys(ch Change) error {
	_, set := ch.Set[fieldMeta]
	_, incr := ch.Incr[fieldMeta]
	if set || incr || slices.Contains(ch.Delete, fieldMeta) {
		return fmt.Errorf("sessions: redis store: key %q is reserved for the store's bookkeeping", fieldMeta)
	}
	return nil
}

// saveReply maps the script's answer to Save's result.
func saveReply(reply string) error {
	switch {
	case reply == "OK":
		return nil
	case reply == "INTERRUPTED":
		return ErrInterrupted
	case strings.HasPrefix(reply, "NOTINTEGER "):
		reason, field, _ := strings.Cut(strings.TrimPrefix(reply, "NOTINTEGER "), "\n")
		return fmt.Errorf("sessions: redis save: incrementing %q: %s: %w", field, reason, ErrNotInteger)
	}
	return fmt.Errorf("sessions: redis save: unexpected script reply %q", reply)
}

// Delete implements Store with one DEL.
func (s *RedisStore) Delete(ctx context.Context, id string) error {
	if err := s.client.Del(ctx, s.key(id)).Err(); err != nil {
		return redisError("delete", err)
	}
	return nil
}

// Touch implements Store with one script run that rewrites the expiry and
// the last sighting in the bookkeeping and the key's TTL only: see
// touchScript.
func (s *RedisStore) Touch(ctx context.Context, id string, seen, expires time.Time) error {
	exp, err := appendRedisTime(make([]byte, 0, len(redisTimeLayout)), expires)
	if err != nil {
		return err
	}
	seenText, err := appendRedisTime(make([]byte, 0, len(redisTimeLayout)), seen)
	if err != nil {
		return err
	}
	clock, nanos := redisNow()
	args := append(touchScript.call(s.key(id), 5), clock, nanos, exp, seenText, expireAtMillis(expires))
	if err := touchScript.run(ctx, s.client, args).Err(); err != nil {
		return redisError("touch", err)
	}
	return nil
}

// redisScript is a Lua script that runs by EVALSHA, and by EVAL when the
// server does not have it cached, as redis.Script.Run does. Unlike Run, it
// takes the command whole, so that a call builds one slice of arguments.
type redisScript struct {
	src, sha any // boxed once rather than on every call
}

func newRedisScript(src string) redisScript {
	return redisScript{src: src, sha: redis.NewScript(src).Hash()}
}

// call starts a call of the script on key, with room for n more arguments.
func (r redisScript) call(key string, n int) []any {
	// numkeys is a string, which a Cluster client reads without formatting.
	return append(make([]any, 0, 4+n), "evalsha", r.sha, "1", key)
}

// run sends a call started by r.call.
func (r redisScript) run(ctx context.Context, c redis.UniversalClient, args []any) *redis.Cmd {
	cmd := c.Do(ctx, args...)
	if redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
		args[0], args[1] = "eval", r.src
		cmd = c.Do(ctx, args...)
	}
	return cmd
}

// redisError wraps err from op, adding ErrUnavailable when it means Redis
// could not answer rather than refused the command.
func redisError(op string, err error) error {
	if redisUnavailable(err) {
		return fmt.Errorf("%w: redis %s: %w", ErrUnavailable, op, err)
	}
	return fmt.Errorf("sessions: redis %s: %w", op, err)
}

// unavailablePrefixes are the Redis error replies that mean the server is
// there but cannot serve now: loading, failing over, out of memory, busy.
var unavailablePrefixes = []string{
	"LOADING", "CLUSTERDOWN", "TRYAGAIN", "MASTERDOWN", "READONLY",
	"BUSY", "OOM", "NOREPLICAS", "ERR max number of clients",
}

// redisUnavailable reports whether err means that Redis could not be reached
// or cannot serve. Every error that is not a reply from Redis qualifies: the
// network, timeouts, the context, the pool, a closed client.
func redisUnavailable(err error) bool {
	var reply redis.Error
	if !errors.As(err, &reply) {
		return true
	}
	for _, prefix := range unavailablePrefixes {
		if strings.HasPrefix(reply.Error(), prefix) {
			return true
		}
	}
	return false
}

// luaLiveMeta finds the bookkeeping of a live record. The expiry sits at
// fixed places at the front of the text (see redisTimeLayout); its digits are
// compared as two numbers, the date and time of day and the nanoseconds,
// which Lua's doubles hold exactly. A key that is not a hash (HGET fails) or
// bookkeeping that does not parse counts as expired: Load does not find such
// a record either.
const luaLiveMeta = `
-- liveMeta returns the text of _session_meta of the record at key if it
-- expires after the moment given as clock and nanos, and nil otherwise.
local function liveMeta(key, clock, nanos)
  local m = redis.pcall('HGET', key, '_session_meta')
  if type(m) ~= 'string' or m:sub(1, 8) ~= 'expires=' then return nil end
  local c = tonumber(m:sub(9, 12) .. m:sub(14, 15) .. m:sub(17, 18) .. m:sub(20, 21) .. m:sub(23, 24) .. m:sub(26, 27))
  local n = tonumber(m:sub(29, 37))
  if not c or not n then return nil end
  if c > clock or (c == clock and n > nanos) then return m end
  return nil
end
`

// saveScript applies a Change atomically. Increments run first, and a failed
// one puts back the fields incremented before it, so a failure leaves the
// record as it was. Values and bookkeeping are then written by one HSET.
//
//	KEYS[1]  the session key
//	ARGV     mode ("new" or "update"), now (as clock and nanos, see
//	         redisNow), PEXPIREAT milliseconds, the number of increments,
//	         the number of deletes; then the field/delta pairs to
//	         increment, the fields to delete, and the field/value pairs to
//	         set, the last of which is _session_meta: whole for "new", its
//	         front up to " created=" for "update"
//
// It answers OK, INTERRUPTED (an update of a missing or expired record), or
// "NOTINTEGER reason\nfield" (the field last, as it may hold anything).
var saveScript = newRedisScript(saveLua)

const saveLua = luaLiveMeta + `
local key = KEYS[1]
if ARGV[1] == 'new' then
  redis.call('DEL', key)
else
  local meta = liveMeta(key, tonumber(ARGV[2]), tonumber(ARGV[3]))
  local keep = meta and meta:find(' created=', 1, true)
  if not keep then return 'INTERRUPTED' end
  ARGV[#ARGV] = ARGV[#ARGV] .. meta:sub(keep)
end

local incFirst = 7
local delFirst = incFirst + 2 * tonumber(ARGV[5])
local setFirst = delFirst + tonumber(ARGV[6])

-- The last increment needs no copy of its field's value: when it fails,
-- nothing was done to that field.
local done = {}
for p = incFirst, delFirst - 1, 2 do
  local field = ARGV[p]
  local before = nil
  if p + 2 < delFirst then before = redis.call('HGET', key, field) end
  local r = redis.pcall('HINCRBY', key, field, ARGV[p + 1])
  if type(r) == 'table' and r.err then
    for q = #done, 1, -1 do
      if done[q][2] then
        redis.call('HSET', key, done[q][1], done[q][2])
      else
        redis.call('HDEL', key, done[q][1])
      end
    end
    return 'NOTINTEGER ' .. r.err .. '\n' .. field
  end
  done[#done + 1] = {field, before}
end

-- Keeps each command's argument count well below Lua's stack limit.
local chunk = 1000
for p = delFirst, setFirst - 1, chunk do
  redis.call('HDEL', key, unpack(ARGV, p, math.min(p + chunk - 1, setFirst - 1)))
end
for p = setFirst, #ARGV, chunk do
  redis.call('HSET', key, unpack(ARGV, p, math.min(p + chunk - 1, #ARGV)))
end
redis.call('PEXPIREAT', key, ARGV[4])
return 'OK'
`

// touchScript moves the expiry of a live record: the front of _session_meta
// (expires and seen) and the key's TTL, nothing else. A missing or expired
// record is left alone.
//
//	KEYS[1]  the session key
//	ARGV     now (as clock and nanos, see redisNow), the new expiry and the
//	         sighting in redisTimeLayout, the PEXPIREAT milliseconds
var touchScript = newRedisScript(touchLua)

const touchLua = luaLiveMeta + `
local key = KEYS[1]
local meta = liveMeta(key, tonumber(ARGV[1]), tonumber(ARGV[2]))
if not meta then return 0 end
redis.call('HSET', key, '_session_meta', 'expires=' .. ARGV[3] .. ' seen=' .. ARGV[4] .. meta:sub(75))
redis.call('PEXPIREAT', key, ARGV[5])
return 1
`

// Compile-time check that RedisStore is a Store.
var _ Store = (*RedisStore)(nil)
