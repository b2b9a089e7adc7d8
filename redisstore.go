package sessions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisStore keeps sessions in Redis: a single server, a Sentinel failover
// group or a Redis Cluster, whatever the redis.UniversalClient it was given
// talks to. Create it with NewRedisStore; it is safe for concurrent use.
//
// Each session is one Redis hash under the key prefix+digest, where digest
// is the first 32 hex digits (128 bits) of the SHA-256 digest of the session
// token (never the token). The hash has one field per session key holding
// the value's JSON text, so `redis-cli HGETALL` shows readable data, and a few
// fields of the store's own, named "@" and a letter, that Load never returns
// as values; a session key that starts with "@" is kept with one more "@" in
// front. They hold integers:
//
//	@u  the UUID, its 16 bytes (@t instead: a UUID not in the canonical
//	    form of uuid.NewString, which Session.UUID has, kept as text)
//	@c  when the session was first saved, in Unix milliseconds
//	@s  when it was last saved, in Unix milliseconds (absent: @c)
//	@x  when it expires: milliseconds after the last save; the key's TTL
//	    follows it
//	@l  when it was last seen (Touch): milliseconds after the last save
//	    (absent: 0, seen when saved)
//	@p  the policy set by Session.SetExpiry, in nanoseconds (absent: 0)
//
// so that a small session (two short values) keeps to Redis's compact
// listpack encoding and takes about 280 bytes of Redis's memory. Times are kept to the
// millisecond: Created, Saved and LastSeen rounded down, Expires rounded up.
// Records of the layout before this one (a single _session_meta field) load
// as not found.
//
// A session lives in one key, hence in one hash slot, so every operation
// works on a Cluster. Costs, in round trips: Load 1 (HGETALL), Save 1 (for a
// new record a transaction, MULTI HSET HLEN PEXPIREAT EXEC, with no script;
// for a change with no Incr, to a session bound to no user, a transaction
// too, MULTI HMGET HDEL HSET PEXPIREAT EXEC, and one more, a DEL, in the rare
// case that the record was deleted meanwhile; otherwise a Lua script that
// applies the whole change atomically, checking first the keys that Update
// changed: a conditional save is one script run, and a retry after a
// conflict one HGETALL and one more script run), Delete 1
// (DEL), Touch 1 (a script that moves the expiry without rewriting values).
// The scripts run by EVALSHA; after Redis starts or its script cache is
// flushed, the first call of each script on each server costs one more round
// trip to send its source.
//
// RedisStore implements UserStore: a logged-in session's key carries its
// user's tag as a hash tag, so that the user's records and index share a
// hash slot and each per-user operation is one script: see redisusers.go
// for that layout. Listing a user's sessions and deleting any of them cost 1
// round trip each, whatever their number.
//
// Errors that mean Redis could not answer (network errors, timeouts, the
// request's context ending, an exhausted pool, LOADING, CLUSTERDOWN,
// TRYAGAIN, MASTERDOWN, READONLY, BUSY, OOM, too many clients) wrap
// ErrUnavailable. A record that is corrupted (a field that is not JSON,
// bookkeeping that is missing or not a number, or a key that is not a hash) is
// reported to the logger set by WithRedisLogger and loaded as not found, so
// the visitor gets a fresh session, as Django does with corrupted data.
type RedisStore struct {
	client    redis.UniversalClient
	prefix    string
	tags      redisTags // the per-user index's tags: see redisusers.go
	logger    *slog.Logger
	loggerSet bool
	txs       sync.Pool  // of redis.Pipeliner from client.TxPipeline: see exec
	events    StoreHooks // AddHooks: see redisevents.go
	sweep     redisSweep // reports the expiry of logged-in sessions: see redisevents.go
}

// RedisOption configures NewRedisStore.
type RedisOption func(*RedisStore)

// WithRedisKeyPrefix sets the prefix of the keys that hold sessions; the key
// of a session is the prefix followed by the first 32 of the 64 hex digits of
// its id. The
// default is "session:"; "" stores sessions under the bare id, which suits a
// database used for nothing else.
//
// NewRedisStore panics when the prefix contains "{" or "}": a Redis Cluster
// hash tag ("{...}") would put every session in one hash slot, on one
// server, and a lone brace would change the hash tag that keeps a user's
// sessions and index in one slot, so that every login failed with
// CROSSSLOT.
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
// NewRedisStore makes no call to Redis: a store on a Redis that is down is
// built without a word, and its requests answer 503 until Redis is back. To
// fail fast at start-up instead, as pgstore.New does, ping the client with a
// deadline before building the store:
//
//	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
//	defer cancel()
//	if err := rdb.Ping(ctx).Err(); err != nil {
//		log.Fatalf("sessions: Redis at %s is not answering: %v", rdb.Options().Addr, err)
//	}
//	store := sessions.NewRedisStore(rdb)
//
// NewRedisStore panics when client is nil or an option is impossible.
func NewRedisStore(client redis.UniversalClient, opts ...RedisOption) *RedisStore {
	if client == nil {
		panic("sessions: NewRedisStore needs a Redis client: pass redis.NewClient(&redis.Options{Addr: ...}) or redis.NewUniversalClient(...)")
	}
	s := &RedisStore{client: client, prefix: defaultRedisKeyPrefix}
	s.txs.New = func() any { return client.TxPipeline() }
	for _, opt := range opts {
		opt(s)
	}
	if tag, ok := hashTag(s.prefix); ok {
		panic(fmt.Sprintf("sessions: WithRedisKeyPrefix(%q) contains the Redis Cluster hash tag {%s}, which would put every session on one server; remove the braces", s.prefix, tag))
	}
	if strings.ContainsAny(s.prefix, "{}") {
		panic(fmt.Sprintf("sessions: WithRedisKeyPrefix(%q) contains a brace, which would break the hash tag that keeps a user's sessions in one Redis Cluster slot; remove the braces", s.prefix))
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

// key is where the record of id lives: see redisKeyOf.
func (s *RedisStore) key(id string) string { return redisKeyOf(s.prefix, id) }

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
	if errors.Is(err, errSaveLeftover) {
		return Record{}, false, nil
	}
	if err != nil {
		s.reportCorrupt(ctx, key, err)
		return Record{}, false, nil
	}
	if !rec.Expires.After(time.Now()) {
		return Record{}, false, nil
	}
	return rec, true, nil
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

// Save implements Store in one round trip: a transaction for a new record
// (see create), a transaction for most changes to a stored one (see saveTx),
// a run of updateScript for the others; for a logged-in session, a script
// that also keeps the user's index (saveUser).
func (s *RedisStore) Save(ctx context.Context, id string, ch Change) error {
	if base, member, ok := s.userRecordKey(id); ok && ch.Principal != "" {
		return s.saveUser(ctx, base, member, ch)
	}
	if ch.New {
		return s.create(ctx, s.key(id), ch)
	}
	if txSaves(ch) {
		return s.saveTx(ctx, s.key(id), ch)
	}
	reply, err := updateScript.run(ctx, s.client, updateArgs(updateScript, ch, s.key(id))).Text()
	if err != nil {
		return redisError("save", err)
	}
	return saveReply(reply)
}

// create writes a new record with one transaction, MULTI, HSET, HLEN,
// PEXPIREAT, EXEC: no script and no DEL. A key already there, which a
// random id never finds, shows in the replies (HSET adds fewer fields than
// it was given, HLEN counts more, or HSET fails on a key that is not a
// hash), and newScript then replaces it.
func (s *RedisStore) create(ctx context.Context, key string, ch Change) error {
	expires := expireAtMillis(ch.Expires)
	// The HSET is built whole, its fields in place after the command and key,
	// and the commands queued in one batch: see saveTx.
	k := any(key)
	hsetArgs := appendNewFields(make([]any, 0, 2+newFieldsLen(ch)), ch, "hset", k)
	fields := hsetArgs[2:]
	hset := redis.NewIntCmd(ctx, hsetArgs...)
	hlen := redis.NewIntCmd(ctx, "hlen", k)
	err := s.exec(ctx, hset, hlen, redis.NewBoolCmd(ctx, "pexpireat", k, expires))
	n := int64(len(fields) / 2)
	switch {
	case err == nil && hset.Val() == n && hlen.Val() == n:
		return nil
	case err != nil && !redis.HasErrorPrefix(err, "WRONGTYPE"):
		return redisError("save", err)
	}
	args := append(append(newScript.call(1+len(fields), key), expires), fields...)
	reply, err := newScript.run(ctx, s.client, args).Text()
	if err != nil {
		return redisError("save", err)
	}
	return saveReply(reply)
}

// exec runs cmds in one MULTI/EXEC transaction. The transaction pipelines
// are pooled, as go-redis's cost several allocations each to set up; one
// holds no commands once it has run.
func (s *RedisStore) exec(ctx context.Context, cmds ...redis.Cmder) error {
	pipe := s.txs.Get().(redis.Pipeliner)
	_ = pipe.BatchProcess(ctx, cmds...)
	_, err := pipe.Exec(ctx)
	s.txs.Put(pipe)
	return err
}

// newFields lays a new record out as the field/value pairs of its hash.
func newFields(ch Change) []any {
	return appendNewFields(make([]any, 0, newFieldsLen(ch)), ch)
}

// newFieldsLen is the most values newFields lays out for ch.
func newFieldsLen(ch Change) int {
	return 2*(len(ch.Set)+len(ch.Incr)) + 10
}

// appendNewFields appends head and then the fields of newFields to dst.
func appendNewFields(dst []any, ch Change, head ...any) []any {
	uuidName, uuidValue := uuidField(ch.UUID)
	created, saved, expires := redisMillis(ch.Created), redisMillis(ch.Saved), expireAtMillis(ch.Expires)
	fields := append(dst, head...)
	for k, v := range ch.Set {
		fields = append(fields, fieldName(k), v)
	}
	for k, d := range ch.Incr { // a new record starts empty: from 0, each is d
		fields = append(fields, fieldName(k), d)
	}
	fields = append(fields, uuidName, uuidValue, fieldCreated, created, fieldExpires, expires-saved)
	if saved != created {
		fields = append(fields, fieldSaved, saved)
	}
	if ch.Expiry != 0 {
		fields = append(fields, fieldPolicy, int64(ch.Expiry))
	}
	return fields
}

// updateArgs lays ch out as a call of script, updateScript or
// updateUserScript, on keys: see updateScript.
func updateArgs(script redisScript, ch Change, keys ...string) []any {
	expires := expireAtMillis(ch.Expires)
	n := 5 + 2*len(ch.Expect) + 2*len(ch.Incr) + len(ch.Delete) + 6 + 2*len(ch.Set)
	args := append(script.call(n, keys...), time.Now().UnixMilli(), expires, len(ch.Incr), len(ch.Delete), len(ch.Expect))
	for k, v := range ch.Expect {
		args = append(args, fieldName(k), v)
	}
	for k, d := range ch.Incr {
		args = append(args, fieldName(k), d)
	}
	for _, k := range ch.Delete {
		args = append(args, fieldName(k))
	}
	args = append(args, fieldSaved, redisMillis(ch.Saved), fieldExpires, expires)
	if ch.Expiry != 0 {
		args = append(args, fieldPolicy, int64(ch.Expiry))
	}
	for k, v := range ch.Set {
		args = append(args, fieldName(k), v)
	}
	return args
}

// saveReply maps the script's answer to Save's result.
func saveReply(reply string) error {
	switch {
	case reply == "OK":
		return nil
	case reply == "INTERRUPTED":
		return ErrInterrupted
	case strings.HasPrefix(reply, "CONFLICT\n"):
		field := strings.TrimPrefix(reply, "CONFLICT\n")
		if k, ok := keyOfField(field); ok {
			field = k
		}
		return wrapError(fmt.Sprintf("sessions: redis save: key %q changed", field), ErrConflict)
	case strings.HasPrefix(reply, "NOTINTEGER "):
		reason, field, _ := strings.Cut(strings.TrimPrefix(reply, "NOTINTEGER "), "\n")
		if k, ok := keyOfField(field); ok {
			field = k
		}
		return wrapError(fmt.Sprintf("sessions: redis save: incrementing %q: %s", field, reason), ErrNotInteger)
	}
	return fmt.Errorf("sessions: redis save: unexpected script reply %q", reply)
}

// Delete implements Store with one DEL; for a logged-in session, one
// script that also takes the record out of its user's index.
func (s *RedisStore) Delete(ctx context.Context, id string) (bool, error) {
	if base, member, ok := s.userRecordKey(id); ok {
		return s.deleteUser(ctx, base+member)
	}
	n, err := s.client.Del(ctx, s.key(id)).Result()
	if err != nil {
		return false, redisError("delete", err)
	}
	return n > 0, nil
}

// Touch implements Store with one script run that rewrites the last
// sighting, the expiry and the key's TTL only: see touchScript, and
// touchUserScript for a logged-in session.
func (s *RedisStore) Touch(ctx context.Context, id string, seen, expires time.Time) error {
	script, key := touchScript, ""
	if base, member, ok := s.userRecordKey(id); ok {
		script, key = touchUserScript, base+member
	} else {
		key = s.key(id)
	}
	args := append(script.call(3, key), time.Now().UnixMilli(), redisMillis(seen), expireAtMillis(expires))
	if err := script.run(ctx, s.client, args).Err(); err != nil {
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

// numKeys holds the numkeys argument of a call, indexed by the number of
// keys: no script takes more than two. It is a string, which a Cluster
// client reads without formatting, boxed here once rather than on every
// call.
var numKeys = [...]any{"0", "1", "2"}

// call starts a call of the script on keys, with room for n more arguments.
func (r redisScript) call(n int, keys ...string) []any {
	args := append(make([]any, 0, 3+len(keys)+n), "evalsha", r.sha, numKeys[len(keys)])
	for _, k := range keys {
		args = append(args, k)
	}
	return args
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
// there but cannot serve now: loading, failing over, out of memory, busy,
// or a Cluster slot moving faster than the client's redirections follow.
var unavailablePrefixes = []string{
	"LOADING", "CLUSTERDOWN", "TRYAGAIN", "MASTERDOWN", "READONLY",
	"BUSY", "OOM", "NOREPLICAS", "ERR max number of clients", "MOVED", "ASK",
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

// Compile-time check that RedisStore is a Store.
var _ Store = (*RedisStore)(nil)
