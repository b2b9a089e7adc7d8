package sessions_test

import (
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/ginsessions/sessions"
)

func TestVisitCounter(t *testing.T) {
	st := newMemoryStore(t)
	r := newEngine(st, nil, func(r *gin.Engine) {
		r.GET("/", func(c *gin.Context) {
			s := sessions.Default(c)
			n := s.GetInt("num_visits") + 1
			s.Set("num_visits", n)
			c.String(200, "%d", n)
		})
	})
	cl := newClient(t, r)
	for want := 1; want <= 3; want++ {
		rec := cl.get("/")
		if rec.Body.String() != string(rune('0'+want)) {
			t.Fatalf("visit %d: body %q, cookies %v", want, rec.Body.String(), setCookies(rec))
		}
	}
	if st.Len() != 1 {
		t.Fatalf("store holds %d records", st.Len())
	}
}
