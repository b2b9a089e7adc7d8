// Package otelsessions reports what github.com/ginsessions/sessions does to
// OpenTelemetry: the latency and errors of every store call, sessions
// started and ended, and requests that failed because of their session, as
// metrics, and a span per store call, a child of the request's span.
//
//	otelSessions, err := otelsessions.New()
//	…
//	r.Use(sessions.Middleware(store, sessions.WithHooks(otelSessions.Hooks())))
//	http.ListenAndServe(addr, otelhttp.NewHandler(r, "site"))
//
// It uses the OpenTelemetry API only: the application chooses the SDK and
// the exporters, and without them everything here is a no-op.
//
// Instruments (meter "github.com/ginsessions/sessions/otelsessions"):
//
//	ginsessions.store.duration     histogram, seconds: each store call;
//	                               ginsessions.operation (StoreOp.Name),
//	                               ginsessions.store (StoreOp.Store), and
//	                               error.type when it failed
//	ginsessions.sessions.started   counter; ginsessions.event: created, logged_in
//	ginsessions.sessions.ended     counter; ginsessions.event: flushed,
//	                               revoked, expired, evicted
//	ginsessions.request.failures   counter: requests the session's error
//	                               handler answered; error.type
//	ginsessions.sessions.active    gauge, only with WithActiveSessions
//
// Spans (tracer of the same name): "ginsessions.<operation>" for each store
// call, with the same attributes as the histogram, and a span event
// "ginsessions.<event>" on the request's span for each lifecycle event.
//
// Never recorded anywhere: the session's token, its store id (or any part
// of it), its values, and the text of store errors, which may name keys:
// errors are recorded by kind (error.type) only. The session's UUID
// (session.id) and its user (user.id), which OpenTelemetry's semantic
// conventions mark as sensitive, are recorded on span events only with
// WithUserAttributes, and never on metrics, where they would make a series
// per session.
package otelsessions

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/ginsessions/sessions"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the meter and the tracer.
const ScopeName = "github.com/ginsessions/sessions/otelsessions"

// Attribute keys.
const (
	keyOperation = attribute.Key("ginsessions.operation")
	keyStore     = attribute.Key("ginsessions.store")
	keyEvent     = attribute.Key("ginsessions.event")
	keyErrorType = attribute.Key("error.type")
	keySessionID = attribute.Key("session.id")
	keyUserID    = attribute.Key("user.id")
)

// Option configures New.
type Option func(*config)

type config struct {
	mp       metric.MeterProvider
	tp       trace.TracerProvider
	withUser bool
	active   func(context.Context) (int64, error)
}

// WithMeterProvider sets where the metrics go; default
// otel.GetMeterProvider() at the time of New. A nil mp panics.
func WithMeterProvider(mp metric.MeterProvider) Option {
	if mp == nil {
		panic("otelsessions: WithMeterProvider(nil): pass a provider, e.g. otel.GetMeterProvider()")
	}
	return func(c *config) { c.mp = mp }
}

// WithTracerProvider sets where the spans go; default
// otel.GetTracerProvider() at the time of New. A nil tp panics.
func WithTracerProvider(tp trace.TracerProvider) Option {
	if tp == nil {
		panic("otelsessions: WithTracerProvider(nil): pass a provider, e.g. otel.GetTracerProvider()")
	}
	return func(c *config) { c.tp = tp }
}

// WithUserAttributes records the session's UUID (session.id) and its user
// (user.id) on the span events of lifecycle events; default false. Both
// identify a person: turn it on only where traces may hold personal data.
// Metrics never carry them.
func WithUserAttributes(on bool) Option {
	return func(c *config) { c.withUser = on }
}

// WithActiveSessions adds the gauge ginsessions.sessions.active, read from
// count at each collection; default off. Give it a count that is cheap:
// MemoryStore.Len for the memory store (exact, but for expired sessions its
// janitor has not removed yet), pgstore's Store.ActiveSessions for
// PostgreSQL (counted by its cleaner). Redis keeps no count that would be
// cheap (counting keys means scanning them), so there is none for it. A
// nil count panics.
func WithActiveSessions(count func(context.Context) (int64, error)) Option {
	if count == nil {
		panic("otelsessions: WithActiveSessions(nil): pass a count, e.g. one that returns store.Len()")
	}
	return func(c *config) { c.active = count }
}

// Instrumentation turns the hooks of sessions into metrics and spans. It
// is safe for concurrent use; make one per application and pass its Hooks
// to every middleware and store.
type Instrumentation struct {
	tracer   trace.Tracer
	duration metric.Float64Histogram
	started  metric.Int64Counter
	ended    metric.Int64Counter
	failures metric.Int64Counter
	withUser bool

	mu     sync.RWMutex
	ops    map[sessions.StoreOp]*opInfo // a map, not a sync.Map: a struct key boxed in an interface would allocate
	events [sessions.EventFailed + 1]eventInfo
}

// opInfo is what every call of one operation on one store shares, made
// once so that a call allocates no attributes.
type opInfo struct {
	spanName  string
	attrs     []attribute.KeyValue
	record    []metric.RecordOption // passed on as a slice, so a call allocates none
	spanStart []trace.SpanStartOption
}

// eventInfo is what every event of one kind shares.
type eventInfo struct {
	name    string // the span event's
	counter metric.Int64Counter
	add     []metric.AddOption
	attr    attribute.KeyValue
}

// durationBuckets suit store calls, from a tenth of a millisecond (memory)
// to seconds (a store timing out).
var durationBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// New creates the instruments. It fails only when the meter provider
// refuses one.
func New(opts ...Option) (*Instrumentation, error) {
	var c config
	for _, opt := range opts {
		opt(&c)
	}
	if c.mp == nil {
		c.mp = otel.GetMeterProvider()
	}
	if c.tp == nil {
		c.tp = otel.GetTracerProvider()
	}
	meter := c.mp.Meter(ScopeName)
	i := &Instrumentation{tracer: c.tp.Tracer(ScopeName), withUser: c.withUser, ops: map[sessions.StoreOp]*opInfo{}}
	var err, e error
	i.duration, e = meter.Float64Histogram("ginsessions.store.duration",
		metric.WithDescription("Duration of session store calls."), metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	err = errors.Join(err, e)
	i.started, e = meter.Int64Counter("ginsessions.sessions.started",
		metric.WithDescription("Sessions created or logged in."), metric.WithUnit("{session}"))
	err = errors.Join(err, e)
	i.ended, e = meter.Int64Counter("ginsessions.sessions.ended",
		metric.WithDescription("Sessions flushed, revoked, expired or evicted."), metric.WithUnit("{session}"))
	err = errors.Join(err, e)
	i.failures, e = meter.Int64Counter("ginsessions.request.failures",
		metric.WithDescription("Requests that the session error handler answered."), metric.WithUnit("{request}"))
	err = errors.Join(err, e)
	if c.active != nil {
		count := c.active
		_, e = meter.Int64ObservableGauge("ginsessions.sessions.active",
			metric.WithDescription("Sessions the store holds."), metric.WithUnit("{session}"),
			metric.WithInt64Callback(func(ctx context.Context, o metric.Int64Observer) error {
				n, err := count(ctx)
				if err == nil {
					o.Observe(n)
				}
				return err
			}))
		err = errors.Join(err, e)
	}
	if err != nil {
		return nil, err
	}
	for k := sessions.EventCreated; k <= sessions.EventFailed; k++ {
		attr := keyEvent.String(k.String())
		info := eventInfo{name: "ginsessions." + k.String(), attr: attr, add: []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(attr))}}
		switch k {
		case sessions.EventCreated, sessions.EventLoggedIn:
			info.counter = i.started
		case sessions.EventFlushed, sessions.EventRevoked, sessions.EventExpired, sessions.EventEvicted:
			info.counter = i.ended
		}
		i.events[k] = info
	}
	return i, nil
}

// Hooks returns the hooks to pass to sessions.WithHooks (or to a store's
// AddHooks).
func (i *Instrumentation) Hooks() sessions.Hooks {
	return sessions.Hooks{Event: i.event, StoreStart: i.storeStart, StoreDone: i.storeDone}
}

// op returns the shared attributes of op, making them on first use.
func (i *Instrumentation) op(op sessions.StoreOp) *opInfo {
	i.mu.RLock()
	info, ok := i.ops[op]
	i.mu.RUnlock()
	if ok {
		return info
	}
	attrs := []attribute.KeyValue{keyOperation.String(op.Name), keyStore.String(op.Store)}
	info = &opInfo{
		spanName:  "ginsessions." + op.Name,
		attrs:     attrs,
		record:    []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(attrs...))},
		spanStart: []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(attrs...)},
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if known, ok := i.ops[op]; ok {
		return known
	}
	i.ops[op] = info
	return info
}

// storeStart starts the store call's span, a child of the request's.
func (i *Instrumentation) storeStart(ctx context.Context, op sessions.StoreOp) context.Context {
	info := i.op(op)
	ctx, _ = i.tracer.Start(ctx, info.spanName, info.spanStart...)
	return ctx
}

// storeDone records the call's duration and ends its span.
func (i *Instrumentation) storeDone(ctx context.Context, op sessions.StoreOp, d time.Duration, err error) {
	info := i.op(op)
	span := trace.SpanFromContext(ctx)
	if err == nil {
		i.duration.Record(ctx, d.Seconds(), info.record...)
		span.End()
		return
	}
	kind := ErrorType(err)
	attrs := append(append(make([]attribute.KeyValue, 0, len(info.attrs)+1), info.attrs...), keyErrorType.String(kind))
	i.duration.Record(ctx, d.Seconds(), metric.WithAttributes(attrs...))
	span.SetAttributes(keyErrorType.String(kind))
	// The kind, not err.Error(): a store's error text may name its keys.
	span.SetStatus(codes.Error, kind)
	span.End()
}

// event counts the lifecycle event and notes it on the request's span.
func (i *Instrumentation) event(ctx context.Context, e sessions.Event) {
	if e.Kind < sessions.EventCreated || e.Kind > sessions.EventFailed {
		return
	}
	info := &i.events[e.Kind]
	var kind string
	switch {
	case e.Kind == sessions.EventFailed:
		kind = ErrorType(e.Err)
		i.failures.Add(ctx, 1, metric.WithAttributes(keyErrorType.String(kind)))
	case info.counter != nil:
		info.counter.Add(ctx, 1, info.add...)
	}
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	attrs := []attribute.KeyValue{info.attr}
	if kind != "" {
		attrs = append(attrs, keyErrorType.String(kind))
	}
	if i.withUser {
		if e.UUID != "" {
			attrs = append(attrs, keySessionID.String(e.UUID))
		}
		if e.Principal != "" {
			attrs = append(attrs, keyUserID.String(e.Principal))
		}
	}
	span.AddEvent(info.name, trace.WithTimestamp(e.At), trace.WithAttributes(attrs...))
}

// ErrorType is the error.type that otelsessions records for err: one of
// "unavailable" (sessions.ErrUnavailable: the store could not be reached),
// "interrupted" (sessions.ErrInterrupted), "not_integer"
// (sessions.ErrNotInteger), "timeout" (context.DeadlineExceeded),
// "canceled" (context.Canceled), "" for nil, and "_OTHER" for anything
// else, as OpenTelemetry's semantic conventions name an unknown kind: a
// few values, whatever the error's text, so that no key or value leaks
// through it.
func ErrorType(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, sessions.ErrUnavailable):
		return "unavailable"
	case errors.Is(err, sessions.ErrInterrupted):
		return "interrupted"
	case errors.Is(err, sessions.ErrNotInteger):
		return "not_integer"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return "_OTHER"
}
