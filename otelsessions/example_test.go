package otelsessions_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/gin-gonic/gin"
	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/otelsessions"
	"github.com/ginsessions/sessions/pgstore"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// A site with sessions in OpenTelemetry: otelhttp makes a span per
// request, otelsessions a span per store call under it and the metrics.
// The SDK set up here keeps what it records in memory, for the example to
// print; an application sets up its exporters instead.
func Example() {
	reader := sdkmetric.NewManualReader()
	spans := tracetest.NewSpanRecorder()
	otel.SetMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)))

	// The wiring: New uses the global providers unless told otherwise.
	inst, err := otelsessions.New()
	if err != nil {
		log.Fatal(err)
	}
	store := sessions.NewMemoryStore()
	defer store.Close()
	r := gin.New()
	r.Use(sessions.Middleware(store, sessions.WithHooks(inst.Hooks())))
	r.GET("/", func(c *gin.Context) {
		s := sessions.Default(c)
		c.String(http.StatusOK, "visit %d", s.Incr("visits", 1))
	})
	site := otelhttp.NewHandler(r, "site") // http.ListenAndServe(addr, site)

	site.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))

	var rm metricdata.ResourceMetrics
	_ = reader.Collect(context.Background(), &rm)
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != otelsessions.ScopeName {
			continue
		}
		for _, m := range sm.Metrics {
			fmt.Println("metric", m.Name)
		}
	}
	for _, s := range spans.Ended() {
		fmt.Println("span", s.Name())
	}
	// Unordered output:
	// metric ginsessions.store.duration
	// metric ginsessions.sessions.started
	// span ginsessions.save
	// span GET
}

// The active-sessions gauge on PostgreSQL, from the count that pgstore's
// cleaner keeps. Compiled, not run: it needs a database.
func ExampleWithActiveSessions() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	pgStore, err := pgstore.New(ctx, pool)
	if err != nil {
		log.Fatal(err)
	}
	inst, err := otelsessions.New(
		otelsessions.WithActiveSessions(func(context.Context) (int64, error) {
			n, _ := pgStore.ActiveSessions()
			return n, nil
		}),
	)
	if err != nil {
		log.Fatal(err)
	}
	r := gin.New()
	r.Use(sessions.Middleware(pgStore, sessions.WithHooks(inst.Hooks())))
}
