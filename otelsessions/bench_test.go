package otelsessions_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/otelsessions"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// BenchmarkCounter measures the visit counter on the memory store (a load
// and a save per request) without hooks, with otelsessions on no-op
// providers (what an application pays with OpenTelemetry off), and with the
// SDK recording (no exporter).
func BenchmarkCounter(b *testing.B) {
	noop, err := otelsessions.New(otelsessions.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelsessions.WithTracerProvider(tracenoop.NewTracerProvider()))
	if err != nil {
		b.Fatal(err)
	}
	sdk, err := otelsessions.New(otelsessions.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))),
		otelsessions.WithTracerProvider(sdktrace.NewTracerProvider()))
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		opts []sessions.Option
	}{
		{"no-hooks", nil},
		{"otel-noop", []sessions.Option{sessions.WithHooks(noop.Hooks())}},
		{"otel-sdk", []sessions.Option{sessions.WithHooks(sdk.Hooks())}},
	} {
		b.Run(c.name, func(b *testing.B) {
			store := sessions.NewMemoryStore()
			defer store.Close()
			r := gin.New()
			r.Use(sessions.Middleware(store, c.opts...))
			r.GET("/counter", func(c *gin.Context) {
				s := sessions.Default(c)
				n := s.GetInt("n") + 1
				s.Set("n", n)
				c.Status(http.StatusNoContent)
			})
			w := httptest.NewRecorder()
			r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/counter", nil))
			req := httptest.NewRequest(http.MethodGet, "/counter", nil)
			req.AddCookie(w.Result().Cookies()[0])
			b.ReportAllocs()
			for b.Loop() {
				r.ServeHTTP(discardWriter{h: http.Header{}}, req)
			}
		})
	}
}

// discardWriter is a response writer that keeps nothing but fresh headers.
type discardWriter struct{ h http.Header }

func (w discardWriter) Header() http.Header         { clear(w.h); return w.h }
func (w discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w discardWriter) WriteHeader(int)             {}
