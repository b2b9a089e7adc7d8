package sessions

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"
)

// The per-user index of RedisStore. A logged-in user's records and index
// share one hash slot, so that each operation is one script on one server of
// a Cluster: their keys carry the user's tag as a hash tag,
//
//	prefix{tag}<32 hex digits>   a record, as an anonymous one but for the tag
//	prefix{tag}u<40 hex digits>  the index: a hash whose fields are the 32 hex
//	                             digits of the user's records (a hash, not a
//	                             set, for the compact listpack encoding); the
//	                             40 are the SHA-1 digest of the principal
//
// where tag is the first userTagLen hex digits of the HMAC-SHA256 of the
// principal under the store's tag key (see WithRedisTagKey). The record
// holds the principal (@w), the IP (@i) and the User-Agent (@a1 to @a4, in
// pieces of at most 64 bytes, 256 in all, so that the hash keeps the compact
// listpack encoding). Anonymous sessions keep their layout.

// userTagLen is the length of a Redis store's tag: 20 bits, about a million
// tags spread over the 16384 slots of a Cluster.
const userTagLen = 5

// The fields of a logged-in session.
const (
	fieldPrincipal = "@w"
	fieldIP        = "@i"
)

// fieldsAgent hold the User-Agent, in pieces of at most agentPiece bytes.
var fieldsAgent = [...]string{"@a1", "@a2", "@a3", "@a4"}

// agentPiece is the most a User-Agent piece holds: hash-max-listpack-value's
// default.
const agentPiece = 64

// WithRedisTagKey sets the secret from which the store derives the tag of a
// user's session ids (see UserStore.UserTag). Every process that shares the
// Redis must use the same key. By default the store keeps a random key in
// Redis itself, under the key prefix followed by "tag-key", created by the
// first process that needs it; if that key is lost (FLUSHALL, or an eviction
// policy that may evict keys without a TTL), restart every process so that
// they agree on the new one, or set the key here from your configuration. A
// key shorter than 16 bytes panics.
func WithRedisTagKey(key []byte) RedisOption {
	if len(key) < 16 {
		panic(fmt.Sprintf("sessions: WithRedisTagKey: the key has %d bytes; use at least 16 random bytes", len(key)))
	}
	key = append([]byte(nil), key...)
	return func(s *RedisStore) { s.tags.key = key }
}

// redisTags derives the users' tags; the key is fetched once.
type redisTags struct {
	mu  sync.Mutex
	key []byte
}

// tagKeyName is where the default tag key lives, under the prefix.
const tagKeyName = "tag-key"

// tagKey returns the tag key, fetching (or creating) it in Redis the first
// time.
func (s *RedisStore) tagKey(ctx context.Context) ([]byte, error) {
	s.tags.mu.Lock()
	defer s.tags.mu.Unlock()
	if s.tags.key != nil {
		return s.tags.key, nil
	}
	fresh := make([]byte, 32)
	_, _ = rand.Read(fresh)
	args := append(tagKeyScript.call(1, s.prefix+tagKeyName), string(fresh))
	key, err := tagKeyScript.run(ctx, s.client, args).Text()
	if err != nil {
		return nil, redisError("tag key", err)
	}
	if len(key) < 16 {
		return nil, fmt.Errorf("sessions: redis: the tag key %s%s holds %d bytes, want at least 16", s.prefix, tagKeyName, len(key))
	}
	s.tags.key = []byte(key)
	return s.tags.key, nil
}

// UserTag implements UserStore: the first userTagLen hex digits of the
// HMAC-SHA256 of principal under the tag key. Without the key, a tag says
// nothing of the principal; it does say that two tokens with the same tag
// probably belong to one user.
func (s *RedisStore) UserTag(ctx context.Context, principal string) (string, error) {
	key, err := s.tagKey(ctx)
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(principal))
	return hex.EncodeToString(mac.Sum(nil))[:userTagLen], nil
}

// userRecordKey splits a tagged id into the keys' common part,
// prefix{tag}, and the record's own 32 hex digits; ok is false for an id
// without a tag.
func (s *RedisStore) userRecordKey(id string) (base, member string, ok bool) {
	tag, rest, tagged := splitTag(id)
	if !tagged || !validTag(tag) || len(rest) != 2*sha256.Size || !isLowerHex(rest) {
		return "", "", false
	}
	return s.prefix + "{" + tag + "}", rest[:keyDigestCut], true
}

// userIndexKey is the key of principal's index, given the keys' common
// part; luaIndexOf computes the same in the scripts.
func userIndexKey(base, principal string) string {
	sum := sha1.Sum([]byte(principal))
	return base + "u" + hex.EncodeToString(sum[:])
}

// indexOf returns the key of principal's index.
func (s *RedisStore) indexOf(ctx context.Context, principal string) (string, error) {
	tag, err := s.UserTag(ctx, principal)
	if err != nil {
		return "", err
	}
	return userIndexKey(s.prefix+"{"+tag+"}", principal), nil
}

// userFields appends the fields of a new logged-in session to args.
func userFields(args []any, ch Change) []any {
	args = append(args, fieldPrincipal, ch.Principal)
	if ch.IP != "" {
		args = append(args, fieldIP, ch.IP)
	}
	for i, ua := 0, ch.UserAgent; ua != "" && i < len(fieldsAgent); i++ {
		n := min(len(ua), agentPiece)
		args = append(args, fieldsAgent[i], ua[:n])
		ua = ua[n:]
	}
	return args
}

// LoadUserSessions implements UserStore with one script run, which also
// drops the index's entries of dead sessions.
func (s *RedisStore) LoadUserSessions(ctx context.Context, principal string) ([]Record, error) {
	idx, err := s.indexOf(ctx, principal)
	if err != nil {
		return nil, err
	}
	args := append(listUserScript.call(2, idx), time.Now().UnixMilli(), principal)
	rows, err := listUserScript.run(ctx, s.client, args).Slice()
	if err != nil {
		return nil, redisError("list a user's sessions", err)
	}
	recs := make([]Record, 0, len(rows))
	for _, row := range rows {
		rec, err := decodeUserRow(row)
		if err != nil {
			s.reportCorrupt(ctx, idx, err)
			continue
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

// decodeUserRow reads a row of listUserScript: field, value, field, …
func decodeUserRow(row any) (Record, error) {
	cells, ok := row.([]any)
	if !ok || len(cells)%2 != 0 {
		return Record{}, errors.New("a listing row is not a list of fields and values")
	}
	fields := make(map[string]string, len(cells)/2)
	for i := 0; i < len(cells); i += 2 {
		name, _ := cells[i].(string)
		if value, ok := cells[i+1].(string); ok {
			fields[name] = value
		}
	}
	rec, err := decodeRedisRecord(fields)
	rec.Values = nil
	return rec, err
}

// DeleteUserSessions implements UserStore with one script run.
func (s *RedisStore) DeleteUserSessions(ctx context.Context, principal string, sel UserSelection) (int, error) {
	idx, err := s.indexOf(ctx, principal)
	if err != nil {
		return 0, err
	}
	args := append(deleteUserScript.call(7, idx), time.Now().UnixMilli(), principal)
	for _, u := range []string{sel.UUID, sel.Except} {
		if u == "" {
			args = append(args, "", "")
			continue
		}
		field, value := uuidField(u)
		args = append(args, field, value)
	}
	args = append(args, max(sel.Keep, 0))
	ended, err := deleteUserScript.run(ctx, s.client, args).StringSlice()
	if err != nil {
		return 0, redisError("delete a user's sessions", err)
	}
	if sel.Deleted != nil {
		reportDeleted(ended, sel.Deleted)
	}
	return len(ended) / 2, nil
}

// saveUser saves a logged-in session's record and keeps its user's index,
// in one script run: newUserScript, loginCapScript for a login under
// WithMaxSessionsPerUser, or updateUserScript.
func (s *RedisStore) saveUser(ctx context.Context, base, member string, ch Change) error {
	key, idx := base+member, userIndexKey(base, ch.Principal)
	var args []any
	script := updateUserScript
	if ch.New {
		script = newUserScript
		if ch.MaxUserSessions > 0 {
			script = loginCapScript
		}
		fields := userFields(newFields(ch), ch)
		args = append(append(script.call(6+len(fields), key, idx), expireAtMillis(ch.Expires)), fields...)
		if ch.MaxUserSessions > 0 {
			name, value := uuidField(ch.UUID)
			args = append(args, time.Now().UnixMilli(), ch.Principal, name, value, ch.MaxUserSessions-1)
		}
	} else {
		args = updateArgs(script, ch, key, idx)
		if ch.IP != "" {
			args = append(args, fieldIP, ch.IP)
		}
	}
	if ch.New && ch.MaxUserSessions > 0 {
		return s.saveCapped(ctx, idx, args, ch)
	}
	reply, err := script.run(ctx, s.client, args).Text()
	if err != nil {
		return redisError("save", err)
	}
	if err := saveReply(reply); err != nil || !ch.New {
		return err
	}
	s.scheduleLogin(ctx, idx, ch.Expires)
	return nil
}

// saveCapped runs loginCapScript, and names the sessions the cap deleted
// through ch.Revoked.
func (s *RedisStore) saveCapped(ctx context.Context, idx string, args []any, ch Change) error {
	reply, err := loginCapScript.run(ctx, s.client, args).StringSlice()
	if err != nil {
		return redisError("save", err)
	}
	if len(reply) == 0 {
		return errors.New("sessions: redis save: empty script reply")
	}
	if err := saveReply(reply[0]); err != nil {
		return err
	}
	s.scheduleLogin(ctx, idx, ch.Expires)
	if ch.Revoked != nil {
		reportDeleted(reply[1:], ch.Revoked)
	}
	return nil
}

// reportDeleted calls deleted with the UUID of each record a script
// deleted, given as field (@u or @t) and value pairs.
func reportDeleted(pairs []string, deleted func(uuid string)) {
	for i := 0; i+1 < len(pairs); i += 2 {
		var d recordDecoder
		d.field(pairs[i], pairs[i+1])
		deleted(d.uuid)
	}
}

// deleteUser deletes a logged-in session's record and its index entry,
// and reports whether the record was there.
func (s *RedisStore) deleteUser(ctx context.Context, key string) (bool, error) {
	n, err := deleteUserRecordScript.run(ctx, s.client, deleteUserRecordScript.call(0, key)).Int()
	if err != nil {
		return false, redisError("delete", err)
	}
	return n > 0, nil
}

var _ UserStore = (*RedisStore)(nil)
