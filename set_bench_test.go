package sessions_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/ginsessions/sessions"
)

type benchItem struct {
	SKU   string `json:"sku"`
	Count int    `json:"count"`
}

type benchCart struct {
	Items []benchItem    `json:"items"`
	Meta  map[string]any `json:"meta"`
	Owner *benchItem     `json:"owner,omitempty"`
}

// BenchmarkSet measures one request that sets a value of each common shape
// on a session the client already holds, on the memory store: the encoding
// of the value is the part that differs between the cases.
func BenchmarkSet(b *testing.B) {
	values := []struct {
		name  string
		value any
	}{
		{"string", "hello"},
		{"int", 42},
		{"struct", benchItem{SKU: "b-1", Count: 2}},
		{"nested", benchCart{Items: []benchItem{{"a", 1}, {"b", 2}}, Meta: map[string]any{"source": "web", "n": 3}}},
		{"map", map[string]any{"theme": "dark", "size": 12, "tags": []any{"a", "b"}}},
	}
	for _, v := range values {
		b.Run(v.name, func(b *testing.B) {
			store := sessions.NewMemoryStore()
			defer store.Close()
			r := gin.New()
			r.Use(sessions.Middleware(store))
			r.GET("/set", func(c *gin.Context) {
				sessions.Default(c).Set("v", v.value)
				c.Status(http.StatusNoContent)
			})
			rec := httptest.NewRecorder()
			r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/set", nil))
			cookie := rec.Result().Cookies()[0]
			req := httptest.NewRequest(http.MethodGet, "/set", nil)
			req.AddCookie(cookie)
			b.ReportAllocs()
			for b.Loop() {
				r.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
	}
}
