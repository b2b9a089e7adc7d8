package otelsessions_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/otelsessions"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func init() { gin.SetMode(gin.ReleaseMode) }

// secretValue is a session value that must never show in telemetry.
const secretValue = "card-4111-1111-SECRET"

// telemetry is an SDK that keeps what it receives, for the test to read.
type telemetry struct {
	reader *sdkmetric.ManualReader
	spans  *tracetest.SpanRecorder
	mp     *sdkmetric.MeterProvider
	tp     *sdktrace.TracerProvider
	inst   *otelsessions.Instrumentation
}

func newTelemetry(t *testing.T, opts ...otelsessions.Option) *telemetry {
	t.Helper()
	tel := &telemetry{reader: sdkmetric.NewManualReader(), spans: tracetest.NewSpanRecorder()}
	tel.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(tel.reader))
	tel.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tel.spans))
	t.Cleanup(func() {
		_ = tel.mp.Shutdown(context.Background())
		_ = tel.tp.Shutdown(context.Background())
	})
	inst, err := otelsessions.New(append([]otelsessions.Option{
		otelsessions.WithMeterProvider(tel.mp), otelsessions.WithTracerProvider(tel.tp),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	tel.inst = inst
	return tel
}

// site is a gin engine with the session middleware and a few pages, behind
// otelhttp, as an application wires it.
func (tel *telemetry) site(store sessions.Store, opts ...sessions.Option) http.Handler {
	r := gin.New()
	r.Use(sessions.Middleware(store, append(opts, sessions.WithHooks(tel.inst.Hooks()))...))
	r.GET("/visit", func(c *gin.Context) {
		s := sessions.Default(c)
		s.Set("card", secretValue)
		c.String(http.StatusOK, "%d", s.Incr("visits", 1))
	})
	r.GET("/read", func(c *gin.Context) { c.String(http.StatusOK, "%d", sessions.Default(c).GetInt("visits")) })
	r.GET("/login", func(c *gin.Context) {
		sessions.Default(c).Login(c.Query("u"))
		c.String(http.StatusOK, "ok")
	})
	r.GET("/logout", func(c *gin.Context) { sessions.Default(c).Flush(); c.String(http.StatusOK, "ok") })
	r.GET("/others", func(c *gin.Context) {
		n, err := sessions.Default(c).RevokeOtherSessions()
		if err != nil {
			c.String(http.StatusInternalServerError, "error")
			return
		}
		c.String(http.StatusOK, "%d", n)
	})
	return otelhttp.NewHandler(r, "site", otelhttp.WithTracerProvider(tel.tp), otelhttp.WithMeterProvider(tel.mp))
}

// metrics collects what the reader holds.
func (tel *telemetry) metrics(t *testing.T) metricdata.ResourceMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := tel.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	return rm
}

// sum returns the sum of the counter name's points whose attributes hold
// every pair in want.
func sum(rm metricdata.ResourceMetrics, name string, want ...attribute.KeyValue) int64 {
	var n int64
	for _, m := range instruments(rm, name) {
		if s, ok := m.Data.(metricdata.Sum[int64]); ok {
			for _, p := range s.DataPoints {
				if holds(p.Attributes, want) {
					n += p.Value
				}
			}
		}
	}
	return n
}

// histogramCount returns the number of recordings of the histogram name
// whose attributes hold every pair in want.
func histogramCount(rm metricdata.ResourceMetrics, name string, want ...attribute.KeyValue) uint64 {
	var n uint64
	for _, m := range instruments(rm, name) {
		if h, ok := m.Data.(metricdata.Histogram[float64]); ok {
			for _, p := range h.DataPoints {
				if holds(p.Attributes, want) {
					n += p.Count
				}
			}
		}
	}
	return n
}

func instruments(rm metricdata.ResourceMetrics, name string) []metricdata.Metrics {
	var out []metricdata.Metrics
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				out = append(out, m)
			}
		}
	}
	return out
}

func holds(set attribute.Set, want []attribute.KeyValue) bool {
	for _, kv := range want {
		if v, ok := set.Value(kv.Key); !ok || v != kv.Value {
			return false
		}
	}
	return true
}

// browser is a client with a cookie jar that remembers every session token
// it was given.
type browser struct {
	t      *testing.T
	h      http.Handler
	jar    *cookiejar.Jar
	mu     *sync.Mutex
	tokens *[]string
}

var siteURL, _ = url.Parse("http://example.com/")

func newBrowser(t *testing.T, h http.Handler, tokens *[]string, mu *sync.Mutex) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, h: h, jar: jar, tokens: tokens, mu: mu}
}

func (b *browser) get(path string) *httptest.ResponseRecorder {
	b.t.Helper()
	req := httptest.NewRequest(http.MethodGet, siteURL.String()+strings.TrimPrefix(path, "/"), nil)
	for _, ck := range b.jar.Cookies(siteURL) {
		req.AddCookie(ck)
	}
	rec := httptest.NewRecorder()
	b.h.ServeHTTP(rec, req)
	cookies := rec.Result().Cookies()
	b.mu.Lock()
	for _, ck := range cookies {
		if ck.Value != "" {
			*b.tokens = append(*b.tokens, ck.Value)
		}
	}
	b.mu.Unlock()
	b.jar.SetCookies(siteURL, cookies)
	return rec
}

// browse runs a visit with values, a login, reads, a second device, a
// revocation and a logout, and returns every token handed out.
func browse(t *testing.T, h http.Handler) []string {
	t.Helper()
	var tokens []string
	var mu sync.Mutex
	a, b := newBrowser(t, h, &tokens, &mu), newBrowser(t, h, &tokens, &mu)
	for _, step := range []struct {
		who  *browser
		path string
	}{
		{a, "/visit"}, {a, "/visit"}, {a, "/read"}, {a, "/login?u=ann"}, {a, "/visit"},
		{b, "/login?u=ann"}, {b, "/visit"}, {b, "/others"}, {a, "/read"}, {b, "/logout"},
	} {
		if rec := step.who.get(step.path); rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", step.path, rec.Code, rec.Body)
		}
	}
	return tokens
}

// checkBrowse checks the instruments and spans of a browse run on store.
func checkBrowse(t *testing.T, tel *telemetry, storeName string) {
	t.Helper()
	rm := tel.metrics(t)
	event := func(k string) attribute.KeyValue { return attribute.String("ginsessions.event", k) }
	for _, c := range []struct {
		name string
		kind string
		want int64
	}{
		{"ginsessions.sessions.started", "created", 2}, // a's first visit, b's login
		{"ginsessions.sessions.started", "logged_in", 2},
		{"ginsessions.sessions.ended", "revoked", 1}, // a, by b's /others
		{"ginsessions.sessions.ended", "flushed", 1}, // b's logout
	} {
		if got := sum(rm, c.name, event(c.kind)); got != c.want {
			t.Errorf("%s{%s} = %d, want %d", c.name, c.kind, got, c.want)
		}
	}
	if got := sum(rm, "ginsessions.request.failures"); got != 0 {
		t.Errorf("request failures = %d, want 0", got)
	}
	for _, op := range []string{"load", "save", "delete", "user_tag", "delete_user_sessions"} {
		if histogramCount(rm, "ginsessions.store.duration",
			attribute.String("ginsessions.operation", op), attribute.String("ginsessions.store", storeName)) == 0 {
			t.Errorf("no ginsessions.store.duration recording for %s on %s", op, storeName)
		}
	}

	// Every store call's span is a child of its request's server span.
	spans := tel.spans.Ended()
	servers := map[trace.SpanID]bool{}
	for _, s := range spans {
		if s.SpanKind() == trace.SpanKindServer {
			servers[s.SpanContext().SpanID()] = true
		}
	}
	stores := 0
	for _, s := range spans {
		if !strings.HasPrefix(s.Name(), "ginsessions.") {
			continue
		}
		stores++
		if !servers[s.Parent().SpanID()] {
			t.Errorf("span %s is not a child of a request's span", s.Name())
		}
		if !holds(attribute.NewSet(s.Attributes()...), []attribute.KeyValue{attribute.String("ginsessions.store", storeName)}) {
			t.Errorf("span %s has attributes %v", s.Name(), s.Attributes())
		}
	}
	if stores == 0 {
		t.Error("no store call spans")
	}
}

// leaks returns every string in the recorded telemetry that holds one of
// secrets: span names, attributes, events and statuses, and the attributes
// of every metric point.
func leaks(tel *telemetry, rm metricdata.ResourceMetrics, secrets []string) []string {
	var texts []string
	addAttrs := func(where string, kvs []attribute.KeyValue) {
		for _, kv := range kvs {
			texts = append(texts, where+" "+string(kv.Key)+"="+kv.Value.Emit())
		}
	}
	for _, s := range tel.spans.Ended() {
		texts = append(texts, "span "+s.Name(), "status "+s.Status().Description)
		addAttrs("span "+s.Name(), s.Attributes())
		for _, e := range s.Events() {
			texts = append(texts, "event "+e.Name)
			addAttrs("event "+e.Name, e.Attributes)
		}
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			texts = append(texts, "metric "+m.Name)
			var sets []attribute.Set
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					sets = append(sets, p.Attributes)
				}
			case metricdata.Sum[float64]:
				for _, p := range d.DataPoints {
					sets = append(sets, p.Attributes)
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					sets = append(sets, p.Attributes)
				}
			case metricdata.Histogram[int64]:
				for _, p := range d.DataPoints {
					sets = append(sets, p.Attributes)
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					sets = append(sets, p.Attributes)
				}
			}
			for _, set := range sets {
				addAttrs("metric "+m.Name, set.ToSlice())
			}
		}
	}
	var found []string
	for _, text := range texts {
		for _, secret := range secrets {
			if secret != "" && strings.Contains(text, secret) {
				found = append(found, fmt.Sprintf("%q holds %q", text, secret))
			}
		}
	}
	return found
}

// secretsOf returns what must never be recorded: each token, its store id
// (the SHA-256 digest in hex) down to the first 12 digits that a key or an
// error message might show, and the session's value.
func secretsOf(tokens []string) []string {
	out := []string{secretValue}
	for _, tok := range tokens {
		sum := sha256.Sum256([]byte(tok))
		id := hex.EncodeToString(sum[:])
		out = append(out, tok, id, id[:12])
		if _, rest, ok := strings.Cut(tok, "."); ok {
			out = append(out, rest) // a tagged token's random part
		}
	}
	return out
}

// TestMemory: the instruments and spans of a browse on the memory store,
// and nothing secret in them; UUIDs and users only when asked for.
func TestMemory(t *testing.T) {
	for _, withUser := range []bool{false, true} {
		t.Run(fmt.Sprintf("user attributes %v", withUser), func(t *testing.T) {
			tel := newTelemetry(t, otelsessions.WithUserAttributes(withUser))
			store := sessions.NewMemoryStore()
			t.Cleanup(func() { store.Close() })
			tokens := browse(t, tel.site(store))
			checkBrowse(t, tel, "memory")
			rm := tel.metrics(t)
			if found := leaks(tel, rm, secretsOf(tokens)); len(found) > 0 {
				t.Errorf("secrets recorded:\n%s", strings.Join(found, "\n"))
			}
			users := leaks(tel, rm, []string{"ann"})
			if withUser && len(users) == 0 {
				t.Error("WithUserAttributes(true) recorded no user.id")
			}
			if !withUser && len(users) > 0 {
				t.Errorf("the user was recorded without WithUserAttributes: %s", users)
			}
		})
	}
}

// TestErrorType: errors are recorded by kind, never by their text.
func TestErrorType(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{fmt.Errorf("redis: dial session:0123abcd: %w", sessions.ErrUnavailable), "unavailable"},
		{fmt.Errorf("saving 0123abcd…: %w", sessions.ErrInterrupted), "interrupted"},
		{sessions.ErrNotInteger, "not_integer"},
		{context.DeadlineExceeded, "timeout"},
		{context.Canceled, "canceled"},
		{fmt.Errorf("something about key 0123abcd"), "_OTHER"},
	} {
		if got := otelsessions.ErrorType(c.err); got != c.want {
			t.Errorf("ErrorType(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}

// TestActiveSessions: the gauge reads the count it was given.
func TestActiveSessions(t *testing.T) {
	store := sessions.NewMemoryStore()
	t.Cleanup(func() { store.Close() })
	tel := newTelemetry(t, otelsessions.WithActiveSessions(func(context.Context) (int64, error) { return int64(store.Len()), nil }))
	var tokens []string
	var mu sync.Mutex
	h := tel.site(store)
	newBrowser(t, h, &tokens, &mu).get("/visit")
	newBrowser(t, h, &tokens, &mu).get("/visit")
	rm := tel.metrics(t)
	ms := instruments(rm, "ginsessions.sessions.active")
	if len(ms) != 1 {
		t.Fatalf("%d active-sessions gauges", len(ms))
	}
	g := ms[0].Data.(metricdata.Gauge[int64])
	if len(g.DataPoints) != 1 || g.DataPoints[0].Value != 2 {
		t.Fatalf("active sessions %v, store holds %d", g.DataPoints, store.Len())
	}
}

// TestStoreEvents: Middleware adds its hooks to its store, whose evictions
// then count as ended sessions.
func TestStoreEvents(t *testing.T) {
	tel := newTelemetry(t)
	store := sessions.NewMemoryStore(sessions.WithMaxSessions(1))
	t.Cleanup(func() { store.Close() })
	h := tel.site(store)
	var tokens []string
	var mu sync.Mutex
	for range 3 {
		newBrowser(t, h, &tokens, &mu).get("/visit")
	}
	rm := tel.metrics(t)
	if got := sum(rm, "ginsessions.sessions.ended", attribute.String("ginsessions.event", "evicted")); got != 2 {
		t.Fatalf("evicted = %d, want 2", got)
	}
}
