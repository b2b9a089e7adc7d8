package benchmarks

import (
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/otelsessions"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// mountOursMemoryOtel is ours-memory with otelsessions' hooks on no-op
// meter and tracer providers: what the instrumentation itself costs a
// request, with nothing exported.
func mountOursMemoryOtel(tb testing.TB, r *gin.Engine, _ *redisEnv) handlers {
	inst, err := otelsessions.New(
		otelsessions.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelsessions.WithTracerProvider(tracenoop.NewTracerProvider()),
	)
	if err != nil {
		tb.Fatal(err)
	}
	store := sessions.NewMemoryStore()
	tb.Cleanup(func() { store.Close() })
	return mountOurs(r, store, sessions.WithHooks(inst.Hooks()))
}
