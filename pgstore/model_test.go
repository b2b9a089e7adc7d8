package pgstore_test

import (
	"errors"
	"flag"
	"fmt"
	"maps"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/sessionstest"
)

var modelSeed = flag.Uint64("model.seed", 0, "seed of TestAgainstModel's scenario (0: a new one)")

// modelRecord is what the reference model knows of a record.
type modelRecord struct {
	values  map[string]string
	expires time.Time
	seen    time.Time
}

// storeModel is the reference: what a Store must hold after each
// operation, by the Store contract, computed the plain way.
type storeModel map[string]*modelRecord

func (m storeModel) live(id string, now time.Time) *modelRecord {
	if r := m[id]; r != nil && r.expires.After(now) {
		return r
	}
	return nil
}

// apply does ch to the model and returns the error class Save must return:
// nil, ErrInterrupted, ErrConflict or ErrNotInteger, in that order.
func (m storeModel) apply(id string, ch sessions.Change, now time.Time) error {
	if ch.New {
		values := maps.Clone(ch.Set)
		if values == nil {
			values = map[string]string{}
		}
		for k, d := range ch.Incr {
			values[k] = strconv.FormatInt(d, 10)
		}
		m[id] = &modelRecord{values: values, expires: ch.Expires, seen: ch.Saved}
		return nil
	}
	r := m.live(id, now)
	if r == nil {
		return sessions.ErrInterrupted
	}
	for k, want := range ch.Expect {
		if v, ok := r.values[k]; ok != (want != "") || v != want {
			return sessions.ErrConflict
		}
	}
	sums := map[string]string{}
	for k, d := range ch.Incr {
		sum, ok := addInteger(r.values[k], d)
		if !ok {
			return sessions.ErrNotInteger
		}
		sums[k] = sum
	}
	for _, k := range ch.Delete {
		delete(r.values, k)
	}
	maps.Copy(r.values, ch.Set)
	maps.Copy(r.values, sums)
	r.expires, r.seen = ch.Expires, ch.Saved
	return nil
}

// addInteger adds d to the JSON number text, "" counting as 0, when both
// are integers and the sum fits an int64.
func addInteger(text string, d int64) (string, bool) {
	if text == "" {
		text = "0"
	}
	n, ok := new(big.Int).SetString(text, 10)
	if !ok {
		return "", false
	}
	sum := n.Add(n, big.NewInt(d))
	if !sum.IsInt64() {
		return "", false
	}
	return sum.String(), true
}

// The scenario's building blocks: a few ids and keys, so that operations
// meet; values in the form PostgreSQL's jsonb writes them back, so that the
// model's text is the store's.
var (
	modelKeys   = []string{"a", "b", "n", "clé"}
	modelValues = []string{"0", "7", "-3", strconv.FormatInt(math.MaxInt64, 10), strconv.FormatInt(math.MinInt64, 10),
		"1.5", `"ann"`, `"12"`, "null", "true", `[1, "x"]`, `{"k": [true, null]}`}
	modelDeltas = []int64{1, -1, 5, math.MaxInt64, math.MinInt64}
)

// TestAgainstModel runs a random scenario of saves (new and updates with
// sets, deletes, increments and expectations), deletes, touches and loads, on live and
// expired records, and checks every answer against the reference model. A
// failure prints the seed; -model.seed=N replays it.
func TestAgainstModel(t *testing.T) {
	seed := *modelSeed
	if seed == 0 {
		seed = rand.Uint64()
	}
	t.Logf("seed %d (replay with -run TestAgainstModel -model.seed=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	store, _, _ := newStore(t)
	ids := []string{sessionstest.NewID(), sessionstest.NewID(), sessionstest.NewID()}
	model := storeModel{}
	var history []string
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("seed %d, step %d: %s\nsteps:\n%s", seed, len(history), fmt.Sprintf(format, args...), strings.Join(history, "\n"))
	}
	pick := func(s []string) string { return s[rng.IntN(len(s))] }

	const steps = 400
	for range steps {
		id := ids[rng.IntN(len(ids))]
		now := time.Now()
		// A quarter of the writes leave the record already expired.
		expires := now.Add(time.Hour)
		if rng.IntN(4) == 0 {
			expires = now.Add(-time.Second)
		}
		switch op := rng.IntN(10); {
		case op < 5: // save
			ch := sessions.Change{New: rng.IntN(4) == 0, UUID: "u", Created: now, Saved: now, Expires: expires}
			for _, k := range modelKeys {
				switch rng.IntN(5) {
				case 0:
					ch.Set = setKey(ch.Set, k, pick(modelValues))
				case 1:
					ch.Delete = append(ch.Delete, k)
				case 2:
					ch.Incr = incrKey(ch.Incr, k, modelDeltas[rng.IntN(len(modelDeltas))])
				}
			}
			if !ch.New && rng.IntN(3) == 0 {
				// A conditional save: on what the record holds (met) or
				// on a value picked at random (met now and then).
				ch.Expect = map[string]string{}
				for _, k := range modelKeys[:1+rng.IntN(2)] {
					v := ""
					if r := model.live(id, now); r != nil && rng.IntN(2) == 0 {
						v = r.values[k]
					} else if rng.IntN(3) > 0 {
						v = pick(modelValues)
					}
					ch.Expect[k] = v
				}
			}
			history = append(history, fmt.Sprintf("save %.6s new=%v set=%v delete=%v incr=%v expect=%q expired=%v", id, ch.New, ch.Set, ch.Delete, ch.Incr, ch.Expect, expires.Before(now)))
			want := model.apply(id, ch, now)
			err := store.Save(testCtx(t), id, ch)
			if want == nil && err != nil || want != nil && !errors.Is(err, want) {
				fail("Save: %v, want %v", err, want)
			}
		case op < 6:
			history = append(history, fmt.Sprintf("delete %.6s", id))
			delete(model, id)
			if _, err := store.Delete(testCtx(t), id); err != nil {
				fail("Delete: %v", err)
			}
		case op < 7:
			history = append(history, fmt.Sprintf("touch %.6s expired=%v", id, expires.Before(now)))
			if r := model.live(id, now); r != nil {
				r.expires, r.seen = expires, now
			}
			if err := store.Touch(testCtx(t), id, now, expires); err != nil {
				fail("Touch: %v", err)
			}
		default:
			history = append(history, fmt.Sprintf("load %.6s", id))
		}
		for _, id := range ids {
			checkAgainstModel(t, store, model, id, fail)
		}
	}
}

func checkAgainstModel(t *testing.T, store sessions.Store, model storeModel, id string, fail func(string, ...any)) {
	t.Helper()
	rec, found, err := store.Load(testCtx(t), id)
	if err != nil {
		fail("Load: %v", err)
	}
	want := model.live(id, time.Now())
	switch {
	case found != (want != nil):
		fail("Load(%.6s): found=%v, the model says %v", id, found, want != nil)
	case !found:
		return
	case !maps.Equal(rec.Values, want.values):
		fail("Load(%.6s): values %v, the model says %v (keys %v)", id, rec.Values, want.values, slices.Sorted(maps.Keys(want.values)))
	case rec.Expires.Sub(want.expires).Abs() > time.Millisecond || rec.LastSeen.Sub(want.seen).Abs() > time.Millisecond:
		fail("Load(%.6s): expires %v, last seen %v; the model says %v, %v", id, rec.Expires, rec.LastSeen, want.expires, want.seen)
	}
}

func setKey(m map[string]string, k, v string) map[string]string {
	if m == nil {
		m = map[string]string{}
	}
	m[k] = v
	return m
}

func incrKey(m map[string]int64, k string, d int64) map[string]int64 {
	if m == nil {
		m = map[string]int64{}
	}
	m[k] = d
	return m
}
