package sessions_test

// The tests of the save of a change with no Incr, a transaction that writes
// before it can see whether the record is there; TestRedisStore runs them on
// a single server and on a Cluster.

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ginsessions/sessions"
)

// setChange is an update with no Incr, which Save runs as a transaction.
func setChange() sessions.Change {
	ch := change(false)
	ch.Set = map[string]string{"a": "1"}
	ch.Delete = []string{"b"}
	return ch
}

// beforeDel runs f once, on the first DEL that c sends, before the DEL
// reaches Redis.
type beforeDel struct {
	once sync.Once
	f    func(ctx context.Context)
}

func (h *beforeDel) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *beforeDel) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == "del" {
			h.once.Do(func() { h.f(ctx) })
		}
		return next(ctx, cmd)
	}
}

func (h *beforeDel) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// testRedisTxLeftover stops a save of a deleted record between its
// transaction and the DEL that removes what it wrote, and checks that in
// that window the leftover is invisible to Load and interrupts every other
// save and touch, and that nothing is left after.
func testRedisTxLeftover(t *testing.T, client func(t *testing.T) redis.UniversalClient) {
	ctx := t.Context()
	rdb := client(t)
	prefix := testPrefix(t, rdb)
	logger, logs := newLogger()
	store := sessions.NewRedisStore(rdb, sessions.WithRedisKeyPrefix(prefix), sessions.WithRedisLogger(logger))
	other := sessions.NewRedisStore(client(t), sessions.WithRedisKeyPrefix(prefix), sessions.WithRedisLogger(logger))
	id := newID(t)
	key := sessions.RedisKey(prefix, id)
	mustNot(t, store.Save(ctx, id, change(true)), "save")
	mustNot(t, deleteErr(ctx, store, id), "delete")

	inWindow := false
	rdb.AddHook(&beforeDel{f: func(context.Context) {
		inWindow = true
		left := rdb.HGetAll(ctx, key).Val()
		if _, ok := left["a"]; !ok || left["@x"] == "" || left["@c"] != "" || left["@u"] != "" {
			t.Errorf("in the window: HGETALL = %q, want the save's fields and no @c or @u", left)
		}
		if _, found, err := other.Load(ctx, id); found || err != nil {
			t.Errorf("in the window: Load = found %v, %v; want not found", found, err)
		}
		if err := other.Touch(ctx, id, time.Now(), time.Now().Add(time.Hour)); err != nil {
			t.Errorf("in the window: Touch = %v", err)
		}
		if got := rdb.HGetAll(ctx, key).Val(); len(got) != len(left) || got["@l"] != "" {
			t.Errorf("in the window: Touch changed the leftover from %q to %q", left, got)
		}
		for name, ch := range map[string]sessions.Change{"with no Incr": setChange(), "with an Incr": incrChange()} {
			if err := other.Save(ctx, id, ch); !errors.Is(err, sessions.ErrInterrupted) {
				t.Errorf("in the window: a save %s = %v, want ErrInterrupted", name, err)
			}
		}
	}})
	if err := store.Save(ctx, id, setChange()); !errors.Is(err, sessions.ErrInterrupted) {
		t.Errorf("Save of a deleted record = %v, want ErrInterrupted", err)
	}
	if !inWindow {
		t.Fatal("the save sent no DEL")
	}
	if n := rdb.Exists(ctx, key).Val(); n != 0 {
		t.Errorf("after the save: EXISTS = %d, want 0: %q", n, rdb.HGetAll(ctx, key).Val())
	}
	if _, found, err := store.Load(ctx, id); found || err != nil {
		t.Errorf("after the save: Load = found %v, %v; want not found", found, err)
	}
	if logs.String() != "" {
		t.Errorf("a leftover was reported as damage: %s", logs)
	}
}

// testRedisTxWrongType saves to a key of another type, which counts as a
// missing record: the save is interrupted and the key keeps its value.
func testRedisTxWrongType(t *testing.T, client func(t *testing.T) redis.UniversalClient) {
	ctx := t.Context()
	rdb := client(t)
	prefix := testPrefix(t, rdb)
	store := sessions.NewRedisStore(rdb, sessions.WithRedisKeyPrefix(prefix))
	id := newID(t)
	key := sessions.RedisKey(prefix, id)
	mustNot(t, rdb.Set(ctx, key, "not a session", 0).Err(), "SET")
	if err := store.Save(ctx, id, setChange()); !errors.Is(err, sessions.ErrInterrupted) {
		t.Errorf("Save to a string key = %v, want ErrInterrupted", err)
	}
	if got := rdb.Get(ctx, key).Val(); got != "not a session" {
		t.Errorf("the string key holds %q after the save, want it unchanged", got)
	}
}

// testRedisTxConcurrentDelete races saves with no Incr, loads and a delete
// on one record, round after round with random timings. Once the delete has
// returned, every load that starts finds nothing and every save that starts
// is interrupted; once a save was interrupted, no later save by the same
// goroutine succeeds (the record never comes back); and no key is left.
func testRedisTxConcurrentDelete(t *testing.T, client func(t *testing.T) redis.UniversalClient) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	ctx := t.Context()
	rdb := client(t)
	prefix := testPrefix(t, rdb)
	store := sessions.NewRedisStore(rdb, sessions.WithRedisKeyPrefix(prefix))
	const rounds, savers, opsEach = 30, 4, 40
	for round := range rounds {
		id := newID(t)
		mustNot(t, store.Save(ctx, id, change(true)), "save")
		var deleted atomic.Bool
		var wg sync.WaitGroup
		errs := make(chan error, savers+1)
		for range savers {
			wg.Go(func() {
				interrupted := false
				for range opsEach {
					after := deleted.Load()
					err := store.Save(ctx, id, setChange())
					switch {
					case errors.Is(err, sessions.ErrInterrupted):
						interrupted = true
					case err != nil:
						errs <- err
						return
					case interrupted:
						errs <- errors.New("a save succeeded after one was interrupted: the record came back")
						return
					case after:
						errs <- errors.New("a save that started after the delete succeeded")
						return
					}
				}
			})
		}
		wg.Go(func() {
			for range opsEach {
				after := deleted.Load()
				if _, found, err := store.Load(ctx, id); err != nil || (after && found) {
					errs <- errors.New("a load that started after the delete found the record")
					return
				}
			}
		})
		time.Sleep(time.Duration(rng.IntN(2000)) * time.Microsecond)
		mustNot(t, deleteErr(ctx, store, id), "delete")
		deleted.Store(true)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("round %d (seed %d): %v", round, seed, err)
		}
		if n := rdb.Exists(ctx, sessions.RedisKey(prefix, id)).Val(); n != 0 {
			t.Fatalf("round %d (seed %d): the key is left: %q", round, seed, rdb.HGetAll(ctx, sessions.RedisKey(prefix, id)).Val())
		}
	}
}
