package sessions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
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
// shows readable data, plus five bookkeeping fields that Load never returns
// as values:
//
//	_session_uuid     the session's public handle
//	_session_created  when the session was first saved (UTC, nanoseconds)
//	_session_saved    when it was last saved
//	_session_expires  when it expires; the key's own TTL follows it
//	_session_expiry   the policy set by Session.SetExpiry, as a Go duration
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
// ErrUnavailable. A record that is corrupted (a field that is not JSON, a
// bookkeeping field that does not parse, or a key that is not a hash) is
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

// The bookkeeping fields of a session hash. They start with the reserved
// "_session_" prefix, so they cannot clash with an application's keys; the
// package's own reserved values (such as the flashes) use other names.
const (
	fieldUUID    = "_session_uuid"
	fieldCreated = "_session_created"
	fieldSaved   = "_session_saved"
	fieldExpires = "_session_expires"
	fieldExpiry  = "_session_expiry"
)

// redisTimeLayout writes times in UTC with a fixed width, so that they read
// well in redis-cli, keep nanoseconds and compare correctly inside the Lua
// scripts. Years outside 0001–9999 are refused rather than stored wrongly.
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
// malformed.
func decodeRedisRecord(fields map[string]string) (Record, error) {
	rec := Record{Values: make(map[string]string, len(fields))}
	var err error
	for name, text := range fields {
		switch name {
		case fieldUUID:
			rec.UUID = text
		case fieldCreated:
			rec.Created, err = parseRedisTime(name, text)
		case fieldSaved:
			rec.Saved, err = parseRedisTime(name, text)
		case fieldExpires:
			rec.Expires, err = parseRedisTime(name, text)
		case fieldExpiry:
			rec.Expiry, err = time.ParseDuration(text)
			if err != nil {
				err = fmt.Errorf("field %s: %w", name, err)
			}
		default:
			if !json.Valid([]byte(text)) {
				err = fmt.Errorf("field %q does not hold JSON text", name)
			}
			rec.Values[name] = text
		}
		if err != nil {
			return Record{}, err
		}
	}
	for _, name := range []string{fieldUUID, fieldCreated, fieldSaved, fieldExpires, fieldExpiry} {
		if _, ok := fields[name]; !ok {
			return Record{}, fmt.Errorf("field %s is missing", name)
		}
	}
	return rec, nil
}

func parseRedisTime(name, text string) (time.Time, error) {
	t, err := time.Parse(redisTimeLayout, text)
	if err != nil {
		return time.Time{}, fmt.Errorf("field %s: %w", name, err)
	}
	return t, nil
}

func formatRedisTime(t time.Time) (string, error) {
	t = t.UTC()
	if y := t.Year(); y < 1 || y > 9999 {
		return "", fmt.Errorf("sessions: redis store: time %v is outside the years 1 to 9999", t)
	}
	return t.Format(redisTimeLayout), nil
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
	args, err := s.saveArgs(ch)
	if err != nil {
		return err
	}
	reply, err := saveScript.Run(ctx, s.client, []string{s.key(id)}, args...).Text()
	if err != nil {
		return redisError("save", err)
	}
	return saveReply(reply)
}

// saveArgs lays ch out as the arguments of saveScript.
func (s *RedisStore) saveArgs(ch Change) ([]any, error) {
	now, err := formatRedisTime(time.Now())
	if err != nil {
		return nil, err
	}
	book := map[string]string{fieldExpiry: ch.Expiry.String()}
	times := map[string]time.Time{fieldSaved: ch.Saved, fieldExpires: ch.Expires}
	if ch.New {
		book[fieldUUID] = ch.UUID
		times[fieldCreated] = ch.Created
	}
	for name, t := range times {
		if book[name], err = formatRedisTime(t); err != nil {
			return nil, err
		}
	}
	if err := checkRedisKeys(ch); err != nil {
		return nil, err
	}

	mode := "update"
	if ch.New {
		mode = "new"
	}
	args := make([]any, 0, 7+2*len(ch.Set)+len(ch.Delete)+2*len(ch.Incr)+2*len(book))
	args = append(args, mode, now, expireAtMillis(ch.Expires))
	args = append(args, len(ch.Set))
	for k, v := range ch.Set {
		args = append(args, k, v)
	}
	args = append(args, len(ch.Delete))
	for _, k := range ch.Delete {
		args = append(args, k)
	}
	args = append(args, len(ch.Incr))
	for k, d := range ch.Incr {
		args = append(args, k, d)
	}
	args = append(args, len(book))
	for k, v := range book {
		args = append(args, k, v)
	}
	return args, nil
}

// checkRedisKeys refuses a change that would overwrite bookkeeping fields,
// which would corrupt the record.
func checkRedisKeys(ch Change) error {
	check := func(k string) error {
		switch k {
		case fieldUUID, fieldCreated, fieldSaved, fieldExpires, fieldExpiry:
			return fmt.Errorf("sessions: redis store: key %q is reserved for the store's bookkeeping", k)
		}
		return nil
	}
	for k := range ch.Set {
		if err := check(k); err != nil {
			return err
		}
	}
	for _, k := range ch.Delete {
		if err := check(k); err != nil {
			return err
		}
	}
	for k := range ch.Incr {
		if err := check(k); err != nil {
			return err
		}
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

// Touch implements Store with one script run that rewrites the expiry field
// and the key's TTL only: see touchScript.
func (s *RedisStore) Touch(ctx context.Context, id string, expires time.Time) error {
	now, err := formatRedisTime(time.Now())
	if err != nil {
		return err
	}
	exp, err := formatRedisTime(expires)
	if err != nil {
		return err
	}
	err = touchScript.Run(ctx, s.client, []string{s.key(id)}, now, exp, expireAtMillis(expires)).Err()
	if err != nil {
		return redisError("touch", err)
	}
	return nil
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

// The scripts compare times as the fixed-width strings of redisTimeLayout,
// split into whole seconds and nanoseconds so that Lua's doubles hold them
// exactly. A value that does not parse counts as expired: such a record is
// not found by Load either.
const luaIsLive = `
local function parts(t)
  if type(t) ~= 'string' or #t ~= 30 then return nil end
  local secs = tonumber(t:sub(1,4) .. t:sub(6,7) .. t:sub(9,10) .. t:sub(12,13) .. t:sub(15,16) .. t:sub(18,19))
  local nanos = tonumber(t:sub(21,29))
  if not secs or not nanos then return nil end
  return secs, nanos
end

-- isLive reports whether the hash at key holds a record that expires after now.
local function isLive(key, now)
  if redis.call('TYPE', key).ok ~= 'hash' then return false end
  local es, en = parts(redis.call('HGET', key, '_session_expires'))
  local ns, nn = parts(now)
  if not es or not ns then return false end
  return es > ns or (es == ns and en > nn)
end
`

// saveScript applies a Change atomically. Increments run first, and a failed
// one puts back the fields incremented before it, so a failure leaves the
// record as it was.
//
//	KEYS[1]  the session key
//	ARGV     mode ("new" or "update"), now, PEXPIREAT milliseconds,
//	         then counted groups: n, n field/value pairs to set; n, n fields
//	         to delete; n, n field/delta pairs to increment; n, n bookkeeping
//	         field/value pairs to set
//
// It answers OK, INTERRUPTED (an update of a missing or expired record), or
// "NOTINTEGER reason\nfield" (the field last, as it may hold anything).
var saveScript = redis.NewScript(saveLua)

const saveLua = luaIsLive + `
local key = KEYS[1]
if ARGV[1] == 'new' then
  redis.call('DEL', key)
elseif not isLive(key, ARGV[2]) then
  return 'INTERRUPTED'
end

-- group returns the first and last argument index of the group counted at i,
-- and the index after it.
local function group(i, width)
  local n = tonumber(ARGV[i])
  return i + 1, i + n * width, i + 1 + n * width
end

-- Keeps each command's argument count well below Lua's stack limit.
local chunk = 500
local function hsetPairs(first, last)
  for i = first, last, 2 * chunk do
    redis.call('HSET', key, unpack(ARGV, i, math.min(i + 2 * chunk - 1, last)))
  end
end

local setFirst, setLast, i = group(4, 2)
local delFirst, delLast, j = group(i, 1)
local incFirst, incLast, k = group(j, 2)
local bookFirst, bookLast = group(k, 2)

local done = {}
for p = incFirst, incLast, 2 do
  local field = ARGV[p]
  local before = redis.call('HGET', key, field)
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

hsetPairs(setFirst, setLast)
for p = delFirst, delLast, chunk do
  redis.call('HDEL', key, unpack(ARGV, p, math.min(p + chunk - 1, delLast)))
end
hsetPairs(bookFirst, bookLast)
redis.call('PEXPIREAT', key, ARGV[3])
return 'OK'
`

// touchScript moves the expiry of a live record: the _session_expires field
// and the key's TTL, nothing else. A missing or expired record is left alone.
//
//	KEYS[1]  the session key
//	ARGV     now, the new expiry, the PEXPIREAT milliseconds
var touchScript = redis.NewScript(touchLua)

const touchLua = luaIsLive + `
local key = KEYS[1]
if not isLive(key, ARGV[1]) then return 0 end
redis.call('HSET', key, '_session_expires', ARGV[2])
redis.call('PEXPIREAT', key, ARGV[3])
return 1
`

// Compile-time check that RedisStore is a Store.
var _ Store = (*RedisStore)(nil)
