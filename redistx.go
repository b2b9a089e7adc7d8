package sessions

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// txSaves reports whether Save writes ch with saveTx rather than
// updateScript: a change to a stored record that increments nothing,
// expects nothing and whose session is bound to no user. An Incr needs the
// script, which puts back the fields it incremented when a later one fails;
// an expectation needs it to look before it writes, which a transaction
// cannot do without a WATCH and a round trip more.
func txSaves(ch Change) bool {
	return !ch.New && len(ch.Incr) == 0 && len(ch.Expect) == 0 && ch.Principal == ""
}

// saveTx applies ch to the stored record under key in one transaction, with
// no script, which costs Redis a fraction of a script run: MULTI, HMGET of
// the fields that tell whether the record is live, HDEL of the deleted keys
// (and of @l, and @p for a policy of 0), HSET of the values and the
// bookkeeping, PEXPIREAT, EXEC. Every field is written without reading the
// record, which @s holding an absolute time allows.
//
// A transaction cannot look before it writes, so the record is checked
// after: when the HMGET shows it missing (deleted meanwhile, expired, or a
// key that is not a hash), saveTx answers ErrInterrupted. A missing record's
// writes made a hash with no @u or @c, which Load does not return (see
// errSaveLeftover), and saveTx deletes it again; a save that meets such a
// leftover reads no @c either, and is interrupted too. So a deleted session
// is never brought back. A key of another type keeps its value; only its TTL
// moves. A record that Redis still holds past its expiry by this process's
// clock (the clocks disagree) is deleted in the same way, but until then it
// is live for one round trip.
func (s *RedisStore) saveTx(ctx context.Context, key string, ch Change) error {
	now := time.Now().UnixMilli()
	saved, expires := redisMillis(ch.Saved), expireAtMillis(ch.Expires)
	// Each command is built whole, with its arguments in one slice of the
	// exact size, and queued in one batch: go-redis's typed helpers would
	// copy every argument list once more.
	k := any(key)
	nDel := len(ch.Delete) + 1
	if ch.Expiry == 0 {
		nDel++
	}
	del := make([]any, 0, 2+nDel)
	del = append(del, "hdel", k)
	for _, f := range ch.Delete {
		del = append(del, fieldName(f))
	}
	// A save is also a sighting (@l back to 0), and a policy of 0 is left out.
	del = append(del, fieldSeen)
	set := make([]any, 0, 6+2*(len(ch.Set)+1))
	set = append(set, "hset", k, fieldSaved, saved, fieldExpires, expires-saved)
	if ch.Expiry != 0 {
		set = append(set, fieldPolicy, int64(ch.Expiry))
	} else {
		del = append(del, fieldPolicy)
	}
	for f, v := range ch.Set {
		set = append(set, fieldName(f), v)
	}
	was := redis.NewSliceCmd(ctx, "hmget", k, fieldCreated, fieldSaved, fieldExpires)
	err := s.exec(ctx, was,
		redis.NewIntCmd(ctx, del...),
		redis.NewIntCmd(ctx, set...),
		redis.NewBoolCmd(ctx, "pexpireat", k, expires))
	switch {
	case redis.HasErrorPrefix(was.Err(), "WRONGTYPE"):
		// Not a hash, which Load does not return either: the HDEL and HSET
		// failed, and only the key's TTL moved.
		return ErrInterrupted
	case err != nil:
		return redisError("save", withContextError(ctx, err))
	case !liveBefore(was.Val(), now):
		return s.interrupted(ctx, key)
	}
	return nil
}

// liveBefore reports whether the HMGET of @c, @s and @x that saveTx ran
// before its writes shows a live record at now (Unix milliseconds), the test
// of luaLive.
func liveBefore(fields []any, now int64) bool {
	var n [3]int64
	for i, f := range fields {
		text, ok := f.(string)
		if !ok { // absent
			if i == 1 { // @s absent: saved when created
				n[1] = n[0]
				continue
			}
			return false
		}
		v, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return false
		}
		n[i] = v
	}
	return len(fields) == 3 && n[1]+n[2] > now
}

// interrupted removes what saveTx wrote to a record that was not there and
// answers ErrInterrupted. It runs even when the request's context has ended,
// so that no leftover outlives the request.
func (s *RedisStore) interrupted(ctx context.Context, key string) error {
	if err := s.client.Del(context.WithoutCancel(ctx), key).Err(); err != nil {
		return redisError("save", err)
	}
	return ErrInterrupted
}

// withContextError adds the end of ctx to err, when ctx has ended and err
// does not say so: a transaction that times out on a context deadline
// reports only the connection's i/o timeout, where a single command reports
// the deadline. The deadline counts as passed even before ctx's own timer
// has fired, which may come a moment after the connection's.
func withContextError(ctx context.Context, err error) error {
	ctxErr := ctx.Err()
	if d, ok := ctx.Deadline(); ctxErr == nil && ok && !time.Now().Before(d) {
		ctxErr = context.DeadlineExceeded
	}
	if ctxErr != nil && !errors.Is(err, ctxErr) {
		return fmt.Errorf("%w: %w", err, ctxErr)
	}
	return err
}
