package sessions_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginsessions/sessions"
)

type requestValueKey struct{}

// The context a net/http handler behind gin.WrapH receives carries the
// session, and is otherwise the request's own: its values, its deadline,
// its cancellation and its cause, passed on to contexts derived from it.
func TestRequestContextIsTheRequests(t *testing.T) {
	deadline := time.Now().Add(time.Hour)
	base, cancelBase := context.WithDeadline(context.WithValue(t.Context(), requestValueKey{}, "kept"), deadline)
	defer cancelBase()
	ctx, cancel := context.WithCancelCause(base)
	cause := errors.New("the client went away")

	checks := make(chan error, 1)
	r := newEngine(newMemoryStore(t), nil, func(r *gin.Engine) {
		r.GET("/", gin.WrapH(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			checks <- checkRequestContext(req.Context(), deadline, func() { cancel(cause) }, cause)
		})))
	})
	req := httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx)
	r.ServeHTTP(httptest.NewRecorder(), req)
	if err := <-checks; err != nil {
		t.Fatal(err)
	}
}

// checkRequestContext reports how ctx differs from the request's own
// context: cancel cancels that one with cause.
func checkRequestContext(ctx context.Context, deadline time.Time, cancel func(), cause error) error {
	if _, ok := sessions.FromContext(ctx); !ok {
		return errors.New("no session in the request context")
	}
	if v := ctx.Value(requestValueKey{}); v != "kept" {
		return errors.New("the request context lost the request's values")
	}
	if d, ok := ctx.Deadline(); !ok || !d.Equal(deadline) {
		return errors.New("the request context lost the request's deadline")
	}
	derived, stop := context.WithCancel(ctx)
	defer stop()
	select {
	case <-ctx.Done():
		return errors.New("the request context is done before the request is")
	default:
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	cancel()
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		return errors.New("the request context is not done after the request is")
	}
	select {
	case <-derived.Done():
	case <-time.After(10 * time.Second):
		return errors.New("a context derived from the request context was not cancelled with it")
	}
	if !errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("Err after cancellation = %v, want context.Canceled", ctx.Err())
	}
	if got := context.Cause(ctx); !errors.Is(got, cause) {
		return errors.New("the cancellation's cause was lost")
	}
	return nil
}
