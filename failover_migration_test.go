package sessions_test

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/internal/redistest"
)

// redirections counts what a cluster client's node connections meet while a
// slot moves: ASKING commands, sent after an ASK redirection, and MOVED
// replies.
type redirections struct{ asks, moved atomic.Int64 }

func countRedirections(rdb *redis.ClusterClient) *redirections {
	r := &redirections{}
	rdb.OnNewNode(func(node *redis.Client) { node.AddHook(r) })
	return r
}

func (r *redirections) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *redirections) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if redis.HasErrorPrefix(err, "MOVED") {
			r.moved.Add(1)
		}
		return err
	}
}

func (r *redirections) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			if cmd.Name() == "asking" {
				r.asks.Add(1)
			}
		}
		return next(ctx, cmds)
	}
}

// TestFailoverClusterSlotMigration moves the hash slot of a live session to
// another master, step by step as `redis-cli --cluster reshard` does, while
// browsers sharing that session increment its counter: every request is
// answered 200 (go-redis follows the ASK and MOVED redirections), and the
// counter ends exactly at the number of increments.
func TestFailoverClusterSlotMigration(t *testing.T) {
	c := redistest.StartCluster(t)
	rdb := newFailoverClusterClient(t, c)
	redirected := countRedirections(rdb)
	prefix := testPrefix(t, rdb)
	engine := newEngine(sessions.NewRedisStore(rdb, sessions.WithRedisKeyPrefix(prefix)), nil, failoverRoutes)

	owner := newVisitor(t, engine, prefix)
	owner.visit(false)
	slot := c.KeySlot(owner.key())
	from := c.Master(slot)
	var to *redistest.Server
	for _, m := range c.Masters() {
		if m != from {
			to = m
			break
		}
	}

	const browsers = 3
	var (
		counted atomic.Int64 // /count answered 200
		rounds  atomic.Int64 // rounds of three requests answered
		stop    = make(chan struct{})
		wg      sync.WaitGroup
	)
	counted.Store(1) // the owner's first visit
	for range browsers {
		b := newClient(t, engine)
		b.jar.SetCookies(siteURL, owner.jar.Cookies(siteURL))
		wg.Go(func() {
			for range 100_000 { // a bound; stop ends it far sooner
				select {
				case <-stop:
					return
				default:
				}
				for _, path := range []string{"/count", "/get?k=count", "/none"} {
					rec := b.get(path)
					if rec.Code != http.StatusOK {
						t.Errorf("GET %s during the migration = %d %q, want 200", path, rec.Code, rec.Body)
						continue
					}
					if path == "/count" {
						counted.Add(1)
					}
				}
				rounds.Add(1)
			}
		})
	}
	// Each step waits until the browsers have made progress under the
	// previous one.
	progress := func(step string) {
		t.Helper()
		start, deadline := rounds.Load(), time.Now().Add(failoverWithin)
		for rounds.Load() < start+20 {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the browsers made no progress for %v", step, failoverWithin)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	progress("before the migration")
	m := c.MigrateSlot(slot, to)
	progress("slot migrating, key on the old master")
	m.MoveKeys()
	progress("slot migrating, key on the new master (ASK)")
	m.Finish()
	progress("slot moved (MOVED)")
	close(stop)
	wg.Wait()

	if got := c.Master(slot); got != to {
		t.Errorf("slot %d is on %s after the migration, want %s", slot, got.Addr, to.Addr)
	}
	if rec := owner.get("/get?k=count"); rec.Body.String() != strconv.FormatInt(counted.Load(), 10) {
		t.Errorf("counter = %q after %d increments answered 200", rec.Body, counted.Load())
	}
	if redirected.asks.Load() == 0 || redirected.moved.Load() == 0 {
		t.Errorf("%d ASK and %d MOVED redirections, want some of each", redirected.asks.Load(), redirected.moved.Load())
	}
	t.Logf("slot %d moved from %s to %s under %d requests: %d ASK and %d MOVED redirections followed",
		slot, from.Addr, to.Addr, rounds.Load()*3, redirected.asks.Load(), redirected.moved.Load())
}
