package pgstore_test

import (
	"net/http"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/ginsessions/sessions"
)

// TestConditionalSaveComparesValues: jsonb respells JSON, so an
// expectation is met by other text of the same value, and Update on an
// object, which comes back respelled, saves without a conflict.
func TestConditionalSaveComparesValues(t *testing.T) {
	store, _, _ := newStore(t)
	id := created(t, store, map[string]string{"obj": `{"b":[1,2],"a":"x"}`})
	ch := change(map[string]string{"obj": `{"c":1}`}, nil)
	ch.Expect = map[string]string{"obj": `{ "a" : "x", "b" : [1, 2.0] }`}
	if err := store.Save(testCtx(t), id, ch); err != nil {
		t.Fatalf("Save expecting the same value spelled otherwise: %v", err)
	}
	if got := loaded(t, store, id)["obj"]; got != `{"c": 1}` {
		t.Fatalf("obj = %s", got)
	}

	counter := &queryCounter{}
	store2, _, _ := newStoreOn(t, newPool(t, needServer(t), counter))
	h := engine(store2)
	h.GET("/pref", func(c *gin.Context) {
		v, err := sessions.Update(sessions.Default(c), "prefs", func(old map[string]int, _ bool) (map[string]int, error) {
			if old == nil {
				old = map[string]int{}
			}
			old[c.Query("k")]++
			return old, nil
		})
		if err != nil {
			c.String(http.StatusInternalServerError, err.Error())
			return
		}
		c.JSON(http.StatusOK, v)
	})
	cookie := sessionCookie(t, get(h, "/new", nil))
	for _, k := range []string{"zeta", "alpha", "zeta"} {
		before := counter.n.Load()
		if w := get(h, "/pref?k="+k, cookie); w.Code != http.StatusOK {
			t.Fatalf("GET /pref: %d %s", w.Code, w.Body.String())
		}
		if got := counter.n.Load() - before; got != 2 {
			t.Fatalf("%d statements, want 2: a respelled value must not conflict", got)
		}
	}
	if got := get(h, "/pref?k=alpha", cookie).Body.String(); got != `{"alpha":2,"zeta":2}` {
		t.Fatalf("prefs = %s", got)
	}
}
