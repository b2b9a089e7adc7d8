package sessions

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Expiry events of RedisStore, for logged-in sessions, without keyspace
// notifications (lost on a Cluster, across restarts and while no process
// listens) and without SCAN: through the per-user index that the store
// keeps anyway.
//
// An index entry holds its record's UUID, and outlives the record by a
// day. When a record is found gone or expired (by a listing, a
// revocation, a login of the same user, or the sweep), its entry is marked
// ended rather than dropped; the sweep reports the marked entries, then
// removes them, so a process that dies in between leaves them for the next
// sweep: at least once.
//
// The sweep learns which indexes to visit from a schedule in Redis: one set
// per minute, prefix + "sweep:" + the Unix minute, of the indexes that have
// a session due to expire in that minute. A login files its index under
// its new session's expiry (one more round trip, only in a process whose
// store has hooks); the sweep files each index it visits again under its
// soonest live expiry, which follows the sessions' sliding expiries. Each
// minute's set is deleted once swept, and expires after six hours anyway.
// Sweeps of several processes may visit the same index at once: an event
// may then be reported twice, never lost.
//
// So a logged-in session's EventExpired comes at most a minute plus the
// sweep interval (WithRedisSweepInterval, default one minute) after its
// expiry, given processes with hooks running and clocks in sync. An
// anonymous session is in no index: it expires in Redis without an event.

// Schedule constants.
const (
	sweepBucket    = time.Minute     // the width of a schedule set
	sweepRetention = 6 * time.Hour   // how long an unswept set is kept, and how far back a new sweep looks
	sweepKeyName   = "sweep:"        // under the prefix
	defaultSweep   = time.Minute     // WithRedisSweepInterval's default
	sweepTimeout   = 5 * time.Minute // for one sweep run
)

// WithRedisSweepInterval sets how often a store with hooks sweeps the
// per-user indexes for expired logged-in sessions; default one minute.
// The sweep starts when hooks with an Event are first added (AddHooks, or
// Middleware with WithHooks) and stops at Close. A zero or negative d
// panics.
func WithRedisSweepInterval(d time.Duration) RedisOption {
	if d <= 0 {
		panic(fmt.Sprintf("sessions: WithRedisSweepInterval(%v): the interval must be positive", d))
	}
	return func(s *RedisStore) { s.sweep.interval = d }
}

// redisSweep is a store's sweeper.
type redisSweep struct {
	interval  time.Duration
	start     sync.Once
	stop      context.CancelFunc // ends the sweep's context: see sweepEvery
	done      chan struct{}
	closeOnce sync.Once

	mu   sync.Mutex // one run at a time
	next int64      // the first schedule minute not swept yet; 0 before the first run
}

// AddHooks implements EventSource. h.Event receives EventExpired for
// logged-in sessions, from a sweep that the first such hooks start (see
// WithRedisSweepInterval; call Close to stop it); an anonymous session
// expires without an event, as no index knows it. The hooks also see the
// store calls and revocations of the per-user functions called with this
// store.
func (s *RedisStore) AddHooks(h Hooks) {
	s.events.AddHooks(h)
	if h.Event == nil {
		return
	}
	s.sweep.start.Do(func() {
		ctx, stop := context.WithCancel(context.Background())
		s.sweep.stop, s.sweep.done = stop, make(chan struct{})
		go s.sweepEvery(ctx)
	})
}

// Close stops the sweep that AddHooks started, waiting for a run in
// progress. It never closes the Redis client. A store that was given no
// hooks has nothing to stop; Close is safe to call more than once.
func (s *RedisStore) Close() error {
	s.sweep.closeOnce.Do(func() {
		s.sweep.start.Do(func() {}) // no sweep may start after Close
		if s.sweep.stop != nil {
			s.sweep.stop()
			<-s.sweep.done
		}
	})
	return nil
}

// StoreName implements StoreNamer: "redis".
func (s *RedisStore) StoreName() string { return "redis" }

// storeHooks gives the per-user functions the hooks added to the store.
func (s *RedisStore) storeHooks() *StoreHooks { return &s.events }

// sweepEvery sweeps at every interval until Close ends ctx, which also
// cuts short a run in progress.
func (s *RedisStore) sweepEvery(ctx context.Context) {
	defer close(s.sweep.done)
	interval := s.sweep.interval
	if interval <= 0 {
		interval = defaultSweep
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		runCtx, cancel := context.WithTimeout(ctx, sweepTimeout)
		err := s.sweepDue(runCtx, time.Now())
		cancel()
		if err != nil && ctx.Err() == nil {
			s.logf(ctx, "sessions: sweeping Redis for expired sessions failed; retrying at the next interval", "error", err)
		}
	}
}

// sweepDue sweeps every schedule minute that has ended by now, oldest
// first, and deletes each set once all its indexes are swept. A failure
// stops the run; the next one starts again from the minute that failed.
func (s *RedisStore) sweepDue(ctx context.Context, now time.Time) error {
	s.sweep.mu.Lock()
	defer s.sweep.mu.Unlock()
	current := sweepMinute(now)
	if oldest := current - int64(sweepRetention/sweepBucket); s.sweep.next < oldest {
		s.sweep.next = oldest
	}
	for ; s.sweep.next < current; s.sweep.next++ {
		key := s.sweepKey(s.sweep.next)
		indexes, err := s.client.SMembers(ctx, key).Result()
		if err != nil {
			return redisError("sweep", err)
		}
		for _, idx := range indexes {
			if err := s.sweepIndex(ctx, idx, now); err != nil {
				return err
			}
		}
		if len(indexes) > 0 {
			if err := s.client.Del(ctx, key).Err(); err != nil {
				return redisError("sweep", err)
			}
		}
	}
	return nil
}

// sweepIndex reports the ended entries of one index, then removes them,
// and files the index again under its soonest live expiry.
func (s *RedisStore) sweepIndex(ctx context.Context, idx string, now time.Time) error {
	args := append(sweepUserScript.call(1, idx), now.UnixMilli())
	reply, err := sweepUserScript.run(ctx, s.client, args).StringSlice()
	if err != nil {
		return redisError("sweep", err)
	}
	if len(reply) < 2 {
		return nil
	}
	principal, soonest := reply[0], reply[1]
	var ack []any
	for i := 2; i+1 < len(reply); i += 2 {
		field, value := reply[i], reply[i+1]
		_, u, _ := strings.Cut(value, ":")
		if len(u) >= 2 {
			var d recordDecoder
			d.field(u[:2], u[2:])
			if d.err == nil {
				s.events.Emit(context.Background(), Event{Kind: EventExpired, UUID: d.uuid, Principal: principal, At: now})
			}
		}
		ack = append(ack, field, value)
	}
	if len(ack) > 0 {
		if err := ackUserScript.run(ctx, s.client, append(ackUserScript.call(1, idx), ack...)).Err(); err != nil {
			return redisError("sweep", err)
		}
	}
	if ms, err := strconv.ParseInt(soonest, 10, 64); err == nil {
		return s.schedule(ctx, idx, max(sweepMinute(time.UnixMilli(ms)), sweepMinute(now)))
	}
	return nil
}

// scheduleLogin files the index of a session just created by a login
// under the session's expiry, when the store has hooks to report to. A
// failure is logged rather than failing the login: the session is saved,
// and a later sweep or listing of the user's index still finds it.
func (s *RedisStore) scheduleLogin(ctx context.Context, idx string, expires time.Time) {
	if !s.events.Listening() {
		return
	}
	if err := s.schedule(ctx, idx, sweepMinute(expires)); err != nil {
		s.logf(ctx, "sessions: scheduling the expiry sweep of a user's Redis index failed", "error", err)
	}
}

// schedule files idx in the set of the given minute.
func (s *RedisStore) schedule(ctx context.Context, idx string, minute int64) error {
	key := s.sweepKey(minute)
	expireAt := time.Unix((minute+1)*int64(sweepBucket/time.Second), 0).Add(sweepRetention)
	_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.SAdd(ctx, key, idx)
		p.PExpireAt(ctx, key, expireAt)
		return nil
	})
	if err != nil {
		return redisError("sweep", err)
	}
	return nil
}

// sweepMinute is the schedule minute of t.
func sweepMinute(t time.Time) int64 { return t.Unix() / int64(sweepBucket/time.Second) }

// sweepKey is the key of a schedule minute's set.
func (s *RedisStore) sweepKey(minute int64) string {
	return s.prefix + sweepKeyName + strconv.FormatInt(minute, 10)
}

// logf reports a failure of the store's background work to its logger.
func (s *RedisStore) logf(ctx context.Context, msg string, args ...any) {
	logger := s.logger
	if !s.loggerSet {
		logger = slog.Default()
	}
	if logger != nil {
		logger.WarnContext(ctx, msg, args...)
	}
}

// sweepUserScript marks the dead entries of an index as ended and returns
// them with the index's principal and soonest live expiry.
//
//	KEYS[1]  the index
//	ARGV     now (Unix milliseconds)
//
// It answers the principal, the soonest expiry of a live record ("" for
// none), then each ended entry's field and value; nothing for an index
// that is gone or does not name its user.
var sweepUserScript = newRedisScript(luaLiveUsers + `
local idx = KEYS[1]
local p = redis.call('HGET', idx, '@w')
if not p then return {} end -- gone, or written before indexes named their user
local soonest = nil
for _, r in ipairs(live(idx, p, tonumber(ARGV[1]))) do
  local v = r[2]
  local e = (tonumber(v[3]) or tonumber(v[2])) + tonumber(v[5])
  if not soonest or e < soonest then soonest = e end
end
local out = {p, soonest and string.format('%.0f', soonest) or ''}
local all = redis.call('HGETALL', idx)
for i = 1, #all, 2 do
  if all[i]:sub(1, 1) == 'x' then
    out[#out + 1] = all[i]
    out[#out + 1] = all[i + 1]
  end
end
return out
`)

// ackUserScript removes the ended entries that a sweep reported, unless
// they changed meanwhile.
//
//	KEYS[1]  the index
//	ARGV     field, value, field, value…
var ackUserScript = newRedisScript(`
for i = 1, #ARGV - 1, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then redis.call('HDEL', KEYS[1], ARGV[i]) end
end
return 1
`)

var _ EventSource = (*RedisStore)(nil)
